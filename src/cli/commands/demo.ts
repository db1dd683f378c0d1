import path from 'node:path';
import type { Command } from 'commander';
import { demoDir, type SiyuConfig } from '../../config/config.ts';
import { DEFAULT_END_DATE, generateDemoBrand } from '../../demo/demo-brand.ts';
import { formatBytes, printTable, Progress } from '../output.ts';
import { parseInteger } from '../args.ts';

export function registerDemoCommands(program: Command, config: () => SiyuConfig): void {
  const demo = program.command('demo').description("the demo brand 燕语: a synthetic bird's-nest brand with subscriptions");
  demo
    .command('generate')
    .description("write a demo brand's platform exports (Tmall, JD, Douyin, mini-program, POS, WeCom, events) and its ground truth")
    .option('--people <n>', 'people in the brand', parseInteger, 10_000)
    .option('--seed <n>', 'random seed: the same seed gives the same files', parseInteger, 1)
    .option('--out <dir>', 'output directory (default: <data>/demo)')
    .option('--end-date <YYYY-MM-DD>', 'last day of the two-year history', DEFAULT_END_DATE)
    .option('--threads <n>', 'worker threads (default: one per core for large brands)', parseInteger)
    .action(async (options: { people: number; seed: number; out?: string; endDate: string; threads?: number }) => {
      const out = path.resolve(options.out ?? demoDir(config()));
      const progress = new Progress('generating', options.people);
      const manifest = await generateDemoBrand({
        people: options.people,
        seed: options.seed,
        endDate: options.endDate,
        out,
        threads: options.threads,
        onProgress: (done) => progress.update(done, 'people'),
      });
      progress.done();
      printTable(manifest.files.map((f) => ({ file: f.name, encoding: f.encoding, rows: f.rows, size: formatBytes(f.bytes) })));
      const total = manifest.files.reduce((s, f) => s + f.bytes, 0);
      const rows = manifest.files.reduce((s, f) => s + f.rows, 0);
      console.log(
        `\n${manifest.people.toLocaleString('en-US')} people (seed ${manifest.seed}, history to ${manifest.endDate}): ` +
          `${rows.toLocaleString('en-US')} rows, ${formatBytes(total)} in ${manifest.seconds.toFixed(1)} s → ${out}`,
      );
    });
}
