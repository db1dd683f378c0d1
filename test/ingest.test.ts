import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import ExcelJS from 'exceljs';
import { openTestStores, runCli, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { runImport, ImportPlanError } from '../src/ingest/importer.ts';
import { resolveIdentities } from '../src/identity/resolve.ts';
import { exportIdentities, exportRecords } from '../src/identity/exports.ts';
import { explainPerson } from '../src/identity/explain.ts';
import { listQuarantine } from '../src/ingest/runs.ts';
import { generateDemoBrand } from '../src/demo/demo-brand.ts';
import { loadDemoBrand } from '../src/demo/load.ts';

let stores: Stores;
let dataDir: string;
const dir = tempDir('siyu-ingest-');

before(async () => {
  ({
    stores,
    config: { dataDir },
  } = await openTestStores());
});
after(async () => {
  await stores.close();
});

async function workspace(): Promise<Workspace> {
  return new WorkspaceService(stores.state).create({ slug: uniqueSlug('ing'), name: 'ingest test' });
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function personOf(ws: Workspace, source: string, recordId: string): Promise<number> {
  const rows = await stores.facts.query<{ p: string }>(
    `SELECT person_id AS p FROM source_records FINAL WHERE workspace_id = {ws:String} AND source = {s:String} AND record_id = {r:String}`,
    { ws: ws.id, s: source, r: recordId },
  );
  assert.equal(rows.length, 1, `record ${source}:${recordId}`);
  return Number(rows[0].p);
}

test('canonical records CSV: identifiers link, phones normalise, masked phones are never phone identifiers', async () => {
  const ws = await workspace();
  const file = write(
    'records.csv',
    [
      'record_id,source,phone,email,unionid,openid,tmall_nick,jd_pin,douyin_openid,wecom_external_userid,member_no,name,address,birthday',
      'r1,crm,+86 138-1234-5678,,,,,,,,,李娜,上海市徐汇区1号,1990-03-04',
      'r2,jd,13812345678,,,,,jd_abc,,,,李娜,,',
      'r3,tmall,138****5678,,,,nick1,,,,,李娜,上海市徐汇区1号,',
      'r4,wecom,,,oU1,,,,,wm1,,,,',
      'r5,miniprogram,,LI@Example.com,oU1,oM1,,,,,M001,,,',
    ].join('\n'),
  );
  const summary = await runImport(stores, { workspace: ws, kind: 'records', files: [file] });
  assert.equal(summary.landed, 5);
  assert.equal(summary.quarantined, 0);
  assert.equal(await personOf(ws, 'crm', 'r1'), await personOf(ws, 'jd', 'r2'), 'the same phone in two spellings is one person');
  assert.equal(await personOf(ws, 'wecom', 'r4'), await personOf(ws, 'miniprogram', 'r5'), 'a shared UnionID is one person');
  assert.notEqual(await personOf(ws, 'tmall', 'r3'), await personOf(ws, 'crm', 'r1'), 'a masked phone links nobody');

  const [masked] = await stores.facts.query<{ masked_phone: string; identifiers: Array<{ type: string; value: string }> }>(
    `SELECT masked_phone, identifiers FROM source_records FINAL WHERE workspace_id = {ws:String} AND record_id = 'r3'`,
    { ws: ws.id },
  );
  assert.equal(masked.masked_phone, '138****5678');
  assert.deepEqual(masked.identifiers, [{ type: 'tmall_nick', value: 'nick1' }]);

  const identitiesFile = path.join(dir, 'identities.csv');
  await exportIdentities(stores, ws.id, identitiesFile);
  const identities = fs.readFileSync(identitiesFile, 'utf8');
  assert.ok(identities.startsWith('person_id,type,value\n'));
  assert.ok(identities.includes(',phone,+8613812345678\n'));
  assert.ok(identities.includes(',email,li@example.com\n'));
  assert.ok(!identities.includes('*'), 'no masked value is an identifier');
  const recordsFile = path.join(dir, 'records-export.csv');
  assert.equal(await exportRecords(stores, ws.id, recordsFile), 5);
  const lines = fs.readFileSync(recordsFile, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'source,record_id,person_id');
  assert.equal(lines.length, 6);
});

test('hub values link nobody; single-valued conflicts are refused and logged', async () => {
  const ws = await workspace();
  const rows = ['record_id,source,phone,unionid,member_no'];
  for (let i = 0; i < 6; i++) rows.push(`walkin${i},store,19900000001,,`); // a clerk's phone on six walk-ins
  rows.push('a,crm,13900000001,oU-A,', 'b,crm,13900000001,oU-B,'); // one phone, two different UnionIDs
  const summary = await runImport(stores, { workspace: ws, kind: 'records', files: [write('hub.csv', rows.join('\n'))] });
  assert.equal(summary.landed, 8);
  const walkins = new Set<number>();
  for (let i = 0; i < 6; i++) walkins.add(await personOf(ws, 'store', `walkin${i}`));
  assert.equal(walkins.size, 6, 'the clerk phone joined no one');
  assert.notEqual(await personOf(ws, 'crm', 'a'), await personOf(ws, 'crm', 'b'));
  const log = await stores.state.db.selectFrom('identity_log').select(['kind', 'details']).where('workspace_id', '=', ws.id).execute();
  assert.ok(log.some((l) => l.kind === 'hub' && JSON.stringify(l.details).includes('+8619900000001')));
  assert.ok(log.some((l) => l.kind === 'conflict' && JSON.stringify(l.details).includes('unionid')));
});

test('person ids are dense, stable across runs, and a merge keeps the older id', async () => {
  const ws = await workspace();
  await runImport(stores, { workspace: ws, kind: 'records', files: [write('p1.csv', 'record_id,source,phone\nx1,crm,13700000001\nx2,crm,13700000002\n')] });
  const first = await personOf(ws, 'crm', 'x1');
  const second = await personOf(ws, 'crm', 'x2');
  assert.deepEqual([first, second].sort(), [1, 2]);
  const again = await resolveIdentities(stores, { workspaceId: ws.id, full: true });
  assert.equal(again.reassigned, 0, 'a full re-run changes nobody');
  assert.equal(await personOf(ws, 'crm', 'x1'), first);
  // A new record carries both phones: the two people merge into the older id.
  await runImport(stores, { workspace: ws, kind: 'records', files: [write('p2.csv', 'record_id,source,phone\nx3,jd,13700000001;13700000002\n')] });
  const merged = await personOf(ws, 'crm', 'x2');
  assert.equal(merged, Math.min(first, second));
  assert.equal(await personOf(ws, 'crm', 'x1'), merged);
  assert.equal(await personOf(ws, 'jd', 'x3'), merged);
  const explanation = await explainPerson(stores, ws.id, merged);
  assert.equal(explanation.records.length, 3);
  assert.deepEqual(explanation.links.map((l) => l.value).sort(), ['+8613700000001', '+8613700000002']);
  assert.ok(explanation.history.some((h) => h.kind === 'merge'));
});

test('bad rows go to quarantine with row, field, value and reason; good rows land', async () => {
  const ws = await workspace();
  const file = write(
    'orders.csv',
    [
      'order_id,ordered_at,amount,phone,sku,quantity,unit_price',
      'o1,2026-06-18 20:00:00,100.00,13800000001,SKU1,1,100',
      'o2,yesterday,50.00,13800000002,SKU1,1,50',
      'o3,2026-06-18 21:00:00,-5,13800000003,SKU1,1,5',
      'o4,2026-06-18 22:00:00,30.00,12345,SKU1,1,30',
    ].join('\n'),
  );
  const summary = await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [file] });
  assert.equal(summary.rowsRead, 4);
  assert.equal(summary.landed, 2);
  assert.equal(summary.quarantined, 2);
  assert.equal(summary.valuesDropped, 1);
  const entries = await listQuarantine(stores, ws.id, { runId: summary.runId });
  const byRow = new Map(entries.map((e) => [Number(e.row_number), e]));
  assert.equal(byRow.get(3)?.field, 'ordered_at');
  assert.equal(byRow.get(3)?.value, 'yesterday');
  assert.match(byRow.get(3)!.reason, /expected a date and time/);
  assert.equal(byRow.get(4)?.field, 'amount');
  assert.equal(byRow.get(5)?.field, 'phone');
  assert.equal(byRow.get(5)?.action, 'value_dropped');
  const orders = await stores.facts.query<{ order_id: string }>(`SELECT order_id FROM orders FINAL WHERE workspace_id = {ws:String} ORDER BY order_id`, { ws: ws.id });
  assert.deepEqual(
    orders.map((o) => o.order_id),
    ['o1', 'o4'],
  );
});

test('a file that cannot be imported fails before anything is written, naming what is missing', async () => {
  const ws = await workspace();
  const file = write('bad.csv', 'order_id,amount\no1,10\n');
  await assert.rejects(runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [file] }), (error: Error) => {
    assert.ok(error instanceof ImportPlanError);
    assert.match(error.message, /missing: ordered_at/);
    return true;
  });
  await assert.rejects(runImport(stores, { workspace: ws, kind: 'orders', preset: 'nope', files: [file] }), /unknown preset "nope"; presets: tmall, jd/);
  await assert.rejects(runImport(stores, { workspace: ws, kind: 'orders', files: [file] }), /--source is required/);
  const runs = await stores.state.db.selectFrom('import_runs').select('id').where('workspace_id', '=', ws.id).execute();
  assert.equal(runs.length, 0);
});

test('re-importing changes nothing; a changed row updates its record', async () => {
  const ws = await workspace();
  const header = 'order_id,ordered_at,amount,member_no,sku,quantity,unit_price';
  const file = write('orders-v1.csv', `${header}\no1,2026-06-18 20:00:00,100.00,M1,SKU1,1,100\no2,2026-06-19 20:00:00,50.00,M2,SKU2,1,50\n`);
  const first = await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [file] });
  assert.equal(first.landed, 2);
  const second = await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [file] });
  assert.deepEqual([second.landed, second.updated, second.unchanged], [0, 0, 2]);
  const changed = write('orders-v2.csv', `${header}\no1,2026-06-18 20:00:00,120.00,M1,SKU1,1,120\no2,2026-06-19 20:00:00,50.00,M2,SKU2,1,50\n`);
  const third = await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [changed] });
  assert.deepEqual([third.landed, third.updated, third.unchanged], [0, 1, 1]);
  const rows = await stores.facts.query<{ order_id: string; amount: string }>(
    `SELECT order_id, toString(amount) AS amount FROM orders FINAL WHERE workspace_id = {ws:String} ORDER BY order_id`,
    { ws: ws.id },
  );
  assert.deepEqual(rows, [
    { order_id: 'o1', amount: '120' },
    { order_id: 'o2', amount: '50' },
  ]);
});

test('a changed record is resolved again: a new identifier joins its person to another, keeping the older id', async () => {
  const ws = await workspace();
  const v1 = write('changed-v1.csv', 'record_id,source,unionid,email\nk1,crm,oU-k1,\nk2,crm,,k2@example.com\n');
  await runImport(stores, { workspace: ws, kind: 'records', files: [v1] });
  const [k1, k2] = [await personOf(ws, 'crm', 'k1'), await personOf(ws, 'crm', 'k2')];
  assert.notEqual(k1, k2);
  const v2 = write('changed-v2.csv', 'record_id,source,unionid,email\nk1,crm,oU-k1,\nk2,crm,oU-k1,k2@example.com\n');
  const again = await runImport(stores, { workspace: ws, kind: 'records', files: [v2] });
  assert.equal(again.updated, 1);
  assert.equal(await personOf(ws, 'crm', 'k2'), Math.min(k1, k2), 'merged into the older person, without a full run');
  assert.equal(await personOf(ws, 'crm', 'k1'), Math.min(k1, k2));
  const identities = await stores.facts.query<{ type: string; value: string }>(
    `SELECT type, value FROM person_identities FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ORDER BY type`,
    { ws: ws.id, p: Math.min(k1, k2) },
  );
  assert.deepEqual(
    identities.map((i) => `${i.type}=${i.value}`),
    ['email=k2@example.com', 'unionid=oU-k1'],
  );
});

test('GB18030 TSV in gzip and XLSX are detected and read', async () => {
  const ws = await workspace();
  const tsv = ['record_id\tsource\tphone\tname', 'g1\tcrm\t13600000001\t王静', 'g2\tcrm\t13600000002\t欧阳娜'].join('\n');
  const gz = path.join(dir, 'people.tsv.gz');
  fs.writeFileSync(gz, zlib.gzipSync(iconv.encode(tsv, 'gb18030')));
  const summary = await runImport(stores, { workspace: ws, kind: 'records', files: [gz] });
  assert.equal(summary.files[0].detected, 'TSV, GB18030, gzip');
  assert.equal(summary.landed, 2);
  const [name] = await stores.facts.query<{ name: string }>(`SELECT name FROM source_records FINAL WHERE workspace_id = {ws:String} AND record_id = 'g2'`, { ws: ws.id });
  assert.equal(name.name, '欧阳娜');

  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('会员');
  sheet.addRow(['会员卡号', '手机号', '姓名', '性别', '生日', '注册时间', '会员等级', '积分', 'UnionID', 'OpenID', '注册渠道', '所在城市']);
  sheet.addRow(['M900', '13600000001', '王静', '女', '1991-05-06', '2025-01-02 10:00:00', '金卡会员', '300', 'oU-x', 'oM-x', '小程序', '上海市']);
  const xlsx = path.join(dir, 'members.xlsx');
  await workbook.xlsx.writeFile(xlsx);
  const members = await runImport(stores, { workspace: ws, kind: 'members', preset: 'miniprogram', files: [xlsx] });
  assert.equal(members.files[0].detected, 'XLSX');
  assert.equal(members.landed, 1);
  assert.equal(await personOf(ws, 'miniprogram', 'M900'), await personOf(ws, 'crm', 'g1'), 'the member joins the TSV record by phone');
});

test('the demo brand loads through the presets with nothing quarantined, and re-loads to no change', async () => {
  const ws = await workspace();
  const demo = path.join(dir, 'demo');
  await generateDemoBrand({ people: 300, seed: 3, endDate: '2026-10-31', out: demo });
  const { imports, resolution } = await loadDemoBrand(stores, ws, demo);
  for (const summary of imports) {
    assert.equal(summary.quarantined, 0, summary.files.map((f) => f.file).join(' '));
    assert.equal(summary.valuesDropped, 0);
  }
  const truth = fs.readFileSync(path.join(demo, 'truth.csv'), 'utf8').trim().split('\n').length - 1;
  assert.equal(await exportRecords(stores, ws.id, path.join(dir, 'demo-records.csv')), truth, 'one exported record per record of the ground truth');
  const [sdk] = await stores.facts.query<{ identities: string; events: string }>(
    `SELECT (SELECT count() FROM source_records FINAL WHERE workspace_id = {ws:String} AND kind = 'identity') AS identities,
            (SELECT count() FROM events FINAL WHERE workspace_id = {ws:String}) AS events`,
    { ws: ws.id },
  );
  assert.ok(Number(sdk.identities) > 0 && Number(sdk.identities) * 2 < Number(sdk.events), `events share identity records (${sdk.identities} for ${sdk.events})`);
  assert.ok(resolution.people < truth && resolution.people >= 300);
  const [unresolved] = await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM orders FINAL WHERE workspace_id = {ws:String} AND person_id = 0`, { ws: ws.id });
  assert.equal(Number(unresolved.n), 0, 'every order belongs to a person');
  const [packages] = await stores.facts.query<{ orders: string; shipments: string }>(
    `SELECT (SELECT count() FROM orders FINAL WHERE workspace_id = {ws:String} AND is_package) AS orders,
            (SELECT count() FROM shipments FINAL WHERE workspace_id = {ws:String}) AS shipments`,
    { ws: ws.id },
  );
  assert.ok(Number(packages.orders) > 0 && Number(packages.shipments) > Number(packages.orders), 'packages with their weekly shipments');
  const again = await loadDemoBrand(stores, ws, demo);
  for (const summary of again.imports) assert.equal(summary.landed + summary.updated, 0);
  assert.equal(again.resolution.reassigned, 0);
});

test('siyu import on the CLI prints what it detected and the counts; quarantine is viewable', async () => {
  const file = write('cli-orders.csv', 'order_id,ordered_at,amount\nc1,2026-01-01 10:00,10\nc2,not a date,10\n');
  const env = { SIYU_DATA_DIR: tempDir(), SIYU_DEMO_PEOPLE: '0' };
  const slug = uniqueSlug('cli-imp');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'x'], env)).code, 0);
  const result = await runCli(['import', 'orders', file, '--source', 'erp', '-w', slug], env);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /CSV, UTF-8, delimiter ","/);
  assert.match(result.stdout, /2 rows read, 1 landed, 0 updated, 0 unchanged, 1 quarantined/);
  const runId = /run (imp_[0-9a-f]+)/.exec(result.stdout)![1];
  const quarantine = await runCli(['import', 'quarantine', '--run', runId, '-w', slug], env);
  assert.match(quarantine.stdout, /ordered_at\s+not a date\s+expected a date and time/);
  const missing = await runCli(['import', 'orders', path.join(dir, 'nope.csv'), '--source', 'erp', '-w', slug], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^siyu: .*nope\.csv: no such file/);
  void dataDir;
});

test('batches are cut between orders, never inside one', async () => {
  const ws = await workspace();
  const rows = ['order_id,ordered_at,amount,member_no,sku,quantity,unit_price'];
  for (let o = 1; o <= 5; o++) for (let l = 1; l <= 3; l++) rows.push(`b${o},2026-03-0${o} 10:00,30,M${o},SKU${l},1,10`);
  const summary = await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [write('batched.csv', rows.join('\n'))], batchSize: 2 });
  assert.deepEqual([summary.rowsRead, summary.landed, summary.updated, summary.unchanged], [15, 15, 0, 0]);
  const lines = await stores.facts.query<{ order_id: string; n: string }>(
    `SELECT order_id, count() AS n FROM order_lines FINAL WHERE workspace_id = {ws:String} GROUP BY order_id ORDER BY order_id`,
    { ws: ws.id },
  );
  assert.deepEqual(
    lines.map((l) => [l.order_id, Number(l.n)]),
    [
      ['b1', 3],
      ['b2', 3],
      ['b3', 3],
      ['b4', 3],
      ['b5', 3],
    ],
  );
});

test('unbind removes one identifier from a person; unmerge undoes a merge for good', async () => {
  const { unbindIdentifier, unmergePerson } = await import('../src/identity/overrides.ts');
  const ws = await workspace();
  // Two people joined only by a shared email.
  await runImport(stores, {
    workspace: ws,
    kind: 'records',
    files: [write('u1.csv', 'record_id,source,jd_pin,email\nu1,crm,jd_a,fam@example.com\nu2,crm,jd_b,fam@example.com\n')],
  });
  const joined = await personOf(ws, 'crm', 'u1');
  assert.equal(await personOf(ws, 'crm', 'u2'), joined);
  await unbindIdentifier(stores, ws.id, joined, 'email', 'FAM@example.com', 'test');
  assert.notEqual(await personOf(ws, 'crm', 'u1'), await personOf(ws, 'crm', 'u2'), 'without the email they are two people');
  // The unbound value links nobody later either.
  await runImport(stores, { workspace: ws, kind: 'records', files: [write('u2.csv', 'record_id,source,email\nu3,jd,fam@example.com\n')] });
  const people = new Set([await personOf(ws, 'crm', 'u1'), await personOf(ws, 'crm', 'u2'), await personOf(ws, 'jd', 'u3')]);
  assert.equal(people.size, 3);
  const [emails] = await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'email'`, { ws: ws.id });
  assert.equal(Number(emails.n), 0, 'no person holds the unbound value');

  // Two people, then a record with both phones merges them; unmerge splits them and they stay apart.
  await runImport(stores, { workspace: ws, kind: 'records', files: [write('m1.csv', 'record_id,source,phone\nm1,crm,13300000001\nm2,crm,13300000002\n')] });
  await runImport(stores, { workspace: ws, kind: 'records', files: [write('m2.csv', 'record_id,source,phone\nm3,jd,13300000001;13300000002\n')] });
  const merged = await personOf(ws, 'crm', 'm1');
  assert.equal(await personOf(ws, 'crm', 'm2'), merged);
  const { groups } = await unmergePerson(stores, ws.id, merged, 'test');
  assert.equal(groups, 2);
  assert.notEqual(await personOf(ws, 'crm', 'm1'), await personOf(ws, 'crm', 'm2'));
  await resolveIdentities(stores, { workspaceId: ws.id, full: true });
  assert.notEqual(await personOf(ws, 'crm', 'm1'), await personOf(ws, 'crm', 'm2'), 'a full re-run keeps them apart');
  const log = await stores.state.db.selectFrom('identity_log').select('kind').where('workspace_id', '=', ws.id).execute();
  assert.ok(log.some((l) => l.kind === 'unbind') && log.some((l) => l.kind === 'unmerge'));
});
