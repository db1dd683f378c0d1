-- tags/_run-start

-- query
SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, 'tag_run_') AND metadata_modification_time < now() - INTERVAL 1 DAY;

-- command
CREATE TABLE tag_run_purchases_<1> (person_id UInt64, source LowCardinality(String), order_id String, ordered_at DateTime64(3, 'UTC'), day Date,
store_id String, amount Float64, item_count Float64, discount Float64, package_periods UInt16) ENGINE = MergeTree ORDER BY person_id;

-- command
INSERT INTO tag_run_purchases_<1> SELECT person_id, source, order_id, ordered_at, day, store_id, amount, item_count, discount, package_periods FROM (
  SELECT person_id, source, order_id, ordered_at, toDate(ordered_at, 'Asia/Shanghai') AS day, store_id,
         toFloat64(amount - refunded) AS amount, toFloat64(item_count) AS item_count, toFloat64(discount) AS discount,
         package_periods
  FROM orders FINAL
  WHERE workspace_id = 'ws_golden' AND person_id > 0 AND status NOT IN ('cancelled', 'pending')
    AND NOT (status = 'refunded' AND refunded >= amount) AND toDate(ordered_at, 'Asia/Shanghai') <= '2026-06-30'::Date
);
-- params:
--   Date '2026-06-30'
--   String 'Asia/Shanghai'
--   String 'ws_golden'

-- command
CREATE TABLE tag_run_lines_<2> (person_id UInt64, sku String, category LowCardinality(String), product_name String, amount Float64, at DateTime64(3, 'UTC'), day Date,
source LowCardinality(String), order_id String)
ENGINE = MergeTree ORDER BY person_id;

-- command
INSERT INTO tag_run_lines_<2> SELECT * FROM (
  SELECT p.person_id AS person_id, l.sku AS sku, if(l.category != '', l.category, c.category) AS category,
         if(l.product_name != '', l.product_name, c.product_name) AS product_name, toFloat64(l.amount) AS amount, p.ordered_at AS at, p.day AS day,
         p.source AS source, p.order_id AS order_id
  FROM (SELECT source, order_id, sku, category, product_name, amount FROM order_lines FINAL WHERE workspace_id = 'ws_golden') AS l
  INNER JOIN tag_run_purchases_<1> AS p ON l.source = p.source AND l.order_id = p.order_id
  LEFT JOIN (SELECT sku, category, product_name FROM products FINAL WHERE workspace_id = 'ws_golden') AS c ON l.sku = c.sku
);
-- params:
--   String 'ws_golden'
