/**
 * bench/tags: the whole `retail` pack computed in one run, seconds and peak memory.
 *   npm run bench -- tags [--demo 100000] [--people 100000,1000000] [--orders 10]
 * - demo: the demo brand (generator → importers → OneID), then the pack: every tag's coverage.
 * - people: N people with --orders purchases each on average (orders, lines, package shipments,
 *   member records and WeCom contacts written straight into the facts store in SQL, so the size is
 *   not bound by import speed), then the pack, and the BG/NBD + Gamma-Gamma fit on its own.
 * The run's base date is 2026-10-31 (the demo's last day).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { openStores, type Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { loadDemoBrand } from '../src/demo/load.ts';
import { runTags, type TagRunResult } from '../src/tags/engine.ts';
import { installPack } from '../src/tags/packs/packs.ts';
import { buyerSummaries, fitBuyers } from '../src/tags/model-tags.ts';
import { demoBrandFor } from './import.ts';
import { machine, option, peakRssMiB, printTable, timed } from './common.ts';

const BASE = '2026-10-31';

async function withStores<T>(fn: (stores: Stores, workspace: Workspace) => Promise<T>): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-tags-'));
  const stores = await openStores(loadConfig({ dataDir }));
  try {
    const workspace = await new WorkspaceService(stores.state).create({ slug: 'bench', name: 'bench' });
    return await fn(stores, workspace);
  } finally {
    await stores.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * N people with about `orders` purchases each over two years: a person buys every `gap` days on
 * average from a first day, on a platform and in a category of their own; one in ten buys a weekly
 * package (shipments with some paused); one in three is a member; half are WeCom contacts.
 */
async function synthesise(stores: Stores, workspace: Workspace, people: number, orders: number): Promise<number> {
  const params = { ws: workspace.id, people, orders };
  const facts = stores.facts;
  // Everyone has a member-or-order source record (OneID's people), person ids 1…N.
  await facts.command(
    `INSERT INTO source_records (workspace_id, source, kind, record_id, person_id, identifiers, attributes, seen_at, row_hash, version)
     SELECT {ws:String}, 'crm', if(number % 3 = 0, 'member', 'record'), toString(number + 1), number + 1,
            [('member_no', concat('M', toString(number + 1)))],
            if(number % 3 = 0, map('gender', ['女', '男'][1 + number % 2], 'level', ['普卡', '银卡', '金卡'][1 + intHash32(number) % 3], 'points', toString(intHash32(number) % 5000), 'city', ['上海', '北京', '广州', '深圳', '杭州'][1 + intHash32(number + 7) % 5]), map()),
            toDateTime64('2024-11-01 00:00:00', 3) + toIntervalDay(intHash32(number) % 700), 0, 1
     FROM numbers({people:UInt64})`,
    params,
  );
  // Orders: person p makes k purchases (0.2…1.8 × the mean), evenly spaced from a first day; one in
  // ten people starts with a 12-week package; 2% are refunded in full, about 2% cancelled.
  await facts.command(
    `INSERT INTO orders (workspace_id, person_id, source, order_id, status, ordered_at, amount, discount, refunded, item_count, store_id, is_package, package_periods, version)
     SELECT {ws:String}, p, source, concat('O', toString(p), '-', toString(i)),
            multiIf(h % 50 = 0, 'refunded', h % 53 = 0, 'cancelled', 'paid'),
            toDateTime64('2024-11-01 02:00:00', 3) + toIntervalSecond((first_day + i * gap) * 86400 + h % 50000),
            toDecimal64(amount, 2), toDecimal64(if(h % 4 = 0, amount * 0.1, 0), 2), toDecimal64(if(h % 50 = 0, amount, 0), 2), 1 + h % 3,
            if(source = 'store', concat('S', toString(h % 40)), ''), package, if(package, 12, 0), 1
     FROM (
       SELECT p, source, first_day, gap, i, intHash32(p * 1000 + i) AS h,
              seed % 10 = 0 AND i = 0 AS package, if(package, 2199, 99 + h % 900) AS amount
       FROM (
         SELECT number + 1 AS p, intHash32(number) AS seed,
                ['tmall', 'jd', 'douyin', 'miniprogram', 'store'][1 + seed % 5] AS source,
                greatest(1, toUInt32(round({orders:UInt32} * (0.2 + (seed % 1000) / 625)))) AS k,
                toUInt32(seed % 300) AS first_day, greatest(1, intDiv(730 - first_day, k)) AS gap
         FROM numbers({people:UInt64})
       ) ARRAY JOIN range(k) AS i
     )`,
    params,
  );
  await facts.command(
    `INSERT INTO order_lines (workspace_id, person_id, source, order_id, line_no, sku, product_name, category, quantity, unit_price, amount, version)
     SELECT workspace_id, person_id, source, order_id, 1, concat('SKU', toString(h % 60)), concat('商品', toString(h % 60)),
            ['鲜炖燕窝', '即食燕窝', '干燕窝', '礼盒', '周边'][1 + h % 5], toInt32(item_count), amount, amount, 1
     FROM (SELECT *, intHash32(person_id) % 7 + cityHash64(order_id) % 3 AS h FROM orders WHERE workspace_id = {ws:String})`,
    params,
  );
  await facts.command(
    `INSERT INTO shipments (workspace_id, person_id, source, order_id, period, planned_at, shipped_at, status, version)
     SELECT workspace_id, person_id, source, order_id, period, ordered_at + toIntervalDay(7 * (period - 1)) AS planned,
            if(planned < toDateTime64('2026-10-31 00:00:00', 3) AND (cityHash64(order_id) % 10 != 0 OR period < 4), planned, NULL) AS shipped,
            multiIf(shipped IS NOT NULL, '已发货', cityHash64(order_id) % 10 = 0, '已暂停', '待发货'), 1
     FROM orders ARRAY JOIN range(1, 13) AS period WHERE workspace_id = {ws:String} AND is_package = 1`,
    params,
  );
  await facts.command(
    `INSERT INTO contacts (workspace_id, person_id, external_userid, staff_userid, staff_name, added_at, version)
     SELECT {ws:String}, number + 1, concat('wm', toString(number + 1)), concat('staff', toString(intHash32(number) % 200)),
            concat('导购', toString(intHash32(number) % 200)), toDateTime64('2025-01-01 00:00:00', 3) + toIntervalDay(intHash32(number + 3) % 600), 1
     FROM numbers({people:UInt64}) WHERE number % 2 = 0`,
    params,
  );
  const [{ n }] = await facts.query<{ n: string }>(`SELECT count() AS n FROM orders WHERE workspace_id = {ws:String}`, params);
  return Number(n);
}

function summarise(results: TagRunResult[]) {
  const failed = results.filter((r) => r.status === 'failed');
  const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 8);
  return { tags: results.length, failed: failed.map((r) => `${r.key}: ${r.error}`), slowest: slowest.map((r) => `${r.key} ${r.seconds.toFixed(1)} s`) };
}

export async function run(args: string[]): Promise<void> {
  const demoPeople = Number(option(args, 'demo', '100000').replace(/_/g, ''));
  const sizes = option(args, 'people', '100000,1000000')
    .split(',')
    .map((s) => Number(s.replace(/_/g, '')))
    .filter((n) => n > 0);
  const ordersEach = Number(option(args, 'orders', '10'));
  console.log(`bench/tags on ${machine()}`);
  const rows: Array<Record<string, unknown>> = [];

  if (demoPeople > 0) {
    const demo = await demoBrandFor(demoPeople);
    await withStores(async (stores, workspace) => {
      await loadDemoBrand(stores, workspace, demo);
      const pack = await installPack(stores, workspace.id, 'retail');
      const rssBefore = peakRssMiB();
      const { seconds, value: results } = await timed(() => runTags(stores, { workspaceId: workspace.id, baseDate: BASE }));
      const [{ people }] = await stores.facts.query<{ people: string }>(
        `SELECT uniqExact(person_id) AS people FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
        { ws: workspace.id },
      );
      const [{ orders }] = await stores.facts.query<{ orders: string }>(`SELECT count() AS orders FROM orders FINAL WHERE workspace_id = {ws:String}`, { ws: workspace.id });
      const summary = summarise(results);
      console.log(`demo brand: ${pack.installed.length} tags; coverage (people with a value of ${Number(people).toLocaleString('en-US')}):`);
      printTable(results.map((r) => ({ tag: r.key, status: r.status, people: r.people, s: r.seconds.toFixed(1) })));
      rows.push({
        case: `demo brand ${demoPeople.toLocaleString('en-US')}`,
        people: Number(people),
        orders: Number(orders),
        tags: summary.tags,
        seconds: Math.round(seconds * 10) / 10,
        peak_rss_mib: Math.max(rssBefore, peakRssMiB()),
        failed: summary.failed,
        slowest: summary.slowest,
      });
    });
  }

  for (const people of sizes) {
    await withStores(async (stores, workspace) => {
      const made = await timed(() => synthesise(stores, workspace, people, ordersEach));
      console.log(`${people.toLocaleString('en-US')} people: ${made.value.toLocaleString('en-US')} orders written in ${made.seconds.toFixed(1)} s`);
      await installPack(stores, workspace.id, 'retail');
      const fit = await timed(async () => {
        const buyers = await buyerSummaries(stores, workspace.id, workspace.timeZone, BASE);
        return { buyers: buyers.person.length, fit: fitBuyers(buyers, 'week', true) };
      });
      const { seconds, value: results } = await timed(() => runTags(stores, { workspaceId: workspace.id, baseDate: BASE }));
      const summary = summarise(results);
      rows.push({
        case: `${people.toLocaleString('en-US')} people × ${ordersEach} orders`,
        people,
        orders: made.value,
        tags: summary.tags,
        seconds: Math.round(seconds * 10) / 10,
        model_fit_s: Math.round(fit.seconds * 10) / 10,
        peak_rss_mib: peakRssMiB(),
        failed: summary.failed,
        slowest: summary.slowest,
      });
    });
  }
  console.log('');
  printTable(
    rows.map((r) => ({
      case: r.case,
      people: r.people,
      orders: r.orders,
      tags: r.tags,
      'pack run s': r.seconds,
      'model fit s': r.model_fit_s ?? '',
      'peak RSS MiB': r.peak_rss_mib,
      failed: (r.failed as string[]).length,
    })),
  );
  for (const r of rows)
    console.log(`${r.case}: slowest ${(r.slowest as string[]).join(', ')}${(r.failed as string[]).length ? `; FAILED ${(r.failed as string[]).join('; ')}` : ''}`);
  console.log(JSON.stringify({ benchmark: 'tags', machine: machine(), baseDate: BASE, results: rows }));
}
