-- tags/subscriber

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_bool)
     SELECT 'ws_golden', 'subscriber', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, value FROM (SELECT person_id, multiIf(has0, 1::UInt8, 0::UInt8) AS value FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0) AS everyone LEFT JOIN (SELECT person_id, countIf(tag = 'subscription_status') > 0 AS has0, anyIf(v_number, tag = 'subscription_status') AS n0, anyIf(v_string, tag = 'subscription_status') AS s0, anyIf(v_bool, tag = 'subscription_status') AS b0,
      toString(anyIf(v_date, tag = 'subscription_status')) AS d0, anyIf(v_list, tag = 'subscription_status') AS l0 FROM tag_values
WHERE workspace_id = 'ws_golden' AND run_id IN ['tag_<2>']::Array(String) GROUP BY person_id) AS tv USING person_id) WHERE value IS NOT NULL)
     SETTINGS max_execution_time = 3600;
-- params:
--   Array(String) ['tag_<2>']
--   Date '2026-06-30'
--   String 'subscriber'
--   String 'subscription_status'
--   String 'tag_<1>'
--   String 'ws_golden'
--   UInt8 0
--   UInt8 1

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, if(v_bool = 1, 'true', 'false') AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'subscriber' AND run_id = 'tag_<1>');
-- params:
--   String 'subscriber'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'subscriber', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, if(v_bool = 1, 'true', 'false') AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'subscriber' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'subscriber'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'subscriber' AND run_id = 'tag_<1>';
-- params:
--   String 'subscriber'
--   String 'tag_<1>'
--   String 'ws_golden'
