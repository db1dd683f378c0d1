import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { openTestStores, startTestServer, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { createSignKey, signIdentity } from '../src/tracking/signed-identity.ts';
// @ts-expect-error: the SDK is plain JavaScript for browsers
import { createSiyu } from '../sdk/siyu.js';

let stores: Stores;
let app: FastifyInstance;
let ws: Workspace;
let token: string;
let siyuUrl: string;
let proxy: http.Server;
let proxyUrl: string;
let failuresLeft = 0;
const seen: number[] = [];

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('sdk'), name: 'sdk' });
  token = (await new ApiKeyService(stores.state).create(ws.id, 'site', 'tracker')).token;
  ({ app, base: siyuUrl } = await startTestServer(stores, { resolveAfterMs: 0 }));
  // A flaky network in front of Siyu: the first requests fail with 503, later ones pass through.
  proxy = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (failuresLeft > 0) {
      failuresLeft--;
      seen.push(503);
      res.writeHead(503).end();
      return;
    }
    const upstream = await fetch(siyuUrl + req.url, {
      method: req.method,
      headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
      body: Buffer.concat(chunks),
    });
    seen.push(upstream.status);
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
after(async () => {
  proxy.close();
  await app.close();
  await stores.close();
});

test('the SDK is served to browsers', async () => {
  const response = await fetch(`${siyuUrl}/sdk/siyu.js`);
  assert.equal(response.status, 200);
  assert.match(await response.text(), /export function createSiyu/);
});

test('the SDK queues, batches and retries until every event lands exactly once', async () => {
  failuresLeft = 2;
  seen.length = 0;
  const siyu = createSiyu({ endpoint: proxyUrl, writeKey: token, batchSize: 5, flushIntervalMs: 10_000, backoffMs: 20 });
  assert.match(siyu.anonymousId, /^[0-9a-f-]{36}$/);
  for (let i = 0; i < 5; i++) siyu.track('Product Viewed', { i }, { identities: { unionid: 'oU-sdk' } });
  siyu.identify('member-42', { name: '李娜' });
  // Wait until the retries have drained the queue.
  for (let waited = 0; siyu.queued > 0 && waited < 5000; waited += 20) {
    await new Promise((r) => setTimeout(r, 20));
    await siyu.flush();
  }
  siyu.stop();
  assert.equal(siyu.queued, 0);
  assert.deepEqual(seen.slice(0, 3), [503, 503, 200], 'two failures, then the same batch again');
  const rows = await stores.facts.query<{ event: string; anonymous_id: string; user_id: string }>(
    `SELECT event, anonymous_id, user_id FROM events FINAL WHERE workspace_id = {ws:String} ORDER BY timestamp`,
    { ws: ws.id },
  );
  assert.equal(rows.length, 6, 'five tracks and one identify, none doubled by the retries');
  assert.ok(rows.every((r) => r.anonymous_id === siyu.anonymousId));
  assert.equal(rows.filter((r) => r.event === 'identify' && r.user_id === 'member-42').length, 1);
});

test('events the server refuses are dropped, not retried forever', async () => {
  const errors: Array<{ status: number }> = [];
  const siyu = createSiyu({ endpoint: siyuUrl, writeKey: token, batchSize: 1, onError: (e: { status: number }) => errors.push(e) });
  siyu.track('Bad', {}, { identities: { not_declared: 'x' } });
  await siyu.flush();
  siyu.stop();
  assert.equal(siyu.queued, 0);
  assert.equal(errors[0]?.status, 400);
});

test('on pagehide the queue goes by sendBeacon (tracker key in the URL, text/plain) and lands', async () => {
  const beacons: Array<Promise<Response>> = [];
  const urls: string[] = [];
  const nav = globalThis.navigator as Navigator & { sendBeacon?: (url: string, data: Blob) => boolean };
  const original = nav.sendBeacon;
  // What a browser does with a beacon: a POST it does not wait for, with the Blob's type as content type.
  nav.sendBeacon = (url: string, data: Blob) => {
    urls.push(url);
    beacons.push(fetch(url, { method: 'POST', body: data }));
    return true;
  };
  try {
    const siyu = createSiyu({ endpoint: siyuUrl, writeKey: token, batchSize: 100, flushIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) siyu.track('Left Page', { i });
    assert.equal(siyu.beacon(), true);
    siyu.stop();
    assert.equal(siyu.queued, 0);
    const responses = await Promise.all(beacons);
    assert.deepEqual(
      responses.map((r) => r.status),
      [200],
    );
    assert.match(urls[0], /\/api\/v1\/batch\?writeKey=siyu_/);
    const [row] = await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM events FINAL WHERE workspace_id = {ws:String} AND event = 'Left Page'`, { ws: ws.id });
    assert.equal(Number(row.n), 3);
  } finally {
    nav.sendBeacon = original;
  }
});

test('a signed identity given to the SDK rides on every event and links what it names; without it the phone is a claim', async () => {
  const { secret, key } = await createSignKey(stores, ws.id, 'sdk test', 'test');
  const phone = '13700137000';
  const jwt = signIdentity(secret, { iss: key.id, ws: ws.slug, ids: { phone }, exp: Math.floor(Date.now() / 1000) + 600 });
  const identifiersOf = async (event: string) => {
    const [row] = await stores.facts.query<{ identifiers: Array<{ type: string; value: string }> }>(
      `SELECT identifiers FROM source_records FINAL WHERE workspace_id = {ws:String} AND record_id IN (SELECT identity_key FROM events FINAL WHERE workspace_id = {ws:String} AND event = {e:String})`,
      { ws: ws.id, e: event },
    );
    return row.identifiers.map((i) => i.type).sort();
  };
  const signed = createSiyu({ endpoint: siyuUrl, writeKey: token, batchSize: 1, signedIdentity: jwt });
  signed.track('Signed In', {}, { identities: { phone } });
  await signed.flush();
  signed.stop();
  assert.deepEqual(await identifiersOf('Signed In'), ['device_id', 'phone']);
  const unsigned = createSiyu({ endpoint: siyuUrl, writeKey: token, batchSize: 1 });
  unsigned.track('Claimed', {}, { identities: { phone } });
  await unsigned.flush();
  unsigned.stop();
  assert.deepEqual(await identifiersOf('Claimed'), ['device_id']);
});
