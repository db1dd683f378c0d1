-- tags/p_alive

-- queryRowBinary
SELECT toUInt32(person_id), toUInt32(count() - 1), toUInt32(dateDiff('day', min(day), max(day))), toUInt32(dateDiff('day', min(day), '2026-06-30'::Date)),
       toUInt32(round(if(count() > 1, (sum(spent) - argMin(spent, day)) / (count() - 1), 0) * 100))
FROM (SELECT person_id, day, sum(amount) AS spent FROM tag_run_purchases_<1> WHERE 0::UInt64 = 0 OR person_id = 0::UInt64 GROUP BY person_id, day)
GROUP BY person_id ORDER BY person_id;
-- params:
--   Date '2026-06-30'
--   UInt64 0
