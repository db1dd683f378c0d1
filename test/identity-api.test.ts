import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { runImport } from '../src/ingest/importer.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;
let operator: string;
let analyst: string;

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('oneid-api'), name: 'oneid' });
  const keys = new ApiKeyService(stores.state);
  admin = (await keys.create(ws.id, 'owner', 'admin')).token;
  operator = (await keys.create(ws.id, 'ops', 'operator')).token;
  analyst = (await keys.create(ws.id, 'bi', 'analyst')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  const file = path.join(tempDir(), 'people.csv');
  fs.writeFileSync(
    file,
    ['record_id,source,phone,unionid,email,name', 'a1,crm,13800000001,oU-a,,王静', 'a2,jd,138 0000 0001,,a@example.com,王静', 'b1,crm,13900000002,oU-b,,李娜', ''].join('\n'),
  );
  await runImport(stores, { workspace: ws, kind: 'records', files: [file], resolve: false });
});
after(async () => {
  await app.close();
  await stores.close();
});

const call = (method: string, route: string, token: string, body?: unknown) => callApi(base, method, route, token, body);

async function personOf(recordId: string): Promise<number> {
  const [row] = await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM source_records FINAL WHERE workspace_id = {ws:String} AND record_id = {r:String}`, {
    ws: ws.id,
    r: recordId,
  });
  return Number(row.p);
}

test('resolve over HTTP; explain shows identifiers to operators and masks them for analysts', async () => {
  const resolved = await call('POST', '/api/v1/identities/resolve', operator, {});
  assert.equal(resolved.status, 200, resolved.text);
  assert.equal(resolved.json.summary.records, 3);
  assert.equal(resolved.json.summary.people, 2);
  const person = await personOf('a1');
  assert.equal(person, await personOf('a2'));

  const full = await call('GET', `/api/v1/people/${person}/explain`, operator);
  assert.equal(full.status, 200);
  assert.equal(full.json.masked, false);
  assert.deepEqual(full.json.links, [{ type: 'phone', value: '+8613800000001', records: ['crm:record:a1', 'jd:record:a2'] }]);
  const masked = await call('GET', `/api/v1/people/${person}/explain`, analyst);
  assert.equal(masked.json.masked, true);
  assert.ok(!masked.text.includes('13800000001') && !masked.text.includes('a@example.com') && !masked.text.includes('王静'), masked.text);
  assert.equal(masked.json.links[0].value, '+86138****0001');

  assert.equal((await call('GET', '/api/v1/people/999999/explain', operator)).status, 404);
  assert.equal((await call('GET', '/api/v1/people/abc/explain', operator)).status, 400);
});

test('unbind and unmerge over HTTP are for operators; analysts are refused', async () => {
  const person = await personOf('a1');
  const refused = await call('POST', `/api/v1/people/${person}/unbind`, analyst, { type: 'phone', value: '13800000001' });
  assert.equal(refused.status, 403);
  const missing = await call('POST', `/api/v1/people/${person}/unbind`, operator, { type: 'phone' });
  assert.equal(missing.status, 400);
  assert.match(missing.json.error.message, /^body\.value: /);
  const unbound = await call('POST', `/api/v1/people/${person}/unbind`, operator, { type: 'phone', value: '138-0000-0001' });
  assert.equal(unbound.status, 200, unbound.text);
  assert.notEqual(await personOf('a1'), await personOf('a2'), 'the phone no longer joins them');
  const unmerge = await call('POST', `/api/v1/people/${await personOf('b1')}/unmerge`, operator);
  assert.equal(unmerge.status, 404, 'a person who never merged has nothing to undo');
  assert.match(unmerge.json.error.message, /has no merge to undo/);
});

test('identifier types, reviews and exports over HTTP', async () => {
  const types = await call('GET', '/api/v1/identifier-types', analyst);
  assert.equal(types.status, 200);
  assert.equal(types.json.types[0].name, 'unionid');
  const declared = await call('POST', '/api/v1/identifier-types', admin, {
    name: 'loyalty_card',
    label: 'Loyalty card',
    priority: 50,
    singleValued: true,
    maxPeoplePerValue: 1,
    normaliser: 'trim',
    strong: true,
  });
  assert.equal(declared.status, 200, declared.text);
  assert.equal((await call('POST', '/api/v1/identifier-types', operator, { name: 'x' })).status, 403);

  const reviews = await call('GET', '/api/v1/identities/reviews?status=pending', analyst);
  assert.equal(reviews.status, 200);
  assert.ok(Array.isArray(reviews.json.reviews));
  assert.equal((await call('POST', '/api/v1/identities/reviews/424242', operator, { decision: 'accept' })).status, 404);

  const records = await call('GET', '/api/v1/records/export', operator);
  assert.equal(records.status, 200);
  const lines = records.text.trim().split('\n');
  assert.equal(lines[0], 'source,record_id,person_id');
  assert.equal(lines.length, 4);
  const identities = await call('GET', '/api/v1/identities/export', operator);
  assert.equal(identities.text.split('\n')[0], 'person_id,type,value');
  assert.ok(identities.text.includes(',unionid,oU-a'));
  assert.equal((await call('GET', '/api/v1/identities/export', analyst)).status, 403, 'raw identifiers are not for analysts');
});

test('OneID settings: read by analysts, changed by admins, checked, audited', async () => {
  const read = await call('GET', '/api/v1/identities/settings', analyst);
  assert.equal(read.status, 200);
  assert.deepEqual(read.json.settings, { fuzzy: true, autoMerge: true, mergeAt: 0.99, reviewAt: 0.8, maxBlock: 40 });
  assert.equal((await call('PUT', '/api/v1/identities/settings', operator, { fuzzy: false })).status, 403);
  const bad = await call('PUT', '/api/v1/identities/settings', admin, { reviewAt: 0.999 });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /reviewAt: must be at most mergeAt/);
  const changed = await call('PUT', '/api/v1/identities/settings', admin, { autoMerge: false, reviewAt: 0.6 });
  assert.equal(changed.status, 200);
  assert.deepEqual(changed.json.settings, { fuzzy: true, autoMerge: false, mergeAt: 0.99, reviewAt: 0.6, maxBlock: 40 });
  assert.deepEqual((await call('GET', '/api/v1/identities/settings', analyst)).json.settings, changed.json.settings);
  const audit = await call('GET', '/api/v1/audit?action=oneid.settings', admin);
  assert.equal(audit.json.entries.length, 1);
});
