-- tags/clv_tier

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
SELECT 'ws_golden', 'clv_tier', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, ['高价值', '中价值', '低价值']::Array(String)[arrayFirstIndex(e -> position < e, [0.2, 0.5, 2]::Array(Float64))] AS value FROM (SELECT person_id, (rank() OVER (ORDER BY v DESC) - 1) / count() OVER () AS position FROM (SELECT person_id, v_number AS v FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'clv_1y' AND run_id = '')))
SETTINGS max_execution_time = 3600;
-- params:
--   Array(Float64) [0.2, 0.5, 2]
--   Array(String) ['高价值', '中价值', '低价值']
--   Date '2026-06-30'
--   String ''
--   String 'clv_1y'
--   String 'clv_tier'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'clv_tier' AND run_id = 'tag_<1>');
-- params:
--   String 'clv_tier'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'clv_tier', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'clv_tier' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'clv_tier'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'clv_tier' AND run_id = 'tag_<1>';
-- params:
--   String 'clv_tier'
--   String 'tag_<1>'
--   String 'ws_golden'
