-- access/people-in-scope

-- query
SELECT arrayJoin([1, 2, 3]::Array(UInt64)) AS person_id WHERE person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id IN [1, 2, 3]::Array(UInt64) AND source IN ['crm']::Array(String)) AND person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND person_id IN [1, 2, 3]::Array(UInt64) AND staff_userid = 's1' AND staff_userid != '');
-- params:
--   Array(String) ['crm']
--   Array(UInt64) [1, 2, 3]
--   String 's1'
--   String 'ws_golden'
