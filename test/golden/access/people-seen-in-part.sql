-- access/people-seen-in-part

-- query
SELECT DISTINCT person_id FROM source_records FINAL
WHERE workspace_id = 'ws_golden' AND person_id IN [1, 2, 3]::Array(UInt64) AND source NOT IN ['crm']::Array(String);
-- params:
--   Array(String) ['crm']
--   Array(UInt64) [1, 2, 3]
--   String 'ws_golden'
