-- tags/next_due_date

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_date)
SELECT 'ws_golden', 'next_due_date', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, toDate32(next_due) AS value FROM tag_run_cycle_<2>_all WHERE cycle IS NOT NULL OR covered_until > last_day)
SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'next_due_date'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_date) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'next_due_date' AND run_id = 'tag_<1>');
-- params:
--   String 'next_due_date'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'next_due_date', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_date) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'next_due_date' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'next_due_date'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'next_due_date' AND run_id = 'tag_<1>';
-- params:
--   String 'next_due_date'
--   String 'tag_<1>'
--   String 'ws_golden'
