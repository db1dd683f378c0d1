-- tags/big_spender_30d

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
SELECT 'ws_golden', 'big_spender_30d', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, ['前10%', '其他']::Array(String)[arrayFirstIndex(e -> position < e, [0.1, 2]::Array(Float64))] AS value FROM (SELECT person_id, (rank() OVER (ORDER BY v DESC) - 1) / count() OVER () AS position FROM (SELECT person_id, v_number AS v FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'spend_30d' AND run_id = 'tag_<2>')))
SETTINGS max_execution_time = 3600;
-- params:
--   Array(Float64) [0.1, 2]
--   Array(String) ['前10%', '其他']
--   Date '2026-06-30'
--   String 'big_spender_30d'
--   String 'spend_30d'
--   String 'tag_<1>'
--   String 'tag_<2>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'big_spender_30d' AND run_id = 'tag_<1>');
-- params:
--   String 'big_spender_30d'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'big_spender_30d', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'big_spender_30d' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'big_spender_30d'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'big_spender_30d' AND run_id = 'tag_<1>';
-- params:
--   String 'big_spender_30d'
--   String 'tag_<1>'
--   String 'ws_golden'
