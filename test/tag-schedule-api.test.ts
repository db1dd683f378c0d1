import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, workspaceWithKeys, startTestServer } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import type { Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { saveTag } from '../src/tags/store.ts';
import { removeSchedule } from '../src/tags/schedule.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { saveChannel } from '../src/channels/store.ts';
import { writeSecret } from '../src/secrets/secrets.ts';
import { savePlan, startPlan } from '../src/plans/plans.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let operator: string;
let analyst: string;

before(async () => {
  ({ stores } = await openTestStores());
  ({ ws, operator, analyst } = await workspaceWithKeys(stores, 'tag-schedule-api'));
  await saveTag(stores, ws.id, { key: 'orders_all', name: { zh: '订单数', en: 'Orders' }, kind: 'statistic', of: 'purchases', measure: 'count' });
  ({ app, base } = await startTestServer(stores));
});
after(async () => {
  await removeSchedule(stores, ws.id);
  await app.close();
  await stores.close();
});

const call = (method: string, route: string, token: string, body?: unknown) => callApi(base, method, route, token, body);

test('the tag schedule over HTTP: read by any key, set and removed by admin and operator keys, crons checked', async () => {
  const none = await call('GET', '/api/v1/tags/schedule', analyst);
  assert.equal(none.status, 200, none.text);
  assert.deepEqual(none.json, { schedule: null });

  assert.equal((await call('PUT', '/api/v1/tags/schedule', analyst, { cron: 'daily' })).status, 403);
  const bad = await call('PUT', '/api/v1/tags/schedule', operator, { cron: '0 3 * *' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^body\.cron: cron "0 3 \* \*": expected 5 fields/);
  const missing = await call('PUT', '/api/v1/tags/schedule', operator, {});
  assert.equal(missing.status, 400);
  assert.match(missing.json.error.message, /^body\.cron: /);

  const set = await call('PUT', '/api/v1/tags/schedule', operator, { cron: 'daily' });
  assert.equal(set.status, 200, set.text);
  assert.equal(set.json.schedule.cron, '0 3 * * *');
  assert.equal(set.json.schedule.timeZone, 'Asia/Shanghai');
  assert.match(set.json.schedule.nextAt, /T19:00:00\.000Z$/);
  assert.match(set.json.schedule.nextAtLocal, / 03:00$/);

  const shown = await call('GET', '/api/v1/tags/schedule', analyst);
  assert.equal(shown.status, 200);
  assert.deepEqual(shown.json, set.json, 'the static route wins over /api/v1/tags/:key');
  assert.equal((await call('GET', '/api/v1/tags/orders_all', analyst)).status, 200, 'tags are still found by key');

  const changed = await call('PUT', '/api/v1/tags/schedule', operator, { cron: '30 6 * * 1' });
  assert.equal(changed.json.schedule.cron, '30 6 * * 1');
  assert.match(changed.json.schedule.nextAtLocal, / 06:30$/);

  assert.equal((await call('DELETE', '/api/v1/tags/schedule', analyst)).status, 403);
  const removed = await call('DELETE', '/api/v1/tags/schedule', operator);
  assert.equal(removed.status, 200);
  assert.deepEqual(removed.json, { removed: true });
  assert.deepEqual((await call('GET', '/api/v1/tags/schedule', operator)).json, { schedule: null });
});

test('moving the workspace to another time zone moves the tag schedule and recurring plans with it', async () => {
  const admin = (await new ApiKeyService(stores.state).create(ws.id, 'tz-admin', 'admin')).token;
  assert.equal((await call('PUT', '/api/v1/tags/schedule', operator, { cron: 'daily' })).status, 200);
  await saveSegment(stores, ws.id, { key: 'everyone', name: { zh: '全部', en: 'All' }, conditions: [{ type: 'identifier', identifierType: 'phone' }] });
  await writeSecret(stores, ws.id, 'tz_test_secret', 'x'.repeat(16));
  await saveChannel(stores, ws.id, { key: 'hook', kind: 'webhook', config: { url: 'https://hooks.example/', secret: 'tz_test_secret' } });
  await savePlan(stores, ws.id, {
    key: 'morning',
    name: 'morning',
    audience: { segment: 'everyone' },
    channel: 'hook',
    variants: [{ key: 'A', template: { text: 'hi' } }],
    schedule: { kind: 'recurring', cron: '0 9 * * *' },
  });
  await startPlan(stores, ws.id, 'morning');
  const nextRun = async () =>
    (await stores.state.db.selectFrom('plans').select('next_run_at').where('workspace_id', '=', ws.id).where('key', '=', 'morning').executeTakeFirstOrThrow()).next_run_at;
  assert.equal(new Date((await nextRun())!).getUTCHours(), 1, '09:00 in Shanghai is 01:00 UTC');
  const before = (await call('GET', '/api/v1/tags/schedule', analyst)).json.schedule;
  assert.equal(new Date(before.nextAt).getUTCHours(), 19, '03:00 in Shanghai is 19:00 UTC');
  assert.equal((await call('PATCH', '/api/v1/workspace', operator, { timeZone: 'Asia/Tokyo' })).status, 403, 'admins only');
  const bad = await call('PATCH', '/api/v1/workspace', admin, { timeZone: 'Mars/Base' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /timeZone: must be an IANA time zone/);
  const moved = await call('PATCH', '/api/v1/workspace', admin, { timeZone: 'Asia/Tokyo' });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.json.timeZone, 'Asia/Tokyo');
  const after = (await call('GET', '/api/v1/tags/schedule', analyst)).json.schedule;
  assert.equal(new Date(after.nextAt).getUTCHours(), 18, '03:00 in Tokyo is 18:00 UTC');
  assert.equal(after.timeZone, 'Asia/Tokyo');
  assert.equal(new Date((await nextRun())!).getUTCHours(), 0, '09:00 in Tokyo is 00:00 UTC');
});
