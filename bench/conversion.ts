/**
 * bench/conversion: the plan report over N sends (default 1,000,000): per variant and control, the
 * message outcomes, conversions within the window (orders after each send), revenue, lift with its
 * interval and cost per conversion. Rows are written straight into the stores in SQL.
 *   npm run bench -- conversion [--sends 1000000] [--runs 5]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../src/config/config.ts';
import { openStores } from '../src/stores/stores.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { saveChannel } from '../src/channels/store.ts';
import { writeSecret } from '../src/secrets/secrets.ts';
import { savePlan } from '../src/plans/plans.ts';
import { planReport } from '../src/plans/report.ts';
import { machine, median, option, peakRssMiB, percentile, printTable, timed } from './common.ts';

export async function run(args: string[]): Promise<void> {
  const sends = Number(option(args, 'sends', '1000000'));
  const runs = Number(option(args, 'runs', '5'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-conversion-'));
  const stores = await openStores(loadConfig({ dataDir }));
  try {
    const ws = await new WorkspaceService(stores.state).create({ slug: `bench-${Date.now()}`, name: 'bench' });
    await saveSegment(stores, ws.id, { key: 'everyone', name: { zh: '全部', en: 'All' }, conditions: [{ type: 'identifier', identifierType: 'phone' }] });
    await writeSecret(stores, ws.id, 'unused_secret', 'bench-unused-secret');
    await saveChannel(stores, ws.id, { key: 'sms', kind: 'webhook', address: 'phone', costPerMessage: 0.045, config: { url: 'http://127.0.0.1:9/', secret: 'unused_secret' } });
    await savePlan(stores, ws.id, {
      key: 'bench_plan',
      name: 'bench',
      audience: { segment: 'everyone' },
      channel: 'sms',
      controlPercent: 10,
      variants: [
        { key: 'A', template: { text: 'a' } },
        { key: 'B', template: { text: 'b' } },
      ],
      goal: { kind: 'order', windowDays: 7 },
    });
    const load = await timed(async () => {
      const params = { ws: ws.id, sends, run: 'run_bench' };
      // 10% control; of the treated, 2% stopped by policy, 1% failed; the rest sent and delivered.
      const group = `if(number % 10 = 0, 'control', if(intDiv(number, 10) % 2 = 0, 'A', 'B'))`;
      await stores.facts.command(
        `INSERT INTO message_events (workspace_id, plan, run_id, person_id, step, variant, channel, event, cost, at)
         SELECT {ws:String}, 'bench_plan', {run:String}, number + 1, 'send', ${group}, 'sms', e, if(e = 'sent', 0.045, 0),
                toDateTime64('2026-11-01 02:00:00', 3) + toIntervalSecond(number % 7200)
         FROM numbers({sends:UInt64})
         ARRAY JOIN if(number % 10 = 0, ['control'], if(number % 50 = 1, ['stopped'], if(number % 100 = 3, ['queued', 'failed'], ['queued', 'sent', 'delivered']))) AS e`,
        params,
      );
      // Orders: treated people buy a little more often than control within the week; some buy after it.
      await stores.facts.command(
        `INSERT INTO orders (workspace_id, person_id, source, order_id, status, ordered_at, amount, version)
         SELECT {ws:String}, number + 1, 'tmall', concat('o', toString(number)), 'paid',
                toDateTime64('2026-11-01 03:00:00', 3) + toIntervalHour(cityHash64(number) % 240), 50 + cityHash64(number, 1) % 300, 1
         FROM numbers({sends:UInt64})
         WHERE cityHash64(number, 2) % 1000 < if(number % 10 = 0, 80, 95)`,
        params,
      );
      await sql`INSERT INTO plan_runs (id, workspace_id, plan_key, slot, status, audience) VALUES ('run_bench', ${ws.id}, 'bench_plan', 'once', 'completed', ${sends})`.execute(
        stores.state.db,
      );
      await sql`
        INSERT INTO deliveries (workspace_id, plan_key, run_id, person_id, step, variant, channel, purpose, status, reason)
        SELECT ${ws.id}, 'bench_plan', 'run_bench', n, 'send',
               CASE WHEN (n - 1) % 10 = 0 THEN 'control' WHEN ((n - 1) / 10) % 2 = 0 THEN 'A' ELSE 'B' END, 'sms', 'marketing',
               CASE WHEN (n - 1) % 10 = 0 THEN 'control' WHEN (n - 1) % 50 = 1 THEN 'stopped' WHEN (n - 1) % 100 = 3 THEN 'failed' ELSE 'delivered' END,
               CASE WHEN (n - 1) % 50 = 1 AND (n - 1) % 10 <> 0 THEN 'cap: 2 per 24 h on *' END
        FROM generate_series(1, ${sends}::bigint) AS n`.execute(stores.state.db);
    });
    const times: number[] = [];
    let report: Awaited<ReturnType<typeof planReport>> | undefined;
    for (let i = 0; i < runs; i++) {
      const t = await timed(() => planReport(stores, ws.id, 'bench_plan'));
      times.push(t.seconds * 1000);
      report = t.value;
    }
    console.log(`bench/conversion on ${machine()} (chDB + ${stores.state.engine}); ${sends.toLocaleString('en-US')} sends loaded in ${load.seconds.toFixed(1)} s`);
    printTable(
      report!.groups.map((g) => ({
        group: g.group,
        audience: g.audience,
        sent: g.sent,
        converted: g.converted,
        rate: g.conversionRate === null ? '' : `${(100 * g.conversionRate).toFixed(2)}%`,
        lift_pt: g.lift ? `${(100 * g.lift.absolute).toFixed(2)} [${(100 * g.lift.absoluteCi.low).toFixed(2)}, ${(100 * g.lift.absoluteCi.high).toFixed(2)}]` : '',
        revenue: g.revenue,
        per_conversion: g.costPerConversion,
      })),
    );
    const figures = { sends, report_ms_p50: Math.round(median(times)), report_ms_p95: Math.round(percentile(times, 95)), runs, peak_rss_mib: peakRssMiB() };
    printTable([figures]);
    console.log(JSON.stringify({ bench: 'conversion', machine: machine(), ...figures }));
  } finally {
    await stores.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
