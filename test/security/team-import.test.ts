/**
 * A team-scoped operator imports a record carrying another team's customer's phone. OneID links the
 * record to that person, so the person becomes visible through the team's own record, and nothing
 * more: not the other team's orders, records, identifiers, names or addresses, nor what was derived
 * from them or written about the person by others (tags, notes, tasks, messages), on any route.
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
import { saveTag } from '../../src/tags/store.ts';
import { runTags } from '../../src/tags/engine.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;
let zhang = 0;

// What the JD team's customer 张伟 carries that the Tmall team never brought.
const JD_ONLY = ['oU-zhang', 'jd-zhangwei', '张伟', '秘密路', 'J2', '4321', '京东客服备注', '回访京东大客户', '+8613700000009-jd-sms'];

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('team-import'), name: 'team import' });
  admin = (await new ApiKeyService(stores.state).create(ws.id, 'root', 'admin')).token;
  ({ app, base } = await startTestServer(stores));
  const dir = tempDir();
  const file = path.join(dir, 'jd.csv');
  fs.writeFileSync(
    file,
    [
      'order_id,ordered_at,amount,status,phone,unionid,jd_pin,name,address,sku,quantity,line_amount',
      'J2,2026-11-01 10:00:00,4321.00,completed,13700000003,oU-zhang,jd-zhangwei,张伟,北京市朝阳区秘密路9号,S3,1,4321.00',
      '',
    ].join('\n'),
  );
  await runImport(stores, { workspace: ws, kind: 'orders', files: [file], source: 'jd' });
  zhang = Number((await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM orders FINAL WHERE workspace_id = {ws:String} AND order_id = 'J2'`, { ws: ws.id }))[0].p);
  // What others know of him: a spend tag over all platforms, a note, a task, a message.
  await saveTag(stores, ws.id, { key: 'spend_total', name: { zh: '累计消费', en: 'Spend' }, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' });
  await runTags(stores, { workspaceId: ws.id });
  assert.equal((await callApi(base, 'POST', `/api/v1/people/${zhang}/notes`, admin, { text: '京东客服备注：大客户' })).status, 201);
  await stores.state.db.insertInto('staff_tasks').values({ workspace_id: ws.id, person_id: zhang, source: 'journey:vip:call', title: '回访京东大客户' }).execute();
  await stores.state.db
    .insertInto('deliveries')
    .values({
      workspace_id: ws.id,
      plan_key: 'jd_vip',
      run_id: `r-${ws.id}`,
      person_id: zhang,
      step: 'sms',
      variant: 'a',
      channel: 'sms',
      purpose: 'marketing',
      status: 'sent',
      reason: '+8613700000009-jd-sms',
      address: '+8613700000009-jd-sms',
      entered_at: new Date(),
      updated_at: new Date(),
    })
    .execute();
});
after(async () => {
  await app.close();
  await stores.close();
});

async function session(email: string, password: string) {
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  assert.equal(login.status, 200, await login.clone().text());
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  return Object.assign(
    async (method: string, route: string, body?: string) => {
      const response = await fetch(`${base}${route}`, { method, headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'text/csv', origin: base }) }, body });
      const text = await response.text();
      return { status: response.status, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
    },
    { cookie },
  );
}
const cookieOf = (s: { cookie: string }) => s.cookie;

test('a Tmall-team import carrying a JD customer’s phone shows the team its own record of him, nothing of JD’s', async () => {
  const team = await callApi(base, 'POST', '/api/v1/teams', admin, { name: '天猫团队', sources: ['tmall'] });
  assert.equal(team.status, 201, team.text);
  const email = `tmall-op-${ws.slug}@brand.example`;
  await createUser(stores, ws.id, { email, name: 'tmall op', role: 'operator', password: 'team password 1', teamId: team.json.team.id });
  const tm = await session(email, 'team password 1');
  assert.equal((await tm('GET', `/api/v1/people/${zhang}`)).status, 404, 'not theirs before');

  const posted = await tm(
    'POST',
    '/api/v1/imports?kind=orders&source=tmall&filename=t.csv',
    'order_id,ordered_at,amount,phone,sku,quantity,line_amount\nT9,2026-12-01 10:00:00,1.00,13700000003,S1,1,1.00\n',
  );
  assert.equal(posted.status, 202, posted.text);
  for (let i = 0; i < 200; i++) {
    const run = await tm('GET', `/api/v1/imports/${posted.json.run}`);
    if (run.json.status !== 'running') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const t9 = Number((await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM orders FINAL WHERE workspace_id = {ws:String} AND order_id = 'T9'`, { ws: ws.id }))[0].p);
  assert.equal(t9, zhang, 'OneID links the phone: one person');

  // Visible through the team's own record, with the team's own order and identifier only.
  const view = await tm('GET', `/api/v1/people/${zhang}`);
  assert.equal(view.status, 200, view.text);
  assert.deepEqual(
    view.json.orders.map((o: { orderId: string }) => o.orderId),
    ['T9'],
  );
  assert.deepEqual(view.json.sources, ['tmall']);
  assert.deepEqual(
    view.json.identities.map((i: { type: string; value: string; sources: string[] }) => [i.type, i.value, i.sources]),
    [['phone', '+8613700000003', ['tmall']]],
  );
  // His tags are computed from all his orders (his spend is 4322 with JD's): not the team's to read.
  assert.deepEqual(view.json.tags, []);
  assert.deepEqual((await tm('GET', `/api/v1/people/${zhang}/tags`)).json.tags, []);
  assert.equal((await callApi(base, 'GET', `/api/v1/people/${zhang}/tags`, admin)).json.tags[0].value, 4322);
  // Every route, for him: nothing the JD team's data or others' work says about him.
  const gets = app.routeTable.filter((r) => r.method === 'GET' && r.url.startsWith('/api/v1/') && !r.public);
  for (const route of gets) {
    const url = route.url
      .replace(/:(id|personId)\b/g, String(zhang))
      .replace(':key', 'spend_total')
      .replace(':name', 'retail');
    const query = url.endsWith('/people') ? '?q=13700000003' : url.endsWith('/export') ? '?type=phone' : url.endsWith('/preview') ? `?person=${zhang}` : '';
    const response = await tm('GET', url + query);
    assert.notEqual(response.status, 500, `${url}: ${response.text.slice(0, 200)}`);
    for (const secret of JD_ONLY) assert.ok(!response.text.includes(secret), `${url} gave the Tmall team "${secret}": ${response.text.slice(0, 400)}`);
  }
  // Nor can the team close another team's task on him.
  const task = await stores.state.db.selectFrom('staff_tasks').select('id').where('workspace_id', '=', ws.id).where('person_id', '=', zhang).executeTakeFirstOrThrow();
  const close = await fetch(`${base}/api/v1/tasks/${task.id}`, {
    method: 'POST',
    headers: { cookie: cookieOf(tm), 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ status: 'done' }),
  });
  assert.equal(close.status, 404);
  // Search by the phone the team brought finds him, as the team sees him.
  const found = await tm('GET', '/api/v1/people?q=13700000003');
  assert.deepEqual(
    found.json.people.map((p: { personId: number; sources: string[] }) => [p.personId, p.sources]),
    [[zhang, ['tmall']]],
  );
  // The admin still sees everything.
  const whole = await callApi(base, 'GET', `/api/v1/people/${zhang}`, admin);
  assert.deepEqual(whole.json.orders.map((o: { orderId: string }) => o.orderId).sort(), ['J2', 'T9']);
  assert.equal(whole.json.notes.length, 1);
});
