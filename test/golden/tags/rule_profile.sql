-- tags/rule_profile

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
           SELECT 'ws_golden', 'rule_profile', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, value FROM (SELECT person_id, multiIf((((pf_level IS NOT NULL AND toString(pf_level) != '') AND assumeNotNull(pf_level) IN ['金卡', 'it\'s {x:String}']::Array(String)) OR ((pf_points IS NOT NULL AND toString(pf_points) != '') AND assumeNotNull(pf_points) > 10::Float64)), '重点', (st_has0 AND st_v0 >= 150::Float64), '高消费', NULL) AS value FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0) AS everyone LEFT JOIN (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) AS pf USING person_id
LEFT JOIN (SELECT person_id, v AS st_v0, 1 AS st_has0 FROM (SELECT person_id, sum(amount) AS v FROM tag_run_purchases_<2> WHERE day > subtractDays('2026-06-30'::Date, 90::UInt32) GROUP BY person_id)) AS st0 USING person_id) WHERE value IS NOT NULL)
           SETTINGS max_execution_time = 3600;
-- params:
--   Array(String) ['金卡', 'it\'s {x:String}']
--   Date '2026-06-30'
--   Float64 10
--   Float64 150
--   String 'rule_profile'
--   String 'tag_<1>'
--   String 'ws_golden'
--   String '重点'
--   String '高消费'
--   UInt32 90

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'rule_profile' AND run_id = 'tag_<1>');
-- params:
--   String 'rule_profile'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'rule_profile', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'rule_profile' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'rule_profile'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'rule_profile' AND run_id = 'tag_<1>';
-- params:
--   String 'rule_profile'
--   String 'tag_<1>'
--   String 'ws_golden'
