-- tags/registered_at

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_date)
           SELECT 'ws_golden', 'registered_at', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, toDate32(pf_registered_at) AS value FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_registered_at IS NOT NULL AND toString(pf_registered_at) != '')
           SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'registered_at'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_date) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'registered_at' AND run_id = 'tag_<1>');
-- params:
--   String 'registered_at'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'registered_at', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_date) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'registered_at' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'registered_at'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'registered_at' AND run_id = 'tag_<1>';
-- params:
--   String 'registered_at'
--   String 'tag_<1>'
--   String 'ws_golden'
