-- tags/wecom_days_since_added

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_number)
       SELECT 'ws_golden', 'wecom_days_since_added', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, toFloat64(dateDiff('day', first_added, '2026-06-30'::Date)) AS value FROM (SELECT person_id, count() AS owners, min(added) AS first_added, argMin(owner, added) AS first_owner FROM (
  SELECT person_id, staff_userid, if(staff_name != '', staff_name, staff_userid) AS owner, ifNull(toDate(added_at, 'Asia/Shanghai'), toDate('1970-01-01')) AS added
  FROM contacts FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND (added_at IS NULL OR toDate(assumeNotNull(added_at), 'Asia/Shanghai') <= '2026-06-30'::Date)
) GROUP BY person_id) WHERE first_added > toDate('1970-01-01'))
       SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'Asia/Shanghai'
--   String 'tag_<1>'
--   String 'wecom_days_since_added'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'wecom_days_since_added' AND run_id = 'tag_<1>';
-- params:
--   String 'tag_<1>'
--   String 'wecom_days_since_added'
--   String 'ws_golden'
