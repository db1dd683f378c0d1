/**
 * Personal-data rights (PIPL art. 45 and 47), end to end on the real stores: a person with orders,
 * a member card, a WeCom contact, tracked events, notes, tasks, consents, a manual tag, a message
 * and a quarantined row is erased; then every table of both stores is searched, every version of
 * every row, for their phone, name, address, email and ids: nothing. Their orders still count,
 * without them. A re-import of their phone lands but links to no one; another person's export is
 * complete.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, findInStores, openTestStores, runCli, startTestServer, tempDir, uniqueSlug } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';
import { runImport } from '../../src/ingest/importer.ts';
import { saveChannel } from '../../src/channels/store.ts';
import { writeSecret } from '../../src/secrets/secrets.ts';
import { resolveSerially } from '../../src/identity/resolve-queue.ts';
import { resolveIdentities } from '../../src/identity/resolve.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;
let operator: string;
const dir = tempDir();
let zhao = 0;
let qian = 0;

// What identifies 赵敏 (Zhao), wherever it was copied.
const ZHAO = ['13811112222', '赵敏', '杭州市西湖区文三路88号', 'zhao.min@example.com', 'oU-zhao', 'M-ZHAO-1', 'wm-zhao', 'zhao-device-1', '1990-05-06', 'SF-ZHAO-TRACK'];

function csv(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, [...lines, ''].join('\n'));
  return file;
}

const personOfOrder = async (orderId: string) =>
  Number(
    (await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM orders FINAL WHERE workspace_id = {ws:String} AND order_id = {o:String}`, { ws: ws.id, o: orderId }))[0]
      ?.p ?? 0,
  );

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('erase'), name: 'erase' });
  const keys = new ApiKeyService(stores.state);
  admin = (await keys.create(ws.id, 'root', 'admin')).token;
  operator = (await keys.create(ws.id, 'ops', 'operator')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  const header = 'order_id,ordered_at,amount,status,phone,email,unionid,name,address,birthday,sku,product_name,category,quantity,line_amount';
  await runImport(stores, {
    workspace: ws,
    kind: 'orders',
    source: 'tmall',
    files: [
      csv('orders.csv', [
        header,
        'Z1,2026-10-01 10:00:00,300.00,completed,13811112222,zhao.min@example.com,oU-zhao,赵敏,杭州市西湖区文三路88号,1990-05-06,S1,燕窝,滋补,1,300.00',
        'Z2,2026-11-01 10:00:00,200.00,completed,13811112222,,oU-zhao,赵敏,杭州市西湖区文三路88号,,S2,花胶,滋补,2,200.00',
        'Q1,2026-11-02 10:00:00,150.00,completed,13933334444,qian@example.com,oU-qian,钱多多,上海市静安区南京西路1号,,S1,燕窝,滋补,1,150.00',
      ]),
    ],
  });
  await runImport(stores, {
    workspace: ws,
    kind: 'members',
    source: 'crm',
    files: [
      csv('members.csv', [
        'member_no,phone,unionid,name,level,address',
        'M-ZHAO-1,13811112222,oU-zhao,赵敏,gold,杭州市西湖区文三路88号',
        'M-QIAN-1,13933334444,oU-qian,钱多多,silver,',
      ]),
    ],
  });
  await runImport(stores, {
    workspace: ws,
    kind: 'contacts',
    source: 'wecom',
    files: [csv('contacts.csv', ['external_userid,staff_userid,unionid,name,remark,remark_mobiles', 'wm-zhao,guide001,oU-zhao,赵敏,赵敏 VIP,13811112222'])],
  });
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'tmall', files: [csv('shipments.csv', ['order_id,period,status,tracking_no', 'Z1,1,shipped,SF-ZHAO-TRACK'])] });
  // A row refused with Zhao's phone in it: the quarantine keeps the row as read.
  await runImport(stores, {
    workspace: ws,
    kind: 'members',
    source: 'crm',
    files: [csv('bad.csv', ['member_no,phone,unionid,name,birthday', 'M-ZHAO-1,13811112222,oU-zhao,赵敏,not-a-date'])],
  });
  // Tracked events with a server-side key: identified by the phone, with personal traits and context.
  const track = await callApi(base, 'POST', '/api/v1/batch', operator, {
    batch: [
      {
        type: 'identify',
        messageId: 'z-e1',
        anonymousId: 'zhao-device-1',
        traits: { name: '赵敏', email: 'zhao.min@example.com' },
        identities: { phone: '13811112222', unionid: 'oU-zhao' },
      },
      {
        type: 'track',
        event: 'Order Completed',
        messageId: 'z-e2',
        anonymousId: 'zhao-device-1',
        properties: { revenue: 300, sku: 'S1', shipping: { receiver: '赵敏', address: '杭州市西湖区文三路88号' } },
        context: { ip: '10.1.2.3', userAgent: 'zhao-device-1' },
        identities: { phone: '13811112222', unionid: 'oU-zhao' },
      },
      { type: 'track', event: 'Order Completed', messageId: 'q-e1', anonymousId: 'qian-device', properties: { revenue: 150, sku: 'S1' }, identities: { phone: '13933334444' } },
    ],
  });
  assert.equal(track.status, 200, track.text);
  await resolveSerially(stores, { workspaceId: ws.id });
  zhao = await personOfOrder('Z1');
  qian = await personOfOrder('Q1');
  assert.ok(zhao > 0 && qian > 0 && zhao !== qian);
  const view = await callApi(base, 'GET', `/api/v1/people/${zhao}`, admin);
  assert.deepEqual(view.json.sources, ['crm', 'sdk', 'tmall', 'wecom'], view.text.slice(0, 500));
  assert.equal(view.json.events.length, 2);
  // What staff and plans left on both people (consent is kept on a channel that exists).
  await writeSecret(stores, ws.id, 'sms_secret', 'whsec-sms-secret-value');
  await saveChannel(stores, ws.id, { key: 'sms', name: 'SMS', kind: 'webhook', address: 'phone', config: { url: 'https://sms.example/hook', secret: 'sms_secret' } });
  for (const person of [zhao, qian]) {
    const name = person === zhao ? '赵敏' : '钱多多';
    assert.equal((await callApi(base, 'POST', `/api/v1/people/${person}/notes`, admin, { text: `${name} 喜欢燕窝` })).status, 201);
    await stores.state.db
      .insertInto('staff_tasks')
      .values({ workspace_id: ws.id, person_id: person, source: 'journey:care:call', title: `回访 ${name}` })
      .execute();
    assert.equal((await callApi(base, 'PUT', `/api/v1/people/${person}/consents/sms`, admin, { status: 'granted' })).status, 200);
    await stores.state.db
      .insertInto('deliveries')
      .values({
        workspace_id: ws.id,
        plan_key: 'welcome',
        run_id: `r-${ws.id}`,
        person_id: person,
        step: 'sms',
        variant: 'a',
        channel: 'sms',
        purpose: 'marketing',
        status: 'sent',
        address: person === zhao ? '+8613811112222' : '+8613933334444',
        content: JSON.stringify({ text: `${name}，您好` }),
        entered_at: new Date(),
        updated_at: new Date(),
      })
      .execute();
  }
});
after(async () => {
  await app.close();
  await stores.close();
});

const findAnywhere = (texts: string[]) => findInStores(stores, texts);

test('an erased person leaves no personal data in either store; their orders still count, de-identified', async () => {
  assert.ok((await findAnywhere(ZHAO)).length > 5, 'the search finds Zhao before');
  const overviewBefore = (await callApi(base, 'GET', '/api/v1/overview?days=3660', admin)).json;

  // Admins only, with a reason.
  assert.equal((await callApi(base, 'DELETE', `/api/v1/people/${zhao}`, operator, { reason: 'customer asked' })).status, 403);
  const noReason = await callApi(base, 'DELETE', `/api/v1/people/${zhao}`, admin, { reason: ' ' });
  assert.equal(noReason.status, 400);
  assert.match(noReason.json.error.message, /^body\.reason: /);
  assert.equal((await callApi(base, 'DELETE', '/api/v1/people/999999', admin, { reason: 'customer asked by phone' })).status, 404);

  const erased = await callApi(base, 'DELETE', `/api/v1/people/${zhao}`, admin, { reason: '客户来电要求删除 (ticket 42)' });
  assert.equal(erased.status, 200, erased.text);
  assert.equal(erased.json.erased.personId, zhao);
  assert.ok(erased.json.erased.identifiers >= 5, erased.text);

  const left = await findAnywhere(ZHAO);
  assert.deepEqual(left, [], left.join('\n'));
  // Merges cannot bring an old version back: there is none.
  for (const table of ['source_records', 'person_identities', 'events', 'contacts']) await stores.facts.command(`OPTIMIZE TABLE ${table} FINAL`);
  assert.deepEqual(await findAnywhere(ZHAO), []);

  // Aggregates stay: the orders, their amounts and SKUs, the events' names and revenue.
  const orders = await stores.facts.query<{ order_id: string; amount: string; person_id: string }>(
    `SELECT order_id, toString(amount) AS amount, person_id FROM orders FINAL WHERE workspace_id = {ws:String} AND order_id IN ('Z1', 'Z2') ORDER BY order_id`,
    { ws: ws.id },
  );
  assert.deepEqual(
    orders.map((o) => [o.order_id, o.amount, Number(o.person_id)]),
    [
      ['Z1', '300', zhao],
      ['Z2', '200', zhao],
    ],
  );
  const events = await stores.facts.query<{ event: string; properties: string; context: string }>(
    `SELECT event, properties, context FROM events FINAL WHERE workspace_id = {ws:String} AND message_id = 'z-e2'`,
    { ws: ws.id },
  );
  assert.deepEqual(
    events.map((e) => [e.event, JSON.parse(e.properties), e.context]),
    [['Order Completed', { revenue: 300, sku: 'S1' }, '{}']],
  );
  const overviewAfter = (await callApi(base, 'GET', '/api/v1/overview?days=3660', admin)).json;
  assert.equal(overviewAfter.gmv, overviewBefore.gmv, 'GMV still counts the erased person’s orders');
  assert.equal(overviewAfter.orders, overviewBefore.orders);
  // The ledger keeps the row, not where it went.
  const ledger = await stores.state.db.selectFrom('deliveries').select(['status', 'address']).where('workspace_id', '=', ws.id).where('person_id', '=', zhao).execute();
  assert.deepEqual(ledger, [{ status: 'sent', address: null }]);
  // The other person is untouched.
  const other = await callApi(base, 'GET', `/api/v1/people/${qian}`, admin);
  assert.equal(other.json.name, '钱多多');
  assert.equal(other.json.notes.length, 1);
  // Recorded, without anything that identifies them.
  const audit = await callApi(base, 'GET', '/api/v1/audit?limit=20', admin);
  const entry = audit.json.entries.find((e: { action: string }) => e.action === 'person.erase');
  assert.equal(entry.target, `person:${zhao}`);
  assert.equal(entry.details.reason, '客户来电要求删除 (ticket 42)');

  // A full resolution keeps the erased person's orders together under their de-identified id.
  await resolveIdentities(stores, { workspaceId: ws.id, full: true });
  assert.equal(await personOfOrder('Z1'), await personOfOrder('Z2'));
});

test('an erased phone is never linked again: a re-import lands the row, attaches no identifier, and says so', async () => {
  const again = await runImport(stores, {
    workspace: ws,
    kind: 'orders',
    source: 'douyin',
    files: [csv('again.csv', ['order_id,ordered_at,amount,phone,unionid,name,sku,quantity,line_amount', 'D9,2026-12-01 10:00:00,99.00,13811112222,oU-zhao,新客户,S1,1,99.00'])],
  });
  assert.equal(again.landed, 1);
  assert.equal(again.valuesDropped, 2, 'the phone and the unionid were withheld');
  const quarantine = await callApi(base, 'GET', `/api/v1/imports/${again.runId}/quarantine`, admin);
  assert.deepEqual(quarantine.json.rows.map((r: { field: string; action: string; value: string }) => [r.field, r.action, r.value]).sort(), [
    ['identities.phone', 'identifier withheld', ''],
    ['identities.unionid', 'identifier withheld', ''],
  ]);
  const person = await personOfOrder('D9');
  assert.ok(person > 0 && person !== zhao && person !== qian, `D9 is a new person (${person})`);
  const identities = await stores.facts.query<{ n: string }>(
    `SELECT count() AS n FROM person_identities FINAL WHERE workspace_id = {ws:String} AND value IN ('+8613811112222', 'oU-zhao')`,
    { ws: ws.id },
  );
  assert.equal(Number(identities[0].n), 0);
  // Nor by tracking: the phone sent again links to no one.
  assert.equal(
    (await callApi(base, 'POST', '/api/v1/track', operator, { event: 'Viewed', messageId: 'z-again', anonymousId: 'new-device', identities: { phone: '13811112222' } })).status,
    200,
  );
  await resolveSerially(stores, { workspaceId: ws.id });
  assert.equal(
    Number(
      (await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM person_identities FINAL WHERE workspace_id = {ws:String} AND value = '+8613811112222'`, { ws: ws.id }))[0]
        .n,
    ),
    0,
  );
  // The same order imported again keeps its place among the counts, but not the name it carries.
  const sameOrder = await runImport(stores, {
    workspace: ws,
    kind: 'orders',
    source: 'tmall',
    files: [
      csv('same.csv', [
        'order_id,ordered_at,amount,status,phone,name,address,sku,quantity,line_amount',
        'Z2,2026-11-01 10:00:00,200.00,completed,13811112222,赵敏,杭州市西湖区文三路88号,S2,2,200.00',
      ]),
    ],
  });
  assert.equal(sameOrder.rowsRead, 1);
  assert.equal(await personOfOrder('Z2'), zhao);
  // Nothing kept the phone: not the imports, nor the tracked event (erasure-tracking.test.ts).
  assert.deepEqual(await findAnywhere(['文三路88号', '赵敏', '13811112222']), []);
});

test('a person’s data as JSON: complete, admins only, recorded; the CLI exports and erases too', async () => {
  assert.equal((await callApi(base, 'GET', `/api/v1/people/${qian}/export`, operator)).status, 403);
  const exported = await callApi(base, 'GET', `/api/v1/people/${qian}/export`, admin);
  assert.equal(exported.status, 200, exported.text);
  const data = exported.json;
  assert.equal(data.personId, qian);
  assert.deepEqual(
    data.identifiers.map((i: { type: string; value: string }) => `${i.type}:${i.value}`).sort(),
    ['device_id:qian-device', 'email:qian@example.com', 'member_no:M-QIAN-1', 'phone:+8613933334444', 'unionid:oU-qian'].sort(),
  );
  assert.deepEqual(data.records.map((r: { source: string; kind: string }) => `${r.source}:${r.kind}`).sort(), ['crm:member', 'sdk:identity', 'tmall:order']);
  assert.ok(data.records.some((r: { address: string }) => r.address === '上海市静安区南京西路1号'));
  assert.deepEqual(
    data.orders.map((o: { orderId: string; amount: number; lines: unknown[] }) => [o.orderId, o.amount, o.lines.length]),
    [['Q1', 150, 1]],
  );
  assert.deepEqual(
    data.events.map((e: { event: string; properties: unknown }) => [e.event, e.properties]),
    [['Order Completed', { revenue: 150, sku: 'S1' }]],
  );
  assert.deepEqual(
    data.notes.map((n: { text: string }) => n.text),
    ['钱多多 喜欢燕窝'],
  );
  assert.deepEqual(
    data.tasks.map((t: { title: string }) => t.title),
    ['回访 钱多多'],
  );
  assert.deepEqual(
    data.consents.map((c: { channel: string; status: string }) => [c.channel, c.status]),
    [['sms', 'granted']],
  );
  assert.deepEqual(
    data.deliveries.map((d: { address: string }) => d.address),
    ['+8613933334444'],
  );
  assert.match(exported.text, /钱多多/);
  const audit = await callApi(base, 'GET', '/api/v1/audit?limit=50', admin);
  assert.ok(audit.json.entries.some((e: { action: string; target: string }) => e.action === 'person.export' && e.target === `person:${qian}`));

  // The CLI, on its own data directory.
  const env = { SIYU_DATA_DIR: tempDir(), SIYU_DEMO_PEOPLE: '0' };
  const slug = uniqueSlug('rights-cli');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'r'], env)).code, 0);
  const file = csv('cli.csv', ['order_id,ordered_at,amount,phone,name,sku,quantity,line_amount', 'C1,2026-11-01 10:00:00,88.00,13755556666,孙丽,S1,1,88.00']);
  assert.equal((await runCli(['import', 'orders', file, '--source', 'tmall', '-w', slug], env)).code, 0);
  const id = /^\s*(\d+)\s+孙丽/m.exec((await runCli(['people', 'search', '13755556666', '-w', slug], env)).stdout)?.[1];
  assert.ok(id);
  const out = path.join(dir, 'sun.json');
  const exportCli = await runCli(['people', 'export', id!, '--out', out, '-w', slug], env);
  assert.equal(exportCli.code, 0, exportCli.stderr);
  assert.equal(JSON.parse(fs.readFileSync(out, 'utf8')).records[0].name, '孙丽');
  const noReason = await runCli(['people', 'erase', id!, '-w', slug], env);
  assert.notEqual(noReason.code, 0);
  assert.match(noReason.stderr, /--reason/);
  const erase = await runCli(['people', 'erase', id!, '--reason', 'customer request by email', '-w', slug], env);
  assert.equal(erase.code, 0, erase.stderr);
  assert.match(erase.stdout, /erased person \d+/);
  assert.match((await runCli(['people', 'search', '13755556666', '-w', slug], env)).stdout, /^0 people/);
});
