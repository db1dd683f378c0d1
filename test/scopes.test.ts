/**
 * Team data scopes: a team bound to sources sees the people who have a record from them and only
 * those sources' orders, records and identifiers; staff see the customers whose WeCom contact they
 * own. Checked through every registered GET route with a scoped user's session, and route by route
 * for people, segments, exports, imports and the overview.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, runCli, startTestServer, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { runImport } from '../src/ingest/importer.ts';
import { createUser } from '../src/access/users.ts';
import { maskField, maskIdentifier, maskProperties, maskRecordKey } from '../src/access/masking.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;
const people: Record<'a' | 'b' | 'c', number> = { a: 0, b: 0, c: 0 };

const today = new Date().toISOString().slice(0, 10);

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('scopes'), name: 'scopes' });
  admin = (await new ApiKeyService(stores.state).create(ws.id, 'root', 'admin')).token;
  ({ app, base } = await startTestServer(stores));
  const dir = tempDir();
  const header = 'order_id,ordered_at,amount,status,phone,unionid,jd_pin,name,address,sku,product_name,category,quantity,line_amount';
  const write = (name: string, rows: string[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, [header, ...rows, ''].join('\n'));
    return file;
  };
  // A: 王静 buys on Tmall and JD. B: 李娜 on Tmall, a WeCom contact of guide001. C: 张伟 on JD only, guide002's contact.
  const tmall = write('tmall.csv', [
    `T1,${today} 10:00:00,100.00,completed,13800000001,,,王静,上海市徐汇区漕溪北路1号,S1,燕窝,滋补,1,100.00`,
    `T2,${today} 11:00:00,200.00,completed,13900000002,oU-b,,李娜,杭州市西湖区1号,S2,花胶,滋补,1,200.00`,
  ]);
  const jd = write('jd.csv', [
    `J1,${today} 12:00:00,300.00,completed,13800000001,,jd-wangjing,王静京东号,上海市徐汇区漕溪北路1号,S1,燕窝,滋补,3,300.00`,
    `J2,${today} 13:00:00,400.00,completed,13700000003,oU-c,jd-zhangwei,张伟,北京市朝阳区秘密路9号,S3,阿胶,滋补,4,400.00`,
  ]);
  const contacts = path.join(dir, 'contacts.csv');
  fs.writeFileSync(contacts, ['external_userid,staff_userid,unionid,name', 'wm-b,guide001,oU-b,李娜', 'wm-c,guide002,oU-c,张伟', ''].join('\n'));
  await runImport(stores, { workspace: ws, kind: 'orders', files: [tmall], source: 'tmall' });
  await runImport(stores, { workspace: ws, kind: 'orders', files: [jd], source: 'jd' });
  await runImport(stores, { workspace: ws, kind: 'contacts', files: [contacts], source: 'wecom' });
  const personOf = async (orderId: string) =>
    Number(
      (await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM orders FINAL WHERE workspace_id = {ws:String} AND order_id = {o:String}`, { ws: ws.id, o: orderId }))[0]
        .p,
    );
  people.a = await personOf('T1');
  people.b = await personOf('T2');
  people.c = await personOf('J2');
  assert.equal(await personOf('J1'), people.a, 'the same phone on Tmall and JD is one person');
  assert.equal(new Set(Object.values(people)).size, 3);
});
after(async () => {
  await app.close();
  await stores.close();
});

/** A browser session: logs in and keeps the cookie. */
async function session(email: string, password: string) {
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  assert.equal(login.status, 200, await login.clone().text());
  const cookie = login.headers.get('set-cookie')!.split(';')[0];
  return async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { cookie, ...(body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json', origin: base }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  };
}

async function userIn(team: string | null, role: 'operator' | 'analyst' | 'staff', name: string, staffUserId?: string) {
  const email = `${name}-${ws.slug}@brand.example`;
  await createUser(stores, ws.id, { email, name, role, password: 'scoped password 1', teamId: team, staffUserId });
  return session(email, 'scoped password 1');
}

async function team(name: string, sources: string[]): Promise<string> {
  const created = await callApi(base, 'POST', '/api/v1/teams', admin, { name, sources });
  assert.equal(created.status, 201, created.text);
  return created.json.team.id;
}

// What only the JD-only person C, JD's orders and A's JD record carry: none of it may reach the Tmall team.
const OUTSIDE_TMALL = ['13700000003', '张伟', '秘密路', 'J2', 'J1', 'oU-c', 'jd-wangjing', '王静京东号'];

test('a team sees only its sources: people, orders, search, exports, segments and the overview are scoped in the queries', async () => {
  const tmallTeam = await team('天猫团队', ['tmall']);
  assert.equal((await callApi(base, 'POST', '/api/v1/teams', admin, { name: '天猫团队', sources: ['tmall'] })).status, 409);
  const bad = await callApi(base, 'POST', '/api/v1/teams', admin, { name: 'x', sources: ['Tmall Store'] });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^body\.sources\[0\]: a source name/);
  const tm = await userIn(tmallTeam, 'operator', 'tm-op');

  const me = await tm('GET', '/api/v1/auth/me');
  assert.deepEqual(me.json.scope.team.sources, ['tmall']);
  assert.deepEqual(me.json.permissions, { personalData: true, workspaceChanges: false });

  // People: A and B are in (Tmall records), C is not, whatever the route.
  assert.equal((await tm('GET', `/api/v1/people/${people.c}`)).status, 404);
  assert.equal((await tm('GET', `/api/v1/people/${people.c}/explain`)).status, 404);
  assert.equal((await tm('GET', `/api/v1/people/${people.c}/tags`)).status, 404);
  assert.equal((await tm('GET', `/api/v1/people/${people.c}/consents`)).status, 404);
  assert.equal((await tm('PUT', `/api/v1/people/${people.c}/consents/sms`, { status: 'revoked' })).status, 404);
  const a = await tm('GET', `/api/v1/people/${people.a}`);
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(
    a.json.orders.map((o: { orderId: string }) => o.orderId),
    ['T1'],
    'A’s JD order is not the Tmall team’s',
  );
  assert.deepEqual([...new Set(a.json.records.map((r: { source: string }) => r.source))], ['tmall']);
  assert.deepEqual(a.json.sources, ['tmall']);
  assert.equal(a.json.orders[0].lines[0].sku, 'S1');
  const adminView = await callApi(base, 'GET', `/api/v1/people/${people.a}`, admin);
  assert.deepEqual(adminView.json.orders.map((o: { orderId: string }) => o.orderId).sort(), ['J1', 'T1']);
  assert.deepEqual(adminView.json.sources, ['jd', 'tmall']);

  // Search: by C's phone (typed with spaces) the Tmall team finds nobody; the admin finds C.
  assert.deepEqual((await tm('GET', '/api/v1/people?q=137%200000%200003')).json.people, []);
  const found = await callApi(base, 'GET', '/api/v1/people?q=137%200000%200003', admin);
  assert.deepEqual(
    found.json.people.map((p: { personId: number }) => p.personId),
    [people.c],
  );
  assert.deepEqual(
    (await tm('GET', '/api/v1/people?q=%E6%9D%8E')).json.people.map((p: { personId: number }) => p.personId),
    [people.b],
    'a part of a name',
  );
  // A's JD-only identifier and JD name find A for the admin, not for the Tmall team (it would confirm a link it may not see).
  for (const q of ['jd-wangjing', encodeURIComponent('京东号')]) {
    assert.deepEqual(
      (await callApi(base, 'GET', `/api/v1/people?q=${q}`, admin)).json.people.map((p: { personId: number }) => p.personId),
      [people.a],
    );
    assert.deepEqual((await tm('GET', `/api/v1/people?q=${q}`)).json.people, []);
  }

  // Exports: only the team's people and records.
  const records = await tm('GET', '/api/v1/records/export');
  assert.equal(records.status, 200);
  assert.deepEqual(
    records.text
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0])
      .sort(),
    ['tmall', 'tmall'],
  );
  const identities = await tm('GET', '/api/v1/identities/export');
  assert.ok(identities.text.includes('+8613800000001') && !identities.text.includes('+8613700000003'), identities.text);

  // Segments: the same tree, counted, sampled and exported within the scope.
  const tree = { match: 'all', conditions: [{ type: 'orders', window: { days: 30 } }] };
  const everyone = await callApi(base, 'POST', '/api/v1/segments/count', admin, tree);
  assert.equal(everyone.status, 200, everyone.text);
  assert.equal(everyone.json.exact.people, 3);
  const scoped = await tm('POST', '/api/v1/segments/count', tree);
  assert.equal(scoped.json.exact.people, 2);
  assert.ok(scoped.json.estimate.low <= 2 && scoped.json.estimate.high >= 2, JSON.stringify(scoped.json.estimate));
  assert.equal((await callApi(base, 'POST', '/api/v1/segments', admin, { key: 'buyers', name: { zh: '购买者', en: 'Buyers' }, ...tree })).status, 201);
  const sample = await tm('GET', '/api/v1/segments/buyers/sample?limit=10');
  assert.deepEqual(sample.json.people.map((p: { personId: number }) => p.personId).sort(), [people.a, people.b].sort());
  const exported = await tm('GET', '/api/v1/segments/buyers/export?type=phone');
  assert.equal(exported.status, 200);
  assert.deepEqual(exported.text.trim().split('\n').slice(1).sort(), [`${people.a},+8613800000001`, `${people.b},+8613900000002`].sort());

  // Overview: the Tmall team's orders and GMV.
  const overview = await tm('GET', '/api/v1/overview?days=7');
  assert.equal(overview.status, 200, overview.text);
  assert.deepEqual([overview.json.people, overview.json.buyers, overview.json.orders, overview.json.gmv], [2, 2, 2, 300]);
  const whole = await callApi(base, 'GET', '/api/v1/overview?days=7', admin);
  assert.deepEqual([whole.json.people, whole.json.buyers, whole.json.orders, whole.json.gmv, whole.json.repurchaseRate], [3, 3, 4, 1000, 1 / 3]);
  assert.equal(whole.json.trend.find((d: { day: string }) => d.day === today).orders, 4);

  // Imports: into the team's own sources only; runs of other sources are not listed.
  const refused = await tm('POST', '/api/v1/imports?kind=orders&source=jd&filename=jd.csv', 'order_id,ordered_at,amount\nJ9,2026-01-01 10:00:00,1.00\n');
  assert.equal(refused.status, 403);
  assert.match(refused.json.error.message, /your team imports into its sources only: pass source= one of tmall/);
  // Records name their source per row, events are the SDK's: not for a team.
  const recordsImport = await tm('POST', '/api/v1/imports?kind=records&source=tmall&filename=r.csv', 'record_id,source,phone\nr9,jd,13600000000\n');
  assert.equal(recordsImport.status, 403);
  assert.match(recordsImport.json.error.message, /a team imports orders, refunds, members, contacts only/);
  const runs = await tm('GET', '/api/v1/imports');
  assert.deepEqual([...new Set(runs.json.runs.map((r: { source: string }) => r.source))], ['tmall']);
  const jdRun = (await callApi(base, 'GET', '/api/v1/imports', admin)).json.runs.find((r: { source: string }) => r.source === 'jd');
  assert.equal((await tm('GET', `/api/v1/imports/${jdRun.id}`)).status, 404);
  assert.equal((await tm('GET', `/api/v1/imports/${jdRun.id}/quarantine`)).status, 404);

  // Audit: the team and the exports are recorded.
  const audit = await callApi(base, 'GET', '/api/v1/audit?limit=50', admin);
  const actions = audit.json.entries.map((e: { action: string }) => e.action);
  for (const action of ['team.create', 'export.records', 'export.identities', 'export.segment']) assert.ok(actions.includes(action), action);
});

/** A GET route made callable: ids of the person given, the known segment and pack, the query a route needs. */
function callable(url: string, person: number): string {
  const path = url
    .replace(/:(id|personId)\b/g, String(person))
    .replace(':key', 'buyers')
    .replace(':name', 'retail');
  const query = path.endsWith('/people')
    ? '?q=13800000001'
    : path.endsWith('/export')
      ? '?type=phone'
      : path.endsWith('/cross')
        ? '?rows=x&columns=y'
        : path.endsWith('/insights')
          ? '?tags=x'
          : path.endsWith('/preview')
            ? `?person=${person}`
            : '';
  return path + query;
}

test('every route, walked with a Tmall-team session, an analyst and a tracker key, gives nothing it should not', async () => {
  const teams = (await callApi(base, 'GET', '/api/v1/teams', admin)).json.teams;
  const tmallTeam = teams.find((t: { name: string }) => t.name === '天猫团队')?.id ?? (await team('天猫团队', ['tmall']));
  const tm = await userIn(tmallTeam, 'operator', 'tm-walker');
  const analyst = await userIn(null, 'analyst', 'walking-analyst');
  const tracker = (await new ApiKeyService(stores.state).create(ws.id, 'site', 'tracker')).token;
  const gets = app.routeTable.filter((r) => r.method === 'GET' && r.url.startsWith('/api/v1/') && !r.public);
  assert.ok(gets.length > 40, `${gets.length} GET routes`);
  let answered = 0;
  for (const route of gets) {
    for (const person of [people.a, people.c]) {
      // The Tmall team: nothing of C, of JD's orders or of A's JD record, whatever the route.
      const response = await tm('GET', callable(route.url, person));
      assert.notEqual(response.status, 500, `${route.url}: ${response.text.slice(0, 200)}`);
      for (const secret of OUTSIDE_TMALL) assert.ok(!response.text.includes(secret), `${route.url} gave the Tmall team "${secret}": ${response.text.slice(0, 300)}`);
      if (response.status === 200) answered++;
      // An analyst sees everyone, masked: no phone, address or full name in the clear.
      const read = await analyst('GET', callable(route.url, person));
      for (const secret of ['13800000001', '13700000003', '漕溪北路', '秘密路', '王静', '张伟', 'jd-wangjing']) {
        assert.ok(!read.text.includes(secret), `${route.url} showed an analyst "${secret}": ${read.text.slice(0, 300)}`);
      }
    }
    // A tracker key (it sits in web pages) reads nothing.
    const byTracker = await callApi(base, 'GET', callable(route.url, people.a), tracker);
    assert.equal(byTracker.status, 403, `${route.url} answered a tracker key`);
  }
  assert.ok(answered >= 30, `${answered} scoped reads answered 200`);

  // Changing routes: a scoped user may call only those that keep to the scope; the rest are refused before anything runs.
  const writes = app.routeTable.filter((r) => r.method !== 'GET' && r.url.startsWith('/api/v1/') && !r.public);
  for (const route of writes) {
    const response = await tm(route.method, callable(route.url, people.a).split('?')[0], {});
    if (route.scoped) assert.notEqual(response.status, 500, `${route.method} ${route.url}: ${response.text.slice(0, 200)}`);
    else assert.equal(response.status, 403, `${route.method} ${route.url} let a scoped user change a workspace-wide thing: ${response.status} ${response.text.slice(0, 200)}`);
  }
  const scopedWrites = writes
    .filter((r) => r.scoped)
    .map((r) => `${r.method} ${r.url}`)
    .sort();
  assert.deepEqual(scopedWrites, [
    'DELETE /api/v1/people/:id/tags/:key',
    'POST /api/v1/auth/password',
    'POST /api/v1/identities/reviews/:id',
    'POST /api/v1/imports',
    'POST /api/v1/people/:id/notes',
    'POST /api/v1/segments/count',
    'POST /api/v1/tasks/:id',
    'PUT /api/v1/people/:id/tags/:key',
    'PUT /api/v1/people/:personId/consents/:channel',
  ]);
});

test('a team’s sources change its members’ scope at once; moving a user to another team ends their sessions', async () => {
  const jdAndTmall = await team('全渠道团队', ['tmall']);
  const member = await userIn(jdAndTmall, 'analyst', 'moving-analyst');
  assert.equal((await member('GET', `/api/v1/people/${people.c}`)).status, 404);
  assert.equal((await callApi(base, 'PUT', `/api/v1/teams/${jdAndTmall}`, admin, { name: '全渠道团队', sources: ['tmall', 'jd'] })).status, 200);
  assert.equal((await member('GET', `/api/v1/people/${people.c}`)).status, 200, 'JD added: C is in');
  const users = (await callApi(base, 'GET', '/api/v1/users', admin)).json.users;
  const id = users.find((u: { email: string }) => u.email.startsWith('moving-analyst')).id;
  assert.equal((await callApi(base, 'PATCH', `/api/v1/users/${id}`, admin, { teamId: null })).status, 200);
  assert.equal((await member('GET', '/api/v1/auth/me')).status, 401, 'a team change ends the sessions');
});

test('masking: event traits, personal properties, birthdays, member numbers and short phones', () => {
  assert.deepEqual(maskProperties({ revenue: 399, sku: 'S1', phone: '13800000001', shipping: { receiver_name: '王静', city: '上海' } }), {
    revenue: 399,
    sku: 'S1',
    phone: '138****0001',
    shipping: { receiver_name: '王*', city: '上海' },
  });
  assert.deepEqual(maskProperties({ plan: 'gold', email: 'wang@example.com' }, true), { plan: '***', email: 'w***@example.com' }, 'identify traits: every text value');
  assert.equal(maskField('birthday', '1990-03-04'), '1990-**-**');
  assert.equal(maskField('identities.phone', '13800000001'), '138****0001');
  assert.equal(maskField('amount', '399.00'), '399.00');
  assert.equal(maskField('member_no', 'M0001234'), 'M0***34');
  assert.equal(maskIdentifier('phone', '1380000'), '***');
  assert.equal(maskRecordKey('crm:member:M0001234'), 'crm:member:M0***34');
  assert.equal(maskRecordKey('tmall:order:T1'), 'tmall:order:T1');
});

test('staff see the customers whose WeCom contact they own; analysts in a team see personal data masked', async () => {
  const guide = await userIn(null, 'staff', 'guide-one', 'guide001');
  assert.equal((await guide('GET', `/api/v1/people/${people.b}`)).status, 200);
  assert.equal((await guide('GET', `/api/v1/people/${people.a}`)).status, 404);
  assert.equal((await guide('GET', `/api/v1/people/${people.c}`)).status, 404);
  assert.deepEqual((await guide('GET', '/api/v1/people?q=%E5%BC%A0%E4%BC%9F')).json.people, [], 'C is guide002’s');
  // Tasks: a guide lists and closes their own customers' tasks only.
  const [taskB, taskC] = await Promise.all(
    [people.b, people.c].map(async (person) =>
      Number(
        (
          await stores.state.db
            .insertInto('staff_tasks')
            .values({ workspace_id: ws.id, person_id: person, source: 'journey:care:call', title: `回访 ${person}` })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id,
      ),
    ),
  );
  const listed = await guide('GET', '/api/v1/tasks?status=open');
  assert.deepEqual(
    listed.json.tasks.map((t: { id: number }) => t.id),
    [taskB],
  );
  assert.equal((await guide('POST', `/api/v1/tasks/${taskC}`, { status: 'done' })).status, 404);
  const done = await guide('POST', `/api/v1/tasks/${taskB}`, { status: 'done' });
  assert.equal(done.json.task.status, 'done');
  assert.deepEqual((await guide('GET', '/api/v1/tasks?status=open')).json.tasks, []);
  assert.equal((await callApi(base, 'GET', '/api/v1/tasks?status=open', admin)).json.tasks.length, 1, 'the admin sees C’s task');
  // Notes: written on the guide's own customers only, with the author's name.
  const note = await guide('POST', `/api/v1/people/${people.b}/notes`, { text: '喜欢花胶，周末方便联系' });
  assert.equal(note.status, 201, note.text);
  assert.equal((await guide('POST', `/api/v1/people/${people.c}/notes`, { text: 'x' })).status, 404);
  assert.equal((await guide('POST', `/api/v1/people/${people.b}/notes`, { text: '  ' })).status, 400);
  const seen = await callApi(base, 'GET', `/api/v1/people/${people.b}`, admin);
  assert.deepEqual(
    seen.json.notes.map((n: { text: string; authorName: string }) => [n.text, n.authorName]),
    [['喜欢花胶，周末方便联系', 'guide-one']],
  );
  assert.equal((await guide('GET', `/api/v1/people/${people.b}/notes`)).json.notes.length, 1);
  const noUserId = await userIn(null, 'staff', 'guide-none');
  assert.equal((await noUserId('GET', `/api/v1/people/${people.b}`)).status, 404, 'staff without a WeCom userid see nobody');

  const teams = (await callApi(base, 'GET', '/api/v1/teams', admin)).json.teams;
  const jdTeam = teams.find((t: { name: string }) => t.name === '京东团队')?.id ?? (await team('京东团队', ['jd']));
  const analyst = await userIn(jdTeam, 'analyst', 'jd-ana');
  const c = await analyst('GET', `/api/v1/people/${people.c}`);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.name, '张*');
  assert.deepEqual(c.json.identities.find((i: { type: string }) => i.type === 'phone').value, '+86137****0003');
  assert.ok(!c.text.includes('秘密路'), 'the address is masked');
  assert.equal((await analyst('GET', `/api/v1/people/${people.b}`)).status, 404, 'B has no JD record');

  // A refused value is shown masked to a role without personal data.
  const file = path.join(tempDir(), 'bad.csv');
  fs.writeFileSync(file, ['record_id,source,phone,name', 'q1,crm,13800000abc,赵六', ''].join('\n'));
  const run = await runImport(stores, { workspace: ws, kind: 'records', files: [file] });
  const everyoneAnalyst = await userIn(null, 'analyst', 'all-ana');
  const quarantined = await everyoneAnalyst('GET', `/api/v1/imports/${run.runId}/quarantine`);
  assert.equal(quarantined.status, 200, quarantined.text);
  assert.deepEqual(
    quarantined.json.rows.map((r: { field: string; value: string }) => [r.field, r.value]),
    [['phone', '138****0abc']],
  );
  const clear = await callApi(base, 'GET', `/api/v1/imports/${run.runId}/quarantine`, admin);
  assert.equal(clear.json.rows[0].value, '13800000abc');

  // A team with members cannot be deleted (they would see everything); admins are in no team.
  const removed = await callApi(base, 'DELETE', `/api/v1/teams/${jdTeam}`, admin);
  assert.equal(removed.status, 409);
  const boss = await createUser(stores, ws.id, { email: `boss-${ws.slug}@brand.example`, name: 'boss', role: 'admin', password: 'scoped password 1' });
  const inTeam = await callApi(base, 'PATCH', `/api/v1/users/${boss.id}`, admin, { teamId: jdTeam });
  assert.equal(inTeam.status, 400);
  assert.match(inTeam.json.error.message, /admin sees the whole workspace/);
  const users = (await callApi(base, 'GET', '/api/v1/users', admin)).json.users;
  const jdUser = users.find((u: { email: string }) => u.email.startsWith('jd-ana'));
  const moved = await callApi(base, 'PATCH', `/api/v1/users/${jdUser.id}`, admin, { role: 'admin', teamId: jdTeam });
  assert.equal(moved.status, 400);
  assert.match(moved.json.error.message, /admin sees the whole workspace/);
});

test('siyu people search / people view / overview on the CLI', async () => {
  const env = { SIYU_DATA_DIR: tempDir(), SIYU_DEMO_PEOPLE: '0' };
  const slug = uniqueSlug('people-cli');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'p'], env)).code, 0);
  const file = path.join(tempDir(), 'orders.csv');
  fs.writeFileSync(
    file,
    [
      'order_id,ordered_at,amount,phone,name,sku,quantity,line_amount',
      `P1,${today} 10:00:00,88.00,13800000001,王静,S1,1,88.00`,
      `P2,${today} 11:00:00,12.00,13800000001,王静,S2,1,12.00`,
      '',
    ].join('\n'),
  );
  assert.equal((await runCli(['import', 'orders', file, '--source', 'tmall', '-w', slug], env)).code, 0);
  const found = await runCli(['people', 'search', '138-0000-0001', '-w', slug], env);
  assert.equal(found.code, 0, found.stderr);
  assert.match(found.stdout, /^1 person/);
  const id = /\n\s*(\d+)\s+王静\s+tmall\s+phone:\+8613800000001/.exec(found.stdout)?.[1];
  assert.ok(id, found.stdout);
  const view = JSON.parse((await runCli(['people', 'view', id!, '-w', slug], env)).stdout);
  assert.deepEqual(
    view.orders.map((o: { orderId: string; amount: number }) => [o.orderId, o.amount]),
    [
      ['P2', 12],
      ['P1', 88],
    ],
  );
  const figures = JSON.parse((await runCli(['overview', '--days', '30', '-w', slug], env)).stdout);
  assert.deepEqual([figures.people, figures.buyers, figures.orders, figures.gmv, figures.repurchaseRate], [1, 1, 2, 100, 1]);
});
