/**
 * bench/dispatch: a one-off plan to N people (default 100,000) through the whole path — audience
 * fixed from a segment, exclusions, consent, frequency caps, Liquid rendering (name, city, a tracked
 * link, an unsubscribe link), the ledger — and then dispatched over the signed webhook channel to a
 * receiver in another process, the dispatcher sending while the run writes the ledger (as the server
 * does). Prints enqueue rows/s, end-to-end messages/s and peak memory. Target: ≥ 5,000 messages/s end to end.
 *   npm run bench -- dispatch [--people 100000] [--concurrency 64]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadConfig } from '../src/config/config.ts';
import { openStores } from '../src/stores/stores.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { saveChannel } from '../src/channels/store.ts';
import { writeSecret } from '../src/secrets/secrets.ts';
import { savePolicy } from '../src/policy/policy.ts';
import { savePlan, startPlan } from '../src/plans/plans.ts';
import { runDuePlans } from '../src/plans/run.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { sql } from 'kysely';
import { machine, option, peakRssMiB, printTable, timed } from './common.ts';

const SECRET = 'bench-dispatch-secret';

export async function run(args: string[]): Promise<void> {
  const people = Number(option(args, 'people', '100000'));
  const concurrency = Number(option(args, 'concurrency', '64'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-dispatch-'));
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'receiver.ts'), SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
  const { url } = JSON.parse(await next()) as { url: string };
  // The receiver is on loopback: allow exactly it, as an operator would name an on-premise endpoint.
  process.env.SIYU_EGRESS_ALLOW = new URL(url).host;
  const stores = await openStores(loadConfig({ dataDir }));
  try {
    const ws = await new WorkspaceService(stores.state).create({ slug: `bench-${Date.now()}`, name: 'bench' });
    const params = { ws: ws.id, people };
    await stores.facts.command(
      `INSERT INTO source_records (workspace_id, source, kind, record_id, person_id, identifiers, name, attributes, seen_at, row_hash, version)
       SELECT {ws:String}, 'crm', 'member', toString(number + 1), number + 1, [('phone', concat('+86138', leftPad(toString(number + 1), 8, '0')))],
              concat('会员', toString(number + 1)), map('city', ['上海', '杭州', '成都', ''][1 + number % 4]), now64(3), 0, 1
       FROM numbers({people:UInt64})`,
      params,
    );
    await stores.facts.command(
      `INSERT INTO person_identities (workspace_id, type, value, person_id, records, sources, version)
       SELECT {ws:String}, 'phone', concat('+86138', leftPad(toString(number + 1), 8, '0')), number + 1, 1, ['crm'], 1 FROM numbers({people:UInt64})`,
      params,
    );
    await saveSegment(stores, ws.id, { key: 'reachable', name: { zh: '有手机号', en: 'Has phone' }, conditions: [{ type: 'identifier', identifierType: 'phone' }] });
    await writeSecret(stores, ws.id, 'bench_dispatch_secret', SECRET);
    await saveChannel(stores, ws.id, {
      key: 'hook',
      kind: 'webhook',
      address: 'phone',
      ratePerMinute: 1_000_000,
      concurrency,
      costPerMessage: 0.04,
      config: { url, secret: 'bench_dispatch_secret' },
    });
    // The default caps (2 a day, 5 a week) are checked for everyone; quiet hours off so the bench runs at any hour.
    await savePolicy(stores, ws.id, { quietHours: null });
    await savePlan(stores, ws.id, {
      key: 'bench_plan',
      name: 'bench',
      audience: { segment: 'reachable' },
      channel: 'hook',
      controlPercent: 10,
      variants: [
        {
          key: 'A',
          template: { text: '{{ person.name }}您好，{{ person.city | default: "您身边的" }}门店会员日 {{ "https://shop.example.com/a" | track }} 退订 {{ unsubscribe_url }}' },
        },
        { key: 'B', template: { text: '{{ person.name }}，专享 9 折 {{ "https://shop.example.com/b" | track }}' } },
      ],
      goal: { kind: 'order', windowDays: 7 },
    });
    await startPlan(stores, ws.id, 'bench_plan');

    // As the server runs them: the dispatcher sends while the run is still writing the ledger.
    const started = performance.now();
    const dispatcher = planDispatcher(stores, { idleMs: 50 });
    dispatcher.start();
    const enqueue = await timed(() => runDuePlans(stores, { publicUrl: 'https://s.example.com' }));
    const summary = enqueue.value[0];
    const sentSoFar = async () =>
      Number(
        (
          await sql<{ n: number }>`SELECT count(*)::int AS n FROM deliveries WHERE workspace_id = ${ws.id} AND status IN ('delivered', 'sent', 'failed', 'parked')`.execute(
            stores.state.db,
          )
        ).rows[0].n,
      );
    const progress: number[] = [];
    for (;;) {
      const done = await sentSoFar();
      progress.push(done);
      if (done >= summary.queued) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await dispatcher.stop();
    const total = (performance.now() - started) / 1000;
    child.kill('SIGTERM');
    const counts = JSON.parse(await next()) as { requests: number; distinct: number; badSignatures: number };
    const sent = summary.queued;
    if (counts.distinct !== sent || counts.badSignatures > 0)
      throw new Error(`receiver got ${counts.distinct} distinct (${counts.badSignatures} bad signatures), expected ${sent}`);
    const figures = {
      people,
      audience: summary.audience,
      queued: summary.queued,
      control: summary.control,
      enqueue_s: Number(enqueue.seconds.toFixed(2)),
      enqueue_rows_per_s: Math.round(summary.audience / enqueue.seconds),
      sent_by_end_of_enqueue: progress[0],
      end_to_end_s: Number(total.toFixed(2)),
      end_to_end_msgs_per_s: Math.round(sent / total),
      receiver_requests: counts.requests,
      peak_rss_mib: peakRssMiB(),
    };
    console.log(`bench/dispatch on ${machine()} (chDB + ${stores.state.engine}; webhook receiver in another process; concurrency ${concurrency})`);
    printTable([figures]);
    console.log(JSON.stringify({ bench: 'dispatch', machine: machine(), ...figures }));
  } finally {
    child.kill('SIGTERM');
    await stores.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
