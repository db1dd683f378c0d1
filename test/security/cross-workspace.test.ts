/**
 * Cross-workspace isolation, swept: workspace A holds one of every kind of object, then every route
 * of the OpenAPI document is called with workspace B's admin key, with A's ids, keys and people put
 * into its path and body. Nothing of A may come back (names, phones, texts only A has), and A's
 * data read through A's own key must be the same afterwards. Also: A's session against B's ids,
 * keys that exist in both workspaces, and ids that look alike across workspaces.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, tempDir, uniqueSlug } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';
import { runImport } from '../../src/ingest/importer.ts';
import { createUser } from '../../src/access/users.ts';
import { saveChannel } from '../../src/channels/store.ts';
import { writeSecret } from '../../src/secrets/secrets.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;

interface Side {
  ws: Workspace;
  admin: string;
  tracker: string;
  people: number[];
}
let a: Side;
let b: Side;

const today = new Date().toISOString().slice(0, 10);

// What only A holds: none of it may reach B, whatever B asks.
const A_ONLY = [
  '甲方王静',
  '甲方张伟',
  '甲方李娜',
  '甲方赵六',
  '13800138001',
  '13800138002',
  '13800138003',
  '13800138004',
  '138****8001',
  '138****8004',
  '甲方路1号',
  '甲方备注机密',
  '甲方回访任务',
  '甲方标签',
  '甲方人群',
  '甲方渠道',
  'a-only.example',
  '甲方计划',
  '甲方旅程',
  '甲方团队',
  '甲方用户',
  'whsec-甲方',
  '甲方密钥',
  '甲方属性值',
  'a_secret_event',
  '甲方标识',
  '甲方选项',
  '13800abcde',
  'oU-a-only',
  '甲方空间',
];
// What only B holds, for A's session walking B's ids.
const B_ONLY = ['乙方李四', '13911112222', '乙方路9号', '乙方人群', '乙方空间'];

/** Ids and keys of A's objects, put into B's calls. */
const aIds = {
  run: '',
  quarantineRun: '',
  review: 0,
  task: 0,
  user: '',
  team: '',
  apiKey: '',
  tags: ['a_spend', 'a_pref', 'shared_key'],
  segment: 'a_buyers',
  channel: 'a_hook',
  plan: 'a_welcome',
  journey: 'a_flow',
  userEmail: '',
  snapshots: [] as string[],
  signKey: '',
};
/** A's credentials (API key tokens, a sign key's secret): never shown to B either. */
const aCredentials: string[] = [];

async function side(prefix: string, name: string): Promise<Side> {
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug(prefix), name });
  const keys = new ApiKeyService(stores.state);
  return { ws, admin: (await keys.create(ws.id, 'root', 'admin')).token, tracker: (await keys.create(ws.id, 'site', 'tracker')).token, people: [] };
}

async function peopleOf(ws: Workspace): Promise<number[]> {
  const rows = await stores.facts.query<{ p: string }>(
    `SELECT DISTINCT person_id AS p FROM person_identities FINAL WHERE workspace_id = {ws:String} AND person_id != 0 ORDER BY p`,
    { ws: ws.id },
  );
  return rows.map((r) => Number(r.p));
}

function csv(name: string, lines: string[]): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** The JSON of a call that must succeed (any 2xx). */
async function ok(response: Promise<{ status: number; text: string; json: any }>, _created?: 201) {
  const r = await response;
  assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${r.text.slice(0, 300)}`);
  return r.json;
}

before(async () => {
  ({ stores } = await openTestStores());
  ({ app, base } = await startTestServer(stores, { maxDelayMs: 5, resolveAfterMs: 0 }));
  a = await side('xa', '甲方空间');
  b = await side('xb', '乙方空间');
  const call = (method: string, route: string, body?: unknown) => callApi(base, method, route, a.admin, body);

  // A: four people from orders and contacts, a quarantined row, events, an identifier type.
  const header = 'order_id,ordered_at,amount,status,phone,unionid,name,address,sku,product_name,category,quantity,line_amount';
  const run = await runImport(stores, {
    workspace: a.ws,
    kind: 'orders',
    source: 'tmall',
    files: [
      csv('a.csv', [
        header,
        `A1,${today} 10:00:00,100.00,completed,13800138001,oU-a-only,甲方王静,甲方路1号,S1,燕窝,滋补,1,100.00`,
        `A2,${today} 11:00:00,200.00,completed,13800138002,,甲方张伟,甲方路1号,S2,花胶,滋补,1,200.00`,
        `A3,${today} 12:00:00,300.00,completed,13800138003,,甲方李娜,甲方路1号,S2,花胶,滋补,1,300.00`,
        `A4,${today} 13:00:00,400.00,completed,13800138004,,甲方赵六,甲方路1号,S3,阿胶,滋补,1,400.00`,
      ]),
    ],
  });
  aIds.run = run.runId;
  const bad = await runImport(stores, { workspace: a.ws, kind: 'records', files: [csv('bad.csv', ['record_id,source,phone,name', 'q1,crm,13800abcde,甲方王静'])] });
  aIds.quarantineRun = bad.runId;
  await ok(
    callApi(base, 'POST', '/api/v1/track', a.tracker, {
      event: 'a_only_event',
      messageId: 'a-m1',
      anonymousId: 'a-anon',
      properties: { secret: '甲方属性值' },
      identities: { unionid: 'oU-a-only' },
    }),
  );
  await ok(callApi(base, 'POST', '/api/v1/track', a.tracker, { event: 'a_secret_event', messageId: 'a-m2', anonymousId: 'a-anon' }));
  await ok(
    call('POST', '/api/v1/identifier-types', { name: 'a_only_id', label: '甲方标识', priority: 50, singleValued: true, maxPeoplePerValue: 1, normaliser: 'trim', strong: true }),
    201,
  );
  a.people = await peopleOf(a.ws);
  assert.equal(a.people.length, 4, `A's people: ${a.people}`);

  // B: one person, so B's person ids overlap A's lowest and A's others are unknown to B.
  await runImport(stores, {
    workspace: b.ws,
    kind: 'orders',
    source: 'tmall',
    files: [csv('b.csv', [header, `B1,${today} 10:00:00,9.00,completed,13911112222,,乙方李四,乙方路9号,S1,燕窝,滋补,1,9.00`])],
  });
  b.people = await peopleOf(b.ws);
  assert.deepEqual(b.people, [a.people[0]], 'person ids are per workspace: B’s first person has A’s first id');
  await ok(callApi(base, 'POST', '/api/v1/segments', b.admin, { key: 'b_people', name: { zh: '乙方人群', en: 'B' }, conditions: [{ type: 'orders' }] }), 201);

  // A's definitions.
  await ok(call('POST', '/api/v1/tags', { key: 'a_spend', name: { zh: '甲方标签', en: 'A spend' }, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' }), 201);
  await ok(call('POST', '/api/v1/tags', { key: 'a_pref', name: { zh: '甲方标签偏好', en: 'A pref' }, kind: 'manual', options: ['甲方选项', '其他'] }), 201);
  await ok(call('POST', '/api/v1/tags', { key: 'shared_key', name: { zh: '甲方标签同名', en: 'A shared' }, kind: 'manual', options: ['甲方选项'] }), 201);
  await ok(call('PUT', `/api/v1/people/${a.people[3]}/tags/a_pref`, { value: '甲方选项' }));
  await ok(call('POST', '/api/v1/tags/run', { keys: ['a_spend'] }));
  await ok(call('PUT', '/api/v1/tags/schedule', { cron: 'daily' }));
  await ok(call('POST', '/api/v1/segments', { key: 'a_buyers', name: { zh: '甲方人群', en: 'A buyers' }, conditions: [{ type: 'orders' }] }), 201);
  for (let i = 0; i < 2; i++) aIds.snapshots.push((await ok(call('POST', '/api/v1/segments/a_buyers/snapshots'), 201)).snapshot.id);
  await writeSecret(stores, a.ws.id, 'a_hook_secret', 'whsec-甲方-secret-value');
  await saveChannel(stores, a.ws.id, {
    key: 'a_hook',
    name: '甲方渠道',
    kind: 'webhook',
    address: 'phone',
    config: { url: 'https://a-only.example/hook', secret: 'a_hook_secret' },
  });
  await ok(call('PUT', '/api/v1/policy', { caps: [], quietHours: null, testWhitelist: [a.people[3]] }));
  await ok(call('PUT', `/api/v1/people/${a.people[3]}/consents/a_hook`, { status: 'revoked' }));
  await ok(
    call('POST', '/api/v1/plans', {
      key: 'a_welcome',
      name: '甲方计划',
      audience: { segment: 'a_buyers' },
      channel: 'a_hook',
      variants: [{ key: 'A', template: { text: '甲方计划 {{ person.name }}' } }],
    }),
    201,
  );
  await ok(
    call('POST', '/api/v1/journeys', {
      key: 'a_flow',
      name: '甲方旅程',
      entry: { segment: 'a_buyers' },
      first: 'hello',
      steps: { hello: { type: 'send', channel: 'a_hook', template: { text: '甲方旅程' }, next: 'done' }, done: { type: 'exit' } },
    }),
    201,
  );

  // A's people data, access and a review pair.
  await ok(call('POST', `/api/v1/people/${a.people[3]}/notes`, { text: '甲方备注机密' }), 201);
  aIds.task = Number(
    (
      await stores.state.db
        .insertInto('staff_tasks')
        .values({ workspace_id: a.ws.id, person_id: a.people[3], source: 'journey:a_flow:call', title: '甲方回访任务' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id,
  );
  const records = await stores.facts.query<{ k: string }>(
    `SELECT concat(source, ':', kind, ':', record_id) AS k FROM source_records FINAL WHERE workspace_id = {ws:String} ORDER BY k LIMIT 2`,
    { ws: a.ws.id },
  );
  aIds.review = Number(
    (
      await stores.state.db
        .insertInto('identity_reviews')
        .values({
          workspace_id: a.ws.id,
          run_id: aIds.run,
          record_a: records[0].k,
          record_b: records[1].k,
          probability: 0.9,
          pattern: JSON.stringify({ name: '甲方王静' }),
          status: 'pending',
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id,
  );
  aIds.team = (await ok(call('POST', '/api/v1/teams', { name: '甲方团队', sources: ['tmall'] }), 201)).team.id;
  aIds.userEmail = `a-user-${a.ws.slug}@a-only.example`;
  aIds.user = (await createUser(stores, a.ws.id, { email: aIds.userEmail, name: '甲方用户', role: 'operator', password: 'a long password 1', teamId: aIds.team })).id;
  const analystKey = await ok(call('POST', '/api/v1/api-keys', { name: '甲方密钥', role: 'analyst' }), 201);
  aIds.apiKey = analystKey.key.id;
  aCredentials.push(a.admin, a.tracker, analystKey.token);
  // A sign key for signed identities, where the server has them.
  if ((await operations()).some((o) => o.method === 'POST' && o.path === '/api/v1/identity/sign-keys')) {
    const signKey = await ok(call('POST', '/api/v1/identity/sign-keys', { name: '甲方签名' }), 201);
    aIds.signKey = signKey.key.id;
    aCredentials.push(signKey.secret);
  }
});

after(async () => {
  await app.close();
  await stores.close();
});

interface Operation {
  method: string;
  path: string;
}

async function operations(): Promise<Operation[]> {
  const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path: p })));
}

/** Every way of filling an operation's path with A's ids (or B's, when `ids` are B's). */
function fillings(op: Operation, ids: { people: number[]; keyOf: (prefix: string) => string[] }): string[] {
  const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (params.length === 0) return [op.path];
  let paths = [op.path];
  for (const param of params) {
    const candidates = candidatesFor(op.path, param, ids);
    paths = paths.flatMap((p) => candidates.map((c) => p.replace(`{${param}}`, encodeURIComponent(String(c)))));
  }
  return paths;
}

function candidatesFor(route: string, param: string, ids: { people: number[]; keyOf: (prefix: string) => string[] }): Array<string | number> {
  if (param === 'personId' || (param === 'id' && route.startsWith('/api/v1/people/'))) return ids.people;
  if (param === 'id' && route.startsWith('/api/v1/tags/')) return ids.people;
  const prefix = route.split('/')[3];
  if (param === 'channel') return ids.keyOf('channels');
  if (param === 'key' && route.startsWith('/api/v1/people/')) return ids.keyOf('tags');
  return ids.keyOf(param === 'name' && prefix === 'tags' ? 'packs' : prefix);
}

const aKeys = (prefix: string): string[] => {
  switch (prefix) {
    case 'imports':
      return [aIds.run, aIds.quarantineRun];
    case 'identities':
      return [String(aIds.review)];
    case 'identity':
      return [aIds.signKey || 'a_unknown'];
    case 'tasks':
      return [String(aIds.task)];
    case 'users':
      return [aIds.user];
    case 'teams':
      return [aIds.team];
    case 'api-keys':
      return [aIds.apiKey];
    case 'tags':
      return aIds.tags;
    case 'packs':
      return ['retail'];
    case 'segments':
      return [aIds.segment];
    case 'channels':
      return [aIds.channel];
    case 'plans':
      return [aIds.plan];
    case 'journeys':
      return [aIds.journey];
    default:
      return ['a_unknown'];
  }
};

/** A body for B's call: well formed where it matters, naming A's objects and people but none of A's texts. */
function bodyFor(op: Operation, filled: string): unknown {
  const key = decodeURIComponent(filled.split('/')[4] ?? '');
  const person = Number(filled.split('/')[4]);
  const bodies: Record<string, unknown> = {
    'PATCH /api/v1/workspace': { name: 'B renamed' },
    'PATCH /api/v1/api-keys/{key}': { allowedOrigins: ['https://b.example'] },
    'POST /api/v1/identity/sign-keys': { name: 'b sign' },
    'POST /api/v1/page': { name: 'home', anonymousId: 'a-anon', messageId: 'b-p1' },
    'POST /api/v1/api-keys': { name: 'b key', role: 'analyst' },
    'POST /api/v1/track': { event: 'b_event', messageId: 'b-m1', anonymousId: 'a-anon', identities: { unionid: 'oU-b' } },
    'POST /api/v1/identify': { userId: 'b-u', anonymousId: 'a-anon', traits: { name: 'b' } },
    'POST /api/v1/alias': { userId: 'b-u', previousId: 'a-anon' },
    'POST /api/v1/batch': { batch: [{ type: 'track', event: 'b_event', anonymousId: 'a-anon', messageId: 'b-m2' }] },
    'POST /api/v1/identifier-types': { name: 'a_only_id', label: 'B label', priority: 50, singleValued: true, maxPeoplePerValue: 1, normaliser: 'trim', strong: true },
    'PUT /api/v1/identities/settings': { fuzzy: true, reviewAt: 0.5 },
    'POST /api/v1/identities/resolve': { full: true },
    'POST /api/v1/people/{id}/unbind': { type: 'unionid', value: 'oU-b' },
    'POST /api/v1/identities/reviews/{id}': { decision: 'accept' },
    'POST /api/v1/tags/packs/{name}': { replace: false },
    'POST /api/v1/tags': { key: 'shared_key', name: { zh: 'B同名', en: 'B shared' }, kind: 'manual', options: ['b'] },
    'PUT /api/v1/tags/{key}': { key, name: { zh: 'B', en: 'B' }, kind: 'manual', options: ['b'] },
    'PUT /api/v1/tags/schedule': { cron: '0 4 * * *' },
    'POST /api/v1/tags/run': { keys: aIds.tags },
    'PUT /api/v1/people/{id}/tags/{key}': { value: 'b' },
    'POST /api/v1/segments': { key: aIds.segment, name: { zh: 'B', en: 'B' }, conditions: [{ type: 'segment', segment: 'b_people' }] },
    'PUT /api/v1/segments/{key}': { key, name: { zh: 'B', en: 'B' }, conditions: [{ type: 'orders' }] },
    'POST /api/v1/segments/count': {
      conditions: [
        {
          type: 'group',
          match: 'any',
          conditions: [
            { type: 'tag', tag: 'a_pref', op: 'exists' },
            { type: 'event', event: 'a_only_event', window: { days: 30 } },
            { type: 'identifier', identifierType: 'unionid' },
          ],
        },
      ],
    },
    'POST /api/v1/channels': { key: aIds.channel, name: 'B hook', kind: 'webhook', config: { url: 'https://b.example/hook', secret: 'a_hook_secret' } },
    'PUT /api/v1/channels/{key}': { key, name: 'B hook', kind: 'webhook', config: { url: 'https://b.example/hook', secret: 'a_hook_secret' } },
    'POST /api/v1/plans': { key: aIds.plan, name: 'B plan', audience: { segment: aIds.segment }, channel: aIds.channel, variants: [{ key: 'A', template: { text: 'b' } }] },
    'PUT /api/v1/plans/{key}': { key, name: 'B plan', audience: { segment: aIds.segment }, channel: aIds.channel, variants: [{ key: 'A', template: { text: 'b' } }] },
    'PUT /api/v1/policy': { caps: [], quietHours: null, testWhitelist: a.people },
    'PUT /api/v1/people/{personId}/consents/{channel}': { status: 'granted' },
    'PUT /api/v1/journeys/{key}': { key, name: 'B', entry: { segment: aIds.segment }, first: 'x', steps: { x: { type: 'exit' } } },
    'POST /api/v1/journeys': { key: aIds.journey, name: 'B', entry: { segment: aIds.segment }, first: 'x', steps: { x: { type: 'exit' } } },
    'POST /api/v1/auth/login': { email: aIds.userEmail, password: 'not the password' },
    'POST /api/v1/auth/password': { currentPassword: 'a long password 1', newPassword: 'b changed it 1234' },
    'POST /api/v1/users': { email: `b-user-${b.ws.slug}@b.example`, name: 'B user', role: 'operator', password: 'b long password 1', teamId: aIds.team },
    'PATCH /api/v1/users/{id}': { role: 'analyst', disabled: true, teamId: aIds.team },
    'POST /api/v1/teams': { name: 'B sweep team', sources: ['jd'] },
    'PUT /api/v1/teams/{id}': { name: 'B team', sources: ['jd'] },
    'POST /api/v1/people/{id}/notes': { text: 'b note' },
    'POST /api/v1/tasks/{id}': { status: 'done' },
  };
  void person;
  return bodies[`${op.method} ${op.path}`] ?? {};
}

/** A's data as A's own key reads it: every GET route with A's ids, volatile parts taken out. */
async function stateOfA(ops: Operation[]): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for (const op of ops.filter((o) => o.method === 'GET' && o.path.startsWith('/api/v1/') && !VOLATILE_READS.has(o.path))) {
    for (const filled of fillings(op, { people: a.people, keyOf: aKeys })) {
      const r = await callApi(base, 'GET', withQuery(filled, a.people[0]), a.admin);
      state.set(filled, `${r.status} ${r.text.replace(/"(lastUsedAt|now|generatedAt|exportedAt|asOf|today)":"[^"]*"/g, '"$1":…').replace(/"(seconds)":[\d.e-]+/g, '"$1":…')}`);
    }
  }
  return state;
}
// Reads that change by themselves (time, the audit log the reads themselves add to, exports that are logged).
const VOLATILE_READS = new Set([
  '/api/v1/audit',
  '/api/v1/segments/behaviour-index',
  '/api/v1/identities/export',
  '/api/v1/records/export',
  '/api/v1/segments/{key}/export',
  '/api/v1/overview',
]);

function withQuery(filled: string, person: number): string {
  if (filled.endsWith('/people')) return `${filled}?q=13800138001`;
  if (filled.endsWith('/export')) return `${filled}?type=phone`;
  if (filled.endsWith('/cross')) return `${filled}?rows=a_pref&columns=a_spend&segment=a_buyers`;
  if (filled.endsWith('/insights')) return `${filled}?tags=a_pref,a_spend`;
  if (filled.endsWith('/preview')) return `${filled}?person=${person}`;
  if (filled.endsWith('/diff')) return `${filled}?from=${aIds.snapshots[0]}&to=${aIds.snapshots[1]}`;
  return filled;
}

function leaked(text: string, secrets: string[]): string | undefined {
  return secrets.find((s) => text.includes(s));
}

test('every route, called with B’s admin key on A’s ids, keys and people, gives nothing of A and changes nothing of A', { timeout: 300_000 }, async () => {
  const ops = (await operations()).filter((o) => o.path.startsWith('/api/v1/'));
  assert.ok(ops.length > 90, `${ops.length} operations in the OpenAPI document`);
  const before = await stateOfA(ops);
  const auditBefore = (await ok(callApi(base, 'GET', '/api/v1/audit?limit=500', a.admin))).entries;
  // Deletes last, so the other calls still find A's objects to try.
  const ordered = [...ops.filter((o) => o.method !== 'DELETE'), ...ops.filter((o) => o.method === 'DELETE')];
  const failures: string[] = [];
  let calls = 0;
  for (const op of ordered) {
    // B deleting (erasing) its own person with A's first id would be B's right: deletes get the ids B does not have.
    const people = op.method === 'DELETE' ? a.people.filter((p) => !b.people.includes(p)) : a.people;
    for (const filled of fillings(op, { people, keyOf: aKeys })) {
      const route = op.method === 'GET' ? withQuery(filled, a.people[3]) : filled;
      let response: { status: number; text: string };
      if (op.method === 'POST' && (op.path === '/api/v1/imports' || op.path.endsWith('/file') || op.path.endsWith('/list'))) {
        // Uploads: a file naming A's people by A's ids.
        const query = op.path === '/api/v1/imports' ? '?kind=records&source=crm' : op.path.endsWith('/list') ? '?type=phone&zh=b&en=b' : '';
        const r = await fetch(`${base}${route}${query}`, {
          method: op.method,
          headers: { authorization: `Bearer ${b.admin}`, 'content-type': 'text/csv' },
          body: `record_id,person_id,unionid\nb1,${a.people[3]},oU-b-upload\n`,
        });
        response = { status: r.status, text: await r.text() };
      } else {
        const body = op.method === 'GET' || op.method === 'DELETE' ? undefined : bodyFor(op, filled);
        response = await callApi(base, op.method, route, b.admin, body);
      }
      calls++;
      if (response.status >= 500) failures.push(`${op.method} ${route}: ${response.status} ${response.text.slice(0, 200)}`);
      const secret = leaked(response.text, [...A_ONLY, ...aCredentials]);
      if (secret) failures.push(`${op.method} ${route} gave B "${secret}": ${response.text.slice(0, 300)}`);
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${calls} calls`);

  assert.deepEqual((await ok(callApi(base, 'GET', '/api/v1/audit?limit=500', a.admin))).entries, auditBefore, 'nothing B did is in A’s audit log');
  // Nothing of A changed: its objects, people, tags, runs, users and its audit log read the same.
  const afterwards = await stateOfA(ops);
  const changed = [...before]
    .filter(([route, was]) => afterwards.get(route) !== was)
    .map(([route, was]) => `${route}\n  was ${was.slice(0, 400)}\n  now ${afterwards.get(route)?.slice(0, 400)}`);
  assert.deepEqual(changed, [], `A's reads changed after B's calls`);
  // And A's key still works: B could not revoke it or A's analyst key.
  assert.equal(
    (await callApi(base, 'GET', '/api/v1/api-keys', a.admin)).json.keys.some((k: { id: string; revokedAt: string | null }) => k.id === aIds.apiKey && !k.revokedAt),
    true,
  );
});

test('a key that exists in both workspaces is two objects: B’s tag, segment, plan and team with A’s keys and names stay B’s', async () => {
  const put = await callApi(base, 'PUT', '/api/v1/tags/shared_key', b.admin, {
    key: 'shared_key',
    name: { zh: '乙方同名', en: 'B shared' },
    kind: 'manual',
    options: ['乙方选项'],
  });
  assert.ok([200, 201].includes(put.status), put.text);
  assert.equal((await ok(callApi(base, 'GET', '/api/v1/tags/shared_key', a.admin))).tag.name.zh, '甲方标签同名');
  assert.equal((await ok(callApi(base, 'GET', '/api/v1/tags/shared_key', b.admin))).tag.name.zh, '乙方同名');
  // A value set by B on B's person with A's first id stays in B.
  await ok(callApi(base, 'PUT', `/api/v1/people/${b.people[0]}/tags/shared_key`, b.admin, { value: '乙方选项' }));
  const aTags = await ok(callApi(base, 'GET', `/api/v1/people/${a.people[0]}/tags`, a.admin));
  assert.ok(!JSON.stringify(aTags).includes('乙方选项'), JSON.stringify(aTags));
  // B's segment named as A's counts B's people only; A's keeps A's.
  const bSegment = await callApi(base, 'PUT', `/api/v1/segments/${aIds.segment}`, b.admin, {
    key: aIds.segment,
    name: { zh: '乙方人群', en: 'B' },
    conditions: [{ type: 'orders' }],
  });
  assert.ok([200, 201].includes(bSegment.status), bSegment.text);
  assert.equal((await ok(callApi(base, 'GET', `/api/v1/segments/${aIds.segment}/count`, b.admin))).exact.people, 1);
  assert.equal((await ok(callApi(base, 'GET', `/api/v1/segments/${aIds.segment}/count`, a.admin))).exact.people, 4);
  assert.equal((await ok(callApi(base, 'GET', `/api/v1/segments/${aIds.segment}`, a.admin))).segment.name.zh, '甲方人群');
  // A channel of B naming A's secret is refused: secrets are looked up in the caller's workspace only.
  const borrowed = await callApi(base, 'POST', '/api/v1/channels', b.admin, {
    key: 'b_hook',
    name: 'B',
    kind: 'webhook',
    config: { url: 'https://b.example/hook', secret: 'a_hook_secret' },
  });
  assert.equal(borrowed.status, 400, borrowed.text);
  assert.match(borrowed.json.error.message, /a_hook_secret/);
  // A team of the same name in B is B's; a B user cannot be put into A's team.
  assert.equal((await callApi(base, 'POST', '/api/v1/teams', b.admin, { name: '甲方团队', sources: ['jd'] })).status, 201);
  const intoA = await callApi(base, 'POST', '/api/v1/users', b.admin, {
    email: `b-x-${b.ws.slug}@b.example`,
    name: 'B',
    role: 'operator',
    password: 'b long password 1',
    teamId: aIds.team,
  });
  assert.equal(intoA.status, 400);
  assert.match(intoA.json.error.message, /teamId: no team/);
});

test('A’s session reads A only: B’s ids give nothing of B, and a bearer key is never mixed with a session', async () => {
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: aIds.userEmail, password: 'a long password 1' }),
  });
  assert.equal(login.status, 200, await login.clone().text());
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  const bSegments = (await ok(callApi(base, 'GET', '/api/v1/segments', b.admin))).segments.map((s: { key: string }) => s.key);
  const bKeys = (prefix: string): string[] => (prefix === 'segments' ? bSegments : prefix === 'tags' ? ['shared_key'] : ['b_unknown']);
  const ops = (await operations()).filter((o) => o.method === 'GET' && o.path.startsWith('/api/v1/'));
  const failures: string[] = [];
  for (const op of ops) {
    for (const filled of fillings(op, { people: [...b.people, 999_999], keyOf: bKeys })) {
      const route = withQuery(filled, b.people[0]).replace('13800138001', '13911112222');
      const response = await fetch(`${base}${route}`, { headers: { cookie } });
      const text = await response.text();
      if (response.status >= 500) failures.push(`${route}: ${response.status} ${text.slice(0, 200)}`);
      const secret = leaked(text, B_ONLY);
      if (secret) failures.push(`${route} gave A's user "${secret}": ${text.slice(0, 300)}`);
    }
  }
  assert.deepEqual(failures, []);
  // A session cookie and B's key together: the key decides, alone (no A scope or user carried over).
  const both = await fetch(`${base}/api/v1/auth/me`, { headers: { cookie, authorization: `Bearer ${b.admin}` } });
  const me = (await both.json()) as { workspace: { id: string }; user?: unknown; scope?: unknown };
  assert.equal(me.workspace.id, b.ws.id);
  assert.ok(!JSON.stringify(me).includes(aIds.userEmail) && !JSON.stringify(me).includes(aIds.team), JSON.stringify(me));
});

test('no route takes a workspace from the request: B cannot name A’s slug or id anywhere', async () => {
  const ops = await operations();
  const named = ops.filter((o) => /workspace|slug/i.test(o.path.replace('/api/v1/workspace', '')));
  assert.deepEqual(named, [], 'a route that names a workspace must check the caller belongs to it');
  // The workspace change takes neither slug nor id.
  const moved = await callApi(base, 'PATCH', '/api/v1/workspace', b.admin, { slug: a.ws.slug });
  assert.equal(moved.status, 400);
  const renamed = await callApi(base, 'PATCH', '/api/v1/workspace', b.admin, { id: a.ws.id, name: 'x' });
  assert.equal(renamed.status, 400);
  assert.equal((await ok(callApi(base, 'GET', '/api/v1/workspace', a.admin))).name, '甲方空间');
});
