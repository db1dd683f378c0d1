-- tags/recency_band

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
SELECT 'ws_golden', 'recency_band', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, ['365天以上', '181-365天', '91-180天', '31-90天', '30天内']::Array(String)[if(arrayFirstIndex(m -> v >= m, [365, 181, 91, 31]::Array(Float64)) AS i = 0, length(['365天以上', '181-365天', '91-180天', '31-90天', '30天内']::Array(String)), i)] AS value FROM (SELECT person_id, v_number AS v FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'days_since_last_purchase' AND run_id = 'tag_<2>'))
SETTINGS max_execution_time = 3600;
-- params:
--   Array(Float64) [365, 181, 91, 31]
--   Array(String) ['365天以上', '181-365天', '91-180天', '31-90天', '30天内']
--   Date '2026-06-30'
--   String 'days_since_last_purchase'
--   String 'recency_band'
--   String 'tag_<1>'
--   String 'tag_<2>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'recency_band' AND run_id = 'tag_<1>');
-- params:
--   String 'recency_band'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'recency_band', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'recency_band' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'recency_band'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'recency_band' AND run_id = 'tag_<1>';
-- params:
--   String 'recency_band'
--   String 'tag_<1>'
--   String 'ws_golden'
