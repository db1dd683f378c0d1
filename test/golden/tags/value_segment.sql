-- tags/value_segment

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
           SELECT 'ws_golden', 'value_segment', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, value FROM (SELECT person_id, multiIf((has0 AND s0 = '重要价值客户'), '核心客户', (has0 AND s0 IN ['重要保持客户', '重要挽留客户']::Array(String)), '高价值待挽回', (has0 AND s0 = '重要发展客户'), '高潜力', (has1 AND s1 = '新客'), '新客', '普通客户') AS value FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0) AS everyone LEFT JOIN (SELECT person_id, countIf(tag = 'rfm_group') > 0 AS has0, anyIf(v_number, tag = 'rfm_group') AS n0, anyIf(v_string, tag = 'rfm_group') AS s0, anyIf(v_bool, tag = 'rfm_group') AS b0,
            toString(anyIf(v_date, tag = 'rfm_group')) AS d0, anyIf(v_list, tag = 'rfm_group') AS l0,
countIf(tag = 'lifecycle_stage') > 0 AS has1, anyIf(v_number, tag = 'lifecycle_stage') AS n1, anyIf(v_string, tag = 'lifecycle_stage') AS s1, anyIf(v_bool, tag = 'lifecycle_stage') AS b1,
            toString(anyIf(v_date, tag = 'lifecycle_stage')) AS d1, anyIf(v_list, tag = 'lifecycle_stage') AS l1 FROM tag_values
      WHERE workspace_id = 'ws_golden' AND run_id IN ['tag_<2>', 'tag_<3>']::Array(String) GROUP BY person_id) AS tv USING person_id) WHERE value IS NOT NULL)
           SETTINGS max_execution_time = 3600;
-- params:
--   Array(String) ['tag_<2>', 'tag_<3>']
--   Array(String) ['重要保持客户', '重要挽留客户']
--   Date '2026-06-30'
--   String 'lifecycle_stage'
--   String 'rfm_group'
--   String 'tag_<1>'
--   String 'value_segment'
--   String 'ws_golden'
--   String '新客'
--   String '普通客户'
--   String '核心客户'
--   String '重要价值客户'
--   String '重要发展客户'
--   String '高价值待挽回'
--   String '高潜力'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'value_segment' AND run_id = 'tag_<1>');
-- params:
--   String 'tag_<1>'
--   String 'value_segment'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'value_segment', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'value_segment' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'tag_<1>'
--   String 'value_segment'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'value_segment' AND run_id = 'tag_<1>';
-- params:
--   String 'tag_<1>'
--   String 'value_segment'
--   String 'ws_golden'
