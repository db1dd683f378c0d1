-- tags/sql_orders

-- query
SELECT formatQuerySingleLine('SELECT person_id, count() AS value FROM orders WHERE status != \'x\'\'y\' GROUP BY person_id') AS formatted;
-- params:
--   String 'SELECT person_id, count() AS value FROM orders WHERE status != \'x\'\'y\' GROUP BY person_id'

-- query
SELECT formatQuerySingleLineOrNull('SELECT person_id, count() AS value FROM orders WHERE status != \'x\\\'y\' GROUP BY person_id') AS again;
-- params:
--   String 'SELECT person_id, count() AS value FROM orders WHERE status != \'x\\\'y\' GROUP BY person_id'

-- query
EXPLAIN AST SELECT person_id, count() AS value FROM orders WHERE status != 'x\'y' GROUP BY person_id;

-- query
SELECT name FROM system.tables WHERE database = currentDatabase();

-- query
SELECT name FROM system.databases;

-- query
SELECT currentDatabase() AS db;

-- query
EXPLAIN QUERY TREE WITH sandbox_<48>_orders AS (SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM default.orders FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_order_lines AS (SELECT * EXCEPT (workspace_id, version, is_deleted) FROM default.order_lines FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_shipments AS (SELECT * EXCEPT (workspace_id, version, is_deleted) FROM default.shipments FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_refunds AS (SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM default.refunds FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_events AS (SELECT * EXCEPT (workspace_id, version, is_deleted) FROM default.events FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_products AS (SELECT * EXCEPT (workspace_id, version, is_deleted, person_id) FROM default.products FINAL WHERE workspace_id = 'ws_golden'),
sandbox_<48>_contacts AS (SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM default.contacts FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_purchases AS ((
  SELECT person_id, source, order_id, ordered_at, toDate(ordered_at, 'Asia/Shanghai') AS day, store_id,
         toFloat64(amount - refunded) AS amount, toFloat64(item_count) AS item_count, toFloat64(discount) AS discount,
         package_periods
  FROM default.orders FINAL
  WHERE workspace_id = 'ws_golden' AND person_id > 0 AND status NOT IN ('cancelled', 'pending')
    AND NOT (status = 'refunded' AND refunded >= amount) AND toDate(ordered_at, 'Asia/Shanghai') <= '2026-06-30'::Date
)),
sandbox_<48>_tag_values AS (SELECT person_id, tag, v_string, v_number, v_bool, v_date, v_list FROM default.tag_values WHERE workspace_id = 'ws_golden' AND run_id IN ['tag_<1>', 'tag_<2>', 'tag_<3>', 'tag_<4>', 'tag_<5>', 'tag_<6>', 'tag_<7>', 'tag_<8>', 'tag_<9>', 'tag_<10>', 'tag_<11>', 'tag_<12>', 'tag_<13>', 'tag_<14>', 'tag_<15>', 'tag_<16>', 'tag_<17>', 'tag_<18>', 'tag_<19>', 'tag_<20>', 'tag_<21>', 'tag_<22>', 'tag_<23>', 'tag_<24>', 'tag_<25>', 'tag_<26>', 'tag_<27>', 'tag_<28>', 'tag_<29>', 'tag_<30>', 'tag_<31>', 'tag_<32>', 'tag_<33>', 'tag_<34>', 'tag_<35>', 'tag_<36>', 'tag_<37>', 'tag_<38>', 'tag_<39>', 'tag_<40>', 'tag_<41>', 'tag_<42>', 'tag_<43>', 'tag_<44>', 'tag_<45>', 'tag_<46>', 'tag_<47>']::Array(String)),
orders AS (SELECT * FROM sandbox_<48>_orders),
order_lines AS (SELECT * FROM sandbox_<48>_order_lines),
shipments AS (SELECT * FROM sandbox_<48>_shipments),
refunds AS (SELECT * FROM sandbox_<48>_refunds),
events AS (SELECT * FROM sandbox_<48>_events),
products AS (SELECT * FROM sandbox_<48>_products),
contacts AS (SELECT * FROM sandbox_<48>_contacts),
purchases AS (SELECT * FROM sandbox_<48>_purchases),
tag_values AS (SELECT * FROM sandbox_<48>_tag_values)
    SELECT toUInt64(person_id) AS person_id, toFloat64(value) AS value FROM (
SELECT person_id, count() AS value FROM orders WHERE status != 'x\'y' GROUP BY person_id
    )
SETTINGS readonly = 1, enable_scalar_subquery_optimization = 0, max_memory_usage = 1073741824, max_execution_time = 600, timeout_overflow_mode = 'throw', max_rows_to_read = 2000000000, read_overflow_mode = 'throw';
-- params:
--   Array(String) ['tag_<1>', 'tag_<2>', 'tag_<3>', 'tag_<4>', 'tag_<5>', 'tag_<6>', 'tag_<7>', 'tag_<8>', 'tag_<9>', 'tag_<10>', 'tag_<11>', 'tag_<12>', 'tag_<13>', 'tag_<14>', 'tag_<15>', 'tag_<16>', 'tag_<17>', 'tag_<18>', 'tag_<19>', 'tag_<20>', 'tag_<21>', 'tag_<22>', 'tag_<23>', 'tag_<24>', 'tag_<25>', 'tag_<26>', 'tag_<27>', 'tag_<28>', 'tag_<29>', 'tag_<30>', 'tag_<31>', 'tag_<32>', 'tag_<33>', 'tag_<34>', 'tag_<35>', 'tag_<36>', 'tag_<37>', 'tag_<38>', 'tag_<39>', 'tag_<40>', 'tag_<41>', 'tag_<42>', 'tag_<43>', 'tag_<44>', 'tag_<45>', 'tag_<46>', 'tag_<47>']
--   Date '2026-06-30'
--   String 'Asia/Shanghai'
--   String 'ws_golden'

-- insertFromSandbox tag_values (workspace_id, tag, run_id, base_date, person_id, v_number)
SELECT 'ws_golden' AS workspace_id, 'sql_orders' AS tag, 'tag_<49>' AS run_id, '2026-06-30'::Date AS base_date, person_id, value AS v_number FROM (SELECT person_id, value FROM (
WITH sandbox_<48>_orders AS (SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM default.orders FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_order_lines AS (SELECT * EXCEPT (workspace_id, version, is_deleted) FROM default.order_lines FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_shipments AS (SELECT * EXCEPT (workspace_id, version, is_deleted) FROM default.shipments FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_refunds AS (SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM default.refunds FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_events AS (SELECT * EXCEPT (workspace_id, version, is_deleted) FROM default.events FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_products AS (SELECT * EXCEPT (workspace_id, version, is_deleted, person_id) FROM default.products FINAL WHERE workspace_id = 'ws_golden'),
sandbox_<48>_contacts AS (SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM default.contacts FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0),
sandbox_<48>_purchases AS ((
  SELECT person_id, source, order_id, ordered_at, toDate(ordered_at, 'Asia/Shanghai') AS day, store_id,
         toFloat64(amount - refunded) AS amount, toFloat64(item_count) AS item_count, toFloat64(discount) AS discount,
         package_periods
  FROM default.orders FINAL
  WHERE workspace_id = 'ws_golden' AND person_id > 0 AND status NOT IN ('cancelled', 'pending')
    AND NOT (status = 'refunded' AND refunded >= amount) AND toDate(ordered_at, 'Asia/Shanghai') <= '2026-06-30'::Date
)),
sandbox_<48>_tag_values AS (SELECT person_id, tag, v_string, v_number, v_bool, v_date, v_list FROM default.tag_values WHERE workspace_id = 'ws_golden' AND run_id IN ['tag_<1>', 'tag_<2>', 'tag_<3>', 'tag_<4>', 'tag_<5>', 'tag_<6>', 'tag_<7>', 'tag_<8>', 'tag_<9>', 'tag_<10>', 'tag_<11>', 'tag_<12>', 'tag_<13>', 'tag_<14>', 'tag_<15>', 'tag_<16>', 'tag_<17>', 'tag_<18>', 'tag_<19>', 'tag_<20>', 'tag_<21>', 'tag_<22>', 'tag_<23>', 'tag_<24>', 'tag_<25>', 'tag_<26>', 'tag_<27>', 'tag_<28>', 'tag_<29>', 'tag_<30>', 'tag_<31>', 'tag_<32>', 'tag_<33>', 'tag_<34>', 'tag_<35>', 'tag_<36>', 'tag_<37>', 'tag_<38>', 'tag_<39>', 'tag_<40>', 'tag_<41>', 'tag_<42>', 'tag_<43>', 'tag_<44>', 'tag_<45>', 'tag_<46>', 'tag_<47>']::Array(String)),
orders AS (SELECT * FROM sandbox_<48>_orders),
order_lines AS (SELECT * FROM sandbox_<48>_order_lines),
shipments AS (SELECT * FROM sandbox_<48>_shipments),
refunds AS (SELECT * FROM sandbox_<48>_refunds),
events AS (SELECT * FROM sandbox_<48>_events),
products AS (SELECT * FROM sandbox_<48>_products),
contacts AS (SELECT * FROM sandbox_<48>_contacts),
purchases AS (SELECT * FROM sandbox_<48>_purchases),
tag_values AS (SELECT * FROM sandbox_<48>_tag_values)
    SELECT toUInt64(person_id) AS person_id, toFloat64(value) AS value FROM (
SELECT person_id, count() AS value FROM orders WHERE status != 'x\'y' GROUP BY person_id
    )
    ) WHERE person_id > 0 AND person_id IN (SELECT person_id FROM default.source_records FINAL WHERE workspace_id = 'ws_golden')
    LIMIT 1 BY person_id);
-- params:
--   Array(String) ['tag_<1>', 'tag_<2>', 'tag_<3>', 'tag_<4>', 'tag_<5>', 'tag_<6>', 'tag_<7>', 'tag_<8>', 'tag_<9>', 'tag_<10>', 'tag_<11>', 'tag_<12>', 'tag_<13>', 'tag_<14>', 'tag_<15>', 'tag_<16>', 'tag_<17>', 'tag_<18>', 'tag_<19>', 'tag_<20>', 'tag_<21>', 'tag_<22>', 'tag_<23>', 'tag_<24>', 'tag_<25>', 'tag_<26>', 'tag_<27>', 'tag_<28>', 'tag_<29>', 'tag_<30>', 'tag_<31>', 'tag_<32>', 'tag_<33>', 'tag_<34>', 'tag_<35>', 'tag_<36>', 'tag_<37>', 'tag_<38>', 'tag_<39>', 'tag_<40>', 'tag_<41>', 'tag_<42>', 'tag_<43>', 'tag_<44>', 'tag_<45>', 'tag_<46>', 'tag_<47>']
--   Date '2026-06-30'
--   String 'Asia/Shanghai'
--   String 'sql_orders'
--   String 'tag_<49>'
--   String 'ws_golden'

-- query
SELECT count() AS n FROM tag_values WHERE workspace_id = 'ws_golden' AND tag = 'sql_orders' AND run_id = 'tag_<49>';
-- params:
--   String 'sql_orders'
--   String 'tag_<49>'
--   String 'ws_golden'
