-- tags/purchase_cycle_days

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_number)
SELECT 'ws_golden', 'purchase_cycle_days', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, own_cycle AS value FROM tag_run_cycle_<2>_all WHERE own_cycle IS NOT NULL)
SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'purchase_cycle_days'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'purchase_cycle_days' AND run_id = 'tag_<1>';
-- params:
--   String 'purchase_cycle_days'
--   String 'tag_<1>'
--   String 'ws_golden'
