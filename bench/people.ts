/**
 * bench/people: what the console asks of one person and of the base, at N people (default 1M, each
 * with a Tmall record, every other one a JD record too, 3 orders with 2 lines): search by phone and
 * by a part of a name, the 360 view, the overview, and a segment count — each as the whole
 * workspace and as a team scoped to Tmall (the scope is a condition in the query). Rows are written
 * straight into the facts store in SQL.
 *   npm run bench -- people [--people 1000000] [--runs 30]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { openStores } from '../src/stores/stores.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import type { AuthenticatedKey } from '../src/access/keys.ts';
import { personView, searchPeople } from '../src/people/people.ts';
import { overview } from '../src/people/overview.ts';
import { countSegment } from '../src/segments/segments.ts';
import { machine, median, option, peakRssMiB, percentile, printTable, timed } from './common.ts';

export async function run(args: string[]): Promise<void> {
  const people = Number(option(args, 'people', '1000000'));
  const runs = Number(option(args, 'runs', '30'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-people-'));
  const stores = await openStores(loadConfig({ dataDir }));
  try {
    const ws = await new WorkspaceService(stores.state).create({ slug: `bench-${Date.now()}`, name: 'bench' });
    const params = { ws: ws.id, n: people };
    const phone = `concat('+861', toString(3800000000 + number))`;
    const load = await timed(async () => {
      await stores.facts.command(
        `INSERT INTO source_records (workspace_id, source, kind, record_id, person_id, identifiers, name, address, attributes, seen_at, row_hash, version)
         SELECT {ws:String}, src, 'order', concat(src, '-', toString(number)), number + 1, [('phone', ${phone})],
                concat(['王', '李', '张', '刘', '陈'][number % 5 + 1], ['静', '娜', '伟', '敏', '强', '磊'][intDiv(number, 5) % 6 + 1], toString(number % 997)),
                concat('上海市徐汇区', toString(number % 500), '号'), map('city', '上海'), now64(3), number, 1
         FROM numbers({n:UInt64}) ARRAY JOIN if(number % 2 = 0, ['tmall', 'jd'], ['tmall']) AS src`,
        params,
      );
      await stores.facts.command(
        `INSERT INTO person_identities (workspace_id, type, value, person_id, records, sources, version)
         SELECT {ws:String}, 'phone', ${phone}, number + 1, if(number % 2 = 0, 2, 1), if(number % 2 = 0, ['jd', 'tmall'], ['tmall']), 1 FROM numbers({n:UInt64})`,
        params,
      );
      await stores.facts.command(
        `INSERT INTO orders (workspace_id, person_id, source, order_id, status, ordered_at, amount, item_count, version)
         SELECT {ws:String}, intDiv(number, 3) + 1, if(number % 2 = 0, 'tmall', 'jd'), concat('o', toString(number)), 'completed',
                now64(3) - toIntervalHour(cityHash64(number) % 8000), 50 + cityHash64(number, 1) % 500, 2, 1
         FROM numbers({n:UInt64} * 3)`,
        params,
      );
      await stores.facts.command(
        `INSERT INTO order_lines (workspace_id, person_id, source, order_id, line_no, sku, product_name, category, quantity, unit_price, amount, version)
         SELECT {ws:String}, intDiv(number, 3) + 1, if(number % 2 = 0, 'tmall', 'jd'), concat('o', toString(number)), line, concat('S', toString(line)), '燕窝', '滋补', 1, 100, 100, 1
         FROM numbers({n:UInt64} * 3) ARRAY JOIN [1, 2] AS line`,
        params,
      );
    });
    const admin: AuthenticatedKey = { keyId: 'bench', workspaceId: ws.id, role: 'admin' };
    const team: AuthenticatedKey = { ...admin, role: 'operator', scope: { team: { id: 't', name: 'tmall', sources: ['tmall'] }, staff: false, staffUserId: null } };
    const pick = (i: number) => 1 + ((i * 7919) % people);
    const measures: Array<{ what: string; as: string; fn: (i: number) => Promise<unknown> }> = [];
    for (const [as, caller] of [
      ['workspace', admin],
      ['team (tmall)', team],
    ] as const) {
      // Typed as people type it: 138 0012 3456 (normalised to +8613800123456).
      const typed = (i: number) => `1${3800000000 + pick(i) - 1}`.replace(/^(\d{3})(\d{4})(\d{4})$/, '$1 $2 $3');
      measures.push({ what: 'search by phone', as, fn: (i) => searchPeople(stores, caller, typed(i)) });
      measures.push({ what: 'search by name part', as, fn: (i) => searchPeople(stores, caller, `静${(i * 31) % 997}`) });
      measures.push({ what: '360 view', as, fn: (i) => personView(stores, caller, pick(i)) });
      measures.push({ what: 'overview (365 days)', as, fn: () => overview(stores, caller, 365) });
      measures.push({
        what: 'segment count (orders ≥ 2 in 180 days)',
        as,
        fn: () => countSegment(stores, ws.id, { match: 'all', conditions: [{ type: 'orders', count: { min: 2 }, window: { days: 180 } }], viewer: caller }),
      });
    }
    // The searches find what they look for (a bench of empty answers would prove nothing).
    const found = await searchPeople(stores, team, `1${3800000000 + pick(3) - 1}`);
    if (found.length !== 1 || found[0].personId !== pick(3)) throw new Error(`search by phone found ${JSON.stringify(found)}`);
    if ((await personView(stores, team, pick(3))).orders.length === 0) throw new Error('the 360 view has no orders');
    const rows = [];
    const figures: Record<string, number> = {};
    for (const m of measures) {
      await m.fn(0); // warm
      const times: number[] = [];
      const n = m.what.startsWith('overview') || m.what.startsWith('segment') ? Math.max(3, Math.round(runs / 5)) : runs;
      for (let i = 1; i <= n; i++) times.push((await timed(() => m.fn(i))).seconds * 1000);
      const p50 = Math.round(median(times));
      const p95 = Math.round(percentile(times, 95));
      rows.push({ query: m.what, as: m.as, runs: n, p50_ms: p50, p95_ms: p95 });
      const key = `${m.what.split(' (')[0].replace(/[^a-z0-9]+/gi, '_')}_${m.as.startsWith('team') ? 'team' : 'all'}`;
      figures[`${key}_p50_ms`] = p50;
      figures[`${key}_p95_ms`] = p95;
    }
    console.log(
      `bench/people on ${machine()} (chDB + ${stores.state.engine}); ${people.toLocaleString('en-US')} people, ${(people * 3).toLocaleString('en-US')} orders loaded in ${load.seconds.toFixed(1)} s`,
    );
    printTable(rows);
    console.log(JSON.stringify({ bench: 'people', machine: machine(), people, ...figures, peak_rss_mib: peakRssMiB() }));
  } finally {
    await stores.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
