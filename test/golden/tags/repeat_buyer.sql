-- tags/repeat_buyer

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_bool)
     SELECT 'ws_golden', 'repeat_buyer', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, value FROM (SELECT person_id, multiIf((has0 AND n0 >= 2::Float64), 1::UInt8, 0::UInt8) AS value FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0) AS everyone LEFT JOIN (SELECT person_id, countIf(tag = 'orders_total') > 0 AS has0, anyIf(v_number, tag = 'orders_total') AS n0, anyIf(v_string, tag = 'orders_total') AS s0, anyIf(v_bool, tag = 'orders_total') AS b0,
      toString(anyIf(v_date, tag = 'orders_total')) AS d0, anyIf(v_list, tag = 'orders_total') AS l0 FROM tag_values
WHERE workspace_id = 'ws_golden' AND run_id IN ['tag_<2>']::Array(String) GROUP BY person_id) AS tv USING person_id) WHERE value IS NOT NULL)
     SETTINGS max_execution_time = 3600;
-- params:
--   Array(String) ['tag_<2>']
--   Date '2026-06-30'
--   Float64 2
--   String 'orders_total'
--   String 'repeat_buyer'
--   String 'tag_<1>'
--   String 'ws_golden'
--   UInt8 0
--   UInt8 1

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, if(v_bool = 1, 'true', 'false') AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'repeat_buyer' AND run_id = 'tag_<1>');
-- params:
--   String 'repeat_buyer'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'repeat_buyer', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, if(v_bool = 1, 'true', 'false') AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'repeat_buyer' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'repeat_buyer'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'repeat_buyer' AND run_id = 'tag_<1>';
-- params:
--   String 'repeat_buyer'
--   String 'tag_<1>'
--   String 'ws_golden'
