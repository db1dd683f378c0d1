-- segments-insights/cross-matrix-team

-- query
SELECT a.value AS r, b.value AS c, count() AS people FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND run_id = 'tag_<1>' AND person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['tmall', 'it\'s']::Array(String) AND person_id > 0) AND person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1' AND staff_userid != '' AND person_id > 0)) AS a INNER JOIN (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND run_id = 'tag_<2>' AND person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['tmall', 'it\'s']::Array(String) AND person_id > 0) AND person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1' AND staff_userid != '' AND person_id > 0)) AS b ON a.person_id = b.person_id
GROUP BY r, c ORDER BY r, c;
-- params:
--   Array(String) ['tmall', 'it\'s']
--   String 's1'
--   String 'tag_<1>'
--   String 'tag_<2>'
--   String 'ws_golden'
