import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ZodError } from 'zod';
import { openTestStores, tempDir, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService, type Workspace } from '../access/workspaces.ts';
import { runImport } from '../ingest/importer.ts';
import { saveTag } from '../tags/store.ts';
import { runTags } from '../tags/engine.ts';
import { segmentSchema, type Condition } from '../contract/segments.ts';
import { describeZodError } from '../kernel/errors.ts';
import { compileSegment, tagRunKey } from './compile.ts';
import { countSegment, estimateSegment, sampleSegment, saveSegment } from './segments.ts';

let stores: Stores;
let ws: Workspace;
const person = new Map<string, number>();
const TODAY = '2026-06-30';

function file(name: string, lines: string[]): string {
  const f = path.join(tempDir(), name);
  fs.writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('segments'), name: 'segments' });
  await runImport(stores, {
    workspace: ws,
    kind: 'orders',
    source: 'erp',
    files: [
      file('orders.csv', [
        'order_id,ordered_at,amount,line_amount,member_no,phone,sku,category',
        'a1,2026-06-01 10:00:00,100,100,MA,,S1,燕窝',
        'a2,2026-06-20 10:00:00,50,50,MA,,S2,饮品',
        'c1,2026-06-25 10:00:00,80,80,MC,13800000003,S3,礼盒',
      ]),
    ],
  });
  await runImport(stores, {
    workspace: ws,
    kind: 'orders',
    source: 'tmall',
    files: [file('tmall.csv', ['order_id,ordered_at,amount,member_no,sku,category', 'b1,2026-05-01 10:00:00,300,MB,S1,燕窝'])],
  });
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file('members.csv', ['member_no,level', 'MA,金卡', 'MB,银卡'])] });
  const event = (id: string, member: string, name: string, at: string, properties: Record<string, unknown> = {}) =>
    JSON.stringify({ type: 'track', event: name, messageId: id, timestamp: at, properties, identities: { member_no: member } });
  await runImport(stores, {
    workspace: ws,
    kind: 'events',
    files: [
      file('events.jsonl', [
        event('e1', 'MA', 'Added to Cart', '2026-06-29T02:00:00Z', { sku: 'S1', price: 99 }),
        event('e2', 'MA', 'Order Completed', '2026-06-29T05:00:00Z', { revenue: 99 }),
        event('e3', 'MB', 'Added to Cart', '2026-06-28T02:00:00Z', { sku: 'S2', price: 49 }),
        event('e4', 'MB', 'Product Viewed', '2026-06-10T02:00:00Z', { sku: 'S1' }),
        event('e5', 'MB', 'Product Viewed', '2026-06-11T02:00:00Z', { sku: 'S1' }),
        event('e6', 'MB', 'Product Viewed', '2026-06-12T02:00:00Z', { sku: 'S2' }),
        event('e7', 'MB', 'Order Completed', '2026-06-29T12:00:00Z', { revenue: 49 }), // 34 h after the cart: too late
      ]),
    ],
  });
  for (const who of ['MA', 'MB', 'MC']) {
    const [row] = await stores.facts.query<{ p: string }>(
      `SELECT person_id AS p FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = {v:String}`,
      { ws: ws.id, v: who },
    );
    person.set(who, Number(row.p));
  }
  await saveTag(stores, ws.id, { key: 'spend_total', name: { zh: '累计消费', en: 'Spend' }, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' });
  await saveTag(stores, ws.id, { key: 'fav_category', name: { zh: '偏好品类', en: 'Favourite category' }, kind: 'preference', dimension: 'category', by: 'amount' });
  await runTags(stores, { workspaceId: ws.id, baseDate: TODAY });
});
after(async () => {
  await stores.close();
});

/** Who is in a tree, as member numbers. */
async function members(...conditions: Condition[]): Promise<string[]> {
  const tree = { match: 'all' as const, conditions, today: TODAY };
  const sample = await sampleSegment(stores, ws.id, tree, { limit: 100 });
  const byId = new Map([...person].map(([k, v]) => [v, k]));
  const who = sample.map((p) => byId.get(p.personId) ?? `#${p.personId}`).sort();
  assert.equal((await countSegment(stores, ws.id, tree)).people, who.length, 'count and sample agree');
  return who;
}
const parse = (conditions: unknown[]) => segmentSchema.parse({ key: 'x1', name: { zh: 'x', en: 'x' }, conditions }).conditions;

test('validation names the failing node by its path', () => {
  const errorOf = (conditions: unknown[]) => {
    try {
      parse(conditions);
    } catch (error) {
      return describeZodError(error as ZodError);
    }
    return 'no error';
  };
  assert.match(
    errorOf([
      { type: 'tag', tag: 'spend_total', op: 'exists' },
      { type: 'tag', tag: 'spend_total', op: 'gt', value: 1 },
      { type: 'event', event: 'Viewed', window: { days: 0 } },
    ]),
    /^conditions\[2\]\.window\.days: must be a positive integer/,
  );
  assert.match(
    errorOf([{ type: 'group', match: 'any', conditions: [{ type: 'tag', tag: 'spend_total', op: 'between', value: [1] }] }]),
    /^conditions\[0\]\.conditions\[0\]\.value: between needs \[low, high\]/,
  );
  assert.match(errorOf([{ type: 'weather', op: 'eq' }]), /^conditions\[0\]\.type/);
  assert.match(
    errorOf([{ type: 'sequence', first: { event: 'A' }, then: { event: 'B' }, within: {}, window: { days: 1 } }]),
    /^conditions\[0\]\.within: give minutes, hours or days/,
  );
  assert.match(errorOf([{ type: 'orders', amount: { min: 10, max: 5 } }]), /^conditions\[0\]\.amount\.max: amount: min must not exceed max/);
});

test('tags, profile fields and identifiers', async () => {
  assert.deepEqual(await members({ type: 'tag', tag: 'spend_total', op: 'gte', value: 100 }), ['MA', 'MB']);
  assert.deepEqual(await members({ type: 'tag', tag: 'spend_total', op: 'between', value: [60, 200] }), ['MA', 'MC']);
  assert.deepEqual(await members({ type: 'tag', tag: 'fav_category', op: 'in', value: ['燕窝', '礼盒'] }), ['MA', 'MB', 'MC']);
  assert.deepEqual(await members({ type: 'tag', tag: 'fav_category', op: 'missing' }), []);
  assert.deepEqual(await members({ type: 'tag', tag: 'spend_total', op: 'gte', value: 100, asOf: '2026-01-01' }), [], 'no run as of then');
  assert.deepEqual(await members({ type: 'profile', field: 'level', op: 'eq', value: '金卡' }), ['MA']);
  assert.deepEqual(await members({ type: 'profile', field: 'level', op: 'missing' }), ['MC']);
  assert.deepEqual(await members({ type: 'identifier', identifierType: 'phone' }), ['MC']);
});

test('behaviour: counts in a window with property filters, and not doing something', async () => {
  assert.deepEqual(await members({ type: 'event', event: 'Product Viewed', where: [], count: { min: 3 }, window: { days: 30 } }), ['MB']);
  assert.deepEqual(
    await members({
      type: 'event',
      event: 'Product Viewed',
      where: [{ property: 'sku', op: 'eq', value: 'S1' }],
      count: { min: 2 },
      window: { from: '2026-06-01', to: '2026-06-30' },
    }),
    ['MB'],
  );
  assert.deepEqual(await members({ type: 'event', event: 'Added to Cart', where: [{ property: 'price', op: 'gt', value: 60 }], count: { min: 1 }, window: { days: 7 } }), ['MA']);
  // Did not add to cart in the last 7 days: everyone else, including people with no events at all.
  assert.deepEqual(await members({ type: 'event', event: 'Added to Cart', where: [], count: { max: 0 }, window: { days: 7 } }), ['MC']);
  assert.deepEqual(await members({ type: 'event', event: 'Product Viewed', where: [], count: { min: 1 }, window: { days: 7 } }), [], 'the views were more than 7 days ago');
});

test('sequences: did A then B within a time, and did A but not B within it', async () => {
  const cart = { event: 'Added to Cart', where: [] };
  const paid = { event: 'Order Completed', where: [] };
  assert.deepEqual(await members({ type: 'sequence', first: cart, then: paid, within: { hours: 24 }, absent: false, window: { days: 30 } }), ['MA']);
  assert.deepEqual(await members({ type: 'sequence', first: cart, then: paid, within: { hours: 24 }, absent: true, window: { days: 30 } }), ['MB']);
  assert.deepEqual(await members({ type: 'sequence', first: cart, then: paid, within: { hours: 48 }, absent: false, window: { days: 30 } }), ['MA', 'MB']);
});

test('orders: SKU or category, platform, count and amount in a window', async () => {
  assert.deepEqual(await members({ type: 'orders', categories: ['礼盒'], count: { min: 1 } }), ['MC']);
  assert.deepEqual(await members({ type: 'orders', skus: ['S1'], count: { min: 1 }, window: { days: 45 } }), ['MA']);
  assert.deepEqual(await members({ type: 'orders', sources: ['tmall'], amount: { min: 200 }, count: { min: 1 } }), ['MB']);
  assert.deepEqual(await members({ type: 'orders', count: { min: 2 } }), ['MA']);
  assert.deepEqual(await members({ type: 'orders', count: { max: 0 }, window: { days: 20 } }), ['MB'], 'bought nothing in the last 20 days');
});

test('groups, negation, other segments (no cycles) and deterministic random splits', async () => {
  assert.deepEqual(
    await members({
      type: 'group',
      match: 'any',
      conditions: [
        { type: 'profile', field: 'level', op: 'eq', value: '金卡' },
        { type: 'identifier', identifierType: 'phone' },
      ],
    }),
    ['MA', 'MC'],
  );
  assert.deepEqual(await members({ type: 'not', condition: { type: 'identifier', identifierType: 'phone' } }), ['MA', 'MB']);
  await saveSegment(stores, ws.id, { key: 'big_spenders', name: { zh: '高消费', en: 'Big spenders' }, conditions: [{ type: 'tag', tag: 'spend_total', op: 'gte', value: 100 }] });
  await saveSegment(stores, ws.id, {
    key: 'big_members',
    name: { zh: '高消费会员', en: 'Big-spending members' },
    conditions: [
      { type: 'segment', segment: 'big_spenders' },
      { type: 'profile', field: 'level', op: 'exists' },
    ],
  });
  assert.deepEqual(await members({ type: 'segment', segment: 'big_members' }, { type: 'profile', field: 'level', op: 'eq', value: '银卡' }), ['MB']);
  await assert.rejects(
    saveSegment(stores, ws.id, { key: 'big_spenders', name: { zh: 'x', en: 'x' }, conditions: [{ type: 'segment', segment: 'big_members' }] }, { replace: true }),
    /would read itself|cycle/,
  );
  await assert.rejects(
    saveSegment(stores, ws.id, { key: 'ghost', name: { zh: 'x', en: 'x' }, conditions: [{ type: 'segment', segment: 'nope' }] }),
    /segment "nope", which does not exist/,
  );
  await assert.rejects(
    saveSegment(stores, ws.id, { key: 'ghost', name: { zh: 'x', en: 'x' }, conditions: [{ type: 'tag', tag: 'nope', op: 'exists' }] }),
    /tag "nope", which does not exist/,
  );
  const half = await members({ type: 'sample', percent: 50, salt: 'ab' });
  assert.deepEqual(await members({ type: 'sample', percent: 50, salt: 'ab' }), half, 'the same split every time');
  const other = await members({ type: 'not', condition: { type: 'sample', percent: 50, salt: 'ab' } });
  assert.deepEqual([...half, ...other].sort(), ['MA', 'MB', 'MC'], 'a split and its complement cover everyone once');
  assert.equal((await estimateSegment(stores, ws.id, { match: 'all', conditions: [{ type: 'tag', tag: 'spend_total', op: 'exists' }], today: TODAY }, 1)).estimate, 3);
});

test('trees over text tags are bitmap algebra, and agree with scanning the values', async () => {
  const trees: Condition[][] = [
    [{ type: 'tag', tag: 'fav_category', op: 'eq', value: '燕窝' }],
    [{ type: 'tag', tag: 'fav_category', op: 'in', value: ['礼盒', '饮品'] }],
    [{ type: 'tag', tag: 'fav_category', op: 'ne', value: '燕窝' }],
    [{ type: 'not', condition: { type: 'tag', tag: 'fav_category', op: 'eq', value: '礼盒' } }],
    [
      {
        type: 'group',
        match: 'any',
        conditions: [
          { type: 'tag', tag: 'fav_category', op: 'eq', value: '礼盒' },
          { type: 'tag', tag: 'fav_category', op: 'missing' },
        ],
      },
    ],
    [{ type: 'tag', tag: 'fav_category', op: 'gte', value: '燕' }],
    [{ type: 'segment', segment: 'big_spenders' }],
  ];
  const methods = [];
  for (const conditions of trees) {
    const tree = { match: 'all' as const, conditions, today: TODAY };
    const counted = await countSegment(stores, ws.id, tree);
    const scanned = await estimateSegment(stores, ws.id, tree, 1);
    assert.equal(counted.people, scanned.estimate, JSON.stringify(conditions));
    methods.push(counted.method);
  }
  assert.ok(
    methods.every((m) => m === 'bitmaps'),
    methods.join(),
  );
  const sample = await sampleSegment(stores, ws.id, { match: 'all', conditions: trees[0], today: TODAY });
  assert.deepEqual(sample.map((p) => p.personId).sort(), [person.get('MA'), person.get('MB')].sort());
});

test('samples mask identifiers for roles that do not see personal data', async () => {
  const tree = { match: 'all' as const, conditions: [{ type: 'identifier', identifierType: 'phone' }] as Condition[], today: TODAY };
  const [clear] = await sampleSegment(stores, ws.id, tree, { role: 'operator' });
  const [masked] = await sampleSegment(stores, ws.id, tree, { role: 'analyst' });
  assert.equal(clear.identifiers.find((i) => i.type === 'phone')?.value, '+8613800000003');
  assert.equal(masked.identifiers.find((i) => i.type === 'phone')?.value, '+86138****0003');
});

test('the generated SQL of representative trees matches the golden files (UPDATE_GOLDEN=1 rewrites them)', () => {
  const ctx = {
    today: TODAY,
    timeZone: 'Asia/Shanghai',
    workspaceId: 'ws_golden',
    now: Date.UTC(2026, 5, 30, 16) / 1000,
    tagRuns: new Map([
      [tagRunKey('lifecycle_stage', undefined), { runId: 'tag_run_lifecycle', type: 'string' as const }],
      [tagRunKey('rfm_group', undefined), { runId: 'tag_run_rfm', type: 'string' as const }],
      [tagRunKey('clv_1y', undefined), { runId: 'tag_run_clv', type: 'number' as const }],
      [tagRunKey('wecom_added', undefined), { runId: 'tag_run_wecom', type: 'boolean' as const }],
      [tagRunKey('top3_categories', undefined), { runId: 'tag_run_top3', type: 'string_list' as const }],
    ]),
    segments: new Map(),
  };
  const trees: Record<string, unknown[]> = {
    'tags-only-5': [
      { type: 'tag', tag: 'lifecycle_stage', op: 'in', value: ['衰退', '沉睡'] },
      { type: 'tag', tag: 'rfm_group', op: 'eq', value: '重要挽留客户' },
      { type: 'tag', tag: 'clv_1y', op: 'gte', value: 500 },
      { type: 'tag', tag: 'wecom_added', op: 'eq', value: true },
      { type: 'tag', tag: 'top3_categories', op: 'eq', value: '鲜炖燕窝' },
    ],
    'mixed-tags-behaviour': [
      { type: 'tag', tag: 'lifecycle_stage', op: 'eq', value: '成熟' },
      { type: 'event', event: 'Product Viewed', where: [{ property: 'category', op: 'eq', value: '鲜炖燕窝' }], count: { min: 3 }, window: { days: 14 } },
      { type: 'not', condition: { type: 'orders', categories: ['鲜炖燕窝'], window: { days: 30 } } },
      { type: 'identifier', identifierType: 'unionid' },
    ],
    'cart-abandoned': [{ type: 'sequence', first: { event: 'Added to Cart' }, then: { event: 'Order Completed' }, within: { hours: 24 }, absent: true, window: { days: 7 } }],
    'split-any': [
      {
        type: 'group',
        match: 'any',
        conditions: [
          { type: 'profile', field: 'level', op: 'eq', value: '金卡' },
          { type: 'orders', sources: ['tmall'], amount: { min: 1000 }, window: { from: '2026-01-01', to: '2026-06-30' } },
        ],
      },
      { type: 'sample', percent: 10, salt: 'test-a' },
    ],
  };
  // The same five tags kept as bitmaps (and everyone too): the tree becomes bitmap algebra.
  const bitmapCtx = { ...ctx, everyoneBitmap: true, tagRuns: new Map([...ctx.tagRuns].map(([k, v]) => [k, { ...v, bitmaps: true }])) };
  const dir = path.resolve('test', 'golden', 'segments');
  fs.mkdirSync(dir, { recursive: true });
  const cases = [
    ...Object.entries(trees).map(([name, conditions]) => [name, conditions, ctx] as const),
    [
      'tags-only-4-bitmaps',
      [{ type: 'not', condition: { type: 'group', match: 'all', conditions: trees['tags-only-5'].filter((c) => (c as { tag: string }).tag !== 'clv_1y') } }],
      bitmapCtx,
    ] as const,
    ['mixed-tags-behaviour-bitmaps', trees['mixed-tags-behaviour'], bitmapCtx] as const,
    // With the behaviour index: its rows and day bitmaps, and the events of the people changed since it was built.
    [
      'behaviour-index',
      [{ type: 'event', event: 'Product Viewed', count: { min: 2, max: 5 }, window: { days: 14 } }, trees['cart-abandoned'][0]],
      { ...bitmapCtx, behaviour: { watermark: '2026-06-30 15:00:00.000', changed: true } },
    ] as const,
    // With the masks of what each row has near it: per-day bitmaps, and rows only where a B is near (W = H), or all near ones (W < H).
    [
      'behaviour-index-near',
      [
        trees['cart-abandoned'][0],
        { type: 'sequence', first: { event: 'Product Viewed' }, then: { event: 'Added to Cart' }, within: { minutes: 30 }, absent: false, window: { days: 14 } },
      ],
      { ...bitmapCtx, behaviour: { watermark: '2026-06-30 15:00:00.000', changed: false, bits: { 'Added to Cart': 0, 'Order Completed': 1, 'Product Viewed': 2 } } },
    ] as const,
  ];
  for (const [name, conditions, context] of cases) {
    const compiled = compileSegment({ match: 'all', conditions: parse([...conditions]) }, context);
    const text = `-- ${name}\n${compiled.bitmap ? `-- bitmap: ${compiled.bitmap}\n` : ''}${compiled.sql}\n-- params: ${JSON.stringify(compiled.params)}\n`;
    const golden = path.join(dir, `${name}.sql`);
    if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(golden, text);
    assert.ok(fs.existsSync(golden), `${golden} is missing: run with UPDATE_GOLDEN=1`);
    assert.equal(text, fs.readFileSync(golden, 'utf8'), `${name}: the generated SQL changed; review it and run with UPDATE_GOLDEN=1`);
  }
});

test('insights: tag distributions inside against the base, numbers summarised, and a cross matrix', async () => {
  const { segmentInsights, crossMatrix } = await import('./insights.ts');
  const tree = { match: 'all' as const, conditions: [{ type: 'profile', field: 'level', op: 'exists' }] as Condition[], today: TODAY };
  const insights = await segmentInsights(stores, ws.id, tree, ['fav_category', 'spend_total']);
  assert.deepEqual([insights.people, insights.base], [2, 3]);
  const fav = insights.tags[0] as { values: Array<{ value: string; inside: number; base: number; lift: number | null }> };
  // Inside: MA 燕窝 (100 vs 50 of 饮品), MB 燕窝; the base adds MC 礼盒.
  assert.deepEqual(
    fav.values.map((v) => [v.value, v.inside, v.base]),
    [
      ['燕窝', 2, 2],
      ['礼盒', 0, 1],
    ],
  );
  assert.equal(fav.values[0].lift, 1.5);
  const spend = insights.tags[1] as { summary: Record<string, number> };
  assert.deepEqual([spend.summary.avg_inside, spend.summary.avg_base], [225, (150 + 300 + 80) / 3]);
  await saveTag(stores, ws.id, { key: 'member_level', name: { zh: '等级', en: 'Level' }, kind: 'profile', field: 'level' });
  await runTags(stores, { workspaceId: ws.id, keys: ['member_level'], baseDate: TODAY });
  const cross = await crossMatrix(stores, ws.id, undefined, 'member_level', 'fav_category');
  assert.deepEqual(cross.columns, ['燕窝']);
  assert.deepEqual(cross.rows.map((r) => [r.value, ...r.cells]).sort(), [
    ['金卡', 1],
    ['银卡', 1],
  ]);
  await assert.rejects(crossMatrix(stores, ws.id, undefined, 'spend_total', 'fav_category'), /a cross matrix takes text/);
});

test('lists: a file of identifiers becomes a segment (bad and unmatched rows reported); a segment exports as identifiers of a type', async () => {
  const { importSegmentList, exportSegment } = await import('./lists.ts');
  const list = file('vip.csv', ['手机号', '13800000003', '138-0000-0003', 'not a phone', '13999999999']);
  const report = await importSegmentList(stores, ws.id, { key: 'vip_list', name: { zh: '贵宾名单', en: 'VIP list' }, identifierType: 'phone', file: list });
  assert.deepEqual([report.rowsRead, report.accepted, report.rejectedCount, report.unmatched, report.people], [4, 3, 1, 1, 1]);
  assert.equal(report.rejected[0].row, 4);
  assert.match(report.rejected[0].expected, /^a phone/);
  assert.deepEqual(await members({ type: 'segment', segment: 'vip_list' }), ['MC']);
  // Importing again replaces the list.
  const again = await importSegmentList(stores, ws.id, {
    key: 'vip_list',
    name: { zh: '贵宾名单', en: 'VIP list' },
    identifierType: 'phone',
    file: file('none.csv', ['phone', '13999999999']),
  });
  assert.equal(again.people, 0);
  assert.deepEqual(await members({ type: 'segment', segment: 'vip_list' }), []);

  let text = '';
  const sink = {
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    once: () => undefined,
  } as unknown as NodeJS.WritableStream;
  const exported = await exportSegment(stores, ws.id, 'big_spenders', 'member_no', sink);
  assert.deepEqual(exported, { people: 2, rows: 2 });
  assert.deepEqual(
    text
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[1])
      .sort(),
    ['MA', 'MB'],
  );
});

test('snapshots: taken by hand or after whole tag runs, the last N kept, who joined and who left', async () => {
  const { takeSnapshot, listSnapshots, diffSnapshots } = await import('./snapshots.ts');
  await saveSegment(stores, ws.id, {
    key: 'spent_120',
    name: { zh: '消费120以上', en: 'Spent 120+' },
    conditions: [{ type: 'tag', tag: 'spend_total', op: 'gte', value: 120 }],
    snapshots: { afterTagRuns: true, keep: 2 },
  });
  const first = await takeSnapshot(stores, ws.id, 'spent_120');
  assert.equal(first.people, 2); // MA 150, MB 300
  // MC buys again (80 + 100); a whole tag run snapshots the segments that follow tag runs.
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [file('more.csv', ['order_id,ordered_at,amount,member_no', 'c2,2026-06-28 10:00:00,100,MC'])] });
  await runTags(stores, { workspaceId: ws.id, baseDate: TODAY });
  const afterRun = await listSnapshots(stores, ws.id, 'spent_120');
  assert.deepEqual(
    afterRun.map((s) => [s.trigger, s.people]),
    [
      ['tags', 3],
      ['manual', 2],
    ],
  );
  const diff = await diffSnapshots(stores, ws.id, 'spent_120');
  assert.deepEqual([diff.joined.people, diff.joined.sample, diff.left.people], [1, [person.get('MC')], 0]);
  await saveSegment(
    stores,
    ws.id,
    {
      key: 'spent_120',
      name: { zh: '消费200以上', en: 'Spent 200+' },
      conditions: [{ type: 'tag', tag: 'spend_total', op: 'gte', value: 200 }],
      snapshots: { afterTagRuns: true, keep: 2 },
    },
    { replace: true },
  );
  await takeSnapshot(stores, ws.id, 'spent_120');
  const kept = await listSnapshots(stores, ws.id, 'spent_120');
  assert.equal(kept.length, 2, 'the last two are kept');
  assert.ok(!kept.some((s) => s.id === first.id));
  const narrowed = await diffSnapshots(stores, ws.id, 'spent_120');
  assert.deepEqual([narrowed.joined.people, narrowed.left.people, [...narrowed.left.sample].sort()], [0, 2, [person.get('MA'), person.get('MC')].sort()]);
  await assert.rejects(diffSnapshots(stores, ws.id, 'big_spenders'), /needs two snapshots/);
});
