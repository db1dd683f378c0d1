-- tags/order_value_band

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
SELECT 'ws_golden', 'order_value_band', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, arrayElement(arrayFilter((label, lo, hi) -> v >= lo AND v < hi, ['0-200', '200-500', '500-1000', '1000-3000', '3000+']::Array(String), [-9007199254740991, 200, 500, 1000, 3000]::Array(Float64), [200, 500, 1000, 3000, 9007199254740991]::Array(Float64)), 1) AS value FROM (SELECT person_id, avg(amount) AS v FROM tag_run_purchases_<2>  GROUP BY person_id) WHERE value != '')
SETTINGS max_execution_time = 3600;
-- params:
--   Array(Float64) [-9007199254740991, 200, 500, 1000, 3000]
--   Array(Float64) [200, 500, 1000, 3000, 9007199254740991]
--   Array(String) ['0-200', '200-500', '500-1000', '1000-3000', '3000+']
--   Date '2026-06-30'
--   String 'order_value_band'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'order_value_band' AND run_id = 'tag_<1>');
-- params:
--   String 'order_value_band'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'order_value_band', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'order_value_band' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'order_value_band'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'order_value_band' AND run_id = 'tag_<1>';
-- params:
--   String 'order_value_band'
--   String 'tag_<1>'
--   String 'ws_golden'
