-- split-any
SELECT person_id FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0) AS everyone
WHERE ((person_id IN (SELECT person_id FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_level IS NOT NULL AND toString(pf_level) != '' AND assumeNotNull(pf_level) = {p0:String}) OR person_id IN (SELECT person_id FROM (SELECT person_id, uniqExact(source, order_id) AS orders, sum(amount) AS spent FROM (
  SELECT person_id, source, order_id, ordered_at, toDate(ordered_at, {tz:String}) AS day, store_id,
         toFloat64(amount - refunded) AS amount, toFloat64(item_count) AS item_count, toFloat64(discount) AS discount,
         package_periods
  FROM orders FINAL
  WHERE workspace_id = {ws:String} AND person_id > 0 AND status NOT IN ('cancelled', 'pending')
    AND NOT (status = 'refunded' AND refunded >= amount) AND toDate(ordered_at, {tz:String}) <= {base:Date}
) WHERE 1 AND day BETWEEN {p1:Date} AND {p2:Date} AND source IN {p3:Array(String)} GROUP BY person_id) WHERE orders >= {p4:UInt64} AND spent >= {p5:Float64})) AND cityHash64(person_id, {p6:String}) % 10000 < {p7:UInt32})
-- params: {"ws":"ws_golden","tz":"Asia/Shanghai","today":"2026-06-30","base":"2026-06-30","now":1782835200,"p0":"金卡","p1":"2026-01-01","p2":"2026-06-30","p3":["tmall"],"p4":1,"p5":1000,"p6":"test-a","p7":1000}
