/**
 * Issue 19 items 4 and 10: a tracker key is public, so it is held to the brand's page origins and to
 * a rate per key and per client address; browsers get a CORS preflight for the tracking routes, and
 * a beacon (text/plain, key in the URL) is taken from a tracker key only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, runCli, startTestServer, tempDir, uniqueSlug } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let port: number;
let ws: Workspace;
let admin: string;
let operator: string;

const RATE_PER_KEY = 6;
const RATE_PER_IP = 4;

before(async () => {
  process.env.SIYU_TRACK_RATE_PER_KEY = String(RATE_PER_KEY);
  process.env.SIYU_TRACK_RATE_PER_IP = String(RATE_PER_IP);
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('tkeys'), name: 'tracker keys' });
  const keys = new ApiKeyService(stores.state);
  admin = (await keys.create(ws.id, 'admin', 'admin')).token;
  operator = (await keys.create(ws.id, 'backend', 'operator')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  port = Number(new URL(base).port);
});
after(async () => {
  delete process.env.SIYU_TRACK_RATE_PER_KEY;
  delete process.env.SIYU_TRACK_RATE_PER_IP;
  await app.close();
  await stores.close();
});

async function trackerKey(allowedOrigins?: string[]): Promise<string> {
  const created = await callApi(base, 'POST', '/api/v1/api-keys', admin, { name: 'web', role: 'tracker', ...(allowedOrigins ? { allowedOrigins } : {}) });
  assert.equal(created.status, 201, created.text);
  return created.json.token;
}

/** A raw request, optionally from another loopback address (a different client IP). */
function send(options: {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  from?: string;
}): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, method: options.method ?? 'POST', path: options.path, headers: options.headers, localAddress: options.from },
      (response) => {
        let text = '';
        response.on('data', (d) => (text += d));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

let seq = 0;
const event = () => JSON.stringify({ event: 'Viewed', anonymousId: 'dev-1', messageId: `k-${++seq}` });
const track = (key: string, headers: Record<string, string> = {}, from?: string) =>
  send({ path: '/api/v1/track', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: event(), from });

test('a tracker key held to origins takes its pages (and their subdomains by a wildcard) and refuses others with 403', async () => {
  const key = await trackerKey(['https://shop.example.com', 'https://*.brand.cn/']);
  assert.equal((await track(key, { origin: 'https://shop.example.com' })).status, 200);
  assert.equal((await track(key, { origin: 'https://m.brand.cn' })).status, 200);
  assert.equal((await track(key, { referer: 'https://h5.brand.cn/item/1?x=2' })).status, 200, 'the Referer when there is no Origin');
  for (const headers of [
    { origin: 'https://evil.example' },
    { origin: 'https://brand.cn' },
    { origin: 'http://shop.example.com' },
    { origin: 'https://shop.example.com.evil.example' },
  ]) {
    const refused = await track(key, headers);
    assert.equal(refused.status, 403, JSON.stringify(headers));
    assert.equal(JSON.parse(refused.text).error.code, 'origin_not_allowed');
  }
  const none = await track(key);
  assert.equal(none.status, 403);
  assert.match(JSON.parse(none.text).error.message, /no Origin or Referer/);
  // A key without a list takes any page.
  assert.equal((await track(await trackerKey(), { origin: 'https://anywhere.example' })).status, 200);
});

test('allowed origins are set by admins, checked, and only on tracker keys', async () => {
  const key = await trackerKey();
  const [, prefix] = /^siyu_([a-z0-9]{12})_/.exec(key)!;
  const bad = await callApi(base, 'PATCH', `/api/v1/api-keys/${prefix}`, admin, { allowedOrigins: ['https://ok.example', 'ftp://files.example'] });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^allowedOrigins\[1\]: .*http:\/\/ or https:\/\//);
  const withPath = await callApi(base, 'PATCH', `/api/v1/api-keys/${prefix}`, admin, { allowedOrigins: ['https://ok.example/shop'] });
  assert.match(withPath.json.error.message, /^allowedOrigins\[0\]: .*no path/);
  const set = await callApi(base, 'PATCH', `/api/v1/api-keys/${prefix}`, admin, { allowedOrigins: ['HTTPS://OK.example:443'] });
  assert.equal(set.status, 200, set.text);
  assert.deepEqual(set.json.key.allowedOrigins, ['https://ok.example']);
  // Settings are read again within seconds; a fresh key avoids waiting on the cache here.
  assert.equal((await callApi(base, 'PATCH', `/api/v1/api-keys/${prefix}`, operator, { allowedOrigins: null })).status, 403, 'admins only');
  const onServerKey = await callApi(base, 'POST', '/api/v1/api-keys', admin, { name: 'x', role: 'operator', allowedOrigins: ['https://ok.example'] });
  assert.equal(onServerKey.status, 400);
  assert.match(onServerKey.json.error.message, /only a tracker key/);
  const listed = await callApi(base, 'GET', '/api/v1/api-keys', admin);
  assert.deepEqual(listed.json.keys.find((k: { prefix: string }) => k.prefix === prefix).allowedOrigins, ['https://ok.example']);
});

test('a tracker key is rate-limited per client address: 429 with Retry-After, other keys and server keys unaffected', async () => {
  const key = await trackerKey();
  const results: Array<Awaited<ReturnType<typeof track>>> = [];
  for (let i = 0; i < RATE_PER_IP + 2; i++) results.push(await track(key));
  assert.deepEqual(
    results.map((r) => r.status),
    [...Array(RATE_PER_IP).fill(200), 429, 429],
  );
  assert.ok(Number(results[RATE_PER_IP].headers['retry-after']) >= 1);
  assert.equal(JSON.parse(results[RATE_PER_IP].text).error.code, 'rate_limited');
  assert.equal((await track(key, {}, '127.0.0.2')).status, 200, 'another address has its own allowance');
  for (let i = 0; i < RATE_PER_IP + 2; i++) assert.equal((await track(operator)).status, 200, 'a server key is not a public key');
  await new Promise((resolve) => setTimeout(resolve, 1000 * Number(results[RATE_PER_IP].headers['retry-after'])));
  assert.equal((await track(key)).status, 200, 'after Retry-After it goes again');
});

test('a tracker key is rate-limited over all its clients', async () => {
  const key = await trackerKey();
  const statuses: number[] = [];
  // Each address stays under its own rate; together they pass the key's.
  for (const from of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) for (let i = 0; i < 3; i++) statuses.push((await track(key, {}, from)).status);
  assert.equal(statuses.filter((s) => s === 200).length, RATE_PER_KEY);
  assert.equal(statuses.filter((s) => s === 429).length, 9 - RATE_PER_KEY);
});

const batch = (key: string, events: number, from?: string) =>
  send({
    path: '/api/v1/batch',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch: Array.from({ length: events }, () => ({ type: 'track', event: 'Viewed', anonymousId: 'dev-2', messageId: `b-${++seq}` })) }),
    from,
  });

test('a batch costs its events, not one request: budgets are counted in events', async () => {
  const key = await trackerKey();
  // One address: a batch of RATE_PER_IP - 1 events and one more event fill its second; the next is refused.
  assert.equal((await batch(key, RATE_PER_IP - 1, '127.0.0.6')).status, 200);
  assert.equal((await track(key, {}, '127.0.0.6')).status, 200);
  const refused = await batch(key, 2, '127.0.0.6');
  assert.equal(refused.status, 429, refused.text);
  assert.match(JSON.parse(refused.text).error.message, /a batch counts each of its events/);
  assert.ok(Number(refused.headers['retry-after']) >= 1);
  // A batch larger than the address's budget waits for a whole empty second, never passes on one request's price.
  const key2 = await trackerKey();
  assert.equal((await track(key2, {}, '127.0.0.7')).status, 200);
  assert.equal((await batch(key2, 50, '127.0.0.7')).status, 429, 'a batch above the budget');
  // The key's budget over its addresses counts events too.
  const key3 = await trackerKey();
  assert.equal((await batch(key3, RATE_PER_IP, '127.0.0.8')).status, 200);
  assert.equal((await batch(key3, RATE_PER_KEY - RATE_PER_IP, '127.0.0.9')).status, 200);
  assert.equal((await batch(key3, 1, '127.0.0.10')).status, 429, 'the key spent its events over all addresses');
});

test("tracking bodies are bounded as Segment's: 32 KB for one event, 500 KB for a batch (413 naming the limit)", async () => {
  const big = (bytes: number) => JSON.stringify({ type: 'track', event: 'Viewed', anonymousId: 'dev-3', properties: { pad: 'x'.repeat(bytes) } });
  const one = await send({ path: '/api/v1/track', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: big(40 * 1024) });
  assert.equal(one.status, 413, one.text);
  assert.match(JSON.parse(one.text).error.message, /^body: larger than the 32 KB this route takes/);
  const many = JSON.stringify({ batch: Array.from({ length: 40 }, () => JSON.parse(big(15 * 1024))) });
  const batched = await send({ path: '/api/v1/batch', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: many });
  assert.equal(batched.status, 413, batched.text);
  assert.match(JSON.parse(batched.text).error.message, /^body: larger than the 500 KB this route takes/);
  const fits = JSON.stringify({ batch: Array.from({ length: 20 }, (_, i) => ({ ...JSON.parse(big(15 * 1024)), messageId: `fit-${seq}-${i}` })) });
  assert.equal((await send({ path: '/api/v1/batch', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: fits })).status, 200);
});

test('the tracking routes answer a CORS preflight; other routes do not', async () => {
  for (const route of ['track', 'identify', 'page', 'alias', 'batch']) {
    const preflight = await send({
      method: 'OPTIONS',
      path: `/api/v1/${route}`,
      headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(preflight.status, 204, route);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://shop.example.com');
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /content-type/);
  }
  assert.equal((await send({ method: 'OPTIONS', path: '/api/v1/people', headers: { origin: 'https://shop.example.com' } })).status, 404);
  const actual = await track(await trackerKey(), { origin: 'https://shop.example.com' });
  assert.equal(actual.status, 200);
  assert.equal(actual.headers['access-control-allow-origin'], 'https://shop.example.com', 'the page may read the answer');
});

test('a beacon (text/plain, the tracker key in the URL) lands; a server key in a URL is refused', async () => {
  const key = await trackerKey();
  const body = JSON.stringify({ batch: [{ type: 'track', event: 'Left', anonymousId: 'dev-beacon', messageId: 'beacon-1' }] });
  const beacon = await send({ path: `/api/v1/batch?writeKey=${encodeURIComponent(key)}`, headers: { 'content-type': 'text/plain;charset=UTF-8' }, body });
  assert.equal(beacon.status, 200, beacon.text);
  const [row] = await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM events FINAL WHERE workspace_id = {ws:String} AND message_id = 'beacon-1'`, { ws: ws.id });
  assert.equal(Number(row.n), 1);
  const serverKey = await send({ path: `/api/v1/batch?writeKey=${encodeURIComponent(operator)}`, headers: { 'content-type': 'text/plain' }, body });
  assert.equal(serverKey.status, 400);
  assert.equal(JSON.parse(serverKey.text).error.code, 'key_in_url');
  const poisoned = await send({
    path: `/api/v1/batch?writeKey=${encodeURIComponent(key)}`,
    headers: { 'content-type': 'text/plain' },
    body: '{"batch":[{"type":"track","event":"x","anonymousId":"d","__proto__":{"polluted":1}}]}',
  });
  assert.equal(poisoned.status, 400);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('siyu apikey create --origins and siyu apikey origins hold a tracker key to pages; a bad origin is named', async () => {
  const env = { SIYU_DATA_DIR: tempDir(), SIYU_DEMO_PEOPLE: '0' };
  const slug = uniqueSlug('cli-origins');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'cli'], env)).code, 0);
  const created = await runCli(['apikey', 'create', '--name', 'web', '--role', 'tracker', '--origins', 'https://shop.example.com,https://*.brand.cn', '-w', slug], env);
  assert.equal(created.code, 0, created.stderr);
  const prefix = /API key ([a-z0-9]{12})/.exec(created.stdout)![1];
  const changed = await runCli(['apikey', 'origins', prefix, 'https://m.shop.example.com', '-w', slug], env);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, /takes requests from https:\/\/m\.shop\.example\.com$/m);
  const listed = await runCli(['apikey', 'list', '-w', slug], env);
  assert.match(listed.stdout, /web\s+tracker.*https:\/\/m\.shop\.example\.com/);
  const bad = await runCli(['apikey', 'origins', prefix, 'shop.example.com', '-w', slug], env);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /allowedOrigins\[0\]: "shop\.example\.com" is not an origin/);
  const any = await runCli(['apikey', 'origins', prefix, '-w', slug], env);
  assert.match(any.stdout, /takes requests from any origin/);
});
