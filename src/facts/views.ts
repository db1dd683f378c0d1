/**
 * The shared views over the facts store: who "everyone" is, what counts as a purchase and a purchase
 * line. Each is a parenthesised subquery bound by {ws:String}; the purchases also by {tz:String}
 * (their day in the workspace's zone) and {base:Date} (nothing after the base date).
 */

/** Everyone OneID knows in the workspace (a person with any record). */
export const EVERYONE = `(SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0)`;

/**
 * Purchases up to the end of the base date, with their day in the workspace's zone: an order counts
 * once (a package's weekly shipments are not purchases); cancelled, unpaid and fully refunded orders
 * do not count, and refunds reduce the amount. `orders` names the table (a SQL tag's sandbox
 * qualifies it by database); it is always ours.
 */
export const purchasesFrom = (orders = 'orders') => `(
  SELECT person_id, source, order_id, ordered_at, toDate(ordered_at, {tz:String}) AS day, store_id,
         toFloat64(amount - refunded) AS amount, toFloat64(item_count) AS item_count, toFloat64(discount) AS discount,
         package_periods
  FROM ${orders} FINAL
  WHERE workspace_id = {ws:String} AND person_id > 0 AND status NOT IN ('cancelled', 'pending')
    AND NOT (status = 'refunded' AND refunded >= amount) AND toDate(ordered_at, {tz:String}) <= {base:Date}
)`;

export const PURCHASES = purchasesFrom();

/**
 * The lines of those purchases, each with its buyer, time and day; a line without a category or
 * name takes its SKU's from the product catalogue. Over other purchases (a tag run's own table of
 * them) with `purchases`.
 */
export const purchaseLines = (purchases = PURCHASES) => `(
  SELECT p.person_id AS person_id, l.sku AS sku, if(l.category != '', l.category, c.category) AS category,
         if(l.product_name != '', l.product_name, c.product_name) AS product_name, toFloat64(l.amount) AS amount, p.ordered_at AS at, p.day AS day,
         p.source AS source, p.order_id AS order_id
  FROM (SELECT source, order_id, sku, category, product_name, amount FROM order_lines FINAL WHERE workspace_id = {ws:String}) AS l
  INNER JOIN ${purchases} AS p ON l.source = p.source AND l.order_id = p.order_id
  LEFT JOIN (SELECT sku, category, product_name FROM products FINAL WHERE workspace_id = {ws:String}) AS c ON l.sku = c.sku
)`;

export const PURCHASE_LINES = purchaseLines();
