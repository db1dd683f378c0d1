import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { openTestStores, startTestServer, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let operator: string;
let analyst: string;

before(async () => {
  ({ stores } = await openTestStores());
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('impapi'), name: 'imports' });
  const keys = new ApiKeyService(stores.state);
  operator = (await keys.create(ws.id, 'erp', 'operator')).token;
  analyst = (await keys.create(ws.id, 'bi', 'analyst')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
});
after(async () => {
  await app.close();
  await stores.close();
});

function upload(query: string, body: string, token = operator) {
  return fetch(`${base}/api/v1/imports?${query}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body });
}

async function waitFor(run: string) {
  for (let i = 0; i < 200; i++) {
    const response = await fetch(`${base}/api/v1/imports/${run}`, { headers: { authorization: `Bearer ${analyst}` } });
    const body = (await response.json()) as { status: string };
    if (body.status !== 'running') return body as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the import did not finish');
}

test('a file posted to /api/v1/imports is imported in the background and followed by its run', async () => {
  const csv = 'order_id,ordered_at,amount,phone\na1,2026-06-18 10:00,99.00,13800000011\na2,not a date,10.00,13800000012\n';
  const response = await upload('kind=orders&source=erp&filename=orders.csv', csv);
  assert.equal(response.status, 202);
  const { run } = (await response.json()) as { run: string };
  const done = await waitFor(run);
  assert.equal(done.status, 'completed');
  assert.equal(done.rowsRead, 2);
  assert.equal(done.landed, 1);
  assert.equal(done.quarantined, 1);
  const quarantine = (await (await fetch(`${base}/api/v1/imports/${run}/quarantine`, { headers: { authorization: `Bearer ${operator}` } })).json()) as {
    rows: Array<{ row: number; field: string; reason: string }>;
  };
  assert.deepEqual(
    quarantine.rows.map((r) => [r.row, r.field]),
    [[3, 'ordered_at']],
  );
});

test('a file that cannot be imported is refused at once, naming what is missing', async () => {
  const response = await upload('kind=orders&source=erp&filename=bad.csv', 'order_id,amount\nx,1\n');
  assert.equal(response.status, 400);
  const body = (await response.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'import_refused');
  assert.match(body.error.message, /^bad\.csv: .*missing: ordered_at/);
  const unknown = await upload('kind=orders&preset=amazon', 'a\n1\n');
  assert.equal(unknown.status, 400);
  assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /unknown preset "amazon"/);
});

test('an analyst may follow imports but not start one', async () => {
  const response = await upload('kind=records', 'record_id,source\nr,crm\n', analyst);
  assert.equal(response.status, 403);
  const missing = await fetch(`${base}/api/v1/imports/imp_nope`, { headers: { authorization: `Bearer ${analyst}` } });
  assert.equal(missing.status, 404);
});
