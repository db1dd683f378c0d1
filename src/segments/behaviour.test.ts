import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestStores, tempDir, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService, type Workspace } from '../access/workspaces.ts';
import { runImport } from '../ingest/importer.ts';
import type { Condition } from '../contract/segments.ts';
import { countSegment } from './segments.ts';
import { behaviourIndexStatus, LEVELS, refreshBehaviourIndex } from './behaviour.ts';

// Two workspaces get the same events: `indexed` builds the behaviour index, `plain` never does, so
// every count of `indexed` is checked against the events read directly.
let stores: Stores;
let indexed: Workspace;
let plain: Workspace;
const TODAY = '2026-06-30';
const NOW = Date.UTC(2026, 5, 30, 12) / 1000;
const EVENTS = ['Product Viewed', 'Added to Cart', 'Order Completed'];

function eventsFile(lines: string[]): string {
  const f = path.join(tempDir(), `events-${lines.length}.jsonl`);
  fs.writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

const event = (id: string, member: string, name: string, at: number, properties: Record<string, unknown>) =>
  JSON.stringify({ type: 'track', event: name, messageId: id, timestamp: new Date(at * 1000).toISOString(), properties, identities: { member_no: member } });

/** 80 people, 0–5 events each (every tenth 30) over the 20 days before NOW (a few far more often), from a fixed seed. */
function generated(seed: number, prefix: string): string[] {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines: string[] = [];
  for (let p = 1; p <= 80; p++) {
    const n = p % 10 === 0 ? 30 : Math.floor(next() * 6);
    for (let i = 0; i < n; i++) {
      const at = NOW - Math.floor(next() * 20 * 86400);
      lines.push(event(`${prefix}${p}-${i}`, `M${p}`, EVENTS[Math.floor(next() * 3)], at, { sku: next() < 0.5 ? 'S1' : 'S2' }));
    }
  }
  return lines;
}

const TREES: Record<string, Condition[]> = {
  'viewed in 7 days': [{ type: 'event', event: 'Product Viewed', where: [], count: { min: 1 }, window: { days: 7 } }],
  'viewed ≥ 2 in 14 days': [{ type: 'event', event: 'Product Viewed', where: [], count: { min: 2 }, window: { days: 14 } }],
  'carted 2–3 times in 20 days': [{ type: 'event', event: 'Added to Cart', where: [], count: { min: 2, max: 3 }, window: { days: 20 } }],
  'viewed at most once in 20 days': [{ type: 'event', event: 'Product Viewed', where: [], count: { max: 1 }, window: { days: 20 } }],
  [`viewed more than ${LEVELS} times (past the day levels)`]: [{ type: 'event', event: 'Product Viewed', where: [], count: { min: LEVELS + 1 }, window: { days: 20 } }],
  'any of three events at least 3 times': [
    { type: 'group', match: 'any', conditions: EVENTS.map((e) => ({ type: 'event', event: e, where: [], count: { min: 3 }, window: { days: 20 } }) as Condition) },
  ],
  'viewed S1 twice (property filter)': [{ type: 'event', event: 'Product Viewed', where: [{ property: 'sku', op: 'eq', value: 'S1' }], count: { min: 2 }, window: { days: 20 } }],
  'carted, not paid within 24 h (7 days)': [
    { type: 'sequence', first: { event: 'Added to Cart', where: [] }, then: { event: 'Order Completed', where: [] }, within: { hours: 24 }, absent: true, window: { days: 7 } },
  ],
  'carted S2, then paid within 3 days (dates)': [
    {
      type: 'sequence',
      first: { event: 'Added to Cart', where: [{ property: 'sku', op: 'eq', value: 'S2' }] },
      then: { event: 'Order Completed', where: [] },
      within: { days: 3 },
      absent: false,
      window: { from: '2026-06-12', to: '2026-06-30' },
    },
  ],
  // From what each row has near it (W up to a day), with W the horizon or shorter:
  'carted, then paid within 24 h (7 days)': [
    { type: 'sequence', first: { event: 'Added to Cart', where: [] }, then: { event: 'Order Completed', where: [] }, within: { hours: 24 }, absent: false, window: { days: 7 } },
  ],
  'carted, not paid within 30 min (20 days)': [
    { type: 'sequence', first: { event: 'Added to Cart', where: [] }, then: { event: 'Order Completed', where: [] }, within: { minutes: 30 }, absent: true, window: { days: 20 } },
  ],
  'carted, then paid within an hour (20 days)': [
    { type: 'sequence', first: { event: 'Added to Cart', where: [] }, then: { event: 'Order Completed', where: [] }, within: { hours: 1 }, absent: false, window: { days: 20 } },
  ],
  // With property filters: the A rows themselves (filtered A), and B rows for every A with a B near (filtered B).
  'carted S2, not paid within 24 h (7 days)': [
    {
      type: 'sequence',
      first: { event: 'Added to Cart', where: [{ property: 'sku', op: 'eq', value: 'S2' }] },
      then: { event: 'Order Completed', where: [] },
      within: { hours: 24 },
      absent: true,
      window: { days: 7 },
    },
  ],
  'carted, then paid for S1 within 24 h (20 days)': [
    {
      type: 'sequence',
      first: { event: 'Added to Cart', where: [] },
      then: { event: 'Order Completed', where: [{ property: 'sku', op: 'eq', value: 'S1' }] },
      within: { hours: 24 },
      absent: false,
      window: { days: 20 },
    },
  ],
  'carted, not paid for S1 within 24 h (20 days)': [
    {
      type: 'sequence',
      first: { event: 'Added to Cart', where: [] },
      then: { event: 'Order Completed', where: [{ property: 'sku', op: 'eq', value: 'S1' }] },
      within: { hours: 24 },
      absent: true,
      window: { days: 20 },
    },
  ],
  // A window that ends before today: a B after its last day is not counted.
  'carted, then paid within 24 h (June 12–20)': [
    {
      type: 'sequence',
      first: { event: 'Added to Cart', where: [] },
      then: { event: 'Order Completed', where: [] },
      within: { hours: 24 },
      absent: false,
      window: { from: '2026-06-12', to: '2026-06-20' },
    },
  ],
  'carted, not paid within 24 h (June 12–20)': [
    {
      type: 'sequence',
      first: { event: 'Added to Cart', where: [] },
      then: { event: 'Order Completed', where: [] },
      within: { hours: 24 },
      absent: true,
      window: { from: '2026-06-12', to: '2026-06-20' },
    },
  ],
  'viewed, then carted within 12 h, and not viewed 10 times': [
    { type: 'sequence', first: { event: 'Product Viewed', where: [] }, then: { event: 'Added to Cart', where: [] }, within: { hours: 12 }, absent: false, window: { days: 20 } },
    { type: 'not', condition: { type: 'event', event: 'Product Viewed', where: [], count: { min: 10 }, window: { days: 20 } } },
  ],
};

async function counts(workspace: Workspace): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, conditions] of Object.entries(TREES)) out[name] = (await countSegment(stores, workspace.id, { match: 'all', conditions, today: TODAY, now: NOW })).people;
  return out;
}

async function importEvents(lines: string[]): Promise<void> {
  for (const workspace of [indexed, plain]) await runImport(stores, { workspace, kind: 'events', files: [eventsFile(lines)] });
}

before(async () => {
  ({ stores } = await openTestStores());
  const workspaces = new WorkspaceService(stores.state);
  indexed = await workspaces.create({ slug: uniqueSlug('behaviour-indexed'), name: 'indexed' });
  plain = await workspaces.create({ slug: uniqueSlug('behaviour-plain'), name: 'plain' });
  await importEvents([...generated(7, 'e'), ...closePairs()]);
});

/** Carts with a payment close after them: minutes later, past the hour, and across the end of June 20 (Shanghai). */
function closePairs(): string[] {
  const june20End = Date.UTC(2026, 5, 20, 16) / 1000;
  const pairs: Array<[string, number, number]> = [
    ['M3', NOW - 2 * 86400, 20 * 60],
    ['M4', NOW - 5 * 86400, 50 * 60],
    ['M5', NOW - 9 * 86400, 3 * 3600],
    ['M6', june20End - 1800, 2400],
    ['M7', NOW - 3600, 600],
    ['M8', NOW - 86400 + 600, 1200],
  ];
  return pairs.flatMap(([member, at, after], i) => [
    event(`pair-${i}-a`, member, 'Added to Cart', at, { sku: 'S2' }),
    event(`pair-${i}-b`, member, 'Order Completed', at + after, { sku: i % 2 === 0 ? 'S1' : 'S2' }),
  ]);
}
after(async () => {
  await stores.close();
});

test('behaviour conditions count the same with the index as from the events, before and after changes', async () => {
  const expected = await counts(plain);
  // The trees select some people, not none or all (else the comparison proves little).
  for (const [name, n] of Object.entries(expected)) assert.ok(n > 0 && n < 80, `${name}: ${n} people`);
  assert.equal((await behaviourIndexStatus(stores, indexed.id)).build, null);

  const first = await refreshBehaviourIndex(stores, indexed.id, { marginSeconds: 0 });
  // The weeks (Mondays, Shanghai) of June 10–30.
  const weeks = ['2026-06-08', '2026-06-15', '2026-06-22', '2026-06-29'];
  assert.deepEqual(first.weeks, weeks);
  assert.equal((await behaviourIndexStatus(stores, indexed.id)).changedPeople, 0);
  assert.deepEqual(await counts(indexed), expected);

  // After the build: new events, a re-sent event that changed, events of new people, and two people
  // merged by a shared phone (their events move to one person). Read from the events for them.
  const resent = JSON.parse(generated(7, 'e')[0]);
  await importEvents([
    ...generated(11, 'later').slice(0, 60),
    JSON.stringify({ ...resent, event: 'Added to Cart' }),
    event('new-1', 'M900', 'Added to Cart', NOW - 3 * 86400, {}),
    event('new-2', 'M900', 'Product Viewed', NOW - 3 * 86400 + 60, {}),
    event('new-3', 'M900', 'Product Viewed', NOW - 2 * 86400, {}),
  ]);
  for (const workspace of [indexed, plain]) {
    const members = path.join(tempDir(), 'members.csv');
    fs.writeFileSync(members, 'member_no,phone\nM1,13900000001\nM2,13900000001\n');
    await runImport(stores, { workspace, kind: 'members', source: 'crm', files: [members] });
  }
  const changed = await counts(plain);
  assert.notDeepEqual(changed, expected, 'the changes move some counts');
  assert.ok(((await behaviourIndexStatus(stores, indexed.id)).changedPeople ?? 0) > 0);
  assert.deepEqual(await counts(indexed), changed);

  // Rebuilt: nobody is read from the events any more, the counts hold, and a second build writes
  // no second copy of any event.
  // Builds asked for at once: the first rebuilds the changed weeks (the changes touch all four), the
  // ones after it find nothing left.
  const [rebuilt, , again] = await Promise.all([1, 2, 3].map(() => refreshBehaviourIndex(stores, indexed.id, { marginSeconds: 0 })));
  assert.deepEqual(rebuilt.weeks, weeks);
  assert.equal((await behaviourIndexStatus(stores, indexed.id)).changedPeople, 0);
  assert.deepEqual(again.weeks, []);
  assert.deepEqual(await counts(indexed), changed);

  // One event on Monday June 29: only that week is rebuilt, and the counts still match.
  await importEvents([event('late-1', 'M3', 'Order Completed', NOW - 3600, {})]);
  const late = await counts(plain);
  assert.deepEqual(await counts(indexed), late);
  assert.deepEqual((await refreshBehaviourIndex(stores, indexed.id, { marginSeconds: 0 })).weeks, ['2026-06-29']);
  assert.deepEqual(await counts(indexed), late);
  const [rows] = await stores.facts.query<{ index: string; events: string }>(
    `SELECT (SELECT count() FROM behaviour_rows WHERE workspace_id = {ws:String}) AS index,
            (SELECT count() FROM events FINAL WHERE workspace_id = {ws:String} AND person_id > 0) AS events`,
    { ws: indexed.id },
  );
  assert.equal(Number(rows.index), Number(rows.events));
});

test('past 63 event types the rest share one bit, and a sequence ending in one of them is matched row by row, with the same count', async () => {
  const workspaces = new WorkspaceService(stores.state);
  const [many, manyPlain] = [
    await workspaces.create({ slug: uniqueSlug('behaviour-many'), name: 'many' }),
    await workspaces.create({ slug: uniqueSlug('behaviour-many-plain'), name: 'many plain' }),
  ];
  const names = Array.from({ length: 66 }, (_, i) => `E${String(i).padStart(2, '0')}`);
  // Everyone does E00; the even ones E65 half an hour later, the odd ones E64 (which shares a bit with E65).
  const lines = Array.from({ length: 20 }, (_, p) => [
    event(`m${p}-a`, `M${p}`, 'E00', NOW - 2 * 86400 + p * 60, {}),
    event(`m${p}-b`, `M${p}`, p % 2 === 0 ? 'E65' : 'E64', NOW - 2 * 86400 + p * 60 + 1800, {}),
  ]).flat();
  lines.push(...names.map((name, i) => event(`n${i}`, 'M99', name, NOW - 5 * 86400 + i, {})));
  for (const workspace of [many, manyPlain]) await runImport(stores, { workspace, kind: 'events', files: [eventsFile(lines)] });
  const build = await refreshBehaviourIndex(stores, many.id, { marginSeconds: 0 });
  assert.deepEqual(Object.keys(build.bits).sort(), names.slice(0, 63));
  assert.deepEqual(
    Object.values(build.bits).sort((a, b) => a - b),
    Array.from({ length: 63 }, (_, i) => i),
  );
  for (const then of ['E65', 'E01']) {
    const conditions: Condition[] = [
      { type: 'sequence', first: { event: 'E00', where: [] }, then: { event: then, where: [] }, within: { hours: 1 }, absent: true, window: { days: 7 } },
    ];
    const count = async (w: Workspace) => (await countSegment(stores, w.id, { match: 'all', conditions, today: TODAY, now: NOW })).people;
    const expected = await count(manyPlain);
    // E65: the ten odd ones (M99's E65 follows its E00 within the hour); E01: all twenty (M99's follows too).
    assert.equal(expected, then === 'E65' ? 10 : 20);
    assert.equal(await count(many), expected);
  }
});

test('at a clock change a day is 23 hours: a B 23 h 40 min after an A may fall two days on, past the window, and counts as it does from the events', async () => {
  const workspaces = new WorkspaceService(stores.state);
  const create = (slug: string) => workspaces.create({ slug: uniqueSlug(slug), name: slug, timeZone: 'America/New_York' });
  const [dst, dstPlain] = [await create('behaviour-dst'), await create('behaviour-dst-plain')];
  // New York springs forward on Sunday March 8, 2026: an A on Saturday March 7 at 23:30 EST, its B on
  // Monday March 9 at 00:10 EDT, 23 h 40 min later.
  const aAt = Date.UTC(2026, 2, 8, 4, 30) / 1000;
  const bAt = aAt + 23 * 3600 + 40 * 60;
  const lines = [event('d-a', 'D1', 'Added to Cart', aAt, {}), event('d-b', 'D1', 'Order Completed', bAt, {}), event('d-c', 'D2', 'Added to Cart', aAt, {})];
  for (const workspace of [dst, dstPlain]) await runImport(stores, { workspace, kind: 'events', files: [eventsFile(lines)] });
  await refreshBehaviourIndex(stores, dst.id, { marginSeconds: 0 });
  const now = Date.UTC(2026, 2, 20) / 1000;
  for (const absent of [true, false]) {
    // The window ends on Sunday March 8: B (Monday) is past it.
    const conditions: Condition[] = [
      {
        type: 'sequence',
        first: { event: 'Added to Cart', where: [] },
        then: { event: 'Order Completed', where: [] },
        within: { hours: 24 },
        absent,
        window: { from: '2026-03-01', to: '2026-03-08' },
      },
    ];
    const count = async (w: Workspace) => (await countSegment(stores, w.id, { match: 'all', conditions, today: '2026-03-20', now })).people;
    assert.equal(await count(dstPlain), absent ? 2 : 0);
    assert.equal(await count(dst), await count(dstPlain));
  }
});
