import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestStores, tempDir, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService, type Workspace } from '../access/workspaces.ts';
import { runImport } from '../ingest/importer.ts';
import { runOrder, tagDefinitionSchema } from './definition.ts';
import { runTags } from './engine.ts';
import { dateInZone } from '../kernel/time.ts';
import { personTags, saveTag, tagCoverage, tagRuns } from './store.ts';

let stores: Stores;
let ws: Workspace;
const person = new Map<string, number>();

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('tags'), name: 'tags' });
  // Three members. Times are Beijing wall-clock times (the workspace's zone).
  const rows = [
    'order_id,ordered_at,amount,refunded,status,member_no,package_periods,sku',
    'a1,2026-05-31 23:59:00,100,0,completed,MA,,S1', // one day before the 30 days ending 06-30 (06-01…06-30)
    'a2,2026-06-20 23:30:00,300,0,completed,MA,,S1', // 23:30 Beijing is still 06-20 (15:30 UTC)
    'a3,2026-06-25 09:00:00,50,0,cancelled,MA,,S1', // cancelled: not a purchase
    'a4,2026-06-26 09:00:00,80,30,completed,MA,,S1', // partly refunded: counts 50
    'b1,2026-05-01 10:00:00,999,999,refunded,MB,,S2', // refunded in full: not a purchase
    'b2,2026-06-30 00:30:00,60,0,completed,MB,12,S2', // a 12-week package: one purchase
    'c1,2026-07-02 10:00:00,10,0,completed,MC,,S3', // after the base date
    '',
  ];
  const file = path.join(tempDir(), 'orders.csv');
  fs.writeFileSync(file, rows.join('\n'));
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [file] });
  for (const [member, key] of [
    ['MA', 'a'],
    ['MB', 'b'],
    ['MC', 'c'],
  ]) {
    const [row] = await stores.facts.query<{ p: string }>(
      `SELECT person_id AS p FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = {v:String}`,
      { ws: ws.id, v: member },
    );
    person.set(key, Number(row.p));
  }
});
after(async () => {
  await stores.close();
});

const valueOf = async (key: string, who: string, asOf?: string) => (await personTags(stores, ws.id, person.get(who)!, asOf)).find((t) => t.key === key)?.value;

test('statistics over purchases: a purchase counts once, refunds reduce it, cancellations do not count, days in the workspace zone', async () => {
  await saveTag(stores, ws.id, {
    key: 'orders_30d',
    name: { zh: '近30天订单数', en: 'Orders, last 30 days' },
    kind: 'statistic',
    of: 'purchases',
    measure: 'count',
    windowDays: 30,
  });
  await saveTag(stores, ws.id, { key: 'spend_all', name: { zh: '累计消费', en: 'Total spend' }, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' });
  await saveTag(stores, ws.id, {
    key: 'last_order',
    name: { zh: '最近购买日期', en: 'Last purchase date' },
    kind: 'statistic',
    of: 'purchases',
    measure: 'last',
    field: 'ordered_at',
  });
  await saveTag(stores, ws.id, {
    key: 'spend_tier',
    name: { zh: '消费层级', en: 'Spend tier' },
    kind: 'statistic',
    of: 'purchases',
    measure: 'sum',
    field: 'amount',
    buckets: [
      { label: 'low', to: 100 },
      { label: 'mid', from: 100, to: 400 },
      { label: 'high', from: 400 },
    ],
  });
  const results = await runTags(stores, { workspaceId: ws.id, baseDate: '2026-06-30' });
  assert.deepEqual(
    results.map((r) => [r.key, r.status]),
    [
      ['last_order', 'completed'],
      ['orders_30d', 'completed'],
      ['spend_all', 'completed'],
      ['spend_tier', 'completed'],
    ],
  );
  // a: a1 (05-31, Beijing) falls just outside the 30 days ending 06-30; a2 and a4 count; a3 is cancelled.
  assert.equal(await valueOf('orders_30d', 'a'), 2);
  assert.equal(await valueOf('orders_30d', 'b'), 1, 'the package order is one purchase; the refunded order is none');
  assert.equal(await valueOf('orders_30d', 'c'), undefined, 'nothing after the base date counts');
  assert.equal(await valueOf('spend_all', 'a'), 450);
  assert.equal(await valueOf('last_order', 'a'), '2026-06-26');
  assert.equal(await valueOf('last_order', 'b'), '2026-06-30', '00:30 Beijing on 06-30 is 06-30, not 06-29 in UTC');
  assert.equal(await valueOf('spend_tier', 'a'), 'high');
  assert.equal(await valueOf('spend_tier', 'b'), 'low');

  const coverage = await tagCoverage(stores, ws.id, 'spend_tier');
  assert.equal(coverage.people, 2);
  assert.deepEqual(coverage.values, [
    { value: 'high', people: 1 },
    { value: 'low', people: 1 },
  ]);
});

test('values are versioned by run and readable as of a date; an empty run keeps or clears, as the tag says', async () => {
  await runTags(stores, { workspaceId: ws.id, baseDate: '2026-07-05', keys: ['orders_30d', 'spend_all'] });
  assert.equal(await valueOf('spend_all', 'c'), 10, 'the later run sees the July order');
  assert.equal(await valueOf('spend_all', 'c', '2026-06-30'), undefined, 'as of June 30 it did not exist');
  assert.equal(await valueOf('spend_all', 'a', '2026-06-30'), 450);

  await saveTag(stores, ws.id, {
    key: 'june_buyers_kept',
    name: { zh: '六月购买', en: 'Bought in June' },
    kind: 'statistic',
    of: 'purchases',
    measure: 'count',
    windowDays: 1,
    onEmpty: 'keep',
  });
  await saveTag(stores, ws.id, {
    key: 'june_buyers_cleared',
    name: { zh: '六月购买', en: 'Bought in June' },
    kind: 'statistic',
    of: 'purchases',
    measure: 'count',
    windowDays: 1,
    onEmpty: 'clear',
  });
  await runTags(stores, { workspaceId: ws.id, baseDate: '2026-06-30', keys: ['june_buyers_kept', 'june_buyers_cleared'] });
  assert.equal(await valueOf('june_buyers_kept', 'b'), 1);
  const empty = await runTags(stores, { workspaceId: ws.id, baseDate: '2026-08-01', keys: ['june_buyers_kept', 'june_buyers_cleared'] });
  assert.deepEqual(
    empty.map((r) => [r.key, r.status, r.people]),
    [
      ['june_buyers_cleared', 'completed', 0],
      ['june_buyers_kept', 'kept', 0],
    ],
  );
  assert.equal(await valueOf('june_buyers_kept', 'b'), 1, 'kept: the last values stay');
  assert.equal(await valueOf('june_buyers_cleared', 'b'), undefined, 'cleared: no values');
  const runs = await tagRuns(stores, ws.id, 'june_buyers_kept');
  assert.deepEqual(
    runs.map((r) => [r.baseDate, r.status]),
    [
      ['2026-08-01', 'kept'],
      ['2026-06-30', 'completed'],
    ],
  );
  assert.ok(runs.every((r) => r.seconds !== null && r.seconds >= 0));
});

test('definitions are checked, dependencies order the run, and cycles are refused', async () => {
  assert.throws(
    () => tagDefinitionSchema.parse({ key: 'x1', name: { zh: 'x', en: 'x' }, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'source' }),
    /sum needs a numeric field/,
  );
  assert.throws(() => tagDefinitionSchema.parse({ key: 'Bad Key', name: { zh: 'x', en: 'x' }, kind: 'statistic', of: 'purchases', measure: 'count' }), /lower-case letters/);
  const t = (key: string, dependsOn: string[] = []) =>
    tagDefinitionSchema.parse({ key, name: { zh: key, en: key }, kind: 'statistic', of: 'purchases', measure: 'count', dependsOn });
  assert.deepEqual(
    runOrder([t('c1', ['b1']), t('b1', ['a1']), t('a1')]).map((x) => x.key),
    ['a1', 'b1', 'c1'],
  );
  assert.throws(() => runOrder([t('a1', ['b1']), t('b1', ['a1'])]), /cycle: a1 → b1 → a1/);
  await assert.rejects(runTags(stores, { workspaceId: ws.id, keys: ['nope'] }), /no tag "nope"/);
  assert.match(dateInZone('Asia/Shanghai', 0, Date.parse('2026-06-30T16:30:00Z')), /^2026-07-01$/);
  assert.match(dateInZone('Asia/Shanghai', 1, Date.parse('2026-06-30T16:30:00Z')), /^2026-06-30$/);
});

test('preferences: the favourite category by count or by amount, the top few, the part of the day', async () => {
  const file = path.join(tempDir(), 'lines.csv');
  fs.writeFileSync(
    file,
    [
      'order_id,ordered_at,amount,member_no,sku,category,quantity,unit_price,line_amount',
      'd1,2026-06-10 09:00:00,500,MD,A,燕窝,1,500,500',
      'd2,2026-06-12 20:00:00,50,MD,B,冰糖,1,20,20',
      'd2,2026-06-12 20:00:00,50,MD,C,冰糖,1,30,30',
      'd3,2026-06-13 21:00:00,10,MD,D,冰糖,1,10,10',
      '',
    ].join('\n'),
  );
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'pos', files: [file] });
  const [row] = await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM person_identities FINAL WHERE workspace_id = {ws:String} AND value = 'MD'`, { ws: ws.id });
  person.set('d', Number(row.p));
  const pref = (key: string, extra: Record<string, unknown>) => saveTag(stores, ws.id, { key, name: { zh: key, en: key }, kind: 'preference', ...extra });
  await pref('fav_category', { dimension: 'category' });
  await pref('fav_category_by_amount', { dimension: 'category', by: 'amount' });
  await pref('top_categories', { dimension: 'category', top: 2 });
  await pref('fav_day_part', { dimension: 'day_part' });
  await runTags(stores, { workspaceId: ws.id, baseDate: '2026-06-30', keys: ['fav_category', 'fav_category_by_amount', 'top_categories', 'fav_day_part'] });
  assert.equal(await valueOf('fav_category', 'd'), '冰糖', 'three lines of rock sugar against one of bird’s nest');
  assert.equal(await valueOf('fav_category_by_amount', 'd'), '燕窝', '500 against 60');
  assert.deepEqual(await valueOf('top_categories', 'd'), ['冰糖', '燕窝']);
  assert.equal(await valueOf('fav_day_part', 'd'), 'evening', '20:00 and 21:00 Beijing');
  assert.throws(() => tagDefinitionSchema.parse({ key: 'p1', name: { zh: 'x', en: 'x' }, kind: 'preference', dimension: 'colour' }), /dimension/);
});

test('RFM: scores by quantiles or thresholds, and the eight classic groups against the buyers’ mean', async () => {
  // Buyers in the year to 06-30: a (last 06-26, 3 purchases, 450), b (06-30, 1, 60), d (06-13, 3, 560).
  const rfm = (key: string, extra: Record<string, unknown>) => saveTag(stores, ws.id, { key, name: { zh: key, en: key }, kind: 'rfm', ...extra });
  await rfm('rfm_group', { output: 'group' });
  await rfm('r_score', { output: 'r_score', scoring: { method: 'quantiles', bins: 3 } });
  await rfm('f_score', { output: 'f_score', scoring: { method: 'quantiles', bins: 3 } });
  await rfm('m_score', { output: 'm_score', scoring: { method: 'quantiles', bins: 3 } });
  await rfm('r_threshold', { output: 'r_score', scoring: { method: 'thresholds', recencyDays: [7, 30], frequency: [2], monetary: [100] } });
  await runTags(stores, { workspaceId: ws.id, baseDate: '2026-06-30', keys: ['rfm_group', 'r_score', 'f_score', 'm_score', 'r_threshold'] });
  assert.equal(await valueOf('rfm_group', 'a'), '重要价值客户');
  assert.equal(await valueOf('rfm_group', 'b'), '一般发展客户', 'recent, but one small purchase');
  assert.equal(await valueOf('rfm_group', 'd'), '重要保持客户', 'frequent and big, but not recent');
  assert.deepEqual([await valueOf('r_score', 'a'), await valueOf('r_score', 'b'), await valueOf('r_score', 'd')], [2, 3, 1]);
  assert.deepEqual([await valueOf('f_score', 'a'), await valueOf('f_score', 'b'), await valueOf('f_score', 'd')], [2, 1, 2], 'equal frequencies score the same');
  assert.deepEqual([await valueOf('m_score', 'a'), await valueOf('m_score', 'b'), await valueOf('m_score', 'd')], [2, 1, 3]);
  assert.deepEqual([await valueOf('r_threshold', 'a'), await valueOf('r_threshold', 'b'), await valueOf('r_threshold', 'd')], [3, 3, 2]);
  assert.equal(await valueOf('rfm_group', 'c'), undefined, 'no purchase in the window, no group');
  assert.throws(
    () =>
      tagDefinitionSchema.parse({
        key: 'r2',
        name: { zh: 'x', en: 'x' },
        kind: 'rfm',
        output: 'group',
        scoring: { method: 'thresholds', recencyDays: [30, 7], frequency: [1], monetary: [1] },
      }),
    /ascending/,
  );
});

test('purchase cycle and lifecycle, relative to each person’s own cycle and aware of weekly packages', async () => {
  // Purchase days to 06-30: a 05-31, 06-20, 06-26 (gaps 20, 6); d 06-10, 06-12, 06-13 (gaps 2, 1);
  // b one day, 06-30, a 12-week package. Everyone's gaps: 1, 2, 6, 20 (median 4).
  const tag = (key: string, extra: Record<string, unknown>) => saveTag(stores, ws.id, { key, name: { zh: key, en: key }, ...extra });
  await tag('cycle_days', { kind: 'purchase_cycle', output: 'cycle_days' });
  await tag('next_due', { kind: 'purchase_cycle', output: 'next_due' });
  await tag('stage', { kind: 'lifecycle' });
  await runTags(stores, { workspaceId: ws.id, baseDate: '2026-06-30', keys: ['cycle_days', 'next_due', 'stage'] });
  assert.equal(await valueOf('cycle_days', 'a'), 13);
  assert.equal(await valueOf('cycle_days', 'd'), 1.5);
  assert.equal(await valueOf('cycle_days', 'b'), undefined, 'one purchase day: no cycle of their own');
  assert.equal(await valueOf('next_due', 'a'), '2026-07-09');
  assert.equal(await valueOf('next_due', 'b'), '2026-09-22', 'not before the 12-week package runs out');
  assert.equal(await valueOf('stage', 'a'), '成长');
  assert.equal(await valueOf('stage', 'b'), '新客');
  assert.equal(await valueOf('stage', 'd'), '流失', '17 days since, against a 1.5-day cycle');
  await runTags(stores, { workspaceId: ws.id, baseDate: '2026-07-20', keys: ['stage'] });
  assert.equal(await valueOf('stage', 'a'), '衰退', '24 days since the last of a 13-day cycle');
  assert.equal(await valueOf('stage', 'b'), '新客', 'still inside the package');
  assert.throws(() => tagDefinitionSchema.parse({ key: 'st', name: { zh: 'x', en: 'x' }, kind: 'lifecycle', dormantAfter: 4, churnedAfter: 3 }), /more than dormantAfter/);
});

test('rules combine other tags: the first case that holds gives the value, reading each tag as of the base date', async () => {
  const rule = (key: string, extra: Record<string, unknown>) => saveTag(stores, ws.id, { key, name: { zh: key, en: key }, kind: 'rule', ...extra });
  const saved = await rule('care_plan', {
    cases: [
      {
        when: {
          all: [
            { tag: 'rfm_group', op: 'in', value: ['重要价值客户', '重要保持客户'] },
            { tag: 'stage', op: 'in', value: ['衰退', '沉睡', '流失'] },
          ],
        },
        value: '重要召回',
      },
      { when: { tag: 'rfm_group', op: 'eq', value: '重要价值客户' }, value: '重要维护' },
    ],
    else: '一般',
  });
  assert.deepEqual(saved.dependsOn, ['rfm_group', 'stage'], 'the tags a rule reads run before it');
  await rule('big_spender', { valueType: 'boolean', cases: [{ when: { tag: 'spend_all', op: 'gte', value: 400 }, value: true }], else: false });
  await runTags(stores, { workspaceId: ws.id, baseDate: '2026-06-30', keys: ['care_plan', 'big_spender'] });
  assert.equal(await valueOf('care_plan', 'a'), '重要维护', 'valuable and growing');
  assert.equal(await valueOf('care_plan', 'd'), '重要召回', 'valuable but gone quiet');
  assert.equal(await valueOf('care_plan', 'b'), '一般');
  assert.equal(await valueOf('big_spender', 'a'), true);
  assert.equal(await valueOf('big_spender', 'b'), false);
  // On 07-20 the lifecycle run of that day says a is declining; the RFM run of 06-30 still holds.
  await runTags(stores, { workspaceId: ws.id, baseDate: '2026-07-20', keys: ['care_plan'] });
  assert.equal(await valueOf('care_plan', 'a'), '重要召回');
  assert.throws(
    () => tagDefinitionSchema.parse({ key: 'r9', name: { zh: 'x', en: 'x' }, kind: 'rule', cases: [{ when: { tag: 'stage', op: 'eq' }, value: 'x' }] }),
    /eq needs a value/,
  );
  assert.throws(
    () => tagDefinitionSchema.parse({ key: 'r9', name: { zh: 'x', en: 'x' }, kind: 'rule', valueType: 'number', cases: [{ when: { tag: 'stage', op: 'exists' }, value: 'x' }] }),
    /expected a number/,
  );
  assert.throws(
    () => tagDefinitionSchema.parse({ key: 'r9', name: { zh: 'x', en: 'x' }, kind: 'rule', cases: [{ when: { tag: 'r9', op: 'exists' }, value: 'x' }] }),
    /cannot read its own tag/,
  );
});

test('model tags fit BG/NBD and Gamma-Gamma on the workspace’s own purchases (CDNOW) and explain each prediction', async () => {
  const { summariseTransactions } = await import('../models/summary.ts');
  const { fitModel, bgnbdProbabilityAlive } = await import('../models/clv.ts');
  const { explainModelTag } = await import('./model-tags.ts');
  const master = path.resolve('test', 'fixtures', 'cdnow', 'CDNOW_master.txt');
  // The CDNOW log as a canonical order file of a workspace of its own: one order per line.
  const cdnow = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('cdnow'), name: 'cdnow' });
  const lines = fs
    .readFileSync(master, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/));
  const csv = ['order_id,ordered_at,amount,member_no', ...lines.map(([c, d, , v], i) => `${c}-${i},${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)} 12:00:00,${v},C${c}`)];
  const file = path.join(tempDir(), 'cdnow.csv');
  fs.writeFileSync(file, csv.join('\n') + '\n');
  await runImport(stores, { workspace: cdnow, kind: 'orders', source: 'cdnow', files: [file] });

  const model = (key: string, output: string, horizonDays?: number) =>
    saveTag(stores, cdnow.id, { key, name: { zh: key, en: key }, kind: 'model', output, ...(horizonDays ? { horizonDays } : {}) });
  await model('p_alive', 'p_alive');
  await model('repurchase_30d', 'repurchase_probability', 30);
  await model('purchases_90d', 'expected_purchases', 90);
  await model('clv_1y', 'clv', 365);
  const results = await runTags(stores, { workspaceId: cdnow.id, baseDate: '1997-09-30' });
  assert.ok(
    results.every((r) => r.status === 'completed' && r.people === 23570),
    JSON.stringify(results),
  );

  // The fit inside the product is the offline fit of the same purchases.
  const offline = fitModel('bgnbd', await summariseTransactions(master, { customer: 'customer_id', date: 'date', unit: 'week', calibrationEnd: '1997-09-30' }));
  const explained = await explainModelTag(
    stores,
    cdnow.id,
    (await import('./definition.ts')).tagDefinitionSchema.parse({ key: 'p_alive', name: { zh: 'x', en: 'x' }, kind: 'model', output: 'p_alive' }) as never,
    1,
  );
  assert.ok(explained.bought);
  // Same data, same optimiser; buyers with one summary are summed as one weighted row, so the last digits may differ.
  for (const name of ['r', 'alpha', 'a', 'b'])
    assert.ok(Math.abs(explained.fit.bgnbd[name] / offline.params[name] - 1) < 1e-5, `${name}: ${explained.fit.bgnbd[name]} vs ${offline.params[name]}`);
  assert.ok(explained.fit.gammagamma, 'the CLV tag fitted spend too');
  // The person's value is the formula applied to their own history.
  const stored = await valueOf2(cdnow, 'p_alive', 1);
  assert.ok(Math.abs(stored - bgnbdProbabilityAlive(explained.fit.bgnbd, explained.x, explained.t_x, explained.T)) < 1e-9);
  assert.equal(explained.value, stored);
  const repurchase = await valueOf2(cdnow, 'repurchase_30d', 1);
  assert.ok(repurchase > 0 && repurchase < stored, 'buying within 30 days is less likely than being alive');
  assert.ok((await valueOf2(cdnow, 'clv_1y', 1)) > 0);
});

async function valueOf2(workspace: Workspace, key: string, personId: number): Promise<number> {
  return (await personTags(stores, workspace.id, personId)).find((t) => t.key === key)!.value as number;
}
