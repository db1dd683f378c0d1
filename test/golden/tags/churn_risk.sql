-- tags/churn_risk

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
SELECT 'ws_golden', 'churn_risk', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, ['低', '中', '高']::Array(String)[if(arrayFirstIndex(m -> v >= m, [0.7, 0.3]::Array(Float64)) AS i = 0, length(['低', '中', '高']::Array(String)), i)] AS value FROM (SELECT person_id, v_number AS v FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'p_alive' AND run_id = ''))
SETTINGS max_execution_time = 3600;
-- params:
--   Array(Float64) [0.7, 0.3]
--   Array(String) ['低', '中', '高']
--   Date '2026-06-30'
--   String ''
--   String 'churn_risk'
--   String 'p_alive'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'churn_risk' AND run_id = 'tag_<1>');
-- params:
--   String 'churn_risk'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'churn_risk', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'churn_risk' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'churn_risk'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'churn_risk' AND run_id = 'tag_<1>';
-- params:
--   String 'churn_risk'
--   String 'tag_<1>'
--   String 'ws_golden'
