-- journeys/entry-branch

-- query
SELECT person_id FROM (SELECT arrayJoin(bitmapToArray((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_level IS NOT NULL AND toString(pf_level) != '' AND assumeNotNull(pf_level) = '金卡')))) AS person_id) ORDER BY person_id;
-- params:
--   String 'ws_golden'
--   String '金卡'

-- query
SELECT person_id FROM (SELECT arrayJoin(bitmapToArray(bitmapOr((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_city IS NOT NULL AND toString(pf_city) != '' AND assumeNotNull(pf_city) = '上海')), (SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM person_identities FINAL WHERE workspace_id = 'ws_golden' AND type = 'unionid'))))) AS person_id) WHERE person_id IN [1]::Array(UInt64);
-- params:
--   Array(UInt64) [1]
--   String 'unionid'
--   String 'ws_golden'
--   String '上海'
