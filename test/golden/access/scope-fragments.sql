-- access/scope-fragments

-- peopleScopeSql (everyone)
1;

-- sourceScopeSql (everyone)
1;

-- identitySourcesSql (everyone)
1;

-- peopleScopeSql (team)
p.person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['tmall', 'it\'s']::Array(String) AND person_id > 0);
-- params:
--   Array(String) ['tmall', 'it\'s']
--   String 'ws_golden'

-- sourceScopeSql (team)
source IN ['tmall', 'it\'s']::Array(String);
-- params:
--   Array(String) ['tmall', 'it\'s']

-- identitySourcesSql (team)
hasAny(sources, ['tmall', 'it\'s']::Array(String));
-- params:
--   Array(String) ['tmall', 'it\'s']

-- peopleScopeSql (staff)
p.person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1\' OR 1' AND staff_userid != '' AND person_id > 0);
-- params:
--   String 's1\' OR 1'
--   String 'ws_golden'

-- sourceScopeSql (staff)
1;

-- identitySourcesSql (staff)
1;

-- peopleScopeSql (both)
p.person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['crm']::Array(String) AND person_id > 0) AND p.person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1' AND staff_userid != '' AND person_id > 0);
-- params:
--   Array(String) ['crm']
--   String 's1'
--   String 'ws_golden'

-- sourceScopeSql (both)
source IN ['crm']::Array(String);
-- params:
--   Array(String) ['crm']

-- identitySourcesSql (both)
hasAny(sources, ['crm']::Array(String));
-- params:
--   Array(String) ['crm']
