import type { FactsStore } from './facts-store.ts';

/**
 * Facts-store migrations: append-only, applied in order at start.
 * Every fact table is keyed and ordered by (workspace_id, person_id, …) so it can be sharded by person,
 * and is a ReplacingMergeTree keyed by the source's own id so re-imports replace rather than duplicate.
 * `is_deleted` lets a person merge move a row to its new person id (tombstone the old key, write the new).
 */
export interface FactsMigration {
  id: number;
  name: string;
  statements: string[];
}

export const FACTS_MIGRATIONS: FactsMigration[] = [
  {
    id: 1,
    name: 'core facts: orders, order lines, shipments, events',
    statements: [
      `CREATE TABLE IF NOT EXISTS orders (
        workspace_id LowCardinality(String),
        person_id UInt64,
        source LowCardinality(String),
        order_id String,
        status LowCardinality(String),
        ordered_at DateTime64(3, 'UTC'),
        paid_at Nullable(DateTime64(3, 'UTC')),
        currency LowCardinality(String) DEFAULT 'CNY',
        amount Decimal(18, 2),
        discount Decimal(18, 2) DEFAULT 0,
        refunded Decimal(18, 2) DEFAULT 0,
        item_count UInt32 DEFAULT 0,
        store_id String DEFAULT '',
        is_package UInt8 DEFAULT 0,
        package_periods UInt16 DEFAULT 0,
        import_run_id String DEFAULT '',
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (workspace_id, person_id, source, order_id)`,
      `CREATE TABLE IF NOT EXISTS order_lines (
        workspace_id LowCardinality(String),
        person_id UInt64,
        source LowCardinality(String),
        order_id String,
        line_no UInt32,
        sku String,
        product_name String,
        category LowCardinality(String) DEFAULT '',
        quantity Int32,
        unit_price Decimal(18, 2),
        amount Decimal(18, 2),
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (workspace_id, person_id, source, order_id, line_no)`,
      `CREATE TABLE IF NOT EXISTS shipments (
        workspace_id LowCardinality(String),
        person_id UInt64,
        source LowCardinality(String),
        order_id String,
        period UInt16,
        planned_at Nullable(DateTime64(3, 'UTC')),
        shipped_at Nullable(DateTime64(3, 'UTC')),
        status LowCardinality(String),
        tracking_no String DEFAULT '',
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (workspace_id, person_id, source, order_id, period)`,
      `CREATE TABLE IF NOT EXISTS events (
        workspace_id LowCardinality(String),
        person_id UInt64,
        message_id String,
        type LowCardinality(String),
        event LowCardinality(String),
        anonymous_id String DEFAULT '',
        user_id String DEFAULT '',
        timestamp DateTime64(3, 'UTC'),
        received_at DateTime64(3, 'UTC'),
        properties String DEFAULT '{}',
        context String DEFAULT '{}',
        source LowCardinality(String) DEFAULT '',
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted)
      PARTITION BY toYYYYMM(timestamp)
      ORDER BY (workspace_id, person_id, event, timestamp, message_id)`,
    ],
  },
  {
    id: 2,
    name: 'ingest: source records, refunds, contacts, quarantine; order columns',
    statements: [
      // One row per imported source record (an order, a member card, a WeCom contact, an event, a
      // record): its identifiers and profile evidence, and the person OneID gave it (0 until resolved).
      `CREATE TABLE IF NOT EXISTS source_records (
        workspace_id LowCardinality(String),
        source LowCardinality(String),
        kind LowCardinality(String),
        record_id String,
        person_id UInt64 DEFAULT 0,
        identifiers Array(Tuple(type LowCardinality(String), value String)),
        name String DEFAULT '',
        masked_phone String DEFAULT '',
        address String DEFAULT '',
        birthday String DEFAULT '',
        attributes Map(String, String),
        seen_at DateTime64(3, 'UTC'),
        row_hash UInt64,
        import_run_id String DEFAULT '',
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (workspace_id, source, kind, record_id)`,
      `CREATE TABLE IF NOT EXISTS refunds (
        workspace_id LowCardinality(String),
        person_id UInt64,
        source LowCardinality(String),
        refund_id String,
        order_id String,
        amount Decimal(18, 2),
        status LowCardinality(String) DEFAULT '',
        reason String DEFAULT '',
        requested_at Nullable(DateTime64(3, 'UTC')),
        completed_at Nullable(DateTime64(3, 'UTC')),
        import_run_id String DEFAULT '',
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (workspace_id, person_id, source, refund_id)`,
      `CREATE TABLE IF NOT EXISTS contacts (
        workspace_id LowCardinality(String),
        person_id UInt64,
        external_userid String,
        staff_userid String,
        staff_name String DEFAULT '',
        name String DEFAULT '',
        remark String DEFAULT '',
        remark_mobiles Array(String),
        tags Array(String),
        channel String DEFAULT '',
        description String DEFAULT '',
        added_at Nullable(DateTime64(3, 'UTC')),
        import_run_id String DEFAULT '',
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (workspace_id, person_id, external_userid, staff_userid)`,
      `CREATE TABLE IF NOT EXISTS import_quarantine (
        workspace_id LowCardinality(String),
        run_id String,
        file String,
        row_number UInt64,
        field String,
        value String,
        reason String,
        action LowCardinality(String),
        row String,
        at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree
      ORDER BY (workspace_id, run_id, file, row_number, field)`,
      `ALTER TABLE orders ADD COLUMN IF NOT EXISTS postage Decimal(18, 2) DEFAULT 0 AFTER discount`,
      `ALTER TABLE orders ADD COLUMN IF NOT EXISTS store_name String DEFAULT '' AFTER store_id`,
      `ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS discount Decimal(18, 2) DEFAULT 0 AFTER unit_price`,
      `ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS package_periods UInt16 DEFAULT 0 AFTER amount`,
      `ALTER TABLE shipments ADD COLUMN IF NOT EXISTS periods UInt16 DEFAULT 0 AFTER period`,
    ],
  },
  {
    id: 3,
    name: 'ingest: change-detection keys for lines, shipments and refunds',
    statements: [
      `CREATE TABLE IF NOT EXISTS import_keys (
        workspace_id LowCardinality(String),
        source LowCardinality(String),
        kind LowCardinality(String),
        key String,
        row_hash UInt64,
        import_run_id String DEFAULT '',
        version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY (workspace_id, source, kind, key)`,
    ],
  },
  {
    id: 4,
    name: 'identity: assignments of records to people, person identities',
    statements: [
      // The person each record was given by one resolution run; fact rows move by joining it.
      `CREATE TABLE IF NOT EXISTS identity_assignments (
        workspace_id LowCardinality(String),
        run_id String,
        source LowCardinality(String),
        kind LowCardinality(String),
        record_id String,
        person_id UInt64,
        previous_person_id UInt64
      ) ENGINE = MergeTree
      ORDER BY (workspace_id, run_id, source, kind, record_id)`,
      // Every (person, identifier) with the records that carry it: lookups, exports, explanations.
      `CREATE TABLE IF NOT EXISTS person_identities (
        workspace_id LowCardinality(String),
        type LowCardinality(String),
        value String,
        person_id UInt64,
        records UInt32,
        sources Array(String),
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (workspace_id, type, value, person_id)`,
    ],
  },
  {
    id: 5,
    name: 'identity: the people each resolution run touched',
    statements: [
      `CREATE TABLE IF NOT EXISTS resolution_people (
        workspace_id LowCardinality(String),
        run_id String,
        person_id UInt64
      ) ENGINE = MergeTree
      ORDER BY (workspace_id, run_id, person_id)`,
    ],
  },
  {
    id: 6,
    name: 'tracking: events belong to an identity record (one per distinct identifier set)',
    statements: [`ALTER TABLE events ADD COLUMN IF NOT EXISTS identity_key String DEFAULT '' AFTER message_id`],
  },
  {
    id: 7,
    name: 'identity: the records of one resolution run, numbered, and the people they were given',
    statements: [
      // A snapshot of the run's records in a fixed order: JS works on their numbers (idx) only, and
      // the run reads one consistent set while imports go on. Each run's partition is dropped after it.
      `CREATE TABLE IF NOT EXISTS resolution_records (
        workspace_id LowCardinality(String),
        run_id String,
        idx UInt32,
        source LowCardinality(String),
        kind LowCardinality(String),
        record_id String,
        person_id UInt64,
        identifiers Array(Tuple(type LowCardinality(String), value String)),
        name String,
        masked_phone String,
        address String,
        birthday String
      ) ENGINE = MergeTree PARTITION BY run_id ORDER BY (workspace_id, run_id, idx)`,
      // Identifier values of a run that matter (shared, or of a single-valued type), numbered in the
      // order they are linked, with the records that carry them.
      `CREATE TABLE IF NOT EXISTS resolution_values (
        run_id String,
        g UInt32,
        t UInt32,
        value String,
        members Array(UInt32)
      ) ENGINE = MergeTree PARTITION BY run_id ORDER BY (run_id, g)`,
      // People whose records changed since they were resolved: the next incremental run takes them.
      `CREATE TABLE IF NOT EXISTS resolution_pending (
        workspace_id LowCardinality(String),
        person_id UInt64,
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY (workspace_id, person_id)`,
    ],
  },
  {
    id: 8,
    name: 'ingest: stage tables for order files imported in SQL',
    statements: [
      // One row per data row of an order file, its canonical fields as text (one partition per run).
      `CREATE TABLE IF NOT EXISTS import_stage_rows (
        run_id String,
        file_no UInt16,
        row_number UInt64,
        f_order_id String,
        f_ordered_at String,
        f_paid_at String,
        f_amount String,
        f_discount String,
        f_postage String,
        f_refunded String,
        f_status String,
        f_store_id String,
        f_store_name String,
        f_masked_phone String,
        f_name String,
        f_address String,
        f_birthday String,
        f_line_no String,
        f_sku String,
        f_product_name String,
        f_category String,
        f_quantity String,
        f_unit_price String,
        f_line_discount String,
        f_line_amount String,
        f_package_periods String,
        f_package_text String,
        f_phone String,
        f_email String,
        f_unionid String,
        f_openid String,
        f_tmall_nick String,
        f_jd_pin String,
        f_douyin_openid String,
        f_wecom_external_userid String,
        f_member_no String
      ) ENGINE = MergeTree PARTITION BY run_id ORDER BY (run_id, file_no, row_number)`,
      // One row per order: checked values, lines, problems and the hash compared with what is stored.
      `CREATE TABLE IF NOT EXISTS import_stage_orders (
        run_id String,
        file_no UInt16,
        order_id String,
        first_row UInt64,
        row_count UInt32,
        rejected UInt8,
        problems Array(Tuple(field String, value String, reason String, action String)),
        row_json String,
        status String,
        ordered_at Nullable(DateTime64(3, 'UTC')),
        paid_at Nullable(DateTime64(3, 'UTC')),
        amount Decimal(18, 2),
        discount Decimal(18, 2),
        postage Decimal(18, 2),
        refunded Decimal(18, 2),
        item_count UInt32,
        store_id String,
        store_name String,
        is_package UInt8,
        package_periods UInt16,
        identifiers Array(Tuple(type String, value String)),
        masked_phone String,
        name String,
        address String,
        birthday String,
        lines Array(Tuple(line_no UInt32, sku String, product_name String, category String, quantity Int32,
                          unit_price Decimal(18, 2), discount Decimal(18, 2), amount Decimal(18, 2), package_periods UInt16)),
        row_hash UInt64
      ) ENGINE = MergeTree PARTITION BY run_id ORDER BY (run_id, file_no, order_id)`,
    ],
  },
  {
    id: 9,
    name: 'tags: values per person, one set per run',
    statements: [
      // A run writes the whole value set of its tag; the state store says which run is current. Values
      // are typed: the column of the tag's type is the one that counts.
      `CREATE TABLE IF NOT EXISTS tag_values (
        workspace_id LowCardinality(String),
        tag LowCardinality(String),
        run_id String,
        base_date Date,
        person_id UInt64,
        v_string String DEFAULT '',
        v_number Float64 DEFAULT 0,
        v_bool UInt8 DEFAULT 0,
        v_date Date32 DEFAULT '1970-01-01',
        v_list Array(String) DEFAULT []
      ) ENGINE = MergeTree PARTITION BY toYYYYMM(base_date)
      ORDER BY (workspace_id, tag, run_id, person_id)`,
    ],
  },
  {
    id: 10,
    name: 'tags: imported files of identifier → value',
    statements: [
      // One batch per import of a tag's file; a run reads the newest batch and matches it through OneID.
      `CREATE TABLE IF NOT EXISTS tag_imports (
        workspace_id LowCardinality(String),
        tag LowCardinality(String),
        batch UInt64,
        row_number UInt64,
        identifier String,
        value String
      ) ENGINE = MergeTree ORDER BY (workspace_id, tag, batch, identifier)`,
    ],
  },
  {
    id: 11,
    name: 'the product catalogue',
    statements: [
      // What each SKU is; order lines without a category take the catalogue's. person_id is always 0
      // (a product belongs to no one) and is there because every imported fact row carries one.
      `CREATE TABLE IF NOT EXISTS products (
        workspace_id LowCardinality(String),
        sku String,
        product_name String DEFAULT '',
        category LowCardinality(String) DEFAULT '',
        brand LowCardinality(String) DEFAULT '',
        price Decimal(18, 2) DEFAULT 0,
        person_id UInt64 DEFAULT 0,
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (workspace_id, sku)`,
    ],
  },
  {
    id: 12,
    name: 'segments: snapshots of membership, imported lists of identifiers',
    statements: [
      `CREATE TABLE IF NOT EXISTS segment_members (
        workspace_id LowCardinality(String),
        segment LowCardinality(String),
        snapshot_id String,
        person_id UInt64
      ) ENGINE = MergeTree ORDER BY (workspace_id, segment, snapshot_id, person_id)`,
      // A segment imported from a file: its identifiers, matched to people through OneID when counted.
      `CREATE TABLE IF NOT EXISTS segment_lists (
        workspace_id LowCardinality(String),
        segment LowCardinality(String),
        batch UInt64,
        identifier_type LowCardinality(String),
        identifier String
      ) ENGINE = MergeTree ORDER BY (workspace_id, segment, batch, identifier_type, identifier)`,
    ],
  },
  {
    id: 13,
    name: 'tag values as bitmaps of people per value; everyone as a bitmap',
    statements: [
      // Segments over tags are bitmap algebra: each run of a text, boolean, date or list tag keeps one
      // bitmap of people per value.
      `CREATE TABLE IF NOT EXISTS tag_bitmaps (
        workspace_id LowCardinality(String),
        tag LowCardinality(String),
        run_id String,
        value String,
        people AggregateFunction(groupBitmap, UInt64)
      ) ENGINE = AggregatingMergeTree ORDER BY (workspace_id, tag, run_id, value)`,
      // Everyone OneID knew at the last whole tag run (the universe that NOT and "missing" subtract from).
      `CREATE TABLE IF NOT EXISTS people_bitmaps (
        workspace_id LowCardinality(String),
        computed_at DateTime64(3, 'UTC'),
        people AggregateFunction(groupBitmap, UInt64)
      ) ENGINE = ReplacingMergeTree(computed_at) ORDER BY workspace_id`,
    ],
  },
  {
    id: 14,
    name: "plans: each run's audience and every message event",
    statements: [
      // The people a plan run targets, fixed when the run starts (an interrupted run resumes over the same set).
      `CREATE TABLE IF NOT EXISTS plan_audiences (
        workspace_id LowCardinality(String),
        plan LowCardinality(String),
        run_id String,
        person_id UInt64,
        -- why the person is left out before policy (an exclusion segment, converted lately), or ''
        excluded String DEFAULT '',
        -- the identifier value the plan's channel reaches them by ('' when they have none)
        address String DEFAULT ''
      ) ENGINE = MergeTree ORDER BY (workspace_id, plan, run_id, person_id)`,
      // What happened to each message: queued, control, stopped, sent, delivered, failed, parked, clicked.
      // Written before the ledger moves on, so a crash can repeat an event but never lose one; the key
      // makes a repeat collapse.
      `CREATE TABLE IF NOT EXISTS message_events (
        workspace_id LowCardinality(String),
        plan LowCardinality(String),
        run_id String,
        person_id UInt64,
        step LowCardinality(String),
        variant LowCardinality(String),
        channel LowCardinality(String),
        event LowCardinality(String),
        reason String DEFAULT '',
        cost Decimal(18, 4) DEFAULT 0,
        at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(at)
      ORDER BY (workspace_id, plan, run_id, person_id, step, event)`,
    ],
  },
  {
    id: 15,
    name: "people: a person's records and identities found without reading every granule",
    statements: [
      // Both tables are ordered by source record or identifier value; the person view, search and the
      // scope check look them up by person. A bloom filter per granule skips the granules without them.
      `ALTER TABLE source_records ADD INDEX IF NOT EXISTS person_bloom person_id TYPE bloom_filter(0.01) GRANULARITY 1`,
      `ALTER TABLE source_records MATERIALIZE INDEX person_bloom`,
      `ALTER TABLE person_identities ADD INDEX IF NOT EXISTS person_bloom person_id TYPE bloom_filter(0.01) GRANULARITY 1`,
      `ALTER TABLE person_identities MATERIALIZE INDEX person_bloom`,
    ],
  },
  {
    id: 16,
    name: 'import stage: lines read from the stage rows; what is stored under each order looked up once',
    statements: [
      // The stage of orders is transient (a resumed run stages again), so it is made anew: no lines
      // array, and what is stored under each order. It stays sorted by order id: the orders and
      // records written from it then arrive nearly in their own tables' order (measured: 750k
      // records written in 0.5 s instead of 1.1 s, for 0.35 s more to sort the stage once).
      `DROP TABLE IF EXISTS import_stage_orders`,
      `CREATE TABLE import_stage_orders (
        run_id String,
        file_no UInt16,
        order_id String,
        first_row UInt64,
        row_count UInt32,
        rejected UInt8,
        problems Array(Tuple(field String, value String, reason String, action String)),
        status String,
        ordered_at Nullable(DateTime64(3, 'UTC')),
        paid_at Nullable(DateTime64(3, 'UTC')),
        amount Decimal(18, 2),
        discount Decimal(18, 2),
        postage Decimal(18, 2),
        refunded Decimal(18, 2),
        item_count UInt32,
        store_id String,
        store_name String,
        is_package UInt8,
        package_periods UInt16,
        identifiers Array(Tuple(type String, value String)),
        masked_phone String,
        name String,
        address String,
        birthday String,
        row_hash UInt64,
        is_stored UInt8,
        unchanged UInt8,
        stored_person UInt64,
        stored_run String
      ) ENGINE = MergeTree PARTITION BY run_id ORDER BY (run_id, file_no, order_id)
      SETTINGS max_bytes_to_merge_at_max_space_in_pool = 1, max_bytes_to_merge_at_min_space_in_pool = 1`,
      // A LowCardinality inside an array of tuples doubled the cost of writing records (measured:
      // 600k order records in 0.9 s vs 0.45 s); the few type names compress as well as plain text.
      `ALTER TABLE source_records MODIFY COLUMN identifiers Array(Tuple(type String, value String))`,
      `ALTER TABLE resolution_records MODIFY COLUMN identifiers Array(Tuple(type String, value String))`,
      // A run's stage is written once, read a few times and dropped: merging its parts only takes
      // cores from the import itself.
      `ALTER TABLE import_stage_rows MODIFY SETTING max_bytes_to_merge_at_max_space_in_pool = 1, max_bytes_to_merge_at_min_space_in_pool = 1`,
    ],
  },
  {
    id: 17,
    name: 'import stage: an order with problems keeps its row as read',
    statements: [
      // A one-row-per-order report is read straight from the file into the stage of orders (no stage
      // of rows), so the row quarantine shows travels with its order. Empty for orders without problems.
      `ALTER TABLE import_stage_orders ADD COLUMN IF NOT EXISTS row_json String DEFAULT ''`,
    ],
  },
  {
    id: 18,
    name: 'segments: the behaviour index (events by event and person, people per event and day) and the log of changed events',
    statements: [
      // Events ordered by event, then person and time, without duplicates or deleted rows (so read
      // without FINAL): one part per workspace and month, rebuilt whole and swapped in.
      `CREATE TABLE IF NOT EXISTS behaviour_rows (
        workspace_id LowCardinality(String),
        event LowCardinality(String),
        person_id UInt64,
        timestamp DateTime64(3, 'UTC'),
        day Date,
        properties String
      ) ENGINE = MergeTree PARTITION BY (workspace_id, toYYYYMM(day)) ORDER BY (workspace_id, event, person_id, timestamp)`,
      `CREATE TABLE IF NOT EXISTS behaviour_rows_stage AS behaviour_rows`,
      // Per event and day (in the workspace's zone): the people who did it at least `level` times.
      `CREATE TABLE IF NOT EXISTS behaviour_days (
        workspace_id LowCardinality(String),
        event LowCardinality(String),
        day Date,
        level UInt8,
        people AggregateFunction(groupBitmap, UInt64)
      ) ENGINE = MergeTree PARTITION BY (workspace_id, toYYYYMM(day)) ORDER BY (workspace_id, event, day, level)`,
      `CREATE TABLE IF NOT EXISTS behaviour_days_stage AS behaviour_days`,
      // Every row written to events, whoever writes it: whose behaviour changed since the index was built.
      `CREATE TABLE IF NOT EXISTS event_changes (
        workspace_id LowCardinality(String),
        logged_at DateTime64(3, 'UTC'),
        person_id UInt64,
        timestamp DateTime64(3, 'UTC')
      ) ENGINE = MergeTree ORDER BY (workspace_id, logged_at) TTL toDateTime(logged_at) + INTERVAL 30 DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS event_changes_mv TO event_changes AS
        SELECT workspace_id, now64(3) AS logged_at, person_id, timestamp FROM events`,
      // The index's last build per workspace: changes logged from the watermark on are not in it.
      `CREATE TABLE IF NOT EXISTS behaviour_builds (
        workspace_id LowCardinality(String),
        watermark DateTime64(3, 'UTC'),
        built_at DateTime64(3, 'UTC'),
        time_zone String,
        months Array(UInt32),
        seconds Float64
      ) ENGINE = ReplacingMergeTree(built_at) ORDER BY workspace_id`,
    ],
  },
  {
    id: 19,
    name: 'segments: the behaviour index a week at a time, with 32-bit people and seconds',
    statements: [
      // The index is derived: dropped and rebuilt (no build is trusted until then; behaviour reads the events).
      // A week's partition: a window of days reads that week or two, not whole months. Person ids
      // are 32-bit (dense, like OneID's) and times whole seconds: a sequence merges half the bytes.
      `DROP TABLE IF EXISTS behaviour_rows`,
      `DROP TABLE IF EXISTS behaviour_rows_stage`,
      `DROP TABLE IF EXISTS behaviour_days`,
      `DROP TABLE IF EXISTS behaviour_days_stage`,
      `CREATE TABLE behaviour_rows (
        workspace_id LowCardinality(String),
        event LowCardinality(String),
        person_id UInt32,
        ts UInt32,
        day Date,
        properties String
      ) ENGINE = MergeTree PARTITION BY (workspace_id, toMonday(day)) ORDER BY (workspace_id, event, person_id, ts)`,
      `CREATE TABLE behaviour_rows_stage AS behaviour_rows`,
      `CREATE TABLE behaviour_days (
        workspace_id LowCardinality(String),
        event LowCardinality(String),
        day Date,
        level UInt8,
        people AggregateFunction(groupBitmap, UInt64)
      ) ENGINE = MergeTree PARTITION BY (workspace_id, toMonday(day)) ORDER BY (workspace_id, event, day, level)`,
      `CREATE TABLE behaviour_days_stage AS behaviour_days`,
      `TRUNCATE TABLE behaviour_builds`,
      `ALTER TABLE behaviour_builds DROP COLUMN IF EXISTS months`,
      `ALTER TABLE behaviour_builds ADD COLUMN IF NOT EXISTS weeks Array(Date) AFTER time_zone`,
    ],
  },
  {
    id: 20,
    name: 'segments: what each indexed event has near it, so most of a sequence is bitmap algebra',
    statements: [
      // The index is derived: dropped and rebuilt (until then behaviour reads the events).
      // near_hour / near_day: a bit per event type (the state store's behaviour_event_bits; 63 for
      // every type past the first 63) the same person did in
      // [ts, ts + 1 hour] / [ts, ts + 1 day], this row's own included.
      `DROP TABLE IF EXISTS behaviour_rows`,
      `DROP TABLE IF EXISTS behaviour_rows_stage`,
      `CREATE TABLE behaviour_rows (
        workspace_id LowCardinality(String),
        event LowCardinality(String),
        person_id UInt32,
        ts UInt32,
        day Date,
        properties String,
        near_hour UInt64,
        near_day UInt64
      ) ENGINE = MergeTree PARTITION BY (workspace_id, toMonday(day)) ORDER BY (workspace_id, event, person_id, ts)`,
      `CREATE TABLE behaviour_rows_stage AS behaviour_rows`,
      // Per event, day, horizon (seconds) and what was near (the mask): the people with such a row.
      `CREATE TABLE IF NOT EXISTS behaviour_near (
        workspace_id LowCardinality(String),
        event LowCardinality(String),
        day Date,
        horizon UInt32,
        mask UInt64,
        people AggregateFunction(groupBitmap, UInt64)
      ) ENGINE = MergeTree PARTITION BY (workspace_id, toMonday(day)) ORDER BY (workspace_id, event, day, horizon, mask)`,
      `CREATE TABLE IF NOT EXISTS behaviour_near_stage AS behaviour_near`,
      `TRUNCATE TABLE behaviour_days`,
      `TRUNCATE TABLE behaviour_days_stage`,
      `TRUNCATE TABLE behaviour_builds`,
    ],
  },
];

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

export async function migrateFacts(store: FactsStore): Promise<MigrationReport> {
  await store.command(
    `CREATE TABLE IF NOT EXISTS siyu_migrations (id UInt32, name String, applied_at DateTime64(3, 'UTC'))
     ENGINE = MergeTree ORDER BY id`,
  );
  const done = new Set((await store.query<{ id: number }>('SELECT id FROM siyu_migrations')).map((row) => Number(row.id)));
  const applied: string[] = [];
  for (const migration of FACTS_MIGRATIONS) {
    if (done.has(migration.id)) continue;
    for (const statement of migration.statements) await store.command(statement);
    await store.insertRows('siyu_migrations', [{ id: migration.id, name: migration.name, applied_at: new Date().toISOString().replace('T', ' ').replace('Z', '') }]);
    applied.push(`${migration.id} ${migration.name}`);
  }
  return { applied, alreadyApplied: done.size };
}

/** Row counts of every table in the facts store's database, for `siyu doctor`. */
export async function factsTableCounts(store: FactsStore): Promise<Array<{ table: string; rows: number }>> {
  const rows = await store.query<{ name: string; total_rows: string | null }>(
    `SELECT name, total_rows FROM system.tables WHERE database = currentDatabase() AND NOT is_temporary ORDER BY name`,
  );
  const counts: Array<{ table: string; rows: number }> = [];
  for (const row of rows) counts.push({ table: row.name, rows: Number(row.total_rows ?? 0) });
  return counts;
}
