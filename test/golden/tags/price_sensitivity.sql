-- tags/price_sensitivity

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
SELECT 'ws_golden', 'price_sensitivity', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, ['高', '中', '低']::Array(String)[if(arrayFirstIndex(m -> v >= m, [0.6, 0.3]::Array(Float64)) AS i = 0, length(['高', '中', '低']::Array(String)), i)] AS value FROM (SELECT person_id, v_number AS v FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'discount_share' AND run_id = 'tag_<2>'))
SETTINGS max_execution_time = 3600;
-- params:
--   Array(Float64) [0.6, 0.3]
--   Array(String) ['高', '中', '低']
--   Date '2026-06-30'
--   String 'discount_share'
--   String 'price_sensitivity'
--   String 'tag_<1>'
--   String 'tag_<2>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'price_sensitivity' AND run_id = 'tag_<1>');
-- params:
--   String 'price_sensitivity'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'price_sensitivity', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'price_sensitivity' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'price_sensitivity'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'price_sensitivity' AND run_id = 'tag_<1>';
-- params:
--   String 'price_sensitivity'
--   String 'tag_<1>'
--   String 'ws_golden'
