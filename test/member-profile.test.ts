/**
 * The one member profile (src/facts/member-profile.ts) across its readers: a person whose order
 * carries a birthday typed at checkout and whose member record carries another is, everywhere, the
 * member's birthday — in a plan's template, a segment's profile condition and a journey's date.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestStores, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveSegment, countSegment } from '../src/segments/segments.ts';
import { saveChannel } from '../src/channels/store.ts';
import { writeSecret } from '../src/secrets/secrets.ts';
import { savePlan } from '../src/plans/plans.ts';
import { previewPlan } from '../src/plans/preview.ts';
import { personView } from '../src/people/people.ts';

let stores: Stores;
let ws: Workspace;
let person: number;
const dir = tempDir();

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('profile'), name: 'profile' });
  // The member registered in 2020; the order, placed later, is the newer record and carries another birthday.
  const members = path.join(dir, 'members.csv');
  fs.writeFileSync(members, 'member_no,phone,name,birthday,registered_at,city\nM1,13900000001,林会员,1990-03-04,2020-01-02 10:00:00,杭州市\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [members] });
  const orders = path.join(dir, 'orders.csv');
  fs.writeFileSync(orders, 'order_id,ordered_at,amount,phone,name,birthday\nO1,2026-11-01 12:00:00,99,13900000001,林买家,1985-12-25\n');
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'shop', files: [orders] });
  const [row] = await stores.facts.query<{ person_id: string }>(
    `SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = 'M1'`,
    { ws: ws.id },
  );
  person = Number(row.person_id);
  const [records] = await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64}`, {
    ws: ws.id,
    p: person,
  });
  assert.equal(Number(records.n), 2, 'the member and the order are one person');
  // Read over every record (as templates once did), the newer order's birthday would win.
  const [anyRecord] = await stores.facts.query<{ b: string }>(
    `SELECT argMaxIf(birthday, seen_at, birthday != '') AS b FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64}`,
    { ws: ws.id, p: person },
  );
  assert.equal(anyRecord.b, '1985-12-25');
});
after(async () => {
  await stores.close();
});

test("a plan's template reads the member's birthday, not the one an order carries", async () => {
  await saveSegment(stores, ws.id, { key: 'everyone_here', name: { zh: '全部', en: 'All' }, conditions: [{ type: 'identifier', identifierType: 'phone' }] });
  await writeSecret(stores, ws.id, 'profile_hook_secret', 'whsec_profile');
  await saveChannel(stores, ws.id, { key: 'hook', kind: 'webhook', address: 'phone', config: { url: 'https://hooks.example.com/siyu', secret: 'profile_hook_secret' } });
  await savePlan(stores, ws.id, {
    key: 'birthday_note',
    name: '生日',
    audience: { segment: 'everyone_here' },
    channel: 'hook',
    variants: [{ key: 'A', template: { text: '{{ person.name }} {{ person.birthday }} {{ person.city }}' } }],
  });
  const preview = await previewPlan(stores, ws.id, 'birthday_note', person);
  // The name is the latest any record gives (the buyer's); the birthday and city are the member file's.
  assert.equal(preview.variants[0].content.text, '林买家 1990-03-04 杭州市');
});

test("a segment's profile condition and the member profile agree", async () => {
  const count = async (value: string) => (await countSegment(stores, ws.id, { match: 'all', conditions: [{ type: 'profile', field: 'birthday', op: 'eq', value }] })).people;
  assert.equal(await count('1990-03-04'), 1);
  assert.equal(await count('1985-12-25'), 0);
});

test("the person view shows the member's birthday, and the name the newest record gives", async () => {
  const view = await personView(stores, { keyId: 'test', workspaceId: ws.id, role: 'admin' }, person);
  assert.equal(view.profile.birthday, '1990-03-04');
  assert.equal(view.profile.city, '杭州市');
  assert.equal(view.profile.name, '林买家');
});
