-- tags/first_order_value

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_number)
SELECT 'ws_golden', 'first_order_value', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, v AS value FROM (SELECT person_id, argMin(amount, ordered_at) AS v FROM tag_run_purchases_<2>  GROUP BY person_id))
SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'first_order_value'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'first_order_value' AND run_id = 'tag_<1>';
-- params:
--   String 'first_order_value'
--   String 'tag_<1>'
--   String 'ws_golden'
