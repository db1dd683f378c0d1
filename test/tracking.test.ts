import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { openTestStores, startTestServer, uniqueSlug, tempDir } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { resolveSerially } from '../src/identity/resolve-queue.ts';
import { runImport } from '../src/ingest/importer.ts';
import fs from 'node:fs';
import path from 'node:path';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let token: string;
let analystToken: string;

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('trk'), name: 'tracking' });
  const keys = new ApiKeyService(stores.state);
  token = (await keys.create(ws.id, 'sdk', 'operator')).token;
  analystToken = (await keys.create(ws.id, 'reader', 'analyst')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
});
after(async () => {
  await app.close();
  await stores.close();
});

async function post(route: string, body: unknown, key = token) {
  const response = await fetch(`${base}/api/v1/${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as any };
}

async function countEvents(where = ''): Promise<number> {
  const [row] = await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM events FINAL WHERE workspace_id = {ws:String} ${where}`, { ws: ws.id });
  return Number(row.n);
}

test('track, page, identify and alias land as events when acknowledged', async () => {
  const before = await countEvents();
  const t = await post('track', { event: 'Product Viewed', messageId: 'm-1', anonymousId: 'a-1', properties: { sku: 'YY-JS-70X6' }, identities: { unionid: 'oU-track-1' } });
  assert.equal(t.status, 200);
  assert.deepEqual(t.json, { success: true, accepted: 1 });
  assert.equal((await post('page', { name: 'home', anonymousId: 'a-1', messageId: 'm-2' })).status, 200);
  assert.equal((await post('identify', { userId: 'u-1', anonymousId: 'a-1', traits: { name: '李娜' }, messageId: 'm-3' })).status, 200);
  assert.equal((await post('alias', { userId: 'u-1', previousId: 'a-1', messageId: 'm-4' })).status, 200);
  assert.equal(await countEvents(), before + 4, 'durable when answered');
  const [viewed] = await stores.facts.query<{ event: string; properties: string }>(
    `SELECT event, properties FROM events FINAL WHERE workspace_id = {ws:String} AND message_id = 'm-1'`,
    { ws: ws.id },
  );
  assert.equal(viewed.event, 'Product Viewed');
  assert.deepEqual(JSON.parse(viewed.properties), { sku: 'YY-JS-70X6' });
});

test('a retried event with the same messageId lands once', async () => {
  const event = { event: 'Order Completed', messageId: 'dup-1', anonymousId: 'a-2', properties: { revenue: 399 } };
  await post('track', event);
  await post('track', event);
  await post('batch', { batch: [{ ...event, type: 'track' }] });
  assert.equal(await countEvents(`AND message_id = 'dup-1'`), 1);
});

test("one visitor's events are one identity record; an event re-sent with other identities moves without a copy", async () => {
  const batch = Array.from({ length: 30 }, (_, i) => ({ type: 'track', event: 'Scroll', messageId: `v-${i}`, anonymousId: 'visitor-1', identities: { unionid: 'oU-visitor-1' } }));
  assert.equal((await post('batch', { batch })).status, 200);
  const identityRecords = async () => {
    const [row] = await stores.facts.query<{ n: string }>(`SELECT uniqExact(identity_key) AS n FROM events FINAL WHERE workspace_id = {ws:String} AND anonymous_id = 'visitor-1'`, {
      ws: ws.id,
    });
    const [records] = await stores.facts.query<{ n: string }>(
      `SELECT count() AS n FROM source_records FINAL WHERE workspace_id = {ws:String} AND kind = 'identity'
       AND record_id IN (SELECT identity_key FROM events FINAL WHERE workspace_id = {ws:String} AND anonymous_id = 'visitor-1')`,
      { ws: ws.id },
    );
    return [Number(row.n), Number(records.n)];
  };
  assert.deepEqual(await identityRecords(), [1, 1]);
  await resolveSerially(stores, { workspaceId: ws.id });
  // The same message id with an added phone: another identity, so (once resolved) maybe another person.
  assert.equal((await post('track', { event: 'Scroll', messageId: 'v-0', anonymousId: 'visitor-1', identities: { unionid: 'oU-visitor-1', phone: '13500000077' } })).status, 200);
  assert.equal(await countEvents(`AND message_id = 'v-0'`), 1, 'the changed event replaced its old row');
  assert.equal(await countEvents(`AND anonymous_id = 'visitor-1'`), 30);
  assert.deepEqual(await identityRecords(), [2, 2]);
});

test('an undeclared identifier type is refused with a clear error, and nothing of the request lands', async () => {
  const before = await countEvents();
  const single = await post('track', { event: 'x', anonymousId: 'a', identities: { qq_openid: '123' } });
  assert.equal(single.status, 400);
  assert.equal(single.json.error.code, 'validation_failed');
  assert.match(single.json.error.message, /^body\.identities\.qq_openid: identifier type "qq_openid" is not declared in this workspace \(declared: unionid, /);
  const batch = await post('batch', {
    batch: [
      { type: 'track', event: 'ok', anonymousId: 'a', messageId: 'b-ok' },
      { type: 'track', anonymousId: 'a' },
      { type: 'track', event: 'bad phone', anonymousId: 'a', identities: { phone: '138****5678' } },
    ],
  });
  assert.equal(batch.status, 400);
  const paths = batch.json.error.details.issues.map((i: { path: string }) => i.path);
  assert.deepEqual(paths, ['body.batch[1].event', 'body.batch[2].identities.phone']);
  assert.equal(await countEvents(), before, 'no event of a refused request lands');
});

test('an analyst key may not send events; a tracker key may only send events', async () => {
  const result = await post('track', { event: 'x', anonymousId: 'a' }, analystToken);
  assert.equal(result.status, 403);
  const tracker = (await new ApiKeyService(stores.state).create(ws.id, 'web', 'tracker')).token;
  assert.equal((await post('track', { event: 'x', anonymousId: 'a', messageId: 'tracker-1' }, tracker)).status, 200);
  const keys = await fetch(`${base}/api/v1/api-keys`, { headers: { authorization: `Bearer ${tracker}` } });
  assert.equal(keys.status, 403);
});

test('concurrent requests are batched together and all acknowledged', async () => {
  const before = await countEvents();
  const requests = Array.from({ length: 40 }, (_, r) =>
    post('batch', { batch: Array.from({ length: 25 }, (_, i) => ({ type: 'track', event: 'Tick', anonymousId: `c-${r}`, messageId: `c-${r}-${i}` })) }),
  );
  const results = await Promise.all(requests);
  assert.ok(results.every((r) => r.status === 200 && r.json.accepted === 25));
  assert.equal(await countEvents(), before + 1000);
});

test('events join the person who carries the same identifier', async () => {
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, 'record_id,source,unionid,phone\nmem-1,crm,oU-join,13500000001\n');
  await runImport(stores, { workspace: ws, kind: 'records', files: [file] });
  await post('track', { event: 'Coupon Claimed', messageId: 'join-1', anonymousId: 'dev-join', identities: { unionid: 'oU-join' } });
  await resolveSerially(stores, { workspaceId: ws.id });
  const rows = await stores.facts.query<{ kind: string; person_id: string }>(
    `SELECT kind, person_id FROM source_records FINAL WHERE workspace_id = {ws:String}
     AND (record_id = 'mem-1' OR record_id = (SELECT identity_key FROM events FINAL WHERE workspace_id = {ws:String} AND message_id = 'join-1'))
     ORDER BY kind`,
    { ws: ws.id },
  );
  assert.deepEqual(
    rows.map((r) => r.kind),
    ['identity', 'record'],
    'the event belongs to an identity record',
  );
  assert.equal(rows[0].person_id, rows[1].person_id);
  assert.notEqual(rows[0].person_id, '0');
  const [event] = await stores.facts.query<{ person_id: string }>(`SELECT person_id FROM events FINAL WHERE workspace_id = {ws:String} AND message_id = 'join-1'`, { ws: ws.id });
  assert.equal(event.person_id, rows[0].person_id, 'the event row moved to the person');
});
