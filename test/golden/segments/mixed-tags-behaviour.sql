-- mixed-tags-behaviour
SELECT person_id FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0) AS everyone
WHERE (person_id IN (SELECT person_id FROM tag_values WHERE workspace_id = {ws:String} AND tag = {p0:String} AND run_id = {p1:String} AND v_string = {p2:String}) AND (person_id IN (SELECT person_id FROM (SELECT person_id, timestamp, toDate(timestamp, {tz:String}) AS day, event, properties FROM events FINAL WHERE workspace_id = {ws:String} AND person_id > 0 AND (event = {p3:String} AND JSONExtractString(properties, {p4:String}) = {p5:String} AND toDate(timestamp, {tz:String}) > subtractDays({today:Date}, {p6:UInt32}) AND toDate(timestamp, {tz:String}) <= {today:Date})) GROUP BY person_id HAVING count() >= {p7:UInt64})) AND (NOT person_id IN (SELECT person_id FROM (SELECT person_id, uniqExact(source, order_id) AS orders, sum(amount) AS spent FROM (
  SELECT p.person_id AS person_id, l.sku AS sku, if(l.category != '', l.category, c.category) AS category,
         if(l.product_name != '', l.product_name, c.product_name) AS product_name, toFloat64(l.amount) AS amount, p.ordered_at AS at, p.day AS day,
         p.source AS source, p.order_id AS order_id
  FROM (SELECT source, order_id, sku, category, product_name, amount FROM order_lines FINAL WHERE workspace_id = {ws:String}) AS l
  INNER JOIN (
  SELECT person_id, source, order_id, ordered_at, toDate(ordered_at, {tz:String}) AS day, store_id,
         toFloat64(amount - refunded) AS amount, toFloat64(item_count) AS item_count, toFloat64(discount) AS discount,
         package_periods
  FROM orders FINAL
  WHERE workspace_id = {ws:String} AND person_id > 0 AND status NOT IN ('cancelled', 'pending')
    AND NOT (status = 'refunded' AND refunded >= amount) AND toDate(ordered_at, {tz:String}) <= {base:Date}
) AS p ON l.source = p.source AND l.order_id = p.order_id
  LEFT JOIN (SELECT sku, category, product_name FROM products FINAL WHERE workspace_id = {ws:String}) AS c ON l.sku = c.sku
) WHERE 1 AND day > subtractDays({today:Date}, {p8:UInt32}) AND day <= {today:Date} AND category IN {p9:Array(String)} GROUP BY person_id) WHERE orders >= {p10:UInt64})) AND person_id IN (SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = {p11:String}))
-- params: {"ws":"ws_golden","tz":"Asia/Shanghai","today":"2026-06-30","base":"2026-06-30","now":1782835200,"p0":"lifecycle_stage","p1":"tag_run_lifecycle","p2":"成熟","p3":"Product Viewed","p4":"category","p5":"鲜炖燕窝","p6":14,"p7":3,"p8":30,"p9":["鲜炖燕窝"],"p10":1,"p11":"unionid"}
