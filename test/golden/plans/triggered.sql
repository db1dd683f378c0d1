-- plans/triggered

-- query
SELECT 1 FROM events WHERE workspace_id = 'ws_golden' AND event = 'Added to Cart'
AND timestamp > fromUnixTimestamp64Milli(1782865200000::Int64) AND timestamp <= fromUnixTimestamp64Milli(1782869400000::Int64) LIMIT 1;
-- params:
--   Int64 1782865200000
--   Int64 1782869400000
--   String 'Added to Cart'
--   String 'ws_golden'

-- query
SELECT a.person_id AS person_id, a.message_id AS message_id, any(multiIf(a.person_id IN (SELECT arrayJoin(bitmapToArray((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_level IS NOT NULL AND toString(pf_level) != '' AND assumeNotNull(pf_level) = '员工')))) AS person_id), 'excluded: in segment staff', '')) AS excluded
     FROM (SELECT person_id, message_id, timestamp AS at FROM events FINAL
           WHERE workspace_id = 'ws_golden' AND person_id > 0 AND event = 'Added to Cart'
             AND timestamp > fromUnixTimestamp64Milli(1782865200000::Int64) AND timestamp <= fromUnixTimestamp64Milli(1782869400000::Int64) AND person_id IN (SELECT arrayJoin(bitmapToArray((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (SELECT person_id, uniqExact(source, order_id) AS orders, sum(amount) AS spent FROM (
  SELECT person_id, source, order_id, ordered_at, toDate(ordered_at, 'Asia/Shanghai') AS day, store_id,
         toFloat64(amount - refunded) AS amount, toFloat64(item_count) AS item_count, toFloat64(discount) AS discount,
         package_periods
  FROM orders FINAL
  WHERE workspace_id = 'ws_golden' AND person_id > 0 AND status NOT IN ('cancelled', 'pending')
    AND NOT (status = 'refunded' AND refunded >= amount) AND toDate(ordered_at, 'Asia/Shanghai') <= '<today>'::Date
) WHERE 1 GROUP BY person_id) WHERE orders >= 1::UInt64)))) AS person_id)) AS a
     LEFT JOIN (SELECT person_id, timestamp AS bt FROM events FINAL
        WHERE workspace_id = 'ws_golden' AND person_id > 0 AND event = 'Order Completed'
          AND timestamp > fromUnixTimestamp64Milli(1782865200000::Int64) AND timestamp <= fromUnixTimestamp64Milli(1782869400000::Int64) + toIntervalSecond(1800::UInt32)) AS b
      ON b.person_id = a.person_id
     GROUP BY a.person_id, a.message_id, a.at HAVING countIf(b.bt > a.at AND b.bt <= a.at + toIntervalSecond(1800::UInt32)) = 0
     ORDER BY a.at, a.message_id;
-- params:
--   Date '<today>'
--   Int64 1782865200000
--   Int64 1782869400000
--   String 'Added to Cart'
--   String 'Asia/Shanghai'
--   String 'Order Completed'
--   String 'excluded: in segment staff'
--   String 'ws_golden'
--   String '员工'
--   UInt32 1800
--   UInt64 1
