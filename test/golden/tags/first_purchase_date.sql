-- tags/first_purchase_date

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_date)
SELECT 'ws_golden', 'first_purchase_date', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, v AS value FROM (SELECT person_id, toDate32(min(ordered_at), 'Asia/Shanghai') AS v FROM tag_run_purchases_<2>  GROUP BY person_id))
SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'Asia/Shanghai'
--   String 'first_purchase_date'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_date) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'first_purchase_date' AND run_id = 'tag_<1>');
-- params:
--   String 'first_purchase_date'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'first_purchase_date', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_date) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'first_purchase_date' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'first_purchase_date'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'first_purchase_date' AND run_id = 'tag_<1>';
-- params:
--   String 'first_purchase_date'
--   String 'tag_<1>'
--   String 'ws_golden'
