/**
 * bench/import: order rows per second through `siyu import` for platform exports of about a million
 * rows, in UTF-8 (JD) and GB18030 (Tmall), and peak memory. Each file is imported --runs times into
 * empty stores (the median is the figure; every run is printed), then once more unchanged.
 *   npm run bench -- import [--people 1600000] [--runs 3]
 * The demo brand is generated once into bench-data/ and reused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { openStores } from '../src/stores/stores.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { generateDemoBrand, MANIFEST_NAME } from '../src/demo/demo-brand.ts';
import { machine, median, option, peakRssMiB, printTable } from './common.ts';

export async function demoBrandFor(people: number): Promise<string> {
  const dir = path.resolve('bench-data', `demo-${people}`);
  const manifest = path.join(dir, MANIFEST_NAME);
  if (!fs.existsSync(manifest)) {
    console.log(`generating a demo brand of ${people.toLocaleString('en-US')} people into ${dir} (once)…`);
    await generateDemoBrand({ people, seed: 1, endDate: '2026-10-31', out: dir });
  }
  return dir;
}

export async function run(args: string[]): Promise<void> {
  const people = Number(option(args, 'people', '1600000').replace(/_/g, ''));
  const runs = Math.max(1, Number(option(args, 'runs', '3')));
  const demo = await demoBrandFor(people);
  const cases = [
    { name: 'JD order export (UTF-8 with BOM)', preset: 'jd', files: ['jd_orders.csv'] },
    { name: 'Tmall order report (GB18030)', preset: 'tmall', files: ['tmall_orders.csv'] },
  ];
  const results: Array<Record<string, unknown>> = [];
  console.log(`bench/import on ${machine()}`);
  for (const c of cases) {
    const files = c.files.map((f) => path.join(demo, f));
    const perRun: number[] = [];
    let last: { rows: number; reimport: number; reimportWrote: number } | undefined;
    const rssBefore = peakRssMiB();
    for (let run = 0; run < runs; run++) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-import-'));
      const stores = await openStores(loadConfig({ dataDir }));
      try {
        const workspace = await new WorkspaceService(stores.state).create({ slug: 'bench', name: 'bench' });
        const first = await runImport(stores, { workspace, kind: 'orders', preset: c.preset, files, resolve: false });
        perRun.push(Math.round(first.rowsRead / first.seconds));
        if (run === runs - 1) {
          const again = await runImport(stores, { workspace, kind: 'orders', preset: c.preset, files, resolve: false });
          last = { rows: first.rowsRead, reimport: Math.round(again.rowsRead / again.seconds), reimportWrote: again.landed + again.updated };
        }
      } finally {
        await stores.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    }
    results.push({
      file: c.name,
      rows: last!.rows,
      mib: Math.round(files.reduce((s, f) => s + fs.statSync(f).size, 0) / 2 ** 20),
      rows_per_s: Math.round(median(perRun)),
      runs_rows_per_s: perRun,
      reimport_rows_per_s: last!.reimport,
      reimport_landed: last!.reimportWrote,
      peak_rss_mib: Math.max(rssBefore, peakRssMiB()),
    });
  }
  console.log('');
  printTable(
    results.map((r) => ({
      file: r.file,
      rows: r.rows,
      MiB: r.mib,
      'rows/s (median)': r.rows_per_s,
      'each run': (r.runs_rows_per_s as number[]).join(' '),
      're-import rows/s': r.reimport_rows_per_s,
      're-import wrote': r.reimport_landed,
      'peak RSS MiB': r.peak_rss_mib,
    })),
  );
  console.log(`rows/s: the median of ${runs} first imports into empty stores; re-import: the last run's file again, unchanged`);
  console.log(JSON.stringify({ benchmark: 'import', machine: machine(), people, runs, results }));
}
