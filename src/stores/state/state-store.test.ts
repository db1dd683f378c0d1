import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openTestStores } from '../../../test/helpers.ts';
import { type Stores, migrateStores } from '../stores.ts';

let stores: Stores;

before(async () => {
  ({ stores } = await openTestStores());
});
after(async () => {
  await stores.close();
});

test(`state store runs on ${process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'PGlite'}`, async () => {
  assert.equal(stores.state.engine, process.env.DATABASE_URL ? 'postgres' : 'pglite');
  assert.match(await stores.state.serverVersion(), /PostgreSQL \d+/);
});

test('migrations are applied at open and are idempotent', async () => {
  const again = await migrateStores(stores);
  assert.deepEqual(again.state, []);
  const tables = (await stores.state.tableCounts()).map((t) => t.table);
  assert.ok(tables.includes('workspaces'));
  assert.ok(tables.includes('api_keys'));
});

test('queries are parameterised: a hostile value is data', async () => {
  const hostile = "'); DROP TABLE workspaces; --";
  const { rows } = await sql<{ v: string }>`SELECT ${hostile}::text AS v`.execute(stores.state.db);
  assert.equal(rows[0].v, hostile);
  assert.ok((await stores.state.tableCounts()).some((t) => t.table === 'workspaces'));
});

test('transactions commit and roll back', async () => {
  const id = `ws_tx_${process.pid}_${Date.now()}`;
  await assert.rejects(
    stores.state.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('workspaces')
        .values({ id, slug: id.replace(/_/g, '-'), name: 'tx', time_zone: 'Asia/Shanghai' })
        .execute();
      throw new Error('roll back');
    }),
    /roll back/,
  );
  const none = await stores.state.db.selectFrom('workspaces').select('id').where('id', '=', id).execute();
  assert.equal(none.length, 0);
  await stores.state.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('workspaces')
      .values({ id, slug: id.replace(/_/g, '-'), name: 'tx', time_zone: 'Asia/Shanghai' })
      .execute();
  });
  const one = await stores.state.db.selectFrom('workspaces').select('id').where('id', '=', id).execute();
  assert.equal(one.length, 1);
});

test('errors name the cause (unique violation)', async () => {
  const id = `ws_dup_${process.pid}_${Date.now()}`;
  const values = { id, slug: id.replace(/_/g, '-'), name: 'dup', time_zone: 'Asia/Shanghai' };
  await stores.state.db.insertInto('workspaces').values(values).execute();
  await assert.rejects(stores.state.db.insertInto('workspaces').values(values).execute(), /duplicate key|unique/i);
});

test('a long state query does not block the event loop', { skip: process.env.DATABASE_URL ? 'PostgreSQL runs in its own process' : false }, async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const started = Date.now();
  const { rows } = await sql<{ s: number }>`SELECT sum(i)::float8 AS s FROM generate_series(1, 3000000) AS i`.execute(stores.state.db);
  const elapsed = Date.now() - started;
  clearInterval(timer);
  assert.equal(rows[0].s, (3_000_000 * 3_000_001) / 2);
  // PGlite runs in a worker thread: the main thread's timer keeps firing while the query runs.
  assert.ok(ticks >= Math.floor(elapsed / 10 / 4), `timer fired ${ticks} times during a ${elapsed} ms query`);
});
