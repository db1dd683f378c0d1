/**
 * The answers of the segment, plan, journey, channel, policy, import and tracking routes leave through
 * their schemas in src/contract: they must still carry everything the domain returned (a schema that
 * left a field out would strip it without a word), the OpenAPI document must describe them, and the
 * tracking answer keeps the bytes the SDKs read.
 */
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
import { getSegment, saveSegment } from '../src/segments/segments.ts';
import { listSnapshots, takeSnapshot } from '../src/segments/snapshots.ts';
import { runDuePlans } from '../src/plans/run.ts';
import { planReport } from '../src/plans/report.ts';
import { getPlan } from '../src/plans/plans.ts';
import { getJourney, journeyPositions } from '../src/journeys/journeys.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { savePolicy } from '../src/policy/policy.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';

// The webhook receiver listens on loopback, which outbound HTTP refuses unless the operator allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'CONTRACT_DOMAINS_SECRET';
const SECRET = 'whsec_contract_domains';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;
let receiver: WebhookReceiver;

before(async () => {
  process.env.CONTRACT_DOMAINS_SECRET = SECRET;
  ({ stores } = await openTestStores());
  ({ ws } = await workspaceWithKeys(stores, 'contract-domains'));
  admin = (await new ApiKeyService(stores.state).create(ws.id, 'root', 'admin')).token;
  await savePolicy(stores, ws.id, { quietHours: null });
  ({ app, base } = await startTestServer(stores));
  receiver = await startWebhookReceiver(SECRET);
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, 'member_no,phone,name\nA1,13700000001,王小明\nA2,13700000002,李小红\nA3,13700000003,张三\nA4,13700000004,赵四\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
  await saveSegment(stores, ws.id, { key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
});
after(async () => {
  await app.close();
  await receiver.close();
  await stores.close();
});

const call = (method: string, route: string, body?: unknown) => callApi(base, method, route, admin, body);
/** What the domain returned, as JSON would write it. */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value));

test('plan, journey and segment answers carry everything the domain returned', async () => {
  assert.equal((await call('POST', '/api/v1/channels', { key: 'hook', kind: 'webhook', config: { url: receiver.url, secretEnv: 'CONTRACT_DOMAINS_SECRET' } })).status, 201);
  const created = await call('POST', '/api/v1/plans', {
    key: 'welcome',
    name: '欢迎',
    audience: { segment: 'members' },
    channel: 'hook',
    controlPercent: 25,
    goal: { kind: 'order' },
    variants: [{ key: 'A', template: { text: '{{ person.name }} 你好' } }],
  });
  assert.equal(created.status, 201, created.text);
  assert.equal((await call('POST', '/api/v1/plans/welcome/start')).status, 200);
  const dispatcher = planDispatcher(stores, { backoffMs: 5 });
  await runDuePlans(stores, { publicUrl: base });
  await dispatcher.drain();
  await dispatcher.stop();

  const report = await call('GET', '/api/v1/plans/welcome/report');
  assert.equal(report.status, 200, report.text);
  const expected = asJson(await planReport(stores, ws.id, 'welcome'));
  assert.ok(expected.runs.length === 1 && expected.groups.length >= 1, 'the plan ran: its report has a run and groups');
  assert.deepEqual(report.json, expected);
  assert.deepEqual((await call('GET', '/api/v1/plans/welcome')).json, asJson(await getPlan(stores, ws.id, 'welcome')));

  await takeSnapshot(stores, ws.id, 'members', 'manual');
  assert.deepEqual(
    (await call('GET', '/api/v1/segments/members')).json,
    asJson({ segment: await getSegment(stores, ws.id, 'members'), snapshots: await listSnapshots(stores, ws.id, 'members') }),
  );

  const journey = {
    key: 'care',
    name: '关怀',
    entry: { segment: 'members' },
    first: 'wait',
    steps: { wait: { type: 'wait', days: 1, next: 'send' }, send: { type: 'send', channel: 'hook', template: { text: '你好' } } },
  };
  assert.equal((await call('POST', '/api/v1/journeys', journey)).status, 201);
  assert.deepEqual(
    (await call('GET', '/api/v1/journeys/care')).json,
    asJson({ ...(await getJourney(stores, ws.id, 'care')), positions: await journeyPositions(stores, ws.id, 'care') }),
  );
});

test('the OpenAPI document describes each answer from its contract schema', async () => {
  const { status, json } = await call('GET', '/api/openapi.json');
  assert.equal(status, 200);
  const described: Array<[string, string, string, string]> = [
    ['/api/v1/segments', 'get', '200', 'segments'],
    ['/api/v1/segments', 'post', '201', 'segment'],
    ['/api/v1/segments/count', 'post', '200', 'estimate'],
    ['/api/v1/segments/{key}/insights', 'get', '200', 'tags'],
    ['/api/v1/segments/{key}/snapshots/diff', 'get', '200', 'joined'],
    ['/api/v1/plans/{key}/report', 'get', '200', 'groups'],
    ['/api/v1/plans/{key}/preview', 'get', '200', 'variants'],
    ['/api/v1/plans/{key}/test', 'post', '200', 'queued'],
    ['/api/v1/journeys/{key}', 'get', '200', 'positions'],
    ['/api/v1/channels', 'get', '200', 'channels'],
    ['/api/v1/channels/{key}/test', 'post', '200', 'outcome'],
    ['/api/v1/policy', 'get', '200', 'policy'],
    ['/api/v1/people/{personId}/consents', 'get', '200', 'consents'],
    ['/api/v1/imports', 'post', '202', 'run'],
    ['/api/v1/imports/{id}/quarantine', 'get', '200', 'rows'],
    ['/api/v1/track', 'post', '200', 'accepted'],
    ['/api/v1/batch', 'post', '200', 'accepted'],
  ];
  const missing = described.filter(
    ([route, method, code, property]) => !json.paths[route]?.[method]?.responses?.[code]?.content?.['application/json']?.schema?.properties?.[property],
  );
  assert.deepEqual(missing, []);
});

test('the tracking answer keeps the bytes SDKs read', async () => {
  const response = await fetch(`${base}/api/v1/track`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ anonymousId: 'anon-contract', event: 'Viewed' }),
  });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), '{"success":true,"accepted":1}');
});
