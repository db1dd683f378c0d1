import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, sql } from 'kysely';
import { tempDir } from '../../../test/helpers.ts';
import { PgliteWorkerClient, PgliteWorkerDialect } from './pglite-client.ts';

/** Resolves when `promise` settles, with how: the server must not hang on a dead worker either. */
const settled = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: Error) => ({ ok: false as const, error }),
  );

test('a PGlite worker that dies fails the queries in flight, and a new one serves the same data', async () => {
  const client = new PgliteWorkerClient(tempDir());
  const restarts: string[] = [];
  client.onRestart = (reason) => restarts.push(reason.message);
  await client.whenReady();
  const db = new Kysely<{ notes: { id: number; text: string } }>({ dialect: new PgliteWorkerDialect(client) });
  try {
    await sql`CREATE TABLE notes (id int PRIMARY KEY, text text NOT NULL)`.execute(db);
    await db.insertInto('notes').values({ id: 1, text: 'written before' }).execute();
    const first = client.worker;

    // A long query in flight when the thread dies.
    const inFlight = settled(sql`SELECT pg_sleep(5)`.execute(db));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.terminate();
    const outcome = await inFlight;
    assert.equal(outcome.ok, false);
    assert.match(outcome.ok ? '' : outcome.error.message, /PGlite worker exited/);

    // The next queries wait for the new worker and see what was committed.
    const rows = await db.selectFrom('notes').selectAll().execute();
    assert.deepEqual(rows, [{ id: 1, text: 'written before' }]);
    assert.notEqual(client.worker, first);
    assert.equal(restarts.length, 1, 'the restart is reported (the store logs it)');
    await db.insertInto('notes').values({ id: 2, text: 'written after' }).execute();
    assert.equal((await db.selectFrom('notes').select('id').execute()).length, 2);
  } finally {
    await db.destroy();
    await client.close();
  }
});

test('a transaction whose worker died does not go on, statement by statement, on the new one', async () => {
  const client = new PgliteWorkerClient(tempDir());
  client.onRestart = () => undefined;
  await client.whenReady();
  const db = new Kysely<{ ledger: { id: number } }>({ dialect: new PgliteWorkerDialect(client) });
  try {
    await sql`CREATE TABLE ledger (id int PRIMARY KEY)`.execute(db);
    const outcome = await settled(
      db.transaction().execute(async (tx) => {
        await tx.insertInto('ledger').values({ id: 1 }).execute();
        await client.worker.terminate();
        await tx.insertInto('ledger').values({ id: 2 }).execute();
      }),
    );
    assert.equal(outcome.ok, false);
    assert.match(outcome.ok ? '' : outcome.error.message, /restarted during this transaction/);
    assert.deepEqual(await db.selectFrom('ledger').selectAll().execute(), [], 'neither row: the first died with its worker, the second never ran');
    // And the connection is usable again, in and out of transactions.
    await db.transaction().execute((tx) => tx.insertInto('ledger').values({ id: 3 }).execute());
    assert.deepEqual(await db.selectFrom('ledger').selectAll().execute(), [{ id: 3 }]);
  } finally {
    await db.destroy();
    await client.close();
  }
});
