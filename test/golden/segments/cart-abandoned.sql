-- cart-abandoned
SELECT person_id FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0) AS everyone
WHERE (person_id IN (SELECT person_id FROM (
            SELECT person_id, groupArrayIf(toUnixTimestamp(timestamp), event = {p1:String}) AS a, groupArrayIf(toUnixTimestamp(timestamp), event = {p2:String}) AS b FROM (SELECT person_id, timestamp, toDate(timestamp, {tz:String}) AS day, event, properties FROM events FINAL WHERE workspace_id = {ws:String} AND person_id > 0 AND (((event = {p1:String}) OR (event = {p2:String})) AND toDate(timestamp, {tz:String}) > subtractDays({today:Date}, {p3:UInt32}) AND toDate(timestamp, {tz:String}) <= {today:Date})) GROUP BY person_id
          ) WHERE arrayExists(t -> t + {p0:UInt32} <= {now:UInt32} AND NOT arrayExists(u -> u >= t AND u <= t + {p0:UInt32}, b), a)))
-- params: {"ws":"ws_golden","tz":"Asia/Shanghai","today":"2026-06-30","base":"2026-06-30","now":1782835200,"p0":86400,"p1":"Added to Cart","p2":"Order Completed","p3":7}
