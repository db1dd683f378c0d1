-- tags/fav_platform

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
       SELECT 'ws_golden', 'fav_platform', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, favourites[1] AS value FROM (SELECT person_id, arraySlice(arrayMap(x -> x.1, arraySort(x -> (-x.2, -toUnixTimestamp64Milli(x.3), x.1), groupArray((item, score, last)))), 1, 1::UInt32) AS favourites
FROM (SELECT person_id, item, toFloat64(count()) AS score, max(at) AS last FROM (SELECT p.person_id AS person_id, source AS item, p.amount AS amount, p.ordered_at AS at
   FROM tag_run_purchases_<2> AS p WHERE p.source != '' ) GROUP BY person_id, item)
GROUP BY person_id))
       SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'fav_platform'
--   String 'tag_<1>'
--   String 'ws_golden'
--   UInt32 1

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'fav_platform' AND run_id = 'tag_<1>');
-- params:
--   String 'fav_platform'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'fav_platform', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'fav_platform' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'fav_platform'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'fav_platform' AND run_id = 'tag_<1>';
-- params:
--   String 'fav_platform'
--   String 'tag_<1>'
--   String 'ws_golden'
