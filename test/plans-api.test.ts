import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, tempDir, workspaceWithKeys } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import type { Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { runDuePlans } from '../src/plans/run.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { savePolicy } from '../src/policy/policy.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
// These suites keep the older environment-variable secrets, which the server operator must allow-list.
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'PLANS_API_SECRET,PLANS_API_SMS_TOKEN';

const SECRET = 'whsec_plans_api';
let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;
let operator: string;
let analyst: string;
let receiver: WebhookReceiver;

before(async () => {
  process.env.PLANS_API_SECRET = SECRET;
  ({ stores } = await openTestStores());
  ({ ws, operator, analyst } = await workspaceWithKeys(stores, 'plans-api'));
  admin = (await new ApiKeyService(stores.state).create(ws.id, 'root', 'admin')).token;
  // The default quiet hours (21:00–09:00 in the workspace's zone) would hold a send made at night;
  // quiet hours are tested on their own below.
  await savePolicy(stores, ws.id, { quietHours: null });
  ({ app, base } = await startTestServer(stores));
  receiver = await startWebhookReceiver(SECRET);
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, 'member_no,phone,name\nA1,13700000001,王小明\nA2,13700000002,李小红\nA3,13700000003,张三\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
  await saveSegment(stores, ws.id, { key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
});
after(async () => {
  await app.close();
  await receiver.close();
  await stores.close();
});

const call = (method: string, route: string, token: string, body?: unknown) => callApi(base, method, route, token, body);
const hook = () => ({ key: 'hook', kind: 'webhook', config: { url: receiver.url, secretEnv: 'PLANS_API_SECRET' } });
const plan = (key: string) => ({
  key,
  name: '欢迎',
  audience: { segment: 'members' },
  channel: 'hook',
  variants: [{ key: 'A', template: { text: '{{ person.name }}，新品上市 {{ "https://shop.example.com/new" | track }} 退订 {{ unsubscribe_url }}' } }],
});

async function sendAll() {
  const dispatcher = planDispatcher(stores, { backoffMs: 5 });
  await runDuePlans(stores, { publicUrl: base });
  await dispatcher.drain();
  await dispatcher.stop();
}

test('channels and plans over HTTP: roles, checked templates, preview, start, pause and resume, report', async () => {
  assert.equal((await call('POST', '/api/v1/channels', operator, hook())).status, 403, 'only admins add channels (they hold credentials)');
  const badChannel = await call('POST', '/api/v1/channels', admin, { ...hook(), config: { url: 'ftp://x', secretEnv: 'lower' } });
  assert.equal(badChannel.status, 400);
  assert.match(badChannel.json.error.message, /^body\.config\.(url|secretEnv)/);
  assert.equal((await call('POST', '/api/v1/channels', admin, hook())).status, 201);
  assert.equal((await call('GET', '/api/v1/channels', analyst)).json.channels[0].key, 'hook');

  const broken = await call('POST', '/api/v1/plans', operator, { ...plan('broken'), variants: [{ key: 'A', template: { text: '{{ tags.missing_tag }}' } }] });
  assert.equal(broken.status, 400);
  assert.match(broken.json.error.message, /^variants\[0\]\.template\.text: unknown tag \{\{ tags\.missing_tag \}\}/);
  const invalid = await call('POST', '/api/v1/plans', operator, { ...plan('invalid'), controlPercent: 95 });
  assert.equal(invalid.status, 400);
  assert.match(invalid.json.error.message, /^body\.controlPercent/);
  assert.equal((await call('POST', '/api/v1/plans', analyst, plan('welcome'))).status, 403);
  assert.equal((await call('POST', '/api/v1/plans', operator, plan('welcome'))).status, 201);
  assert.equal((await call('POST', '/api/v1/plans', operator, plan('welcome'))).status, 409);

  const [person] = await stores.facts.query<{ person_id: string }>(
    `SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = 'A1'`,
    { ws: ws.id },
  );
  assert.equal((await call('GET', `/api/v1/plans/welcome/preview?person=${person.person_id}`, analyst)).status, 403, "a preview shows a person's data: for those who build plans");
  const preview = await call('GET', `/api/v1/plans/welcome/preview?person=${person.person_id}`, operator);
  assert.equal(preview.status, 200);
  assert.match(preview.json.variants[0].content.text, /^王小明，新品上市 https:\/\/shop\.example\.com\/new 退订/);

  // Paused before its run: nothing runs; started again: it runs.
  assert.equal((await call('POST', '/api/v1/plans/welcome/start', operator)).json.status, 'scheduled');
  assert.equal((await call('POST', '/api/v1/plans/welcome/pause', operator)).json.status, 'paused');
  await sendAll();
  assert.equal(receiver.received.size, 0);
  assert.equal((await call('POST', '/api/v1/plans/welcome/start', operator)).json.status, 'scheduled');
  await sendAll();
  assert.equal(receiver.received.size, 3);
  assert.equal((await call('GET', '/api/v1/plans/welcome', analyst)).json.status, 'completed');
  assert.equal((await call('POST', '/api/v1/plans/welcome/start', operator)).status, 409, 'a one-off plan runs once');
  assert.equal((await call('DELETE', '/api/v1/plans/welcome', operator)).status, 409, 'a plan that sent keeps its ledger');

  // The tracked link redirects and counts a click; the unsubscribe link revokes consent.
  const message = [...receiver.received.values()].find((m) => m.personId === String(person.person_id))!;
  const text = (message.body.content as { text: string }).text;
  const click = /(http:\/\/127\.0\.0\.1:\d+\/r\/\S+)/.exec(text)![1];
  const redirect = await fetch(click, { redirect: 'manual' });
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get('location'), 'https://shop.example.com/new');
  assert.equal((await fetch(click.slice(0, -3) + 'xyz', { redirect: 'manual' })).status, 404, 'a tampered link is refused');
  const report = await call('GET', '/api/v1/plans/welcome/report', analyst);
  assert.equal(report.status, 200);
  assert.deepEqual(
    report.json.groups.map((g: { group: string; sent: number; clicked: number }) => [g.group, g.sent, g.clicked]),
    [['A', 3, 1]],
  );
  const unsubscribe = /(http:\/\/127\.0\.0\.1:\d+\/u\/\S+)/.exec(text)![1];
  const page = await fetch(unsubscribe);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<form method="post">/);
  assert.equal((await fetch(unsubscribe, { method: 'POST' })).status, 200);
  const consents = await call('GET', `/api/v1/people/${person.person_id}/consents`, analyst);
  assert.deepEqual(
    consents.json.consents.map((c: { channel: string; status: string; source: string }) => [c.channel, c.status, c.source]),
    [['hook', 'revoked', 'unsubscribe link']],
  );

  // The next plan leaves the unsubscribed person out, and says why.
  await call('PUT', '/api/v1/policy', operator, { caps: [], quietHours: null });
  assert.equal((await call('PUT', '/api/v1/policy', analyst, { caps: [] })).status, 403);
  assert.equal((await call('POST', '/api/v1/plans', operator, plan('second'))).status, 201);
  await call('POST', '/api/v1/plans/second/start', operator);
  await sendAll();
  const second = await call('GET', '/api/v1/plans/second/report', analyst);
  assert.deepEqual(second.json.stoppedBy, [{ reason: 'consent: unsubscribed from hook', people: 1 }]);
  assert.equal(second.json.groups[0].sent, 2);

  // A test send goes to the whitelist only, now, and stays out of the report.
  assert.equal((await call('POST', '/api/v1/plans/second/test', operator)).status, 400, 'no whitelist yet');
  const [tester] = await stores.facts.query<{ person_id: string }>(
    `SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = 'A2'`,
    { ws: ws.id },
  );
  await call('PUT', '/api/v1/policy', operator, {
    caps: [{ channels: ['*'], windowHours: 24, max: 1 }],
    quietHours: { start: '00:00', end: '23:59', action: 'drop' },
    testWhitelist: [Number(tester.person_id)],
  });
  const before = receiver.requests;
  const testSend = await call('POST', '/api/v1/plans/second/test', operator);
  assert.equal(testSend.status, 200, testSend.text);
  assert.equal(testSend.json.queued, 1);
  await sendAll();
  assert.equal(receiver.requests, before + 1, 'caps and quiet hours do not hold back a test send');
  const afterTest = await call('GET', '/api/v1/plans/second/report', analyst);
  assert.deepEqual(afterTest.json.groups, second.json.groups);
  assert.equal(afterTest.json.ledger.delivered, second.json.ledger.delivered);
});

test('a reply of TD to an SMS unsubscribes that number from the channel', async () => {
  process.env.PLANS_API_SMS_TOKEN = 'sms-gateway-token';
  assert.equal(
    (await call('POST', '/api/v1/channels', admin, { key: 'sms', kind: 'sms', config: { provider: 'http', url: 'http://127.0.0.1:9/send', tokenEnv: 'PLANS_API_SMS_TOKEN' } }))
      .status,
    201,
  );
  const reply = (text: string, token = 'sms-gateway-token') =>
    fetch(`${base}/hooks/sms/${ws.slug}/sms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: '+86 137-0000-0003', text }),
    }).then(async (r) => ({ status: r.status, json: await r.json() }));
  assert.equal((await reply(' td ', 'wrong-token')).status, 401);
  assert.deepEqual((await reply('好的，谢谢')).json, { unsubscribed: 0, keyword: null });
  assert.deepEqual((await reply(' td ')).json, { unsubscribed: 1, keyword: 'TD' });
  const [person] = await stores.facts.query<{ person_id: string }>(
    `SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = 'A3'`,
    { ws: ws.id },
  );
  const consents = await call('GET', `/api/v1/people/${person.person_id}/consents`, analyst);
  assert.deepEqual(
    consents.json.consents.map((c: { channel: string; status: string; source: string }) => [c.channel, c.status, c.source]),
    [['sms', 'revoked', 'sms reply TD']],
  );
});
