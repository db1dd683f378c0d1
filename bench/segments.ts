/**
 * bench/segments: segment sizes over N people — a 5-condition tree over tags (bitmap algebra), a
 * mixed tree (tags + behaviour in a window), and a sequence (added to cart, not paid within 24 h) —
 * p50/p95 of the estimate and the exact count, and the same trees as plain SQL on PostgreSQL over
 * the same data for the ratio.
 *   npm run bench -- segments [--people 1000000,10000000] [--runs 7] [--pg-runs 3] [--pg postgres://…]
 * PostgreSQL is the server named by --pg or DATABASE_URL (skipped without one). The data is made in
 * SQL in both stores from the same formulas: five text tags per person (one missing for 30%), and
 * 0–5 events each over the last 30 days. The behaviour index is built (and timed) before the trees.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/config.ts';
import { openStores, type Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { saveTag } from '../src/tags/store.ts';
import { writeBitmaps, writePeopleBitmap } from '../src/tags/engine.ts';
import { dateInZone } from '../src/kernel/time.ts';
import { countSegment, estimateSegment } from '../src/segments/segments.ts';
import { refreshBehaviourIndex } from '../src/segments/behaviour.ts';
import type { Condition } from '../src/contract/segments.ts';
import { machine, median, option, peakRssMiB, percentile, printTable, timed } from './common.ts';

const TAGS: Record<string, string[]> = {
  lifecycle_stage: ['新客', '成长', '成熟', '衰退', '沉睡', '流失'],
  rfm_group: ['重要价值客户', '重要发展客户', '重要保持客户', '重要挽留客户', '一般价值客户', '一般发展客户', '一般保持客户', '一般挽留客户'],
  fav_category: ['鲜炖燕窝', '即食燕窝', '干燕窝', '礼盒', '饮品', '配料'],
  wecom_added: ['true', 'false', 'true'],
  member_level: ['普卡', '银卡', '金卡', '黑金'],
};
const EVENTS = ['Product Viewed', 'Added to Cart', 'Order Completed'];

/**
 * The same pseudo-random 32-bit number for person p and salt k in both engines: a multiplicative
 * hash mixed with xor-shifts (so different salts are not correlated), in integer arithmetic that
 * stays below 2^63 for PostgreSQL's bigint.
 */
function mix(engine: 'ch' | 'pg', p: string, k: number): string {
  const xor = (a: string, shift: number) => (engine === 'ch' ? `bitXor(${a}, bitShiftRight(${a}, ${shift}))` : `(${a} # (${a} >> ${shift}))`);
  const x0 = `((${p} * 2654435761 + ${k * 40503}) % 4294967296)`;
  const x2 = `((${xor(x0, 15)} * 1274126177) % 4294967296)`;
  return `(${xor(x2, 13)})`;
}
const hash = (p: string, k: number) => mix('ch', p, k);
const pgHash = (p: string, k: number) => mix('pg', p, k);

export const TREES: Record<string, { conditions: Condition[]; pg: string }> = {
  'tags only, 5 conditions': {
    conditions: [
      { type: 'tag', tag: 'lifecycle_stage', op: 'in', value: ['衰退', '沉睡'] },
      { type: 'tag', tag: 'rfm_group', op: 'in', value: ['重要保持客户', '重要挽留客户', '一般保持客户'] },
      { type: 'tag', tag: 'fav_category', op: 'ne', value: '配料' },
      { type: 'tag', tag: 'wecom_added', op: 'eq', value: 'true' },
      { type: 'tag', tag: 'member_level', op: 'exists' },
    ],
    // Plain SQL as a DBA would write it: EXISTS, which PostgreSQL plans as semi-joins on the indexes.
    pg: `SELECT count(*) FROM bench_people p WHERE
      EXISTS (SELECT 1 FROM bench_tags t WHERE t.tag = 'lifecycle_stage' AND t.value IN ('衰退', '沉睡') AND t.person_id = p.person_id)
      AND EXISTS (SELECT 1 FROM bench_tags t WHERE t.tag = 'rfm_group' AND t.value IN ('重要保持客户', '重要挽留客户', '一般保持客户') AND t.person_id = p.person_id)
      AND EXISTS (SELECT 1 FROM bench_tags t WHERE t.tag = 'fav_category' AND t.value <> '配料' AND t.person_id = p.person_id)
      AND EXISTS (SELECT 1 FROM bench_tags t WHERE t.tag = 'wecom_added' AND t.value = 'true' AND t.person_id = p.person_id)
      AND EXISTS (SELECT 1 FROM bench_tags t WHERE t.tag = 'member_level' AND t.person_id = p.person_id)`,
  },
  'mixed: tags + viewed ≥ 2 times in 14 days': {
    conditions: [
      { type: 'tag', tag: 'lifecycle_stage', op: 'eq', value: '成熟' },
      { type: 'event', event: 'Product Viewed', where: [], count: { min: 2 }, window: { days: 14 } },
      { type: 'not', condition: { type: 'tag', tag: 'fav_category', op: 'eq', value: '礼盒' } },
    ],
    pg: `SELECT count(*) FROM bench_people p WHERE
      EXISTS (SELECT 1 FROM bench_tags t WHERE t.tag = 'lifecycle_stage' AND t.value = '成熟' AND t.person_id = p.person_id)
      AND p.person_id IN (SELECT person_id FROM bench_events WHERE event = 'Product Viewed' AND day > $1::date - 14 AND day <= $1::date GROUP BY person_id HAVING count(*) >= 2)
      AND NOT EXISTS (SELECT 1 FROM bench_tags t WHERE t.tag = 'fav_category' AND t.value = '礼盒' AND t.person_id = p.person_id)`,
  },
  'sequence: cart, not paid within 24 h (7 days)': {
    conditions: [
      { type: 'sequence', first: { event: 'Added to Cart', where: [] }, then: { event: 'Order Completed', where: [] }, within: { hours: 24 }, absent: true, window: { days: 7 } },
    ],
    pg: `SELECT count(DISTINCT a.person_id) FROM bench_events a
      WHERE a.event = 'Added to Cart' AND a.day > $1::date - 7 AND a.day <= $1::date AND a.ts + interval '24 hours' <= to_timestamp($2)
        AND NOT EXISTS (SELECT 1 FROM bench_events b WHERE b.person_id = a.person_id AND b.event = 'Order Completed'
                        AND b.day > $1::date - 7 AND b.day <= $1::date AND b.ts BETWEEN a.ts AND a.ts + interval '24 hours')`,
  },
};

export async function loadFacts(stores: Stores, workspace: Workspace, people: number, today: string, generatedAt: number): Promise<void> {
  const params = { ws: workspace.id, people };
  const facts = stores.facts;
  await facts.command(
    `INSERT INTO source_records (workspace_id, source, kind, record_id, person_id, identifiers, attributes, seen_at, row_hash, version)
     SELECT {ws:String}, 'bench', 'record', toString(number + 1), number + 1, [], map(), now64(3), 0, 1 FROM numbers({people:UInt64})`,
    params,
  );
  for (const [k, [key, values]] of Object.entries(TAGS).entries()) {
    await saveTag(stores, workspace.id, { key, name: { zh: key, en: key }, kind: 'manual', valueType: 'string' });
    const run = `tag_bench_${key}`;
    // member_level: 30% have none.
    await facts.command(
      `INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string)
       SELECT {ws:String}, {tag:String}, {run:String}, {today:Date}, p, {values:Array(String)}[1 + ${hash('p', k + 1)} % length({values:Array(String)})]
       FROM (SELECT number + 1 AS p FROM numbers({people:UInt64})) WHERE {tag:String} != 'member_level' OR ${hash('p', 99)} % 10 >= 3`,
      { ...params, tag: key, run, values, today },
    );
    await stores.state.db
      .insertInto('tag_runs')
      .values({ id: run, workspace_id: workspace.id, tag_key: key, base_date: today, trigger: 'manual', status: 'completed', people, error: null, finished_at: new Date() })
      .execute();
    await writeBitmaps(stores, { key, name: { zh: key, en: key }, kind: 'manual', valueType: 'string', dependsOn: [], onEmpty: 'clear' }, { ws: workspace.id, tag: key, run });
  }
  await writePeopleBitmap(stores, workspace.id);
  // Events: 0–5 per person over the 30 days up to now.
  await facts.command(
    `INSERT INTO events (workspace_id, person_id, message_id, type, event, timestamp, received_at, version)
     SELECT {ws:String}, p, concat(toString(p), '-', toString(i)), 'track', {events:Array(String)}[1 + ${hash('p', 10)} * (i + 1) % 3],
            toDateTime64({at:UInt32}, 3) - toIntervalSecond(${hash('p', 20)} * (i + 7) % (30 * 86400)), now64(3), 1
     FROM (SELECT number + 1 AS p FROM numbers({people:UInt64})) ARRAY JOIN range(toUInt32(${hash('p', 7)} % 6)) AS i`,
    { ...params, events: EVENTS, at: generatedAt },
  );
}

/** The same rows in PostgreSQL, made from the same formulas (bigint arithmetic), with the indexes a DBA would add. */
export async function loadPostgres(pool: pg.Pool, people: number, generatedAt: number): Promise<void> {
  await pool.query('DROP TABLE IF EXISTS bench_people, bench_tags, bench_events');
  await pool.query('CREATE UNLOGGED TABLE bench_people (person_id bigint PRIMARY KEY)');
  await pool.query('CREATE UNLOGGED TABLE bench_tags (tag text, person_id bigint, value text)');
  await pool.query('CREATE UNLOGGED TABLE bench_events (person_id bigint, event text, ts timestamptz, day date)');
  await pool.query('INSERT INTO bench_people SELECT generate_series(1, $1::bigint)', [people]);
  for (const [k, [key, values]] of Object.entries(TAGS).entries()) {
    await pool.query(
      `INSERT INTO bench_tags SELECT $1, p, ($2::text[])[1 + ${pgHash('p', k + 1)} % cardinality($2::text[])]
       FROM generate_series(1, $3::bigint) AS p WHERE $1 <> 'member_level' OR ${pgHash('p', 99)} % 10 >= 3`,
      [key, values, people],
    );
  }
  await pool.query(
    `INSERT INTO bench_events SELECT p, ($1::text[])[1 + ${pgHash('p', 10)} * (i + 1) % 3], ts, (ts AT TIME ZONE 'Asia/Shanghai')::date
     FROM (SELECT p, i, to_timestamp($3) - make_interval(secs => ${pgHash('p', 20)} * (i + 7) % (30 * 86400)) AS ts
           FROM generate_series(1, $2::bigint) AS p, LATERAL generate_series(0, (${pgHash('p', 7)} % 6)::int - 1) AS i) AS e`,
    [EVENTS, people, generatedAt],
  );
  await pool.query('CREATE INDEX ON bench_tags (tag, value, person_id)');
  await pool.query('CREATE INDEX ON bench_tags (person_id, tag, value)');
  await pool.query('CREATE INDEX ON bench_events (event, day, person_id, ts)');
  await pool.query('CREATE INDEX ON bench_events (person_id, event, ts)');
  await pool.query('ANALYZE bench_people, bench_tags, bench_events');
}

export async function run(args: string[]): Promise<void> {
  const sizes = option(args, 'people', '1000000,10000000')
    .split(',')
    .map((s) => Number(s.replace(/_/g, '')));
  const runs = Number(option(args, 'runs', '7'));
  const pgRuns = Number(option(args, 'pg-runs', '3'));
  const pgUrl = option(args, 'pg', process.env.DATABASE_URL ?? '');
  console.log(`bench/segments on ${machine()}${pgUrl ? '' : ' (no PostgreSQL: pass --pg or DATABASE_URL for the ratio)'}`);
  const rows: Array<Record<string, unknown>> = [];
  for (const people of sizes) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-segments-'));
    const stores = await openStores(loadConfig({ dataDir }));
    const pool = pgUrl ? new pg.Pool({ connectionString: pgUrl, max: 2 }) : undefined;
    try {
      const workspace = await new WorkspaceService(stores.state).create({ slug: 'bench', name: 'bench' });
      const today = dateInZone(workspace.timeZone);
      // Events end at one moment in both engines, so day boundaries fall the same.
      const generatedAt = Math.floor(Date.now() / 1000);
      const made = await timed(() => loadFacts(stores, workspace, people, today, generatedAt));
      console.log(`${people.toLocaleString('en-US')} people: facts made in ${made.seconds.toFixed(1)} s`);
      // Nothing writes events meanwhile: no margin for writes in flight.
      const indexed = await timed(() => refreshBehaviourIndex(stores, workspace.id, { marginSeconds: 0 }));
      console.log(`  behaviour index built in ${indexed.seconds.toFixed(1)} s`);
      if (pool) {
        const loaded = await timed(() => loadPostgres(pool, people, generatedAt));
        console.log(`  PostgreSQL loaded in ${loaded.seconds.toFixed(1)} s`);
      }
      for (const [name, tree] of Object.entries(TREES)) {
        // One moment for both engines: "24 hours have passed" is judged at it.
        const now = Math.floor(Date.now() / 1000);
        const segment = { match: 'all' as const, conditions: tree.conditions, today, now };
        const exact: number[] = [];
        const estimate: number[] = [];
        let count = 0;
        let method = '';
        for (let i = 0; i < runs; i++) {
          const e = await estimateSegment(stores, workspace.id, segment);
          estimate.push(e.seconds * 1000);
          const c = await countSegment(stores, workspace.id, segment);
          exact.push(c.seconds * 1000);
          count = c.people;
          method = c.method;
        }
        const row: Record<string, unknown> = {
          people,
          tree: name,
          method,
          members: count,
          estimate_p50_ms: Math.round(median(estimate)),
          estimate_p95_ms: Math.round(percentile(estimate, 95)),
          exact_p50_ms: Math.round(median(exact)),
          exact_p95_ms: Math.round(percentile(exact, 95)),
        };
        if (pool) {
          const times: number[] = [];
          let pgCount = 0;
          for (let i = 0; i < pgRuns; i++) {
            const t = await timed(() => pool.query(tree.pg, tree.pg.includes('$2') ? [today, now] : tree.pg.includes('$1') ? [today] : []));
            times.push(t.seconds * 1000);
            pgCount = Number(Object.values(t.value.rows[0])[0]);
          }
          row.pg_p50_ms = Math.round(median(times));
          row.pg_members = pgCount;
          row.ratio = Math.round((median(times) / median(exact)) * 10) / 10;
        }
        rows.push(row);
        console.log(`  ${name}: ${JSON.stringify(row)}`);
      }
    } finally {
      await pool?.query('DROP TABLE IF EXISTS bench_people, bench_tags, bench_events').catch(() => undefined);
      await pool?.end();
      await stores.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  console.log('');
  printTable(
    rows.map((r) => ({
      people: r.people,
      tree: r.tree,
      method: r.method,
      members: r.members,
      'estimate p50/p95 ms': `${r.estimate_p50_ms}/${r.estimate_p95_ms}`,
      'exact p50/p95 ms': `${r.exact_p50_ms}/${r.exact_p95_ms}`,
      'PostgreSQL p50 ms': r.pg_p50_ms ?? '',
      'same count': r.pg_members === undefined ? '' : r.pg_members === r.members ? 'yes' : `NO (${r.pg_members})`,
      '× faster': r.ratio ?? '',
    })),
  );
  console.log(JSON.stringify({ benchmark: 'segments', machine: machine(), peak_rss_mib: peakRssMiB(), results: rows }));
}
