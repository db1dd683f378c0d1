-- tags/days_since_last_purchase

-- command
CREATE TABLE tag_run_cycle_<1>_all ENGINE = MergeTree ORDER BY person_id AS SELECT * FROM (SELECT person_id, purchases, days[-1] AS last_day, covered_until, gaps,
  if(length(gaps) > 0, arrayReduce('quantileExactInclusive(0.5)', gaps), NULL) AS own_cycle,
  (SELECT if(count() = 0, NULL, quantileExactInclusive(0.5)(g)) FROM (SELECT arrayJoin(gaps) AS g FROM (SELECT person_id, arraySort(groupArray(day)) AS days, count() AS purchases,
  argMax(if(periods > 0, addDays(day, 7 * periods), toDate('1970-01-01')), day) AS covered_until,
  arrayMap(i -> toFloat64(dateDiff('day', days[i - 1], days[i])), arrayEnumerate(days)) AS gaps_with_first,
  arrayPopFront(gaps_with_first) AS gaps
FROM (SELECT person_id, day, max(package_periods) AS periods FROM tag_run_purchases_<2> WHERE 1  GROUP BY person_id, day) GROUP BY person_id))) AS everyone_cycle,
  ifNull(own_cycle, everyone_cycle) AS cycle,
  toFloat64(dateDiff('day', last_day, '2026-06-30'::Date)) AS since_last,
  greatest(addDays(last_day, toInt32(round(ifNull(cycle, 0)))), covered_until) AS next_due
FROM (SELECT person_id, arraySort(groupArray(day)) AS days, count() AS purchases,
  argMax(if(periods > 0, addDays(day, 7 * periods), toDate('1970-01-01')), day) AS covered_until,
  arrayMap(i -> toFloat64(dateDiff('day', days[i - 1], days[i])), arrayEnumerate(days)) AS gaps_with_first,
  arrayPopFront(gaps_with_first) AS gaps
FROM (SELECT person_id, day, max(package_periods) AS periods FROM tag_run_purchases_<2> WHERE 1  GROUP BY person_id, day) GROUP BY person_id));
-- params:
--   Date '2026-06-30'

-- command
INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_number)
SELECT 'ws_golden', 'days_since_last_purchase', 'tag_<3>', '2026-06-30'::Date, person_id, value FROM (SELECT person_id, since_last AS value FROM tag_run_cycle_<1>_all WHERE 1)
SETTINGS max_execution_time = 3600;
-- params:
--   Date '2026-06-30'
--   String 'days_since_last_purchase'
--   String 'tag_<3>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'days_since_last_purchase' AND run_id = 'tag_<3>';
-- params:
--   String 'days_since_last_purchase'
--   String 'tag_<3>'
--   String 'ws_golden'
