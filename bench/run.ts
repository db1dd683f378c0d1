/**
 * `npm run bench -- <name> [options]`: runs one benchmark. Each prints a readable table and, as its
 * last line, one JSON object with its figures.
 */
const BENCHMARKS: Record<string, { describe: string; load: () => Promise<{ run(args: string[]): Promise<void> }> }> = {
  stores: { describe: 'facts vs state store: insert rows/s and a group-by over 2M and 10M order rows', load: () => import('./stores.ts') },
  demo: { describe: 'demo brand generator: people/s and rows/s', load: () => import('./demo.ts') },
  import: { describe: 'order rows/s importing ~1M-row platform exports (UTF-8 and GB18030), peak memory', load: () => import('./import.ts') },
  track: { describe: 'tracking API: events/s in batches of 100 from a local load generator, p50/p95 latency', load: () => import('./track.ts') },
  linkage: { describe: 'pairwise precision/recall/F1 on FEBRL and the demo brand ground truth', load: () => import('./linkage.ts') },
  tags: { describe: 'the retail tag pack in one run: demo brand coverage, 100k and 1M people × 10 orders, model fit time', load: () => import('./tags.ts') },
  segments: { describe: 'segment counts over 1M and 10M people: tags-only (bitmaps), mixed, sequence; p50/p95, and the ratio to PostgreSQL', load: () => import('./segments.ts') },
  dispatch: { describe: 'a plan to 100k people through policy, templates and the ledger to a local webhook receiver: messages/s', load: () => import('./dispatch.ts') },
  conversion: { describe: 'the plan report (per variant and control, lift, cost per conversion) over 1M sends', load: () => import('./conversion.ts') },
  people: {
    describe: 'console reads over 1M people: search by phone and name, the 360 view, the overview, a segment count; whole workspace vs a team scope',
    load: () => import('./people.ts'),
  },
  oneid: { describe: 'OneID: full resolution of 10M identifier edges, incremental attach of 100k records', load: () => import('./oneid.ts') },
  cli: { describe: 'siyu commands as processes: client mode beside siyu start vs direct mode; baselines node -e and one bare fetch', load: () => import('./cli.ts') },
  backup: {
    describe: 'siyu backup through the route of a serving server and siyu restore, at the demo brand of 20k people; baselines: a stopped copy, empty stores',
    load: () => import('./backup.ts'),
  },
};

const [name, ...args] = process.argv.slice(2);
if (!name || !BENCHMARKS[name]) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]`);
  for (const [key, b] of Object.entries(BENCHMARKS)) console.error(`  ${key.padEnd(8)} ${b.describe}`);
  process.exit(name ? 1 : 0);
}
const benchmark = await BENCHMARKS[name].load();
await benchmark.run(args);
