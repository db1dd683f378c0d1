-- tags/lifecycle_stage

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
     SELECT 'ws_golden', 'lifecycle_stage', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, multiIf(
'2026-06-30'::Date <= next_due, multiIf(purchases <= 1, '新客', purchases <= 3::UInt32, '成长', '成熟'),
since_last <= cycle * 2::Float64, '衰退',
since_last <= cycle * 4::Float64, '沉睡',
'流失') AS value FROM tag_run_cycle_<2>_all WHERE cycle IS NOT NULL OR covered_until > last_day)
     SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   Float64 2
--   Float64 4
--   String 'lifecycle_stage'
--   String 'tag_<1>'
--   String 'ws_golden'
--   UInt32 3

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'lifecycle_stage' AND run_id = 'tag_<1>');
-- params:
--   String 'lifecycle_stage'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'lifecycle_stage', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'lifecycle_stage' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'lifecycle_stage'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'lifecycle_stage' AND run_id = 'tag_<1>';
-- params:
--   String 'lifecycle_stage'
--   String 'tag_<1>'
--   String 'ws_golden'
