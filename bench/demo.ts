/**
 * bench/demo: the demo brand generator at a stated size.
 *   npm run bench -- demo [--people 1000000] [--seed 1]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDemoBrand } from '../src/demo/demo-brand.ts';
import { formatBytes } from '../src/cli/output.ts';
import { machine, option, peakRssMiB, printTable } from './common.ts';

export async function run(args: string[]): Promise<void> {
  const people = Number(option(args, 'people', '1000000').replace(/_/g, ''));
  const seed = Number(option(args, 'seed', '1'));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-demo-'));
  try {
    const manifest = await generateDemoBrand({ people, seed, endDate: '2026-10-31', out });
    const rows = manifest.files.reduce((s, f) => s + f.rows, 0);
    const bytes = manifest.files.reduce((s, f) => s + f.bytes, 0);
    printTable(manifest.files.map((f) => ({ file: f.name, rows: f.rows, size: formatBytes(f.bytes) })));
    const result = {
      benchmark: 'demo',
      machine: machine(),
      people,
      seconds: Math.round(manifest.seconds * 10) / 10,
      people_per_s: Math.round(people / manifest.seconds),
      rows,
      rows_per_s: Math.round(rows / manifest.seconds),
      bytes,
      peak_rss_mib_main_thread_and_workers: peakRssMiB(),
    };
    console.log(`\n${people.toLocaleString('en-US')} people, ${rows.toLocaleString('en-US')} rows, ${formatBytes(bytes)} in ${result.seconds} s`);
    console.log(JSON.stringify(result));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
