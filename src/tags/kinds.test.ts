/**
 * The tag kinds over more than orders: subscriptions (shipments), the WeCom relationship (contacts),
 * tiers, rules over profile fields and inline statistics, sandboxed SQL and imported files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestStores, tempDir, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService, type Workspace } from '../access/workspaces.ts';
import { runImport } from '../ingest/importer.ts';
import { ZodError } from 'zod';
import { tagDefinitionSchema } from './definition.ts';
import { runTags } from './engine.ts';
import { importTagFile } from './imported-tags.ts';
import { personTags, saveTag, tagCoverage } from './store.ts';

let stores: Stores;
let ws: Workspace;
const person = new Map<string, number>();
const BASE = '2026-06-30';

function csv(name: string, lines: string[]): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function personOf(workspaceId: string, member: string): Promise<number> {
  const [row] = await stores.facts.query<{ p: string }>(
    `SELECT person_id AS p FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = {v:String}`,
    { ws: workspaceId, v: member },
  );
  return Number(row.p);
}

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('kinds'), name: 'kinds' });
  const orders = csv('orders.csv', [
    'order_id,ordered_at,amount,discount,status,member_no,package_periods,sku',
    'a1,2026-06-01 10:00:00,100,20,completed,MA,,S1', // discounted
    'a2,2026-06-20 10:00:00,200,0,completed,MA,,S1',
    'b1,2026-06-02 10:00:00,300,0,completed,MB,8,PKG8', // 8 weekly shipments: 3 shipped, the 4th paused
    'c1,2026-04-01 10:00:00,50,0,completed,MC,4,PKG4', // no shipment rows: one a week, all gone by June
    'd1,2026-06-25 10:00:00,80,0,completed,MD,4,PKG4', // no shipment rows: the first went, 3 to come
  ]);
  const shipments = csv('shipments.csv', [
    'order_id,period,planned_at,shipped_at,status',
    'b1,1,2026-06-02,2026-06-02 18:00:00,已发货',
    'b1,2,2026-06-09,2026-06-09 18:00:00,已发货',
    'b1,3,2026-06-16,2026-06-16 18:00:00,已发货',
    'b1,4,2026-06-23,,已暂停',
    'b1,5,2026-06-30,,待发货',
  ]);
  const members = csv('members.csv', ['member_no,unionid,gender,level,points', 'MA,UA,女,金卡,1200', 'MB,UB,男,银卡,300']);
  const contacts = csv('contacts.csv', [
    'external_userid,staff_userid,staff_name,unionid,added_at',
    'wmA,s1,王导购,UA,2026-06-10 09:00:00',
    'wmA,s2,李导购,UA,2026-06-12 09:00:00',
  ]);
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [orders, shipments] });
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [members] });
  await runImport(stores, { workspace: ws, kind: 'contacts', source: 'wecom', files: [contacts] });
  for (const who of ['MA', 'MB', 'MC', 'MD']) person.set(who, await personOf(ws.id, who));
});
after(async () => {
  await stores.close();
});

const valueOf = async (key: string, who: string) => (await personTags(stores, ws.id, person.get(who)!)).find((t) => t.key === key)?.value;
async function run(...keys: string[]) {
  const results = await runTags(stores, { workspaceId: ws.id, keys, baseDate: BASE });
  for (const r of results) assert.equal(r.status, 'completed', `${r.key}: ${r.error ?? r.status}`);
  return results;
}

test('discount share: the fraction of purchases bought with a discount', async () => {
  await saveTag(stores, ws.id, {
    key: 'discount_share',
    name: { zh: '折扣订单占比', en: 'Discount share' },
    kind: 'statistic',
    of: 'purchases',
    measure: 'share',
    field: 'discount',
  });
  await run('discount_share');
  assert.equal(await valueOf('discount_share', 'MA'), 0.5);
  assert.equal(await valueOf('discount_share', 'MB'), 0);
});

test('subscriptions: paused, ended and active packages, and the shipments left, from shipment rows or by the week', async () => {
  await saveTag(stores, ws.id, { key: 'sub_status', name: { zh: '订阅状态', en: 'Subscription status' }, kind: 'subscription', output: 'status' });
  await saveTag(stores, ws.id, { key: 'sub_left', name: { zh: '剩余期数', en: 'Shipments left' }, kind: 'subscription', output: 'remaining_shipments' });
  await run('sub_status', 'sub_left');
  assert.deepEqual(await Promise.all(['MA', 'MB', 'MC', 'MD'].map(async (who) => [await valueOf('sub_status', who), await valueOf('sub_left', who)])), [
    [undefined, undefined], // no package
    ['paused', 5],
    ['ended', 0],
    ['active', 3],
  ]);
});

test('WeCom relationship: an owner for people in contacts, false for everyone else; days since the first staff member added them', async () => {
  for (const output of ['has_owner', 'days_since_added', 'owner', 'owner_count'] as const) {
    await saveTag(stores, ws.id, { key: `wecom_${output}`, name: { zh: output, en: output }, kind: 'wecom', output });
  }
  await run('wecom_has_owner', 'wecom_days_since_added', 'wecom_owner', 'wecom_owner_count');
  assert.equal(await valueOf('wecom_has_owner', 'MA'), true);
  assert.equal(await valueOf('wecom_days_since_added', 'MA'), 20);
  assert.equal(await valueOf('wecom_owner', 'MA'), '王导购');
  assert.equal(await valueOf('wecom_owner_count', 'MA'), 2);
  assert.equal(await valueOf('wecom_has_owner', 'MC'), false);
  assert.equal(await valueOf('wecom_days_since_added', 'MC'), undefined);
});

test('tiers over another tag: by shares of people from the top, or by minimums', async () => {
  await saveTag(stores, ws.id, { key: 'spend_total', name: { zh: '累计消费', en: 'Spend' }, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' });
  await saveTag(stores, ws.id, {
    key: 'spend_half',
    name: { zh: '消费前50%', en: 'Spend halves' },
    kind: 'tier',
    of: 'spend_total',
    method: 'quantiles',
    tiers: [{ label: '高', share: 0.5 }, { label: '低' }],
  });
  await saveTag(stores, ws.id, {
    key: 'spend_band',
    name: { zh: '消费档', en: 'Spend band' },
    kind: 'tier',
    of: 'spend_total',
    method: 'thresholds',
    tiers: [{ label: '高', min: 200 }, { label: '中', min: 60 }, { label: '低' }],
  });
  const results = await run('spend_half', 'spend_band');
  // The tag they read had no values yet, so it ran first.
  assert.equal(results[0].key, 'spend_total');
  assert.deepEqual(results.map((r) => r.key).sort(), ['spend_band', 'spend_half', 'spend_total']);
  // Spend: MA 300, MB 300, MD 80, MC 50.
  assert.deepEqual(await Promise.all(['MA', 'MB', 'MD', 'MC'].map((w) => valueOf('spend_half', w))), ['高', '高', '低', '低']);
  assert.deepEqual(await Promise.all(['MA', 'MB', 'MD', 'MC'].map((w) => valueOf('spend_band', w))), ['高', '高', '中', '低']);
  assert.throws(
    () =>
      tagDefinitionSchema.parse({
        key: 'bad',
        name: { zh: 'x', en: 'x' },
        kind: 'tier',
        of: 'spend_total',
        method: 'thresholds',
        tiers: [{ label: 'a', min: 1 }, { label: 'b', min: 5 }, { label: 'c' }],
      }),
    /minimums must fall/,
  );
});

test('rules over profile fields and inline statistics, for everyone OneID knows', async () => {
  await saveTag(stores, ws.id, {
    key: 'segment_rule',
    name: { zh: '规则分群', en: 'Rule segment' },
    kind: 'rule',
    cases: [
      {
        when: {
          all: [
            { profile: 'level', op: 'eq', value: '金卡' },
            { statistic: { of: 'purchases', measure: 'count', windowDays: 30 }, op: 'gte', value: 2 },
          ],
        },
        value: 'gold_repeat',
      },
      { when: { profile: 'points', op: 'lt', value: 500 }, value: 'low_points' },
      { when: { statistic: { of: 'purchases', measure: 'last', field: 'ordered_at' }, op: 'lt', value: '2026-05-01' }, value: 'lapsed' },
    ],
    else: 'other',
  });
  await run('segment_rule');
  assert.deepEqual(await Promise.all(['MA', 'MB', 'MC', 'MD'].map((w) => valueOf('segment_rule', w))), ['gold_repeat', 'low_points', 'lapsed', 'other']);
  assert.throws(() =>
    tagDefinitionSchema.parse({ key: 'bad', name: { zh: 'x', en: 'x' }, kind: 'rule', cases: [{ when: { profile: 'shoe_size', op: 'eq', value: 1 }, value: 'x' }] }),
  );
  assert.throws(
    () =>
      tagDefinitionSchema.parse({
        key: 'bad',
        name: { zh: 'x', en: 'x' },
        kind: 'rule',
        cases: [{ when: { statistic: { of: 'purchases', measure: 'sum', field: 'source' }, op: 'gt', value: 1 }, value: 'x' }],
      }),
    /numeric field/,
  );
});

test('SQL tags: a query over this workspace only, parameterised by the base date', async () => {
  const other = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('kinds-other'), name: 'other' });
  await runImport(stores, {
    workspace: other,
    kind: 'orders',
    source: 'erp',
    files: [csv('other.csv', ['order_id,ordered_at,amount,member_no', 'z1,2026-06-01 10:00:00,999,MZ'])],
  });
  await saveTag(stores, ws.id, {
    key: 'sql_june_spend',
    name: { zh: '六月消费', en: 'June spend' },
    kind: 'sql',
    valueType: 'number',
    query: `SELECT person_id, sum(amount) AS value FROM purchases WHERE day > subtractDays({base:Date}, 30) GROUP BY person_id`,
  });
  await saveTag(stores, ws.id, {
    key: 'sql_everyone',
    name: { zh: '全部订单', en: 'All orders' },
    kind: 'sql',
    valueType: 'number',
    query: 'SELECT person_id, count() AS value FROM orders GROUP BY person_id',
  });
  await run('sql_june_spend', 'sql_everyone');
  assert.deepEqual(await Promise.all(['MA', 'MB', 'MC', 'MD'].map((w) => valueOf('sql_june_spend', w))), [300, 300, undefined, 80]);
  // The other workspace's buyer is not among this one's values.
  assert.equal((await tagCoverage(stores, ws.id, 'sql_everyone')).people, 4);
});

test('SQL tags: anything but a read of the workspace tables is refused when saved, and fails the run if stored anyway', async () => {
  const attempts: Array<[string, RegExp]> = [
    ['SELECT person_id, 1 AS value FROM default.orders', /without a database/],
    ['SELECT person_id, 1 AS value FROM import_keys', /not readable/],
    ["SELECT 1 AS person_id, line AS value FROM file('/etc/passwd', 'LineAsString')", /table function file/],
    ["SELECT person_id, file('/etc/passwd') AS value FROM orders", /function file\(\) is not allowed/],
    ['SELECT person_id, 1 AS value FROM orders; DROP TABLE orders', /one SELECT only/],
    ['INSERT INTO tag_values (person_id) SELECT person_id FROM orders', /a SELECT only/],
    ['SELECT person_id, 1 AS value FROM orders SETTINGS max_threads = 1', /SETTINGS/],
    ['SELECT person_id, {ws:String} AS value FROM orders', /only \{base:Date\}/],
    ['SELECT person_id, 1 AS value FROM orders WHERE person_id IN person_identities', /names a table/],
    ['SELECT person_id, 1 AS value FROM system.tables', /without a database/],
    ['SELECT person_id, 1 AS value FROM orders WHERE', /does not parse/],
  ];
  for (const [i, [query, error]] of attempts.entries()) {
    const tag = { key: `sql_bad_${i}`, name: { zh: 'x', en: 'x' }, kind: 'sql' as const, valueType: 'string' as const, query, dependsOn: [], onEmpty: 'keep' as const };
    await assert.rejects(saveTag(stores, ws.id, tag), (e: Error) => e instanceof ZodError && e.issues[0].path[0] === 'query' && error.test(e.issues[0].message), query);
    // A definition stored before these checks existed is checked again when it runs.
    await stores.state.db
      .insertInto('tag_definitions')
      .values({ workspace_id: ws.id, key: tag.key, definition: JSON.stringify(tag) })
      .execute();
    const [result] = await runTags(stores, { workspaceId: ws.id, keys: [`sql_bad_${i}`], baseDate: BASE });
    assert.equal(result.status, 'failed', query);
    assert.match(result.error ?? '', error, query);
  }
  const [{ n }] = await stores.facts.query<{ n: string }>('SELECT count() AS n FROM orders');
  assert.ok(Number(n) > 0, 'orders still exist');
});

test('imported tags: a file of identifier → value; bad rows are reported, good ones kept; re-importing replaces, never duplicates', async () => {
  await saveTag(stores, ws.id, { key: 'crm_note', name: { zh: '客服备注', en: 'CRM note' }, kind: 'imported', identifierType: 'member_no' });
  const file = csv('notes.csv', ['会员号,备注', 'MA,高潜', 'MB,', 'MZ,未知', ',x', 'MB,流失风险']);
  const report = await importTagFile(stores, ws.id, 'crm_note', file);
  assert.deepEqual({ read: report.rowsRead, accepted: report.accepted, rejected: report.rejected }, { read: 5, accepted: 3, rejected: 2 });
  assert.deepEqual(
    report.rejections.map((r) => [r.row, r.field]),
    [
      [3, 'value'],
      [5, 'identifier'],
    ],
  );
  await run('crm_note');
  assert.equal(await valueOf('crm_note', 'MA'), '高潜');
  assert.equal(await valueOf('crm_note', 'MB'), '流失风险'); // the later row for MB wins
  await importTagFile(stores, ws.id, 'crm_note', file);
  const [again] = await run('crm_note');
  assert.equal(again.people, 2);
  await saveTag(stores, ws.id, { key: 'crm_score', name: { zh: '评分', en: 'Score' }, kind: 'imported', identifierType: 'member_no', valueType: 'number' });
  const scores = await importTagFile(stores, ws.id, 'crm_score', csv('scores.csv', ['member,score', 'MA,4.5', 'MC,high']));
  assert.deepEqual(
    scores.rejections.map((r) => [r.row, r.field, r.value]),
    [[3, 'value', 'high']],
  );
  assert.match(scores.rejections[0].expected, /a number/);
  await run('crm_score');
  assert.equal(await valueOf('crm_score', 'MA'), 4.5);
});
