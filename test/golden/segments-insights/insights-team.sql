-- segments-insights/insights-team

-- query
SELECT 1 FROM people_bitmaps WHERE workspace_id = 'ws_golden' LIMIT 1;
-- params:
--   String 'ws_golden'

-- query
SELECT countIf(person_id IN (SELECT person_id FROM (SELECT arrayJoin(bitmapToArray((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_level IS NOT NULL AND toString(pf_level) != '')))) AS person_id) WHERE person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['tmall', 'it\'s']::Array(String) AND person_id > 0) AND person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1' AND staff_userid != '' AND person_id > 0))) AS inside, count() AS base FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0) AS everyone WHERE person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['tmall', 'it\'s']::Array(String) AND person_id > 0) AND person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1' AND staff_userid != '' AND person_id > 0);
-- params:
--   Array(String) ['tmall', 'it\'s']
--   String 's1'
--   String 'ws_golden'

-- query
SELECT value, countIf(inside) AS inside, count() AS base FROM (SELECT person_id, toString(v_string) AS value, person_id IN (SELECT person_id FROM (SELECT arrayJoin(bitmapToArray((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_level IS NOT NULL AND toString(pf_level) != '')))) AS person_id) WHERE person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['tmall', 'it\'s']::Array(String) AND person_id > 0) AND person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1' AND staff_userid != '' AND person_id > 0)) AS inside FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'fav_category' AND run_id = 'tag_<1>' AND person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['tmall', 'it\'s']::Array(String) AND person_id > 0) AND person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1' AND staff_userid != '' AND person_id > 0))
       GROUP BY value ORDER BY inside DESC, base DESC, value LIMIT 10::UInt32;
-- params:
--   Array(String) ['tmall', 'it\'s']
--   String 'fav_category'
--   String 's1'
--   String 'tag_<1>'
--   String 'ws_golden'
--   UInt32 10

-- query
SELECT countIf(inside) AS people_inside, count() AS people_base, avgIf(value, inside) AS avg_inside, avg(value) AS avg_base,
                quantileExactIf(0.5)(value, inside) AS median_inside, quantileExact(0.5)(value) AS median_base
         FROM (SELECT person_id, v_number AS value, person_id IN (SELECT person_id FROM (SELECT arrayJoin(bitmapToArray((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_level IS NOT NULL AND toString(pf_level) != '')))) AS person_id) WHERE person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['tmall', 'it\'s']::Array(String) AND person_id > 0) AND person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1' AND staff_userid != '' AND person_id > 0)) AS inside FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'spend_total' AND run_id = 'tag_<2>' AND person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND source IN ['tmall', 'it\'s']::Array(String) AND person_id > 0) AND person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND staff_userid = 's1' AND staff_userid != '' AND person_id > 0));
-- params:
--   Array(String) ['tmall', 'it\'s']
--   String 's1'
--   String 'spend_total'
--   String 'tag_<2>'
--   String 'ws_golden'
