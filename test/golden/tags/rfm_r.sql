-- tags/rfm_r

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_number)
       SELECT 'ws_golden', 'rfm_r', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, r_score AS value FROM (SELECT *, toFloat64(1 + intDiv((rank() OVER (ORDER BY recency DESC) - 1) * 5::UInt32, count() OVER ())) AS r_score, toFloat64(1 + intDiv((rank() OVER (ORDER BY frequency ASC) - 1) * 5::UInt32, count() OVER ())) AS f_score, toFloat64(1 + intDiv((rank() OVER (ORDER BY monetary ASC) - 1) * 5::UInt32, count() OVER ())) AS m_score FROM (SELECT person_id, toFloat64(dateDiff('day', max(day), '2026-06-30'::Date)) AS recency, toFloat64(count()) AS frequency, sum(amount) AS monetary
FROM tag_run_purchases_<2> WHERE day > subtractDays('2026-06-30'::Date, 3650::UInt32) GROUP BY person_id)))
       SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'rfm_r'
--   String 'tag_<1>'
--   String 'ws_golden'
--   UInt32 3650
--   UInt32 5

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'rfm_r' AND run_id = 'tag_<1>';
-- params:
--   String 'rfm_r'
--   String 'tag_<1>'
--   String 'ws_golden'
