-- tags/rfm_group

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
       SELECT 'ws_golden', 'rfm_group', 'tag_<1>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, transform(concat(toString(recency < avg(recency) OVER ()), toString(frequency > avg(frequency) OVER ()), toString(monetary > avg(monetary) OVER ())),
  ['100', '101', '110', '111', '011', '001', '010', '000']::Array(String), ['一般发展客户', '重要发展客户', '一般价值客户', '重要价值客户', '重要保持客户', '重要挽留客户', '一般保持客户', '一般挽留客户']::Array(String), '') AS value FROM (SELECT *, toFloat64(1 + intDiv((rank() OVER (ORDER BY recency DESC) - 1) * 5::UInt32, count() OVER ())) AS r_score, toFloat64(1 + intDiv((rank() OVER (ORDER BY frequency ASC) - 1) * 5::UInt32, count() OVER ())) AS f_score, toFloat64(1 + intDiv((rank() OVER (ORDER BY monetary ASC) - 1) * 5::UInt32, count() OVER ())) AS m_score FROM (SELECT person_id, toFloat64(dateDiff('day', max(day), '2026-06-30'::Date)) AS recency, toFloat64(count()) AS frequency, sum(amount) AS monetary
FROM tag_run_purchases_<2> WHERE day > subtractDays('2026-06-30'::Date, 3650::UInt32) GROUP BY person_id)))
       SETTINGS max_execution_time = 3600;
-- params:
--   Array(String) ['100', '101', '110', '111', '011', '001', '010', '000']
--   Array(String) ['一般发展客户', '重要发展客户', '一般价值客户', '重要价值客户', '重要保持客户', '重要挽留客户', '一般保持客户', '一般挽留客户']
--   Date '2026-06-30'
--   String 'rfm_group'
--   String 'tag_<1>'
--   String 'ws_golden'
--   UInt32 3650
--   UInt32 5

-- query
SELECT uniqExact(value) AS n FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'rfm_group' AND run_id = 'tag_<1>');
-- params:
--   String 'rfm_group'
--   String 'tag_<1>'
--   String 'ws_golden'

-- command
INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT 'ws_golden', 'rfm_group', 'tag_<1>', value, groupBitmapState(person_id) FROM (SELECT person_id, toString(v_string) AS value FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'rfm_group' AND run_id = 'tag_<1>') GROUP BY value;
-- params:
--   String 'rfm_group'
--   String 'tag_<1>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'rfm_group' AND run_id = 'tag_<1>';
-- params:
--   String 'rfm_group'
--   String 'tag_<1>'
--   String 'ws_golden'
