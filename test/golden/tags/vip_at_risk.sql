-- tags/vip_at_risk

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_bool)
           SELECT 'ws_golden', 'vip_at_risk', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, value FROM (SELECT person_id, multiIf(((has0 AND s0 = '高价值') AND (has1 AND s1 IN ['衰退', '沉睡']::Array(String))), 1::UInt8, 0::UInt8) AS value FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0) AS everyone LEFT JOIN (SELECT person_id, countIf(tag = 'clv_tier') > 0 AS has0, anyIf(v_number, tag = 'clv_tier') AS n0, anyIf(v_string, tag = 'clv_tier') AS s0, anyIf(v_bool, tag = 'clv_tier') AS b0,
            toString(anyIf(v_date, tag = 'clv_tier')) AS d0, anyIf(v_list, tag = 'clv_tier') AS l0,
countIf(tag = 'lifecycle_stage') > 0 AS has1, anyIf(v_number, tag = 'lifecycle_stage') AS n1, anyIf(v_string, tag = 'lifecycle_stage') AS s1, anyIf(v_bool, tag = 'lifecycle_stage') AS b1,
            toString(anyIf(v_date, tag = 'lifecycle_stage')) AS d1, anyIf(v_list, tag = 'lifecycle_stage') AS l1 FROM tag_values
      WHERE workspace_id = 'ws_golden' AND run_id IN ['tag_<2>']::Array(String) GROUP BY person_id) AS tv USING person_id) WHERE value IS NOT NULL)
           SETTINGS max_execution_time = 3600;
-- params:
--   Array(String) ['tag_<2>']
--   Array(String) ['衰退', '沉睡']
--   Date '2026-06-30'
--   String 'clv_tier'
--   String 'lifecycle_stage'
--   String 'tag_<1>'
--   String 'vip_at_risk'
--   String 'ws_golden'
--   String '高价值'
--   UInt8 0
--   UInt8 1

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, if(v_bool = 1, 'true', 'false') AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'vip_at_risk' AND run_id = 'tag_<1>');
-- params:
--   String 'tag_<1>'
--   String 'vip_at_risk'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'vip_at_risk', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, if(v_bool = 1, 'true', 'false') AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'vip_at_risk' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'tag_<1>'
--   String 'vip_at_risk'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'vip_at_risk' AND run_id = 'tag_<1>';
-- params:
--   String 'tag_<1>'
--   String 'vip_at_risk'
--   String 'ws_golden'
