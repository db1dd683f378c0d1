/**
 * bench/import: order rows per second through `siyu import` for platform exports of about a million
 * rows, in UTF-8 (JD) and GB18030 (Tmall), and peak memory.
 *   npm run bench -- import [--people 1600000]
 * The demo brand is generated once into bench-data/ and reused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { openStores } from '../src/stores/stores.ts';
import { WorkspaceService } from '../src/workspaces/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { generateDemoBrand, MANIFEST_NAME } from '../src/demo/demo-brand.ts';
import { machine, option, peakRssMiB, printTable } from './common.ts';

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
  const demo = await demoBrandFor(people);
  const cases = [
    { name: 'JD order export (UTF-8 with BOM)', preset: 'jd', files: ['jd_orders.csv'] },
    { name: 'Tmall order report (GB18030)', preset: 'tmall', files: ['tmall_orders.csv'] },
  ];
  const results: Array<Record<string, unknown>> = [];
  console.log(`bench/import on ${machine()}`);
  for (const c of cases) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-import-'));
    const stores = await openStores(loadConfig({ dataDir }));
    try {
      const workspace = await new WorkspaceService(stores.state).create({ slug: 'bench', name: 'bench' });
      const files = c.files.map((f) => path.join(demo, f));
      const rssBefore = peakRssMiB();
      const first = await runImport(stores, { workspace, kind: 'orders', preset: c.preset, files, resolve: false });
      const again = await runImport(stores, { workspace, kind: 'orders', preset: c.preset, files, resolve: false });
      results.push({
        file: c.name,
        rows: first.rowsRead,
        mib: Math.round(files.reduce((s, f) => s + fs.statSync(f).size, 0) / 2 ** 20),
        seconds: Math.round(first.seconds * 10) / 10,
        rows_per_s: Math.round(first.rowsRead / first.seconds),
        reimport_rows_per_s: Math.round(again.rowsRead / again.seconds),
        reimport_landed: again.landed + again.updated,
        peak_rss_mib: Math.max(rssBefore, peakRssMiB()),
      });
    } finally {
      await stores.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  console.log('');
  printTable(results.map((r) => ({ file: r.file, rows: r.rows, MiB: r.mib, s: r.seconds, 'rows/s': r.rows_per_s, 're-import rows/s': r.reimport_rows_per_s, 're-import wrote': r.reimport_landed, 'peak RSS MiB': r.peak_rss_mib })));
  console.log(JSON.stringify({ benchmark: 'import', machine: machine(), people, results }));
}
