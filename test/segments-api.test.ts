import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, workspaceWithKeys, runCli, startTestServer, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import type { Workspace } from '../src/access/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveTag } from '../src/tags/store.ts';
import { runTags } from '../src/tags/engine.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let operator: string;
let analyst: string;

before(async () => {
  ({ stores } = await openTestStores());
  ({ ws, operator, analyst } = await workspaceWithKeys(stores, 'segments-api'));
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  const file = path.join(tempDir(), 'orders.csv');
  fs.writeFileSync(
    file,
    'order_id,ordered_at,amount,member_no,phone\nq1,2026-06-01 10:00,120,Q1,13900000001\nq2,2026-06-20 10:00,300,Q1,\nq3,2026-06-21 10:00,40,Q2,13900000002\n',
  );
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [file] });
  await saveTag(stores, ws.id, { key: 'spend_total', name: { zh: '累计消费', en: 'Spend' }, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' });
  await saveTag(stores, ws.id, {
    key: 'spend_band',
    name: { zh: '消费档', en: 'Band' },
    kind: 'statistic',
    of: 'purchases',
    measure: 'sum',
    field: 'amount',
    buckets: [
      { label: 'low', to: 100 },
      { label: 'high', from: 100 },
    ],
  });
  await saveTag(stores, ws.id, {
    key: 'orders_total',
    name: { zh: '订单数', en: 'Orders' },
    kind: 'statistic',
    of: 'purchases',
    measure: 'count',
    buckets: [
      { label: 'one', to: 2 },
      { label: 'repeat', from: 2 },
    ],
  });
  await runTags(stores, { workspaceId: ws.id, baseDate: '2026-06-30' });
  const events = path.join(tempDir(), 'events.jsonl');
  const tracked = (id: string, at: string) => JSON.stringify({ type: 'track', event: 'Added to Cart', messageId: id, timestamp: at, identities: { member_no: 'Q1' } });
  fs.writeFileSync(events, [tracked('c1', '2026-06-24T02:00:00Z'), tracked('c2', '2026-06-29T02:00:00Z')].join('\n') + '\n');
  await runImport(stores, { workspace: ws, kind: 'events', files: [events] });
});
after(async () => {
  await app.close();
  await stores.close();
});

const call = (method: string, route: string, token: string, body?: unknown) => callApi(base, method, route, token, body);
const bigSpenders = { key: 'big_spenders', name: { zh: '高消费', en: 'Big spenders' }, conditions: [{ type: 'tag', tag: 'spend_total', op: 'gte', value: 100 }] };

test('segments over HTTP: checks name the node, sizes while editing, samples masked by role, insights, snapshots, files in and out', async () => {
  const bad = await call('POST', '/api/v1/segments', operator, {
    ...bigSpenders,
    conditions: [...bigSpenders.conditions, { type: 'tag', tag: 'spend_total', op: 'exists' }, { type: 'event', event: 'x', window: { days: -1 } }],
  });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^body\.conditions\[2\]\.window\.days: must be a positive integer/);
  assert.equal((await call('POST', '/api/v1/segments', analyst, bigSpenders)).status, 403);
  assert.equal((await call('POST', '/api/v1/segments', operator, bigSpenders)).status, 201);
  assert.equal((await call('POST', '/api/v1/segments', operator, bigSpenders)).status, 409);

  const editing = await call('POST', '/api/v1/segments/count', analyst, { conditions: [{ type: 'identifier', identifierType: 'phone' }] });
  assert.equal(editing.status, 200);
  assert.equal(editing.json.exact.people, 2);
  assert.ok(editing.json.estimate.low <= 2 && editing.json.estimate.high >= 0);
  assert.equal((await call('GET', '/api/v1/segments/big_spenders/count', analyst)).json.exact.people, 1);

  const clear = await call('GET', '/api/v1/segments/big_spenders/sample', operator);
  const masked = await call('GET', '/api/v1/segments/big_spenders/sample', analyst);
  const phone = (r: { json: { people: Array<{ identifiers: Array<{ type: string; value: string }> }> } }) => r.json.people[0].identifiers.find((i) => i.type === 'phone')?.value;
  assert.deepEqual([phone(clear), phone(masked)], ['+8613900000001', '+86139****0001']);

  const insights = await call('GET', '/api/v1/segments/big_spenders/insights?tags=spend_band,spend_total', analyst);
  assert.equal(insights.status, 200);
  assert.deepEqual(
    insights.json.tags[0].values.map((v: { value: string; inside: number; base: number }) => [v.value, v.inside, v.base]),
    [
      ['high', 1, 1],
      ['low', 0, 1],
    ],
  );
  const cross = await call('GET', '/api/v1/segments/cross?rows=spend_band&columns=orders_total', analyst);
  const cells = cross.json.rows.flatMap((r: { value: string; cells: number[] }) => r.cells.map((n, i) => `${r.value}×${cross.json.columns[i]}=${n}`)).sort();
  assert.deepEqual(cells, ['high×one=0', 'high×repeat=1', 'low×one=1', 'low×repeat=0']);

  assert.equal((await call('POST', '/api/v1/segments/big_spenders/snapshots', analyst)).status, 403);
  assert.equal((await call('POST', '/api/v1/segments/big_spenders/snapshots', operator)).status, 201);
  assert.equal((await call('GET', '/api/v1/segments/big_spenders/snapshots/diff', analyst)).status, 404, 'one snapshot is not enough to compare');
  assert.equal((await call('POST', '/api/v1/segments/big_spenders/snapshots', operator)).status, 201);
  const diff = await call('GET', '/api/v1/segments/big_spenders/snapshots/diff', analyst);
  assert.deepEqual([diff.json.joined.people, diff.json.left.people], [0, 0]);

  assert.equal((await call('GET', '/api/v1/segments/big_spenders/export?type=phone', analyst)).status, 403);
  const exported = await fetch(`${base}/api/v1/segments/big_spenders/export?type=phone`, { headers: { authorization: `Bearer ${operator}` } });
  assert.equal(exported.headers.get('content-type'), 'text/csv; charset=utf-8');
  const [{ p }] = await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM person_identities FINAL WHERE workspace_id = {ws:String} AND value = 'Q1'`, { ws: ws.id });
  assert.equal(await exported.text(), `person_id,phone\n${p},+8613900000001\n`);

  const upload = await fetch(`${base}/api/v1/segments/vip/list?type=phone&zh=${encodeURIComponent('贵宾')}&en=VIP`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'text/csv' },
    body: 'phone\n13900000002\nnonsense\n13700000000\n',
  });
  assert.equal(upload.status, 200);
  const report = (await upload.json()) as { accepted: number; rejectedCount: number; unmatched: number; people: number };
  assert.deepEqual([report.accepted, report.rejectedCount, report.unmatched, report.people], [2, 1, 1, 1]);
  assert.equal((await call('GET', '/api/v1/segments/vip', analyst)).json.segment.name.zh, '贵宾');

  await call('POST', '/api/v1/segments', operator, { key: 'reads_vip', name: { zh: 'x', en: 'x' }, conditions: [{ type: 'segment', segment: 'vip' }] });
  assert.equal((await call('DELETE', '/api/v1/segments/vip', operator)).status, 409, 'another segment reads it');
  assert.equal((await call('DELETE', '/api/v1/segments/reads_vip', operator)).status, 204);
  assert.equal((await call('DELETE', '/api/v1/segments/vip', operator)).status, 204);
  assert.deepEqual(
    (await call('GET', '/api/v1/segments', analyst)).json.segments.map((s: { key: string }) => s.key),
    ['big_spenders'],
  );
});

test('the behaviour index over HTTP: status, a build by a writer, the weeks it rebuilt', async () => {
  const carted = { conditions: [{ type: 'event', event: 'Added to Cart', count: { min: 2 }, window: { from: '2026-06-01', to: '2026-06-30' } }] };
  assert.equal((await call('POST', '/api/v1/segments/count', analyst, carted)).json.exact.people, 1);
  assert.deepEqual((await call('GET', '/api/v1/segments/behaviour-index', analyst)).json, { build: null, changedPeople: null });
  assert.equal((await call('POST', '/api/v1/segments/behaviour-index', analyst)).status, 403);
  const built = await call('POST', '/api/v1/segments/behaviour-index', operator);
  assert.equal(built.status, 200);
  // The events' weeks (Mondays, Shanghai): June 24 and June 29.
  assert.deepEqual(built.json.build.weeks, ['2026-06-22', '2026-06-29']);
  const status = await call('GET', '/api/v1/segments/behaviour-index', analyst);
  assert.equal(status.json.build.timeZone, 'Asia/Shanghai');
  // Changes logged in the 5 s before a build count as after it too (writes in flight): these events were.
  assert.equal(typeof status.json.changedPeople, 'number');
  assert.equal((await call('POST', '/api/v1/segments/count', analyst, carted)).json.exact.people, 1, 'the same count from the index');
});

test('segments from the command line: create from JSON, count, sample, snapshot, export', async () => {
  const dataDir = tempDir();
  const slug = uniqueSlug('segments-cli');
  const env = { SIYU_DATA_DIR: dataDir, SIYU_DEMO_PEOPLE: '0' };
  const dir = tempDir();
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'cli'], env)).code, 0);
  fs.writeFileSync(path.join(dir, 'orders.csv'), 'order_id,ordered_at,amount,member_no,phone\nq1,2026-06-01 10:00,120,Q1,13900000001\nq3,2026-06-21 10:00,40,Q2,13900000002\n');
  assert.equal((await runCli(['import', 'orders', path.join(dir, 'orders.csv'), '--source', 'erp', '-w', slug], env)).code, 0);
  fs.writeFileSync(
    path.join(dir, 'segment.json'),
    JSON.stringify({
      key: 'has_phone',
      name: { zh: '有手机号', en: 'Has a phone' },
      conditions: [
        { type: 'identifier', identifierType: 'phone' },
        { type: 'orders', amount: { min: 100 } },
      ],
    }),
  );
  const created = await runCli(['segments', 'create', path.join(dir, 'segment.json'), '-w', slug], env);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /segment has_phone \(有手机号 \/ Has a phone\): 1 people/);
  fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ conditions: [{ type: 'orders', amount: { min: -1 } }] }));
  const bad = await runCli(['segments', 'count', path.join(dir, 'bad.json'), '--file', '-w', slug], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /conditions\[0\]\.amount\.min/);
  const counted = await runCli(['segments', 'count', 'has_phone', '-w', slug], env);
  assert.match(counted.stdout, /exact: 1 people/);
  const snapshot = await runCli(['segments', 'snapshot', 'has_phone', '-w', slug], env);
  assert.match(snapshot.stdout, /snapshot snap_\w+ of has_phone: 1 people/);
  const out = path.join(dir, 'out.csv');
  const exported = await runCli(['segments', 'export', 'has_phone', '--type', 'phone', '--out', out, '-w', slug], env);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(fs.readFileSync(out, 'utf8'), /^person_id,phone\n\d+,\+8613900000001\n$/);

  assert.match((await runCli(['segments', 'index', '--status', '-w', slug], env)).stdout, /not built yet/);
  const indexed = await runCli(['segments', 'index', '-w', slug], env);
  assert.equal(indexed.code, 0, indexed.stderr);
  assert.match(indexed.stdout, /behaviour index: 0 weeks rebuilt in [\d.]+ s \(no changes\)\nbuilt .* UTC \(zone Asia\/Shanghai\); people changed since: 0/);
});
