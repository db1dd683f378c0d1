-- tags/channel_preference

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
           SELECT 'ws_golden', 'channel_preference', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, value FROM (SELECT person_id, multiIf(((has0 AND hasAny(l0, ['store']::Array(String))) AND (st_has0 AND st_v0 > 0::Float64)), '全渠道', (has0 AND hasAny(l0, ['store']::Array(String))), '线下', has0, '线上', NULL) AS value FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0) AS everyone LEFT JOIN (SELECT person_id, countIf(tag = 'platforms') > 0 AS has0, anyIf(v_number, tag = 'platforms') AS n0, anyIf(v_string, tag = 'platforms') AS s0, anyIf(v_bool, tag = 'platforms') AS b0,
            toString(anyIf(v_date, tag = 'platforms')) AS d0, anyIf(v_list, tag = 'platforms') AS l0 FROM tag_values
      WHERE workspace_id = 'ws_golden' AND run_id IN ['tag_<2>']::Array(String) GROUP BY person_id) AS tv USING person_id
LEFT JOIN (SELECT person_id, v AS st_v0, 1 AS st_has0 FROM (SELECT person_id, toFloat64(count()) AS v FROM tag_run_purchases_<3> WHERE source IN ['tmall', 'jd', 'douyin', 'miniprogram']::Array(String) GROUP BY person_id)) AS st0 USING person_id) WHERE value IS NOT NULL)
           SETTINGS max_execution_time = 3600;
-- params:
--   Array(String) ['store']
--   Array(String) ['tag_<2>']
--   Array(String) ['tmall', 'jd', 'douyin', 'miniprogram']
--   Date '2026-06-30'
--   Float64 0
--   String 'channel_preference'
--   String 'platforms'
--   String 'tag_<1>'
--   String 'ws_golden'
--   String '全渠道'
--   String '线上'
--   String '线下'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'channel_preference' AND run_id = 'tag_<1>');
-- params:
--   String 'channel_preference'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'channel_preference', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'channel_preference' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'channel_preference'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'channel_preference' AND run_id = 'tag_<1>';
-- params:
--   String 'channel_preference'
--   String 'tag_<1>'
--   String 'ws_golden'
