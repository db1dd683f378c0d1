import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, workspaceWithKeys, runCli, startTestServer, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import type { Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { runImport } from '../src/ingest/importer.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let operator: string;
let analyst: string;

before(async () => {
  ({ stores } = await openTestStores());
  ({ ws, operator, analyst } = await workspaceWithKeys(stores, 'tags-api'));
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  const file = path.join(tempDir(), 'orders.csv');
  fs.writeFileSync(file, 'order_id,ordered_at,amount,member_no\nq1,2026-06-01 10:00,120,Q1\nq2,2026-06-20 10:00,300,Q1\nq3,2026-06-21 10:00,40,Q2\n');
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [file] });
});
after(async () => {
  await app.close();
  await stores.close();
});

const call = (method: string, route: string, token: string, body?: unknown) => callApi(base, method, route, token, body);

const spend = { key: 'spend_total', name: { zh: '累计消费', en: 'Total spend' }, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' };

test('tags over HTTP: define, run, coverage, a person’s tags; checks name the field; roles apply', async () => {
  const created = await call('POST', '/api/v1/tags', operator, spend);
  assert.equal(created.status, 201);
  assert.equal(created.json.tag.valueType, 'number');
  assert.equal((await call('POST', '/api/v1/tags', operator, spend)).status, 409, 'a tag is created once');
  assert.equal((await call('POST', '/api/v1/tags', analyst, { ...spend, key: 'other' })).status, 403);
  const bad = await call('POST', '/api/v1/tags', operator, { ...spend, key: 'bad_one', field: 'source' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^body\.field: sum needs a numeric field/);
  const mismatch = await call('PUT', '/api/v1/tags/spend_total', operator, { ...spend, key: 'spend_other' });
  assert.equal(mismatch.status, 400);

  const missing = await call('POST', '/api/v1/tags/run', operator, { baseDate: '2026-06-30', keys: ['no_such_tag'] });
  assert.equal(missing.status, 404, missing.text);
  assert.match(missing.json.error.message, /no tag "no_such_tag"/);
  const run = await call('POST', '/api/v1/tags/run', operator, { baseDate: '2026-06-30' });
  assert.equal(run.status, 200);
  assert.deepEqual(
    run.json.runs.map((r: { key: string; status: string; people: number }) => [r.key, r.status, r.people]),
    [['spend_total', 'completed', 2]],
  );

  const shown = await call('GET', '/api/v1/tags/spend_total', analyst);
  assert.equal(shown.status, 200);
  assert.equal(shown.json.coverage.people, 2);
  assert.equal(shown.json.coverage.baseDate, '2026-06-30');
  assert.deepEqual(shown.json.coverage.values.map((v: { value: string }) => v.value).sort(), ['40', '420']);
  assert.equal(shown.json.runs[0].status, 'completed');

  const [q1] = await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM person_identities FINAL WHERE workspace_id = {ws:String} AND value = 'Q1'`, { ws: ws.id });
  const person = await call('GET', `/api/v1/people/${q1.p}/tags`, analyst);
  assert.deepEqual(
    person.json.tags.map((t: { key: string; value: unknown; baseDate: string }) => [t.key, t.value, t.baseDate]),
    [['spend_total', 420, '2026-06-30']],
  );
  assert.deepEqual((await call('GET', `/api/v1/people/${q1.p}/tags?asOf=2026-06-29`, analyst)).json.tags, [], 'no run yet as of the day before');

  // An import over HTTP computes the tags again once it is in.
  const posted = await fetch(`${base}/api/v1/imports?kind=orders&source=erp&filename=more.csv`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'text/csv' },
    body: 'order_id,ordered_at,amount,member_no\nq4,2026-06-22 10:00,5,Q3\n',
  });
  assert.equal(posted.status, 202);
  let triggers: string[] = [];
  // The import and the tag run after it happen in the background: wait for them (up to a minute on a loaded machine).
  for (let i = 0; i < 1200 && !triggers.includes('import'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    triggers = (await call('GET', '/api/v1/tags/spend_total', analyst)).json.runs.map((r: { trigger: string }) => r.trigger);
  }
  assert.ok(triggers.includes('import'), `a run triggered by the import (runs: ${triggers.join(', ')})`);
});

test('siyu tags define / run / show and siyu people show', async () => {
  const dir = tempDir();
  const env = { SIYU_DATA_DIR: dir, SIYU_DEMO_PEOPLE: '0' };
  // A unique slug, named in every command: on a PostgreSQL server other suites' workspaces exist too.
  const slug = uniqueSlug('tagcli');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'x'], env)).code, 0);
  const orders = path.join(dir, 'o.csv');
  fs.writeFileSync(orders, 'order_id,ordered_at,amount,member_no\nz1,2026-06-10 10:00,80,Z1\nz2,2026-06-11 10:00,500,Z2\n');
  assert.equal((await runCli(['import', 'orders', orders, '--source', 'erp', '-w', slug], env)).code, 0);
  const defs = path.join(dir, 'tags.json');
  fs.writeFileSync(
    defs,
    JSON.stringify([
      {
        ...spend,
        key: 'spend_tier',
        buckets: [
          { label: '低', to: 100 },
          { label: '高', from: 100 },
        ],
      },
    ]),
  );
  const defined = await runCli(['tags', 'define', defs, '-w', slug], env);
  assert.equal(defined.code, 0, defined.stderr);
  assert.match(defined.stdout, /tag spend_tier \(累计消费 \/ Total spend\): statistic, string/);
  const ran = await runCli(['tags', 'run', '--date', '2026-06-30', '-w', slug], env);
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /spend_tier\s+completed\s+2/);
  const shown = await runCli(['tags', 'show', 'spend_tier', '-w', slug], env);
  assert.match(shown.stdout, /values of the run for 2026-06-30: 2 people/);
  assert.match(shown.stdout, /高\s+1\s+50\.0%/);
  // Z1's person id, from the identities export (this process may not open that data directory).
  const exported = path.join(dir, 'ids.csv');
  assert.equal((await runCli(['identities', 'export', '--out', exported, '-w', slug], env)).code, 0);
  const z1 = {
    p: fs
      .readFileSync(exported, 'utf8')
      .split('\n')
      .find((line) => line.endsWith(',member_no,Z1'))!
      .split(',')[0],
  };
  const person = await runCli(['people', 'show', z1.p, '-w', slug], env);
  assert.match(person.stdout, /spend_tier\s+累计消费\s+低\s+2026-06-30/, 'Z1 spent 80');
  // An import computes the workspace's tags again, for today.
  const more = path.join(dir, 'more.csv');
  fs.writeFileSync(more, 'order_id,ordered_at,amount,member_no\nz3,2026-06-12 10:00,30,Z3\n');
  const imported = await runCli(['import', 'orders', more, '--source', 'erp', '-w', slug], env);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /tags: 1 computed for today/);
  assert.match((await runCli(['tags', 'show', 'spend_tier', '-w', slug], env)).stdout, /\bimport\s+completed\s+3\b/);
  // A manual tag, set by hand and shown with who set it.
  fs.writeFileSync(defs, JSON.stringify({ key: 'vip_note', name: { zh: '导购备注', en: 'Staff note' }, kind: 'manual' }));
  assert.equal((await runCli(['tags', 'define', defs, '-w', slug], env)).code, 0);
  const set = await runCli(['tags', 'set', 'vip_note', z1.p, '爱喝即食', '--by', '王导购', '-w', slug], env);
  assert.equal(set.code, 0, set.stderr);
  assert.match((await runCli(['people', 'show', z1.p, '-w', slug], env)).stdout, /vip_note\s+导购备注\s+爱喝即食\s+\S+\s+王导购 \d{4}-\d{2}-\d{2}/);
  fs.writeFileSync(defs, JSON.stringify({ ...spend, key: 'x', measure: 'avg', field: 'source' }));
  const refused = await runCli(['tags', 'define', defs, '-w', slug], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /key: lower-case letters.*; field: avg needs a numeric field/);
});

test('manual tags: set and removed on a person, with who and when; values are checked', async () => {
  const staff = (await new ApiKeyService(stores.state).create(ws.id, 'guide', 'staff')).token;
  const defined = await call('POST', '/api/v1/tags', operator, { key: 'gift_pref', name: { zh: '礼盒偏好', en: 'Gift preference' }, kind: 'manual', options: ['自用', '送礼'] });
  assert.equal(defined.status, 201);
  const [q1] = await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM person_identities FINAL WHERE workspace_id = {ws:String} AND value = 'Q1'`, { ws: ws.id });
  // A staff key belongs to no guide and sees nobody; staff users set tags on their own customers (test/scopes.test.ts).
  assert.equal((await call('PUT', `/api/v1/people/${q1.p}/tags/gift_pref`, staff, { value: '送礼' })).status, 404);
  const set = await call('PUT', `/api/v1/people/${q1.p}/tags/gift_pref`, operator, { value: '送礼' });
  assert.equal(set.status, 200);
  const tags = (await call('GET', `/api/v1/people/${q1.p}/tags`, analyst)).json.tags as Array<{ key: string; value: unknown; setBy?: string; setAt?: string }>;
  const gift = tags.find((t) => t.key === 'gift_pref')!;
  assert.equal(gift.value, '送礼');
  assert.match(gift.setBy!, /^api:/);
  assert.ok(Date.now() - Date.parse(gift.setAt!) < 60_000);
  const refused = await call('PUT', `/api/v1/people/${q1.p}/tags/gift_pref`, operator, { value: '自己吃' });
  assert.equal(refused.status, 400);
  assert.match(refused.json.error.message, /value: tag "gift_pref" takes one of 自用, 送礼; got 自己吃/);
  assert.equal((await call('PUT', `/api/v1/people/${q1.p}/tags/spend_total`, operator, { value: '1' })).status, 409, 'computed tags are not set by hand');
  assert.equal((await call('PUT', `/api/v1/people/${q1.p}/tags/gift_pref`, analyst, { value: '送礼' })).status, 403);
  assert.equal((await call('DELETE', `/api/v1/people/${q1.p}/tags/gift_pref`, operator)).status, 200);
  const after = (await call('GET', `/api/v1/people/${q1.p}/tags`, analyst)).json.tags as Array<{ key: string }>;
  assert.ok(!after.some((t) => t.key === 'gift_pref'), 'removed: the published tag has no value for them');
});

test('imported tags over HTTP: the body is the file; bad rows come back with row, field and what was expected; analysts cannot upload', async () => {
  const tag = { key: 'vip_note', name: { zh: '贵宾备注', en: 'VIP note' }, kind: 'imported', identifierType: 'member_no' };
  assert.equal((await call('POST', '/api/v1/tags', operator, tag)).status, 201);
  const upload = (token: string, text: string) =>
    fetch(`${base}/api/v1/tags/vip_note/file`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: text });
  assert.equal((await upload(analyst, 'member,note\nQ1,x\n')).status, 403);
  const response = await upload(operator, 'member,note\nQ1,金卡候选\nQ2,\nQ9,无此人\n');
  assert.equal(response.status, 200);
  const body = (await response.json()) as any;
  assert.deepEqual([body.import.accepted, body.import.rejected], [2, 1]);
  assert.deepEqual(body.import.rejections[0], { row: 3, field: 'value', value: '', expected: 'tag "vip_note" takes a non-empty text; got ""' });
  assert.equal(body.run.status, 'completed');
  assert.equal(body.run.people, 1);
  const notImported = await fetch(`${base}/api/v1/tags/spend_total/file`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'text/csv' },
    body: 'a,b\n1,2\n',
  });
  assert.equal(notImported.status, 409);
});

test('SQL tags over HTTP: a query outside the sandbox is refused when saved, naming the query and the reason', async () => {
  const tag = { key: 'sql_peek', name: { zh: '越权', en: 'Peek' }, kind: 'sql', query: 'SELECT person_id, 1 AS value FROM person_identities' };
  const refused = await call('POST', '/api/v1/tags', operator, tag);
  assert.equal(refused.status, 400);
  assert.match(refused.json.error.message, /^query: table person_identities is not readable from a SQL tag/);
});

test('ready packs over HTTP: listed for anyone, installed by operators; installing again keeps the workspace’s own versions', async () => {
  const packs = await call('GET', '/api/v1/tags/packs', analyst);
  assert.equal(packs.status, 200);
  const retail = packs.json.packs.find((p: { name: string }) => p.name === 'retail');
  assert.ok(retail.tags.length >= 60);
  assert.ok(retail.tags.every((t: { name: { zh: string; en: string } }) => t.name.zh && t.name.en));
  assert.equal((await call('POST', '/api/v1/tags/packs/retail', analyst, {})).status, 403);
  assert.equal((await call('POST', '/api/v1/tags/packs/nope', operator, {})).status, 404);
  const installed = await call('POST', '/api/v1/tags/packs/retail', operator, {});
  assert.equal(installed.status, 200);
  // spend_total was defined by an earlier test: it is kept.
  assert.ok(installed.json.kept.includes('spend_total'));
  assert.equal(installed.json.installed.length + installed.json.kept.length, retail.tags.length);
  const again = await call('POST', '/api/v1/tags/packs/retail', operator, { replace: true });
  assert.equal(again.json.replaced.length, retail.tags.length);
});
