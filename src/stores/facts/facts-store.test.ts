import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ChdbFactsStore } from './chdb-facts-store.ts';
import { ClickHouseFactsStore } from './clickhouse-facts-store.ts';
import { migrateFacts, factsTableCounts, FACTS_MIGRATIONS } from './migrations.ts';
import { readUint32Rows, type FactsStore } from './facts-store.ts';
import { tempDir, testConfig, uniqueSlug } from '../../../test/helpers.ts';

/**
 * The contract every facts adapter keeps: chDB by default, the ClickHouse server named by
 * SIYU_CLICKHOUSE_URL when it is set (one suite per adapter). On a server the suite gets a database of
 * its own, dropped at the end, so its counts are exact.
 */
const config = testConfig(tempDir('siyu-facts-'));
const serverDatabase = config.clickhouseUrl ? uniqueSlug('siyu_facts_test').replaceAll('-', '_') : undefined;
let store: FactsStore;

before(async () => {
  store = serverDatabase
    ? await ClickHouseFactsStore.connect({ url: config.clickhouseUrl!, username: config.clickhouseUser, password: config.clickhousePassword, database: serverDatabase })
    : new ChdbFactsStore(config.dataDir);
  await migrateFacts(store);
});
after(async () => {
  if (serverDatabase) await store.command(`DROP DATABASE IF EXISTS ${serverDatabase}`);
  await store.close();
});

test(`facts store runs on ${process.env.SIYU_CLICKHOUSE_URL ? 'a ClickHouse server (SIYU_CLICKHOUSE_URL)' : 'chDB'}`, () => {
  assert.equal(store.engine, config.clickhouseUrl ? 'clickhouse' : 'chdb');
});

function order(orderId: string, amount: number, version: number, personId = 1) {
  return {
    workspace_id: 'ws_test',
    person_id: personId,
    source: 'tmall',
    order_id: orderId,
    status: 'paid',
    ordered_at: '2026-06-18 12:00:00.000',
    amount,
    version,
  };
}

test('migrations are applied once and recorded', async () => {
  const again = await migrateFacts(store);
  assert.deepEqual(again.applied, []);
  assert.equal(again.alreadyApplied, FACTS_MIGRATIONS.length);
  const tables = (await factsTableCounts(store)).map((t) => t.table);
  for (const table of ['orders', 'order_lines', 'shipments', 'events', 'siyu_migrations']) assert.ok(tables.includes(table), table);
});

test('fact tables are ordered by workspace and person', async () => {
  const rows = await store.query<{ name: string; sorting_key: string; engine: string }>(
    `SELECT name, sorting_key, engine FROM system.tables WHERE database = currentDatabase() AND name IN ('orders','order_lines','shipments','events')`,
  );
  assert.equal(rows.length, 4);
  for (const row of rows) {
    assert.match(row.sorting_key, /^workspace_id, person_id, /, row.name);
    assert.equal(row.engine, 'ReplacingMergeTree', row.name);
  }
});

test('re-writing a row with the same source key replaces it instead of adding one', async () => {
  await store.insertRows('orders', [order('A1', 100, 1), order('A2', 50, 1)]);
  await store.insertRows('orders', [order('A1', 120, 2), order('A2', 50, 1)]);
  const rows = await store.query<{ order_id: string; amount: string }>(
    `SELECT order_id, toString(amount) AS amount FROM orders FINAL WHERE workspace_id = {ws:String} ORDER BY order_id`,
    { ws: 'ws_test' },
  );
  assert.deepEqual(rows, [
    { order_id: 'A1', amount: '120' },
    { order_id: 'A2', amount: '50' },
  ]);
});

test('a tombstone moves a row to its merged person without duplicating it', async () => {
  await store.insertRows('orders', [order('M1', 10, 1, 7)]);
  await store.insertRows('orders', [{ ...order('M1', 10, 2, 7), is_deleted: 1 }, order('M1', 10, 2, 3)]);
  const rows = await store.query<{ person_id: string }>(`SELECT person_id FROM orders FINAL WHERE workspace_id = 'ws_test' AND order_id = 'M1'`);
  assert.deepEqual(
    rows.map((r) => Number(r.person_id)),
    [3],
  );
});

test('parameters are bound server-side, so quotes in values are data', async () => {
  const hostile = "x' OR 1=1 --";
  await store.insertRows('orders', [order(hostile, 1, 1, 9)]);
  const rows = await store.query<{ n: string }>(`SELECT count() AS n FROM orders FINAL WHERE order_id = {id:String}`, { id: hostile });
  assert.equal(Number(rows[0].n), 1);
  const none = await store.query<{ n: string }>(`SELECT count() AS n FROM orders FINAL WHERE order_id = {id:String}`, { id: "' OR ''='" });
  assert.equal(Number(none[0].n), 0);
});

test('streamed JSON lines land in full', async () => {
  async function* lines() {
    for (let chunk = 0; chunk < 5; chunk++) {
      let text = '';
      for (let i = 0; i < 2000; i++) text += JSON.stringify(order(`S${chunk}-${i}`, i, 1, 100 + i)) + '\n';
      yield text;
    }
  }
  const sent = await store.insertJsonLines('orders', lines());
  assert.equal(sent, 10_000);
  const [row] = await store.query<{ n: string }>(`SELECT count() AS n FROM orders FINAL WHERE startsWith(order_id, 'S')`);
  assert.equal(Number(row.n), 10_000);
});

test('table names are checked before they reach SQL text', async () => {
  await assert.rejects(() => store.insertRows('orders; DROP TABLE orders', [order('Z', 1, 1)]), /invalid table name/);
});

test('large results stream in chunks', async () => {
  let rows = 0;
  let chunks = 0;
  let sum = 0;
  for await (const chunk of store.queryChunks<{ n: string }>(`SELECT number AS n FROM numbers({count:UInt64})`, { count: 300_000 })) {
    chunks++;
    rows += chunk.length;
    for (const r of chunk) sum += Number(r.n);
  }
  assert.equal(rows, 300_000);
  assert.equal(sum, (300_000 * 299_999) / 2);
  assert.ok(chunks > 1, `${chunks} chunks`);
});

test('RowBinary numbers stream into typed arrays, whatever the chunk boundaries', async () => {
  const [a, b] = await readUint32Rows(store.queryRowBinary('SELECT toUInt32(number), toUInt32(number * 3) FROM numbers({n:UInt64})', { n: 300_000 }), 2, 10);
  assert.equal(a.length, 300_000);
  assert.equal(a[299_999], 299_999);
  assert.equal(b[123_456], 370_368);
  // A server's HTTP stream splits rows anywhere: feed the same bytes in odd-sized pieces.
  const bytes = new Uint8Array(8 * 5);
  const view = new DataView(bytes.buffer);
  for (let r = 0; r < 5; r++) {
    view.setUint32(r * 8, r, true);
    view.setUint32(r * 8 + 4, 4_000_000_000 + r, true);
  }
  async function* pieces() {
    for (let i = 0; i < bytes.length; i += 3) yield bytes.slice(i, i + 3);
  }
  const [x, y] = await readUint32Rows(pieces(), 2);
  assert.deepEqual([...x], [0, 1, 2, 3, 4]);
  assert.deepEqual([...y], [4_000_000_000, 4_000_000_001, 4_000_000_002, 4_000_000_003, 4_000_000_004]);
  async function* truncated() {
    yield bytes.slice(0, 10);
  }
  await assert.rejects(readUint32Rows(truncated(), 2), /ended inside a row/);
});

test('a stream and other queries at the same time: the queries wait for the stream, which is not cut short', async () => {
  {
    const facts = store;
    const streamed = (async () => {
      let rows = 0;
      for await (const chunk of facts.queryChunks<{ n: string }>(`SELECT number AS n FROM numbers({count:UInt64})`, { count: 400_000 })) {
        rows += chunk.length;
        // Other work arrives while the stream is being read.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return rows;
    })();
    const others = Promise.all(Array.from({ length: 20 }, (_, i) => facts.query<{ v: string }>('SELECT {i:UInt32} AS v', { i })));
    const [rows, answers] = await Promise.all([streamed, others]);
    assert.equal(rows, 400_000);
    assert.deepEqual(
      answers.map((a) => Number(a[0].v)),
      Array.from({ length: 20 }, (_, i) => i),
    );
    const [a, b] = await Promise.all([
      readUint32Rows(facts.queryRowBinary('SELECT toUInt32(number) FROM numbers(100000)'), 1),
      readUint32Rows(facts.queryRowBinary('SELECT toUInt32(number * 2) FROM numbers(100000)'), 1),
    ]);
    assert.deepEqual([a[0].length, b[0][99_999]], [100_000, 199_998]);
  }
});
