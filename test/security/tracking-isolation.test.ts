/**
 * Issue 19 item 5: one client cannot fail another's events. The review's probe: a batch whose events
 * span more than 100 months makes ClickHouse refuse the whole group-committed insert (too many
 * partitions), and every request sharing it failed. Now such timestamps are refused up front, events
 * are capped in size and depth, and a shared insert that fails is retried request by request.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, uniqueSlug } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';

let stores: Stores;
let strict: { app: FastifyInstance; base: string };
/** A server told to take a century of timestamps, so a poisoned request reaches the shared insert. */
let lenient: { app: FastifyInstance; base: string };
let ws: Workspace;
let token: string;

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('iso'), name: 'isolation' });
  token = (await new ApiKeyService(stores.state).create(ws.id, 'backend', 'operator')).token;
  strict = await startTestServer(stores, { resolveAfterMs: 0 });
  process.env.SIYU_TRACK_MAX_PAST_DAYS = String(100 * 366);
  try {
    // Every request of a burst waits for one shared write.
    lenient = await startTestServer(stores, { resolveAfterMs: 0, maxDelayMs: 300 });
  } finally {
    delete process.env.SIYU_TRACK_MAX_PAST_DAYS;
  }
});
after(async () => {
  await strict.app.close();
  await lenient.app.close();
  await stores.close();
});

const monthsAgo = (n: number) => new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - n, 15)).toISOString();

async function count(where: string, params: Record<string, unknown> = {}): Promise<number> {
  const [row] = await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM events FINAL WHERE workspace_id = {ws:String} AND ${where}`, { ws: ws.id, ...params });
  return Number(row.n);
}

test('a poisoned request fails alone: 15 good requests sharing its insert all land', async () => {
  const poison = {
    batch: Array.from({ length: 120 }, (_, i) => ({ type: 'track', event: 'Old', anonymousId: 'poison', messageId: `poison-${i}`, timestamp: monthsAgo(i * 2 + 1) })),
  };
  const good = (r: number) => ({ batch: Array.from({ length: 5 }, (_, i) => ({ type: 'track', event: 'Fine', anonymousId: `good-${r}`, messageId: `good-${r}-${i}` })) });
  const results = await Promise.all([
    callApi(lenient.base, 'POST', '/api/v1/batch', token, poison),
    ...Array.from({ length: 15 }, (_, r) => callApi(lenient.base, 'POST', '/api/v1/batch', token, good(r))),
  ]);
  const [poisoned, ...rest] = results;
  assert.deepEqual(
    rest.map((r) => r.status),
    Array(15).fill(200),
    'every good request is acknowledged',
  );
  assert.equal(await count(`event = 'Fine' AND startsWith(message_id, 'good-')`), 75);
  assert.equal(poisoned.status, 500, 'the store refused the poisoned request itself');
  assert.doesNotMatch(poisoned.text, /partition|Code: \d+|DB::Exception|ClickHouse/i, 'no store error text reaches the client');
  assert.equal(await count(`anonymous_id = 'poison'`), 0);
});

test('timestamps outside the window are refused with the field named (default: 2 years back, 1 day ahead)', async () => {
  const old = await callApi(strict.base, 'POST', '/api/v1/batch', token, {
    batch: [
      { type: 'track', event: 'ok', anonymousId: 'w', messageId: 'w-ok', timestamp: monthsAgo(1) },
      { type: 'track', event: 'x', anonymousId: 'w', timestamp: monthsAgo(25) },
      { type: 'track', event: 'x', anonymousId: 'w', timestamp: new Date(Date.now() + 2 * 86_400_000).toISOString() },
    ],
  });
  assert.equal(old.status, 400);
  const issues = old.json.error.details.issues;
  assert.deepEqual(
    issues.map((i: { path: string }) => i.path),
    ['body.batch[1].timestamp', 'body.batch[2].timestamp'],
  );
  assert.match(issues[0].message, /more than 730 days ago/);
  assert.match(issues[1].message, /more than 24 hours ahead/);
  assert.equal(await count(`message_id = 'w-ok'`), 0, 'nothing of a refused request lands');
  // A server told otherwise (SIYU_TRACK_MAX_PAST_DAYS) takes older events.
  assert.equal((await callApi(lenient.base, 'POST', '/api/v1/track', token, { event: 'x', anonymousId: 'w', messageId: 'w-5y', timestamp: monthsAgo(60) })).status, 200);
});

test('events are capped: identifiers, sizes, nesting and names, each refusal naming the field', async () => {
  let deep: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < 11; i++) deep = { deeper: deep };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['nesting', { properties: deep }, /^body\.properties: nested more than 10 levels deep/],
    ['nested context', { context: deep }, /^body\.context: nested more than 10 levels deep/],
    ['identities', { identities: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`t${i}`, 'v'])) }, /^body\.identities: at most 20 identifiers/],
    ['identifier length', { identities: { unionid: 'u'.repeat(201) } }, /^body\.identities\.unionid:/],
    ['event name', { event: 'e'.repeat(201) }, /^body\.event:/],
    ['anonymousId', { anonymousId: 'a'.repeat(201) }, /^body\.anonymousId:/],
  ];
  for (const [label, change, reason] of cases) {
    const sent = await callApi(strict.base, 'POST', '/api/v1/track', token, { event: 'Capped', anonymousId: 'cap', ...change });
    assert.equal(sent.status, 400, `${label}: ${sent.text.slice(0, 200)}`);
    assert.match(sent.json.error.message, reason, label);
  }
  // Past 32 KB a single-event route refuses the body before reading it (Segment's limit per event);
  // inside a batch (500 KB a batch) the event itself is refused, naming it.
  const big = { event: 'Capped', anonymousId: 'cap', properties: { blob: 'x'.repeat(40_000) } };
  const single = await callApi(strict.base, 'POST', '/api/v1/track', token, big);
  assert.equal(single.status, 413, single.text.slice(0, 200));
  assert.match(single.json.error.message, /32 KB/);
  const batched = await callApi(strict.base, 'POST', '/api/v1/batch', token, { batch: [{ ...big, type: 'track' }] });
  assert.equal(batched.status, 400, batched.text.slice(0, 200));
  assert.match(batched.json.error.message, /^body\.batch\[0\]\.properties: .*at most 32768/);
  // Deeper than any stack: refused, not a crash (the payload is text; JSON.stringify here would overflow).
  const veryDeep = `{"batch":[{"type":"track","event":"Capped","anonymousId":"cap","properties":{"x":${'['.repeat(100_000)}1${']'.repeat(100_000)}}}]}`;
  const response = await fetch(`${strict.base}/api/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: veryDeep,
  });
  assert.equal(response.status, 400);
  assert.match(((await response.json()) as { error: { message: string } }).error.message, /^body\.batch\[0\]\.properties: nested more than 10 levels deep/);
});
