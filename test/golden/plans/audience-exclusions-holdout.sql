-- plans/audience-exclusions-holdout

-- command
ALTER TABLE plan_audiences DELETE WHERE workspace_id = 'ws_golden' AND plan = 'golden_plan' AND run_id = 'run_<1>' SETTINGS mutations_sync = 1;
-- params:
--   String 'golden_plan'
--   String 'run_<1>'
--   String 'ws_golden'

-- command
INSERT INTO plan_audiences (workspace_id, plan, run_id, person_id, excluded, address)
     SELECT 'ws_golden', 'golden_plan', 'run_<1>', members.person_id, multiIf(members.person_id IN (SELECT arrayJoin(bitmapToArray((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_level IS NOT NULL AND toString(pf_level) != '' AND assumeNotNull(pf_level) = '员工')))) AS person_id), 'excluded: in segment staff', members.person_id IN (SELECT arrayJoin(bitmapToArray((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (
  SELECT person_id, argMaxIf(attributes['gender'], seen_at, attributes['gender'] != '') AS pf_gender,
    argMaxIf(attributes['level'], seen_at, attributes['level'] != '') AS pf_level,
    argMaxIf(attributes['city'], seen_at, attributes['city'] != '') AS pf_city,
    argMaxIf(attributes['channel'], seen_at, attributes['channel'] != '') AS pf_channel,
    toFloat64OrNull(argMaxIf(attributes['points'], seen_at, attributes['points'] != '')) AS pf_points,
    toString(toDateOrNull(substring(argMaxIf(attributes['registered_at'], seen_at, attributes['registered_at'] != ''), 1, 10))) AS pf_registered_at,
    toString(toDateOrNull(substring(argMaxIf(birthday, seen_at, birthday != ''), 1, 10))) AS pf_birthday
  FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0 AND kind = 'member' GROUP BY person_id
) WHERE pf_level IS NOT NULL AND toString(pf_level) != '' AND assumeNotNull(pf_level) = '金卡')))) AS person_id), 'excluded: in segment gold', members.person_id IN (SELECT person_id FROM (SELECT person_id, min(at) AS at, sum(amount) AS revenue FROM (
  SELECT p.person_id AS person_id, l.sku AS sku, if(l.category != '', l.category, c.category) AS category,
         if(l.product_name != '', l.product_name, c.product_name) AS product_name, toFloat64(l.amount) AS amount, p.ordered_at AS at, p.day AS day,
         p.source AS source, p.order_id AS order_id
  FROM (SELECT source, order_id, sku, category, product_name, amount FROM order_lines FINAL WHERE workspace_id = 'ws_golden') AS l
  INNER JOIN (
  SELECT person_id, source, order_id, ordered_at, toDate(ordered_at, 'Asia/Shanghai') AS day, store_id,
         toFloat64(amount - refunded) AS amount, toFloat64(item_count) AS item_count, toFloat64(discount) AS discount,
         package_periods
  FROM orders FINAL
  WHERE workspace_id = 'ws_golden' AND person_id > 0 AND status NOT IN ('cancelled', 'pending')
    AND NOT (status = 'refunded' AND refunded >= amount) AND toDate(ordered_at, 'Asia/Shanghai') <= '2299-12-31'::Date
) AS p ON l.source = p.source AND l.order_id = p.order_id
  LEFT JOIN (SELECT sku, category, product_name FROM products FINAL WHERE workspace_id = 'ws_golden') AS c ON l.sku = c.sku
) WHERE category IN ['鲜炖燕窝']::Array(String) GROUP BY person_id, source, order_id) WHERE at >= toDateTime64(1892858400::Int64, 3)), 'excluded: reached the goal in the last 7 days', ''), addr.address
     FROM (SELECT arrayJoin(bitmapToArray(bitmapAnd((SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM person_identities FINAL WHERE workspace_id = 'ws_golden' AND type = 'member_no')), (SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (SELECT person_id, uniqExact(source, order_id) AS orders, sum(amount) AS spent FROM (
  SELECT person_id, source, order_id, ordered_at, toDate(ordered_at, 'Asia/Shanghai') AS day, store_id,
         toFloat64(amount - refunded) AS amount, toFloat64(item_count) AS item_count, toFloat64(discount) AS discount,
         package_periods
  FROM orders FINAL
  WHERE workspace_id = 'ws_golden' AND person_id > 0 AND status NOT IN ('cancelled', 'pending')
    AND NOT (status = 'refunded' AND refunded >= amount) AND toDate(ordered_at, 'Asia/Shanghai') <= '<today>'::Date
) WHERE 1 AND day > subtractDays('<today>'::Date, 30::UInt32) AND day <= '<today>'::Date GROUP BY person_id) WHERE orders >= 1::UInt64))))) AS person_id) AS members LEFT JOIN (SELECT person_id, argMax(value, records) AS address FROM person_identities FINAL
      WHERE workspace_id = 'ws_golden' AND type = 'phone' AND person_id > 0 GROUP BY person_id) AS addr ON addr.person_id = members.person_id;
-- params:
--   Array(String) ['鲜炖燕窝']
--   Date '2299-12-31'
--   Date '<today>'
--   Int64 1892858400
--   String 'Asia/Shanghai'
--   String 'excluded: in segment gold'
--   String 'excluded: in segment staff'
--   String 'excluded: reached the goal in the last 7 days'
--   String 'golden_plan'
--   String 'member_no'
--   String 'phone'
--   String 'run_<1>'
--   String 'ws_golden'
--   String '员工'
--   String '金卡'
--   UInt32 30
--   UInt64 1

-- query
SELECT count() AS n FROM plan_audiences WHERE workspace_id = 'ws_golden' AND plan = 'golden_plan' AND run_id = 'run_<1>';
-- params:
--   String 'golden_plan'
--   String 'run_<1>'
--   String 'ws_golden'

-- query
SELECT person_id, excluded, address FROM plan_audiences
WHERE workspace_id = 'ws_golden' AND plan = 'golden_plan' AND run_id = 'run_<1>' AND person_id > 0::UInt64
ORDER BY person_id LIMIT 5000::UInt32;
-- params:
--   String 'golden_plan'
--   String 'run_<1>'
--   String 'ws_golden'
--   UInt32 5000
--   UInt64 0
