/**
 * bench/stores: the same order rows loaded into the facts store (ClickHouse) and the state store
 * (PostgreSQL), then the same group-by on each — the measurement behind the two-store design.
 *   npm run bench -- stores [--sizes 2000000,10000000] [--runs 3]
 * Uses chDB and PGlite in a temporary directory, or the servers named by SIYU_CLICKHOUSE_URL / DATABASE_URL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../src/config/config.ts';
import { openFactsStore, openStateStore } from '../src/stores/stores.ts';
import { migrateFacts } from '../src/stores/facts/migrations.ts';
import type { FactsStore } from '../src/stores/facts/facts-store.ts';
import type { StateStore } from '../src/stores/state/state-store.ts';
import { machine, median, option, peakRssMiB, printTable, timed } from './common.ts';

const SOURCES = ['tmall', 'jd', 'douyin', 'miniprogram', 'store'];
const STATUSES = ['paid', 'paid', 'paid', 'paid', 'refunded', 'cancelled'];
const START = Date.UTC(2024, 10, 1);
const BATCH = 50_000;

/** Row i of the benchmark: the same values for both stores. */
function orderRow(i: number, people: number) {
  const h = Math.imul(i + 1, 2654435761) >>> 0;
  const ms = START + (h % 730) * 86_400_000 + ((h >>> 10) % 86_400) * 1000;
  return {
    person_id: (h % people) + 1,
    source: SOURCES[i % SOURCES.length],
    order_id: `B${i}`,
    status: STATUSES[h % STATUSES.length],
    ordered_at: new Date(ms).toISOString().replace('T', ' ').replace('Z', ''),
    amount: ((h % 200_000) / 100).toFixed(2),
  };
}

async function loadFacts(facts: FactsStore, rows: number): Promise<void> {
  const people = Math.max(1, Math.floor(rows / 10));
  async function* lines() {
    for (let from = 0; from < rows; from += BATCH) {
      let text = '';
      for (let i = from; i < Math.min(rows, from + BATCH); i++) {
        const r = orderRow(i, people);
        text += `{"workspace_id":"bench","person_id":${r.person_id},"source":"${r.source}","order_id":"${r.order_id}","status":"${r.status}","ordered_at":"${r.ordered_at}","amount":${r.amount},"version":1}\n`;
      }
      yield text;
    }
  }
  await facts.insertJsonLines('orders', lines());
}

async function loadState(state: StateStore, rows: number): Promise<void> {
  const people = Math.max(1, Math.floor(rows / 10));
  for (let from = 0; from < rows; from += BATCH) {
    const persons: number[] = [];
    const sources: string[] = [];
    const ids: string[] = [];
    const statuses: string[] = [];
    const times: string[] = [];
    const amounts: string[] = [];
    for (let i = from; i < Math.min(rows, from + BATCH); i++) {
      const r = orderRow(i, people);
      persons.push(r.person_id);
      sources.push(r.source);
      ids.push(r.order_id);
      statuses.push(r.status);
      times.push(r.ordered_at);
      amounts.push(r.amount);
    }
    // One parameterised statement per batch: arrays in, rows out (works on PGlite and PostgreSQL).
    await sql`INSERT INTO bench_orders (workspace_id, person_id, source, order_id, status, ordered_at, amount)
      SELECT 'bench', * FROM unnest(${persons}::bigint[], ${sources}::text[], ${ids}::text[], ${statuses}::text[],
                                    ${times}::timestamp[], ${amounts}::numeric[])`.execute(state.db);
  }
}

const FACTS_GROUP_BY = `
  SELECT source, toStartOfMonth(ordered_at) AS month, count() AS orders, sum(amount) AS gmv, uniqExact(person_id) AS buyers
  FROM orders WHERE workspace_id = {ws:String} AND status = 'paid'
  GROUP BY source, month ORDER BY source, month`;

async function stateGroupBy(state: StateStore) {
  return sql`
    SELECT source, date_trunc('month', ordered_at) AS month, count(*) AS orders, sum(amount) AS gmv, count(DISTINCT person_id) AS buyers
    FROM bench_orders WHERE workspace_id = ${'bench'} AND status = 'paid'
    GROUP BY source, month ORDER BY source, month`.execute(state.db);
}

export async function run(args: string[]): Promise<void> {
  const sizes = option(args, 'sizes', '2000000,10000000')
    .split(',')
    .map((s) => Number(s.replace(/_/g, '')));
  const runs = Number(option(args, 'runs', '3'));
  const results: Array<Record<string, number | string>> = [];
  console.log(`bench/stores on ${machine()}; group-by: per source and month, count, sum, distinct buyers; median of ${runs} runs`);

  for (const size of sizes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-stores-'));
    const config = loadConfig({ dataDir: dir });
    const facts = await openFactsStore(config);
    const state = await openStateStore(config);
    try {
      await migrateFacts(facts);
      await facts.command(`DELETE FROM orders WHERE workspace_id = 'bench'`).catch(() => undefined);
      await sql`DROP TABLE IF EXISTS bench_orders`.execute(state.db);
      await sql`CREATE TABLE bench_orders (workspace_id text NOT NULL, person_id bigint NOT NULL, source text NOT NULL,
        order_id text NOT NULL, status text NOT NULL, ordered_at timestamp NOT NULL, amount numeric(18,2) NOT NULL,
        PRIMARY KEY (workspace_id, source, order_id))`.execute(state.db);

      const factsInsert = await timed(() => loadFacts(facts, size));
      const factsRuns: number[] = [];
      let factsGroups = 0;
      for (let r = 0; r < runs; r++) {
        const t = await timed(() => facts.query(FACTS_GROUP_BY, { ws: 'bench' }));
        factsRuns.push(t.seconds);
        factsGroups = t.value.length;
      }
      const factsRss = peakRssMiB();

      const stateInsert = await timed(() => loadState(state, size));
      await sql`ANALYZE bench_orders`.execute(state.db);
      const stateRuns: number[] = [];
      let stateGroups = 0;
      for (let r = 0; r < runs; r++) {
        const t = await timed(() => stateGroupBy(state));
        stateRuns.push(t.seconds);
        stateGroups = t.value.rows.length;
      }
      if (stateGroups !== factsGroups) throw new Error(`the stores disagree: ${factsGroups} vs ${stateGroups} groups`);

      const f = median(factsRuns);
      const s = median(stateRuns);
      results.push({
        rows: size,
        facts_engine: facts.engine,
        state_engine: state.engine,
        facts_insert_rows_per_s: Math.round(size / factsInsert.seconds),
        state_insert_rows_per_s: Math.round(size / stateInsert.seconds),
        insert_ratio: Math.round((stateInsert.seconds / factsInsert.seconds) * 10) / 10,
        facts_group_by_s: Math.round(f * 1000) / 1000,
        state_group_by_s: Math.round(s * 1000) / 1000,
        group_by_ratio: Math.round((s / f) * 10) / 10,
        groups: factsGroups,
        peak_rss_mib_after_facts: factsRss,
        peak_rss_mib: peakRssMiB(),
      });
    } finally {
      await sql`DROP TABLE IF EXISTS bench_orders`.execute(state.db).catch(() => undefined);
      await facts.close();
      await state.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('');
  printTable(
    results.map((r) => ({
      rows: r.rows,
      'insert rows/s facts': r.facts_insert_rows_per_s,
      'insert rows/s state': r.state_insert_rows_per_s,
      'insert ×': r.insert_ratio,
      'group-by s facts': r.facts_group_by_s,
      'group-by s state': r.state_group_by_s,
      'group-by ×': r.group_by_ratio,
      'peak RSS MiB': r.peak_rss_mib,
    })),
  );
  console.log(JSON.stringify({ benchmark: 'stores', machine: machine(), results }));
}
