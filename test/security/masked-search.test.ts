/**
 * A role that sees phones masked (138****0001) must not unmask them through search: typing a full
 * phone and reading which person comes back would tell it the number. It finds people by a part of
 * a name, the person id or the last 4 digits; a full identifier only with a reason, audited and
 * limited per hour.
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
import { MASKED_LOOKUPS_PER_HOUR } from '../../src/people/people.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;
let analyst: string;
let wang = 0;

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('masked'), name: 'masked' });
  const keys = new ApiKeyService(stores.state);
  admin = (await keys.create(ws.id, 'root', 'admin')).token;
  analyst = (await keys.create(ws.id, 'analysis', 'analyst')).token;
  ({ app, base } = await startTestServer(stores));
  const file = path.join(tempDir(), 'orders.csv');
  fs.writeFileSync(
    file,
    [
      'order_id,ordered_at,amount,phone,email,unionid,name,sku,quantity,line_amount',
      'M1,2026-11-01 10:00:00,10.00,13812345678,wang@example.com,oU-wang,王静,S1,1,10.00',
      'M2,2026-11-01 11:00:00,20.00,13900005678,,,李娜,S1,1,20.00',
      '',
    ].join('\n'),
  );
  await runImport(stores, { workspace: ws, kind: 'orders', files: [file], source: 'tmall' });
  wang = Number((await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM orders FINAL WHERE workspace_id = {ws:String} AND order_id = 'M1'`, { ws: ws.id }))[0].p);
});
after(async () => {
  await app.close();
  await stores.close();
});

const search = (token: string, query: string) => callApi(base, 'GET', `/api/v1/people?${query}`, token);
const ids = (response: { json: { people: Array<{ personId: number }> } }) => response.json.people.map((p) => p.personId);

test('a masked role cannot learn a full phone or email from search hits; name, id and last four digits still find people', async () => {
  // The admin (clear view) finds by the full phone as before.
  assert.deepEqual(ids(await search(admin, 'q=138%201234%205678')), [wang]);
  for (const q of ['13812345678', '138-1234-5678', '%2B8613812345678', 'wang%40example.com', '008613812345678']) {
    const refused = await search(analyst, `q=${q}`);
    assert.equal(refused.status, 403, `${q}: ${refused.text}`);
    assert.match(refused.json.error.message, /^q: your role sees phones and emails masked/);
    assert.equal(refused.json.people, undefined);
  }
  // The same answer for a phone nobody has: the refusal depends on the text only.
  const nobody = await search(analyst, 'q=13700000000');
  assert.equal(nobody.status, 403);
  // Other identifiers typed in full are not matched either (they are not names).
  assert.deepEqual(ids(await search(analyst, 'q=oU-wang')), []);
  // What the masked view shows anyway: a part of a name, the id, the last four digits.
  assert.deepEqual(ids(await search(analyst, `q=${encodeURIComponent('王')}`)), [wang]);
  assert.deepEqual(ids(await search(analyst, `q=${wang}`)), [wang]);
  const lastFour = await search(analyst, 'q=5678');
  assert.equal(lastFour.status, 200, lastFour.text);
  assert.equal(lastFour.json.people.length, 2, 'both phones end in 5678');
  assert.ok(
    lastFour.json.people.every((p: { identifiers: Array<{ value: string }> }) => p.identifiers.every((i) => !i.value.includes('12345678'))),
    lastFour.text,
  );
});

test('with a reason a masked role looks up a full phone: recorded without the number, and limited per hour', async () => {
  const shortReason = await search(analyst, 'q=13812345678&reason=x');
  assert.equal(shortReason.status, 400);
  assert.match(shortReason.json.error.message, /reason/);
  const found = await search(analyst, `q=13812345678&reason=${encodeURIComponent('客户来电核实订单 #M1')}`);
  assert.equal(found.status, 200, found.text);
  assert.deepEqual(ids(found), [wang]);
  assert.equal(found.json.people[0].identifiers.find((i: { type: string }) => i.type === 'phone').value, '+86138****5678');
  const audit = await callApi(base, 'GET', '/api/v1/audit?limit=100', admin);
  const lookups = audit.json.entries.filter((e: { action: string }) => e.action === 'people.lookup');
  assert.equal(lookups.length, 1);
  assert.equal(lookups[0].details.reason, '客户来电核实订单 #M1');
  assert.ok(!audit.text.includes('12345678'), 'the audit log keeps the lookup masked');
  for (let i = 1; i < MASKED_LOOKUPS_PER_HOUR; i++) assert.equal((await search(analyst, 'q=13900005678&reason=callback%20check')).status, 200);
  const limited = await search(analyst, 'q=13900005678&reason=callback%20check');
  assert.equal(limited.status, 429, limited.text);
  assert.ok((await callApi(base, 'GET', '/api/v1/audit?limit=100', admin)).json.entries.some((e: { action: string }) => e.action === 'people.lookup_refused'));
  // The admin is not limited.
  assert.deepEqual(ids(await search(admin, 'q=13812345678')), [wang]);
});
