import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import { openTestStores, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { runImport, type ImportRequest } from '../src/ingest/importer.ts';
import { generateDemoBrand } from '../src/demo/demo-brand.ts';
import { DEMO_IMPORTS } from '../src/demo/load.ts';

let stores: Stores;
const dir = tempDir();
before(async () => {
  ({ stores } = await openTestStores());
});
after(async () => {
  await stores.close();
});

const workspace = (name: string, timeZone?: string) => new WorkspaceService(stores.state).create({ slug: uniqueSlug(name), name, ...(timeZone ? { timeZone } : {}) });

/** Everything an order import writes, in a comparable form. */
async function written(ws: Workspace) {
  const q = (sql: string) => stores.facts.query<Record<string, unknown>>(sql, { ws: ws.id }).then((rows) => rows.map((r) => JSON.stringify(r)));
  return {
    orders: await q(
      `SELECT source, order_id, status, ordered_at, paid_at, amount, discount, postage, refunded, item_count, store_id, store_name, is_package, package_periods, person_id FROM orders FINAL WHERE workspace_id = {ws:String} ORDER BY source, order_id`,
    ),
    lines: await q(
      `SELECT source, order_id, line_no, sku, product_name, category, quantity, unit_price, discount, amount, package_periods FROM order_lines FINAL WHERE workspace_id = {ws:String} ORDER BY source, order_id, line_no`,
    ),
    records: await q(
      `SELECT source, kind, record_id, identifiers, name, masked_phone, address, birthday, seen_at FROM source_records FINAL WHERE workspace_id = {ws:String} ORDER BY source, record_id`,
    ),
    quarantine: await q(
      `SELECT file, row_number, field, value, reason, action, row FROM import_quarantine FINAL WHERE workspace_id = {ws:String} ORDER BY file, row_number, field, reason`,
    ),
  };
}

/** Imports the same files row by row and in SQL, into two workspaces; returns both summaries. */
async function bothWays(request: Omit<ImportRequest, 'workspace'>, timeZone?: string) {
  const [rowByRow, inSql] = [await workspace('rows', timeZone), await workspace('sql', timeZone)];
  const a = await runImport(stores, { ...request, workspace: rowByRow, sql: false, resolve: false });
  const b = await runImport(stores, { ...request, workspace: inSql, resolve: false });
  return { a, b, rowByRow: await written(rowByRow), inSql: await written(inSql), workspaces: [rowByRow, inSql] as const };
}

const counts = (s: { rowsRead: number; landed: number; updated: number; unchanged: number; quarantined: number; valuesDropped: number }) => [
  s.rowsRead,
  s.landed,
  s.updated,
  s.unchanged,
  s.quarantined,
  s.valuesDropped,
];

test('the demo brand imports the same in SQL as row by row: orders, lines, records', async () => {
  const demo = path.join(dir, 'demo');
  await generateDemoBrand({ people: 600, seed: 11, endDate: '2026-10-31', out: demo });
  for (const step of DEMO_IMPORTS.filter((s) => s.kind === 'orders')) {
    const { a, b, rowByRow, inSql } = await bothWays({ kind: 'orders', preset: step.preset, files: step.files.map((f) => path.join(demo, f)) });
    assert.deepEqual(b.files.map(counts), a.files.map(counts), step.preset);
    assert.deepEqual(inSql, rowByRow, step.preset);
    assert.ok(rowByRow.orders.length > 0);
  }
});

test('bad values are refused or dropped in SQL exactly as row by row, with the same reasons', async () => {
  const header =
    'order_id,ordered_at,paid_at,amount,discount,postage,refunded,status,phone,email,unionid,member_no,masked_phone,name,address,birthday,sku,product_name,quantity,unit_price,line_amount,line_discount,package_periods,store_id';
  const rows = [
    'o1,2026-06-18 20:15:00,2026-06-18 20:16:00,"¥1,299.00",,10,0,completed,138 1234 5678;+86 139-0000-0001,A@Example.COM,oU1,,,王静,浙江省杭州市西湖区(310000),1990/3/4,S1,燕窝,2,600,,,,ST1',
    'o1,2026-06-18 20:15:00,,,,,,,,,,,,,,,S2,冰糖,x,abc,,5,3期,',
    // The same SKU twice in one order: one line, the last row's.
    'o1,2026-06-18 20:15:00,,,,,,,,,,,,,,,S1,燕窝,3,600,,,,',
    'o0,2026-06-18 20:15:00,,12.345,,,,,,,,,,,"A ""quoted"", name",,,,,,,,,',
    'o2,not a date,,100,,,,paid,138****5678,,,,,李娜,,1990-02-30,,,,,,,,',
    ',2026-06-19 10:00,,50,,,,,,,,,,,,,,,,,,,,',
    'o3,2026-06-19 10:00:00+08:00,,-5,,,,,12345,bad-email,,M1,,赵,,,,,,,,,,',
    'o4,45000.5,,20,1.5,,,weird status,0086 13800000002,,,,139****0002,,,,,,,,,,,',
    'o5,2026-13-01 10:00,,20,,,,,,,,,,,,,,,,,,,,',
    'o6,2026-02-30 10:00,2026-06-19T10:00:00.1234Z,20,,,,cancelled,,,,,,,,,,,,,,,,',
    'o7,2026-06-20 10:00,,,,,25,cancelled,,,,,,,,,,,,,,,,',
    'o8,2026-06-20 10:00,,,,8,,,,,,,,,,,S9,组合,1,100,,,,',
    'o8,2026-06-20 10:00,,,,,,,,,,,,,,,,周期购 12 期 燕窝,1,50,,,,',
    ',,,,,,,,,,,,,,,,,,,,,,,',
    'o10,2026-02-29 10:00:00,2026-06-18 24:00:00,10,,,,,12345678901,,,M 2,,,路1号 (100000),,,,,,,,,',
    'o11,2024-02-29 23:59:59,2026-06-18 23:59:60,10.5,,,,,13800000005,B@X.CN;c@y.cn,,,,,路2号	3室,,S1,,1,000,-2,,,,',
    'o9,2026-06-20 10:00,,30,,,30,cancelled,13800000003|13800000004,,,,,,  多  空格  ,2999-01-01,,,,,,,,',
    // Refused orders that have lines: no line of theirs is written.
    ',2026-06-19 11:00,,,,,,,,,,,,,,,S7,无单号,1,5,,,,',
    'o12,yesterday,,,,,,,,,,,,,,,S8,坏日期,1,5,,,,',
  ];
  const file = path.join(dir, 'bad-orders.csv');
  fs.writeFileSync(file, `\uFEFF${header}\n${rows.join('\n')}\n`);
  const { a, b, rowByRow, inSql } = await bothWays({ kind: 'orders', source: 'erp', files: [file] });
  assert.deepEqual(counts(b), counts(a));
  assert.ok(a.quarantined > 0 && a.valuesDropped > 0 && a.landed > 0, JSON.stringify(counts(a)));
  assert.deepEqual(inSql.quarantine, rowByRow.quarantine);
  assert.deepEqual(inSql.orders, rowByRow.orders);
  assert.deepEqual(inSql.lines, rowByRow.lines);
  assert.deepEqual(inSql.records, rowByRow.records);
});

test('one-row-per-order reports, read straight from the file, refuse and drop bad values as row by row; a repeated id in the next file is grouped', async () => {
  const header = '订单编号,买家会员名,买家实际支付金额,买家应付邮费,订单状态,收货人姓名,收货地址,联系手机,订单创建时间,订单付款时间,店铺名称,退款金额';
  const first = [
    'r1,小王,"¥1,299.00",10,交易成功,王静,浙江省杭州市西湖区(310000),138 1234 5678,2026-06-18 20:15:00,2026-06-18 20:16:00,旗舰店,0',
    'r2,小李,100,,买家已付款,李娜,,138****5678,not a date,,,',
    ',小赵,50,,,,,,2026-06-19 10:00,,,',
    'r3,,-5,,,赵,,12345,2026-06-19 10:00:00+08:00,,,',
    ',,,,,,,,,,,',
    'r4,小钱,20,abc,weird status,"A ""quoted"", name",,0086 13800000002,45000.5,,,',
    'r5,小孙,,8,,,,,2026-06-20 10:00,,,',
    'r6,小周,10,,,,路1号 (100000),12345678901,2026-02-29 10:00:00,2026-06-18 24:00:00,,x',
  ];
  const second = ['s1,小吴,10,,,,,13800000009,2026-06-18 20:15:00,,,', 's2,小郑,abc,,,,,,2026-06-18 20:15:00,,,', 's1,小吴,12,,,,,13800000009,2026-06-18 21:15:00,,,'];
  const files = [path.join(dir, 'report-1.csv'), path.join(dir, 'report-2.csv')];
  fs.writeFileSync(files[0], `${header}\n${first.join('\n')}\n`);
  fs.writeFileSync(files[1], `${header}\n${second.join('\n')}\n`);
  const { a, b, rowByRow, inSql } = await bothWays({ kind: 'orders', preset: 'tmall', files });
  assert.deepEqual(b.files.map(counts), a.files.map(counts));
  assert.ok(a.files[0].quarantined > 0 && a.files[0].valuesDropped > 0 && a.files[1].unchanged === 1, JSON.stringify(a.files.map(counts)));
  assert.deepEqual(inSql.quarantine, rowByRow.quarantine);
  assert.deepEqual(inSql, rowByRow);
});

test('an order that lost a line on re-import keeps only the lines it has now, in SQL as row by row; an order report leaves item lines alone', async () => {
  const header = 'order_id,ordered_at,amount,phone,sku,product_name,quantity,unit_price';
  const v1 = [
    'L1,2026-06-18 20:15:00,,13800000011,S1,燕窝,1,100',
    'L1,2026-06-18 20:15:00,,13800000011,S2,冰糖,2,10',
    'L1,2026-06-18 20:15:00,,13800000011,S3,礼盒,1,50',
    'L2,2026-06-18 21:00:00,,13800000012,S1,燕窝,1,100',
  ];
  // L1 loses S2 and changes S3's quantity; L2 is unchanged.
  const v2 = [v1[0], v1[2].replace(',1,50', ',3,50'), v1[3]];
  const file = path.join(dir, 'lines.csv');
  fs.writeFileSync(file, `${header}\n${v1.join('\n')}\n`);
  const { workspaces } = await bothWays({ kind: 'orders', source: 'erp', files: [file] });
  fs.writeFileSync(file, `${header}\n${v2.join('\n')}\n`);
  const [rowByRow, inSql] = workspaces;
  const a = await runImport(stores, { kind: 'orders', source: 'erp', files: [file], workspace: rowByRow, sql: false, resolve: false });
  const b = await runImport(stores, { kind: 'orders', source: 'erp', files: [file], workspace: inSql, resolve: false });
  assert.deepEqual(counts(b), counts(a));
  assert.deepEqual([a.updated, a.unchanged], [2, 1]);
  const [x, y] = [await written(rowByRow), await written(inSql)];
  assert.deepEqual(y, x);
  assert.deepEqual(
    x.lines
      .map((l) => {
        const r = JSON.parse(l);
        return `${r.order_id} ${r.sku} ${r.quantity}`;
      })
      .sort(),
    ['L1 S1 1', 'L1 S3 3', 'L2 S1 1'],
  );
  assert.equal(Number(x.orders.map((o) => JSON.parse(o)).find((o) => o.order_id === 'L1').amount), 250);

  // A Tmall order report carries no lines: its items report's lines stay when an order changes.
  const report = path.join(dir, 'tmall-orders.csv');
  const items = path.join(dir, 'tmall-items.csv');
  const reportOf = (amount: string) => `订单编号,买家会员名,买家实际支付金额,订单创建时间,订单状态\nT9,小王,${amount},2026-05-01 09:00:00,交易成功\n`;
  fs.writeFileSync(report, reportOf('88.00'));
  fs.writeFileSync(items, '订单编号,标题,价格,购买数量,商家编码\nT9,燕窝,80.00,1,S1\nT9,冰糖,8.00,1,S2\n');
  const tmall = await bothWays({ kind: 'orders', preset: 'tmall', files: [report, items] });
  fs.writeFileSync(report, reportOf('99.00'));
  for (const [ws, sql] of [
    [tmall.workspaces[0], false],
    [tmall.workspaces[1], true],
  ] as const) {
    const again = await runImport(stores, { kind: 'orders', preset: 'tmall', files: [report], workspace: ws, sql, resolve: false });
    assert.equal(again.updated, 1);
    assert.equal((await written(ws)).lines.length, 2, `sql: ${sql}`);
  }
});

test('GB18030 CSV in gzip imports in SQL; re-importing changes nothing; a changed row updates', async () => {
  const header = ['订单编号', '买家会员名', '买家实际支付金额', '订单创建时间', '订单状态', '收货人姓名', '联系手机', '收货地址'].join(',');
  const v1 = [
    header,
    ['T1', '淘宝小王', '88.00', '2026-05-01 09:00:00', '交易成功', '王小明', '13700000001', '"北京市,朝阳区"'].join(','),
    ['T2', '淘宝小李', '66.00', '2026-05-02 09:00:00', '交易关闭', '李', '137****0002', ''].join(','),
  ].join('\r\n');
  const file = path.join(dir, 'tmall.csv.gz');
  fs.writeFileSync(file, zlib.gzipSync(iconv.encode(v1, 'gb18030')));
  const { a, b, rowByRow, inSql, workspaces } = await bothWays({ kind: 'orders', preset: 'tmall', files: [file] });
  assert.equal(b.files[0].detected, 'CSV, GB18030, delimiter ",", gzip');
  assert.deepEqual(counts(b), counts(a));
  assert.deepEqual(inSql, rowByRow);
  const again = await runImport(stores, { kind: 'orders', preset: 'tmall', files: [file], workspace: workspaces[1], resolve: false });
  assert.deepEqual([again.landed, again.updated, again.unchanged], [0, 0, 2]);
  fs.writeFileSync(file, zlib.gzipSync(iconv.encode(v1.replace('88.00', '99.00'), 'gb18030')));
  const changed = await runImport(stores, { kind: 'orders', preset: 'tmall', files: [file], workspace: workspaces[1], resolve: false });
  assert.deepEqual([changed.landed, changed.updated, changed.unchanged], [0, 1, 1]);
  const [order] = await stores.facts.query<{ amount: number }>(`SELECT amount FROM orders FINAL WHERE workspace_id = {ws:String} AND order_id = 'T1'`, { ws: workspaces[1].id });
  assert.equal(order.amount, 99);
});

test('a one-row-per-order report with a repeated order id keeps its last row in SQL as row by row', async () => {
  const header = ['订单编号', '买家会员名', '买家实际支付金额', '订单创建时间', '订单状态', '收货人姓名', '联系手机', '收货地址'].join(',');
  const rows = [
    ['R1', '小王', '10.00', '2026-05-01 09:00:00', '交易成功', '王', '13700000011', '北京市(100000)'],
    ['R2', '小李', 'abc', '2026-05-02 09:00:00', '交易成功', '李', '13700000012', ''],
    ['R1', '小王', '12.00', '2026/5/1 9:00', '交易关闭', '王', '137****0011', '北京市  朝阳区'],
  ];
  const file = path.join(dir, 'tmall-repeated.csv');
  fs.writeFileSync(file, iconv.encode([header, ...rows.map((r) => r.join(','))].join('\r\n'), 'gb18030'));
  const { a, b, rowByRow, inSql } = await bothWays({ kind: 'orders', preset: 'tmall', files: [file] });
  assert.deepEqual(counts(b), counts(a));
  assert.deepEqual(inSql, rowByRow);
  assert.equal(inSql.orders.length, 1, 'R2 is refused for its amount; R1 is kept once');
  assert.match(String(inSql.orders[0]), /"amount":12/);
});

test('in a zone with daylight saving, wall times in the spring gap and the autumn overlap read the same in SQL as row by row', async () => {
  const header = 'order_id,ordered_at,paid_at,amount';
  const rows = ['G1,2026-03-08 02:30:00,2026-03-08 02:30,10', 'G2,2026-11-01 01:30:00,2026-11-01 01:30,10', 'G3,2026-07-01 12:00:00,2026-07-01T12:00:00Z,10'];
  const file = path.join(dir, 'dst-orders.csv');
  fs.writeFileSync(file, [header, ...rows].join('\n'));
  const { a, b, rowByRow, inSql } = await bothWays({ kind: 'orders', source: 'erp', files: [file] }, 'America/New_York');
  assert.deepEqual(counts(b), counts(a));
  assert.equal(inSql.orders.length, 3);
  assert.deepEqual(inSql, rowByRow);
});
