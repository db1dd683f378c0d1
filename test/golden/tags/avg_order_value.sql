-- tags/avg_order_value

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_number)
SELECT 'ws_golden', 'avg_order_value', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, v AS value FROM (SELECT person_id, avg(amount) AS v FROM tag_run_purchases_<2>  GROUP BY person_id))
SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'avg_order_value'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'avg_order_value' AND run_id = 'tag_<1>';
-- params:
--   String 'avg_order_value'
--   String 'tag_<1>'
--   String 'ws_golden'
