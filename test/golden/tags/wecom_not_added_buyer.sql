-- tags/wecom_not_added_buyer

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_bool)
           SELECT 'ws_golden', 'wecom_not_added_buyer', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, value FROM (SELECT person_id, multiIf(((has0 AND b0 = 1::UInt8) AND (has1 AND b1 = 0::UInt8)), 1::UInt8, 0::UInt8) AS value FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0) AS everyone LEFT JOIN (SELECT person_id, countIf(tag = 'repeat_buyer') > 0 AS has0, anyIf(v_number, tag = 'repeat_buyer') AS n0, anyIf(v_string, tag = 'repeat_buyer') AS s0, anyIf(v_bool, tag = 'repeat_buyer') AS b0,
            toString(anyIf(v_date, tag = 'repeat_buyer')) AS d0, anyIf(v_list, tag = 'repeat_buyer') AS l0,
countIf(tag = 'wecom_added') > 0 AS has1, anyIf(v_number, tag = 'wecom_added') AS n1, anyIf(v_string, tag = 'wecom_added') AS s1, anyIf(v_bool, tag = 'wecom_added') AS b1,
            toString(anyIf(v_date, tag = 'wecom_added')) AS d1, anyIf(v_list, tag = 'wecom_added') AS l1 FROM tag_values
      WHERE workspace_id = 'ws_golden' AND run_id IN ['tag_<2>', 'tag_<3>']::Array(String) GROUP BY person_id) AS tv USING person_id) WHERE value IS NOT NULL)
           SETTINGS max_execution_time = 3600;
-- params:
--   Array(String) ['tag_<2>', 'tag_<3>']
--   Date '2026-06-30'
--   String 'repeat_buyer'
--   String 'tag_<1>'
--   String 'wecom_added'
--   String 'wecom_not_added_buyer'
--   String 'ws_golden'
--   UInt8 0
--   UInt8 1

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, if(v_bool = 1, 'true', 'false') AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'wecom_not_added_buyer' AND run_id = 'tag_<1>');
-- params:
--   String 'tag_<1>'
--   String 'wecom_not_added_buyer'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'wecom_not_added_buyer', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, if(v_bool = 1, 'true', 'false') AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'wecom_not_added_buyer' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'tag_<1>'
--   String 'wecom_not_added_buyer'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'wecom_not_added_buyer' AND run_id = 'tag_<1>';
-- params:
--   String 'tag_<1>'
--   String 'wecom_not_added_buyer'
--   String 'ws_golden'
