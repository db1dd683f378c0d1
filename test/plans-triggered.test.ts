/**
 * Triggered plans end to end: events through the tracking API, "added to cart and not paid within
 * the delay", re-entry wait, idempotent passes, and the messages over the webhook channel.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveChannel } from '../src/channels/store.ts';
import { savePolicy } from '../src/policy/policy.ts';
import { savePlan, startPlan, pausePlan, getPlan } from '../src/plans/plans.ts';
import { runTriggeredPlans } from '../src/plans/triggers.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
// These suites keep the older environment-variable secrets, which the server operator must allow-list.
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'TRIGGER_SECRET';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let token: string;
let receiver: WebhookReceiver;
// The server reads channel secrets from its environment.
process.env.TRIGGER_SECRET = 'trigger-secret';
const env = process.env;

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('triggered'), name: 'triggered' });
  token = (await new ApiKeyService(stores.state).create(ws.id, 'sdk', 'operator')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 50 }));
  receiver = await startWebhookReceiver('trigger-secret');
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, 'member_no,phone\nT1,13500000001\nT2,13500000002\nT3,13500000003\nT4,13500000004\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
  await saveChannel(stores, ws.id, { key: 'hook', kind: 'webhook', config: { url: receiver.url, secretEnv: 'TRIGGER_SECRET' } });
  await savePolicy(stores, ws.id, { caps: [], quietHours: null });
});
after(async () => {
  await app.close();
  await receiver.close();
  await stores.close();
});

const minutes = (n: number) => new Date(Date.now() + n * 60_000).toISOString();
const track = (phone: string, event: string, at: string, id: string) => ({
  type: 'track',
  event,
  messageId: id,
  timestamp: at,
  anonymousId: `anon-${phone}`,
  identities: { phone },
});

async function personOf(phone: string): Promise<string> {
  const [row] = await stores.facts.query<{ person_id: string }>(
    `SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'phone' AND value = {v:String}`,
    { ws: ws.id, v: `+86${phone}` },
  );
  return String(row.person_id);
}

test('added to cart and not paid within an hour: one reminder per occurrence, none for who paid, re-entry waits a day', async () => {
  const plan = {
    key: 'cart_reminder',
    name: '加购未付款提醒',
    channel: 'hook',
    audience: {},
    variants: [{ key: 'A', template: { text: '您的购物车还有商品 {{ plan.key }}' } }],
    goal: { kind: 'event', event: 'Order Completed', windowDays: 2 },
    schedule: { kind: 'triggered', event: 'Added to Cart', delay: { hours: 1 }, unless: { event: 'Order Completed' }, reenterAfterDays: 1 },
  };
  const bad = await callApi(base, 'POST', '/api/v1/plans', token, { ...plan, key: 'no_delay', schedule: { ...plan.schedule, delay: {} } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /body\.schedule\.delay: "unless" needs a delay/);
  assert.equal((await callApi(base, 'POST', '/api/v1/plans', token, plan)).status, 201);
  const started = await callApi(base, 'POST', '/api/v1/plans/cart_reminder/start', token);
  assert.equal(started.json.status, 'running', started.text);

  // T1 carts and never pays; T2 carts and pays 20 minutes later; T3 carts 30 minutes ago (not due yet);
  // T1 carts twice in the same hour (the re-entry wait keeps the second back).
  const events = [
    track('13500000001', 'Added to Cart', minutes(-55), 'c1'),
    track('13500000001', 'Added to Cart', minutes(-52), 'c1b'),
    track('13500000002', 'Added to Cart', minutes(-55), 'c2'),
    track('13500000002', 'Order Completed', minutes(-35), 'p2'),
    track('13500000003', 'Added to Cart', minutes(-30), 'c3'),
    track('13500000004', 'Product Viewed', minutes(-55), 'v4'),
  ];
  assert.equal((await callApi(base, 'POST', '/api/v1/batch', token, { batch: events })).status, 200);
  const resolved = async () => (await stores.facts.query(`SELECT 1 FROM events FINAL WHERE workspace_id = {ws:String} AND person_id > 0`, { ws: ws.id })).length === 6;
  for (let i = 0; i < 100 && !(await resolved()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(await resolved(), 'the events reached the facts store with their people');

  const soon = { now: () => new Date(Date.now() + 10 * 60_000) };
  // This workspace's pass: a shared state store may hold other workspaces' running plans.
  const pass = async (options: typeof soon) => (await runTriggeredPlans(stores, options)).find((p) => p.workspaceId === ws.id && p.plan === 'cart_reminder')!;
  const first = await pass(soon);
  assert.equal(first.occurrences, 2, 'T1 twice; T2 paid; T3 not due');
  assert.equal((await pass(soon)).occurrences, 0, 'the same window again…');
  const ledger = async () => stores.state.db.selectFrom('deliveries').select(['person_id', 'step', 'status', 'reason']).where('workspace_id', '=', ws.id).orderBy('step').execute();
  assert.equal((await ledger()).length, 2, '…adds nothing');

  const later = { now: () => new Date(Date.now() + 40 * 60_000) };
  assert.equal((await pass(later)).occurrences, 1, 'T3 falls due');
  // The passes above ran 10 and 40 minutes ahead, so their messages are due then: let that time pass.
  await stores.state.db.updateTable('deliveries').set({ next_attempt_at: new Date() }).where('workspace_id', '=', ws.id).where('status', '=', 'queued').execute();
  const dispatcher = planDispatcher(stores, { env });
  await dispatcher.drain();
  await dispatcher.stop();

  const [t1, t3] = [await personOf('13500000001'), await personOf('13500000003')];
  const rows = await ledger();
  assert.deepEqual(
    rows.map((r) => [String(r.person_id), r.step, r.status, r.reason]),
    [
      [t1, 'send:c1', 'delivered', null],
      [t1, 'send:c1b', 'stopped', 'excluded: entered recently (re-entry wait)'],
      [t3, 'send:c3', 'delivered', null],
    ],
  );
  assert.deepEqual([...receiver.received.values()].map((m) => m.personId).sort(), [t1, t3].sort());
  assert.equal((await getPlan(stores, ws.id, 'cart_reminder')).status, 'running', 'a triggered plan keeps running');
  const report = await callApi(base, 'GET', '/api/v1/plans/cart_reminder/report', token);
  assert.equal(report.json.groups[0].sent, 2);
  // Passes that overlap, and T1's held-back second cart, do not count anyone as stopped.
  assert.deepEqual([report.json.groups[0].stopped, report.json.groups[0].eligible], [0, 2]);
  assert.equal(report.json.runs[0].slot.slice(0, 8), 'trigger:');

  // A test send (and its run settling) leaves the triggered plan running.
  await savePolicy(stores, ws.id, { caps: [], quietHours: null, testWhitelist: [Number(t1)] });
  assert.equal((await callApi(base, 'POST', '/api/v1/plans/cart_reminder/test', token)).status, 200);
  const tester = planDispatcher(stores, { env });
  await tester.drain();
  await tester.stop();
  assert.equal((await getPlan(stores, ws.id, 'cart_reminder')).status, 'running');
});

test('a journey entered by an event: who does it after the start enters once, and moves on', async () => {
  const { saveJourney, startJourney, advanceJourneys, journeyPositions } = await import('../src/journeys/journeys.ts');
  await saveJourney(stores, ws.id, {
    key: 'signup_flow',
    name: '注册欢迎',
    entry: { event: 'Signed Up' },
    first: 'hello',
    steps: { hello: { type: 'send', channel: 'hook', template: { text: '欢迎' }, next: 'later' }, later: { type: 'wait', days: 2, next: 'bye' }, bye: { type: 'exit' } },
  });
  // Before the start: not an entrant.
  await callApi(base, 'POST', '/api/v1/batch', token, { batch: [track('13500000004', 'Signed Up', minutes(-30), 's4')] });
  await startJourney(stores, ws.id, 'signup_flow');
  await callApi(base, 'POST', '/api/v1/batch', token, {
    batch: [track('13500000001', 'Signed Up', new Date().toISOString(), 's1'), track('13500000001', 'Signed Up', new Date().toISOString(), 's1b')],
  });
  const landed = async () =>
    (await stores.facts.query(`SELECT 1 FROM events FINAL WHERE workspace_id = {ws:String} AND event = 'Signed Up' AND person_id > 0`, { ws: ws.id })).length === 3;
  for (let i = 0; i < 100 && !(await landed()); i++) await new Promise((r) => setTimeout(r, 100));
  const tick = await advanceJourneys(stores, { now: () => new Date(Date.now() + 1000) });
  assert.equal(tick.entered, 1);
  assert.deepEqual(await journeyPositions(stores, ws.id, 'signup_flow'), [{ step: 'later', status: 'active', people: 1 }]);
  const sent = await stores.state.db.selectFrom('deliveries').select(['person_id', 'step']).where('workspace_id', '=', ws.id).where('plan_key', '=', 'signup_flow').execute();
  assert.deepEqual(
    sent.map((s) => [String(s.person_id), s.step]),
    [[await personOf('13500000001'), 'hello']],
  );
  assert.equal((await advanceJourneys(stores, { now: () => new Date(Date.now() + 2000) })).entered, 0, 'nobody enters twice');
});

test('a pass just after midnight (a new day, a new run) adds nothing the pass before midnight wrote', async () => {
  const { evaluateTriggers } = await import('../src/plans/triggers.ts');
  const { plan } = await savePlan(stores, ws.id, {
    key: 'checkout_reminder',
    name: '结账提醒',
    channel: 'hook',
    audience: {},
    variants: [{ key: 'A', template: { text: '还差一步' } }],
    schedule: { kind: 'triggered', event: 'Checkout Started', delay: { hours: 1 } },
  });
  await startPlan(stores, ws.id, plan.key);
  // Yesterday's midnight in the workspace zone (Asia/Shanghai, no daylight saving): a checkout 70
  // minutes before it falls due 10 minutes before it.
  const midnight = Date.parse(`${new Date(Date.now() + 8 * 3_600_000 - 86_400_000).toISOString().slice(0, 10)}T00:00:00+08:00`);
  await callApi(base, 'POST', '/api/v1/batch', token, { batch: [track('13500000004', 'Checkout Started', new Date(midnight - 70 * 60_000).toISOString(), 'k4')] });
  const landed = async () =>
    (await stores.facts.query(`SELECT 1 FROM events FINAL WHERE workspace_id = {ws:String} AND event = 'Checkout Started' AND person_id > 0`, { ws: ws.id })).length === 1;
  for (let i = 0; i < 100 && !(await landed()); i++) await new Promise((r) => setTimeout(r, 100));
  const at = (ms: number) => ({ now: () => new Date(ms) });
  const before = await evaluateTriggers(stores, ws.id, plan, new Date(midnight - 30 * 60_000), at(midnight - 5 * 60_000));
  assert.equal(before.occurrences, 1);
  // Three minutes after midnight: the grace period reaches back over the same occurrence.
  const after = await evaluateTriggers(stores, ws.id, plan, new Date(midnight - 5 * 60_000), at(midnight + 3 * 60_000));
  assert.notEqual(after.runId, before.runId, 'another day, another run');
  assert.equal(after.occurrences, 0);
  const rows = await stores.state.db.selectFrom('deliveries').select('step').where('workspace_id', '=', ws.id).where('plan_key', '=', plan.key).execute();
  assert.deepEqual(
    rows.map((r) => r.step),
    ['send:k4'],
  );
  await pausePlan(stores, ws.id, plan.key);
});
