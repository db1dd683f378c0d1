/**
 * User text and SQL: everywhere a client's text meets a query it is either a bound parameter or
 * checked at the edge against a safe set of names. Bound text is proved by meaning (a hostile event
 * property name, SKU or source finds exactly the rows that carry it, and nothing breaks); names that
 * become SQL identifiers (profile fields, statistic fields, identifier types, tag and segment keys,
 * export types) are refused by name when they are anything else.
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

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;

const HOSTILE = ["x') OR 1=1 --", "' OR '1'='1", "\\' OR 1=1 #", '\\', '{ws:String}', '%VALUE%', '$& $`', '"; DROP TABLE events; --', 'a\nb # c', '中文🙂'];

before(async () => {
  ({ stores } = await openTestStores());
  ({ app, base } = await startTestServer(stores, { maxDelayMs: 5, resolveAfterMs: 0 }));
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('sqltext'), name: 'sqltext' });
  admin = (await new ApiKeyService(stores.state).create(ws.id, 'root', 'admin')).token;
  // One person per hostile text: it is their SKU, their order's source, and an event property's name and value.
  const today = new Date().toISOString().slice(0, 10);
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  const lines = HOSTILE.map((h, i) => `Q${i},${today} 10:00:00,10,M${i},${quote(h)},10`);
  const file = path.join(tempDir(), 'orders.csv');
  fs.writeFileSync(file, ['order_id,ordered_at,amount,member_no,sku,line_amount', ...lines, ''].join('\n'));
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'shop', files: [file] });
  const sourced = path.join(tempDir(), 'sourced.csv');
  fs.writeFileSync(sourced, ['order_id,ordered_at,amount,member_no', `S0,${today} 11:00:00,5,M0`, ''].join('\n'));
  await runImport(stores, { workspace: ws, kind: 'orders', source: "tm'all --", files: [sourced] });
  const batch = HOSTILE.map((h, i) => ({ type: 'track', event: h, messageId: `m${i}`, userId: `M${i}`, identities: { member_no: `M${i}` }, properties: { [h]: h } }));
  const sent = await callApi(base, 'POST', '/api/v1/batch', admin, { batch });
  assert.equal(sent.status, 200, sent.text);
  // The events' people: their member numbers are resolved to the people of the orders.
  assert.equal((await callApi(base, 'POST', '/api/v1/identities/resolve', admin, {})).status, 200);
});
after(async () => {
  await app.close();
  await stores.close();
});

const count = async (conditions: unknown[]): Promise<number> => {
  const response = await callApi(base, 'POST', '/api/v1/segments/count', admin, { conditions });
  assert.equal(response.status, 200, response.text);
  return response.json.exact.people;
};

test('bound, hostile text finds exactly what carries it: event names, property names and values, SKUs, sources, searches', async () => {
  for (const h of HOSTILE) {
    const window = { days: 30 };
    assert.equal(await count([{ type: 'event', event: h, window }]), 1, `event named ${JSON.stringify(h)}`);
    assert.equal(await count([{ type: 'event', event: h, where: [{ property: h, op: 'eq', value: h }], window }]), 1, `property ${JSON.stringify(h)}`);
    assert.equal(await count([{ type: 'event', event: h, where: [{ property: h, op: 'contains', value: h.slice(0, 2) }], window }]), 1);
    assert.equal(await count([{ type: 'event', event: h, where: [{ property: `${h}x`, op: 'exists' }], window }]), 0, 'a name that is a prefix-extension matches nothing');
    assert.equal(await count([{ type: 'orders', skus: [h] }]), 1, `SKU ${JSON.stringify(h)}`);
    const search = await callApi(base, 'GET', `/api/v1/people?q=${encodeURIComponent(h)}`, admin);
    assert.equal(search.status, 200, search.text);
  }
  assert.equal(await count([{ type: 'orders', sources: ["tm'all --"] }]), 1);
  assert.equal(await count([{ type: 'orders', sources: ["x' OR 1=1 --"] }]), 0);
  assert.equal(await count([{ type: 'sample', percent: 100, salt: "'; SELECT 1 --" }]), HOSTILE.length);
});

test('names that become SQL identifiers are refused at the edge unless they are one of ours or match a safe pattern', async () => {
  const refused = async (method: string, route: string, body: unknown, field: RegExp) => {
    const response = await callApi(base, method, route, admin, body);
    assert.equal(response.status, 400, `${method} ${route} ${JSON.stringify(body)}: ${response.text}`);
    assert.match(response.json.error.message, field);
  };
  // A profile field is a column: only the known fields.
  await refused('POST', '/api/v1/segments/count', { conditions: [{ type: 'profile', field: "city') OR 1=1 --", op: 'exists' }] }, /^body\.conditions\[0\]\.field/);
  await refused('POST', '/api/v1/segments/count', { conditions: [{ type: 'profile', field: 'constructor', op: 'exists' }] }, /^body\.conditions\[0\]\.field/);
  // A statistic's field is a column: own keys of the known fields only (not constructor, toString …).
  for (const field of ['constructor', '__proto__', 'toString', 'amount) FROM orders --']) {
    await refused('POST', '/api/v1/tags', { key: 'spend_x', name: { zh: 'x', en: 'x' }, kind: 'statistic', of: 'purchases', measure: 'max', field }, /^body\.field/);
  }
  // Identifier types, tag keys and segment keys: lower-case letters, digits and _.
  await refused(
    'POST',
    '/api/v1/identifier-types',
    { name: "card' OR 1=1", label: 'x', priority: 1, singleValued: true, maxPeoplePerValue: 1, normaliser: 'trim', strong: true },
    /^body\.name/,
  );
  await refused('POST', '/api/v1/segments/count', { conditions: [{ type: 'identifier', identifierType: "phone' --" }] }, /^body\.conditions\[0\]\.identifierType/);
  await refused('POST', '/api/v1/segments/count', { conditions: [{ type: 'tag', tag: "vip'--", op: 'exists' }] }, /^body\.conditions\[0\]\.tag/);
  await refused('POST', '/api/v1/segments', { key: "a'b", name: { zh: 'x', en: 'x' }, conditions: [{ type: 'orders' }] }, /^body\.key/);
  await refused('POST', '/api/v1/tags', { key: "vip'--", name: { zh: 'x', en: 'x' }, kind: 'manual' }, /^body\.key/);
  assert.equal((await callApi(base, 'POST', '/api/v1/segments', admin, { key: 'all_buyers', name: { zh: 'x', en: 'x' }, conditions: [{ type: 'orders' }] })).status, 201);
  const exported = await callApi(base, 'GET', `/api/v1/segments/all_buyers/export?type=${encodeURIComponent("phone' --")}`, admin);
  assert.equal(exported.status, 400);
  assert.match(exported.json.error.message, /^querystring\.type/);
});
