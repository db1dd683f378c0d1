-- tags/subscription_status

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
     SELECT 'ws_golden', 'subscription_status', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, multiIf(countIf(remaining > 0 AND NOT paused) > 0, 'active', countIf(paused) > 0, 'paused', 'ended') AS value FROM (SELECT p.person_id AS person_id, toInt64(p.package_periods) AS periods,
  if(s.rows > 0, toInt64(s.shipped), least(periods, intDiv(dateDiff('day', p.day, '2026-06-30'::Date), 7) + 1)) AS done,
  greatest(periods - done, 0) AS remaining,
  remaining > 0 AND match(s.next_status, '(?i)pause|暂停') AS paused
FROM tag_run_purchases_<2> AS p LEFT JOIN (SELECT source, order_id,
  countIf(shipped_at IS NOT NULL AND toDate(assumeNotNull(shipped_at), 'Asia/Shanghai') <= '2026-06-30'::Date) AS shipped,
  argMinIf(status, period, shipped_at IS NULL OR toDate(assumeNotNull(shipped_at), 'Asia/Shanghai') > '2026-06-30'::Date) AS next_status,
  count() AS rows
FROM shipments FINAL WHERE workspace_id = 'ws_golden' GROUP BY source, order_id) AS s ON p.source = s.source AND p.order_id = s.order_id
WHERE p.package_periods > 0) GROUP BY person_id)
     SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'Asia/Shanghai'
--   String 'subscription_status'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'subscription_status' AND run_id = 'tag_<1>');
-- params:
--   String 'subscription_status'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'subscription_status', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'subscription_status' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'subscription_status'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'subscription_status' AND run_id = 'tag_<1>';
-- params:
--   String 'subscription_status'
--   String 'tag_<1>'
--   String 'ws_golden'
