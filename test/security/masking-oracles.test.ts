/**
 * Roles that see personal data masked (analyst, staff) and team-scoped operators must not read or
 * infer it another way (red team, issue 19 follow-up):
 * (a) event properties under Chinese or unknown keys, and free text, masked by what they look like;
 * (b) a segment count is no oracle on a masked value (birthday by halving, a phone inside properties);
 * (c) tag values masked for masked roles, and tag coverage counted within a team's scope.
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
import { resolveSerially } from '../../src/identity/resolve-queue.ts';
import { createUser } from '../../src/access/users.ts';
import { maskText } from '../../src/access/masking.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;
let analyst: string;
let wang = 0;
let zhao = 0;

const PHONE = '13912340000';

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('mask-oracle'), name: 'mask oracles' });
  const keys = new ApiKeyService(stores.state);
  admin = (await keys.create(ws.id, 'root', 'admin')).token;
  analyst = (await keys.create(ws.id, 'analysis', 'analyst')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  const dir = tempDir();
  for (const [source, rows] of [
    ['tmall', [`mem-wang,${PHONE},王小明,1979-06-04,杭州市,180`, 'mem-li,13900001111,李雷,1979-02-10,杭州市,180']],
    ['jd', ['mem-zhao,13700002222,赵六,1985-03-03,北京市,10']],
  ] as const) {
    const file = path.join(dir, `${source}.csv`);
    fs.writeFileSync(file, ['member_no,phone,name,birthday,city,points', ...rows, ''].join('\n'));
    await runImport(stores, { workspace: ws, kind: 'members', source, files: [file] });
  }
  wang = await personOfRecord('mem-wang');
  zhao = await personOfRecord('mem-zhao');
  assert.ok(wang > 0 && zhao > 0);
  const track = await callApi(base, 'POST', '/api/v1/track', admin, {
    event: 'Lead Submitted',
    messageId: 'mask-demo-1',
    userId: 'mask-demo',
    identities: { phone: `+86${PHONE}` },
    properties: {
      手机号: PHONE,
      收货人: '王小明',
      note: `call ${PHONE}`,
      phone: `+86${PHONE}`,
      联系方式: '0086 139-1234-0000',
      mail: 'wang.xm@example.com',
      身份证号: '11010519790604002X',
      channel: 'web',
    },
  });
  assert.equal(track.status, 200, track.text);
  await resolveSerially(stores, { workspaceId: ws.id });
});
after(async () => {
  await app.close();
  await stores.close();
});

async function personOfRecord(recordId: string): Promise<number> {
  const [row] = await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM source_records FINAL WHERE workspace_id = {ws:String} AND record_id = {r:String}`, {
    ws: ws.id,
    r: recordId,
  });
  return Number(row?.p ?? 0);
}

const secrets = [PHONE, '912340', '王小明', 'wang.xm@example.com', '11010519790604002X', '139-1234-0000', '06-04'];
function assertNoSecret(text: string, where: string) {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} shows ${s}: ${text.slice(0, 600)}`);
}

test('(a) an analyst’s 360 view masks event properties under Chinese keys and personal data inside free text', async () => {
  const clear = await callApi(base, 'GET', `/api/v1/people/${wang}`, admin);
  assert.equal(clear.status, 200, clear.text);
  const event = clear.json.events.find((e: { event: string }) => e.event === 'Lead Submitted');
  assert.ok(event, 'the event landed on the person');
  assert.equal(event.properties['手机号'], PHONE, 'the admin sees it clear');
  const view = await callApi(base, 'GET', `/api/v1/people/${wang}`, analyst);
  assert.equal(view.status, 200, view.text);
  const props = view.json.events.find((e: { event: string }) => e.event === 'Lead Submitted').properties;
  assertNoSecret(JSON.stringify(props), 'event properties');
  assert.equal(props['手机号'], '139****0000');
  assert.equal(props['收货人'], '王**');
  assert.equal(props.note, 'call 139****0000', 'free text keeps its words, the phone in it masked');
  assert.equal(props.channel, 'web', 'impersonal values stay as they are');
  // A note with a phone in it, read by a masked role: masked within the text.
  assert.equal((await callApi(base, 'POST', `/api/v1/people/${wang}/notes`, admin, { text: `回电 ${PHONE} 王先生` })).status, 201);
  const notes = await callApi(base, 'GET', `/api/v1/people/${wang}/notes`, analyst);
  assert.equal(notes.json.notes[0].text, '回电 139****0000 王先生');
  assert.equal((await callApi(base, 'GET', `/api/v1/people/${wang}`, analyst)).json.notes[0].text, '回电 139****0000 王先生');
  // A task's title is free text too (a journey may write a phone into it).
  await stores.state.db
    .insertInto('staff_tasks')
    .values({ workspace_id: ws.id, person_id: wang, source: 'journey:vip:call', title: `回访 ${PHONE}` })
    .execute();
  const tasks = await callApi(base, 'GET', '/api/v1/tasks', analyst);
  assert.equal(tasks.status, 200, tasks.text);
  assert.deepEqual(
    tasks.json.tasks.map((t: { title: string }) => t.title),
    ['回访 139****0000'],
  );
  assert.equal((await callApi(base, 'GET', `/api/v1/people/${wang}`, analyst)).json.tasks[0].title, '回访 139****0000');
  assert.equal((await callApi(base, 'GET', '/api/v1/tasks', admin)).json.tasks[0].title, `回访 ${PHONE}`);
});

test('(a) value masking covers +86/0086/dashes/spaces, emails, ID numbers and long digit runs', () => {
  assert.equal(maskText('call +86 139-1234-0000 now'), 'call +86139****0000 now');
  assert.equal(maskText('0086 13912340000'), '+86139****0000');
  assert.equal(maskText('139 1234 0000'), '139****0000');
  assert.equal(maskText('mail wang.xm@example.com'), 'mail w***@example.com');
  assert.equal(maskText('ID 11010519790604002X'), 'ID 110*************2X');
  assert.equal(maskText('card 6222 0212 3456 7890'), 'card 62************90');
  assert.equal(maskText('order 12345, 2 items'), 'order 12345, 2 items');
  assert.equal(maskText('landline 0571-8888 1234'), 'landline 05********34');
  // Dates, times and amounts are not personal data.
  assert.equal(maskText('paid 2026-06-18 20:15:00, 399.00 yuan'), 'paid 2026-06-18 20:15:00, 399.00 yuan');
});

const count = (token: string, conditions: unknown[]) => callApi(base, 'POST', '/api/v1/segments/count', token, { conditions });

test('(b) an analyst cannot binary-search a masked birthday or probe a phone inside event properties through counts', async () => {
  const me = [
    { type: 'profile', field: 'points', op: 'eq', value: 180 },
    { type: 'profile', field: 'city', op: 'eq', value: '杭州市' },
    { type: 'profile', field: 'birthday', op: 'gte', value: '1979-01-01' },
    { type: 'profile', field: 'birthday', op: 'lte', value: '1979-12-31' },
  ];
  // What the view shows (the year) may be counted on.
  const visible = await count(analyst, me);
  assert.equal(visible.status, 200, visible.text);
  assert.equal(visible.json.exact.people, 2);
  for (const [op, value] of [
    ['lte', '1979-06-30'],
    ['gte', '1979-06-04'],
    ['eq', '1979-06-04'],
    ['between', ['1979-06-01', '1979-06-30']],
    ['in', ['1979-06-04']],
  ] as const) {
    const probe = await count(analyst, [...me, { type: 'group', match: 'all', conditions: [{ type: 'profile', field: 'birthday', op, value }] }]);
    assert.equal(probe.status, 403, `birthday ${op} ${JSON.stringify(value)}: ${probe.text}`);
    assert.match(probe.json.error.message, /^conditions\[4\]\.conditions\[0\]: birthday is shown to your role as its year only/);
  }
  // The admin still counts by day.
  assert.equal((await count(admin, [...me, { type: 'profile', field: 'birthday', op: 'lte', value: '1979-06-30' }])).json.exact.people, 2);

  const event = (where: unknown[]) => ({ type: 'event', event: 'Lead Submitted', where, window: { days: 30 } });
  for (const where of [
    { property: 'phone', op: 'contains', value: '912340' },
    { property: '手机号', op: 'eq', value: PHONE },
    { property: 'note', op: 'contains', value: '912340' },
    { property: 'note', op: 'eq', value: `call ${PHONE}` },
    { property: 'n', op: 'gt', value: 13900000000 },
    { property: 'mail', op: 'contains', value: 'wang@' },
  ]) {
    const probe = await count(analyst, [event([where])]);
    assert.equal(probe.status, 403, `${JSON.stringify(where)}: ${probe.text}`);
    assert.match(probe.json.error.message, /^conditions\[0\]\.where\[0\]: /);
    assertNoSecret(probe.json.error.message.replace(JSON.stringify(where.value), ''), 'the refusal');
  }
  // Words, and the existence of a personal key, may still be counted on.
  const words = await count(analyst, [
    event([
      { property: 'channel', op: 'eq', value: 'web' },
      { property: 'phone', op: 'exists' },
    ]),
  ]);
  assert.equal(words.status, 200, words.text);
  assert.equal(words.json.exact.people, 1);
  // Sequences too.
  const seq = await count(analyst, [
    {
      type: 'sequence',
      first: { event: 'Lead Submitted', where: [{ property: 'phone', op: 'contains', value: '9123' }] },
      then: { event: 'Paid' },
      within: { days: 1 },
      window: { days: 30 },
    },
  ]);
  assert.equal(seq.status, 403, seq.text);
  assert.match(seq.json.error.message, /^conditions\[0\]\.first\.where\[0\]: property "phone" holds personal data/);
});

async function session(email: string, password: string) {
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  assert.equal(login.status, 200, await login.clone().text());
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  return async (route: string) => {
    const response = await fetch(`${base}${route}`, { headers: { cookie } });
    const text = await response.text();
    return { status: response.status, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  };
}

test('(c) tag values (coverage, a person’s tags, the 360 view) are masked for masked roles', async () => {
  const tag = await callApi(base, 'POST', '/api/v1/tags', admin, { key: 'callback_number', name: { zh: '回拨号码', en: 'Callback' }, kind: 'manual', valueType: 'string' });
  assert.equal(tag.status, 201, tag.text);
  const memo = await callApi(base, 'POST', '/api/v1/tags', admin, { key: 'service_memo', name: { zh: '服务备注', en: 'Memo' }, kind: 'manual', valueType: 'string' });
  assert.equal(memo.status, 201, memo.text);
  for (const [key, value] of [
    ['callback_number', PHONE],
    ['service_memo', `VIP ${PHONE}`],
  ]) {
    const set = await callApi(base, 'PUT', `/api/v1/people/${wang}/tags/${key}`, admin, { value });
    assert.equal(set.status, 200, set.text);
  }
  assert.equal((await callApi(base, 'PUT', `/api/v1/people/${zhao}/tags/service_memo`, admin, { value: 'jd regular' })).status, 200);
  const coverage = await callApi(base, 'GET', '/api/v1/tags/callback_number', analyst);
  assert.equal(coverage.status, 200, coverage.text);
  assertNoSecret(JSON.stringify(coverage.json.coverage), 'coverage');
  assert.deepEqual(coverage.json.coverage.values, [{ value: '139****0000', people: 1 }]);
  const personTags = await callApi(base, 'GET', `/api/v1/people/${wang}/tags`, analyst);
  assertNoSecret(JSON.stringify(personTags.json), 'person tags');
  assert.equal(personTags.json.tags.find((t: { key: string }) => t.key === 'service_memo').value, 'VIP 139****0000');
  assertNoSecret(JSON.stringify((await callApi(base, 'GET', `/api/v1/people/${wang}`, analyst)).json.tags), 'the 360 view’s tags');
  // The admin sees them clear.
  assert.equal((await callApi(base, 'GET', '/api/v1/tags/callback_number', admin)).json.coverage.values[0].value, PHONE);
});

test('(c) a team-scoped operator’s tag coverage counts and shows only the people in their scope', async () => {
  // A JD-team operator: 王小明 (Tmall) is not theirs, so coverage neither counts nor shows him (tags set in the test above).
  const team = await callApi(base, 'POST', '/api/v1/teams', admin, { name: '京东团队', sources: ['jd'] });
  assert.equal(team.status, 201, team.text);
  const email = `jd-op-${ws.slug}@brand.example`;
  await createUser(stores, ws.id, { email, name: 'jd op', role: 'operator', password: 'team password 1', teamId: team.json.team.id });
  const jd = await session(email, 'team password 1');
  assert.equal((await jd(`/api/v1/people/${wang}`)).status, 404);
  const theirs = await jd('/api/v1/tags/callback_number');
  assert.equal(theirs.status, 200, theirs.text);
  assert.deepEqual(theirs.json.coverage.values, []);
  assert.equal(theirs.json.coverage.people, 0);
  const memos = await jd('/api/v1/tags/service_memo');
  assert.deepEqual(memos.json.coverage.values, [{ value: 'jd regular', people: 1 }]);
  assertNoSecret(memos.text, 'a team’s coverage');
});
