import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { encode, FileSink, partPath } from './file-sink.ts';
import { DEMO_FILES, DEMO_FILE_KEYS, type DemoFileKey } from './formats.ts';
import { DemoBrandGenerator, MINIPROGRAM_APPID, type DemoOptions } from './generator.ts';
import { PRODUCTS } from './dictionaries.ts';
import type { ShardTask } from './shard-worker.ts';

export interface GenerateDemoOptions extends DemoOptions {
  out: string;
  /** Worker threads; default: one per core for large populations, none for small ones. */
  threads?: number;
  onProgress?: (peopleDone: number) => void;
}

export interface DemoManifest {
  brand: string;
  seed: number;
  people: number;
  endDate: string;
  miniprogramAppid: string;
  generatedAt: string;
  seconds: number;
  files: Array<{ key: DemoFileKey; name: string; encoding: string; rows: number; bytes: number; describes: string }>;
}

export const DEFAULT_END_DATE = '2026-10-31';
export const MANIFEST_NAME = 'manifest.json';

function defaultThreads(people: number): number {
  if (people < 20_000) return 0;
  return Math.max(1, Math.min(os.availableParallelism(), Math.ceil(people / 50_000)));
}

function validate(options: GenerateDemoOptions): void {
  if (!Number.isInteger(options.people) || options.people < 1 || options.people > 50_000_000) {
    throw new Error(`--people must be a whole number from 1 to 50,000,000, got ${options.people}`);
  }
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) {
    throw new Error(`--seed must be a whole number from 0 to 4294967295, got ${options.seed}`);
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(options.endDate) || Number.isNaN(Date.parse(options.endDate))) {
    throw new Error(`--end-date must be a date YYYY-MM-DD, got "${options.endDate}"`);
  }
}

/**
 * Writes a demo brand: one file per platform export plus truth.csv and manifest.json.
 * Output depends only on (people, seed, endDate): threads change the speed, never the bytes.
 */
export async function generateDemoBrand(options: GenerateDemoOptions): Promise<DemoManifest> {
  validate(options);
  const started = Date.now();
  fs.mkdirSync(options.out, { recursive: true });
  const partsDir = fs.mkdtempSync(path.join(options.out, '.parts-'));
  const generatorOptions: DemoOptions = { people: options.people, seed: options.seed, endDate: options.endDate };
  const threads = options.threads ?? defaultThreads(options.people);
  const rows = Object.fromEntries(DEMO_FILE_KEYS.map((k) => [k, 0])) as Record<DemoFileKey, number>;
  let shards = 1;

  try {
    if (threads <= 1) {
      const sink = new FileSink((file) => partPath(partsDir, file, 0));
      const generator = new DemoBrandGenerator(generatorOptions, sink);
      for (let from = 0; from < options.people; from += 5000) {
        generator.generate(from, Math.min(options.people, from + 5000));
        options.onProgress?.(Math.min(options.people, from + 5000));
      }
      sink.close();
      for (const key of DEMO_FILE_KEYS) rows[key] += sink.rows[key];
    } else {
      // Small shards handed out in order keep both cores busy to the end; parts are concatenated in shard order.
      shards = Math.max(threads, Math.ceil(options.people / 100_000));
      const size = Math.ceil(options.people / shards);
      const done = new Array<number>(shards).fill(0);
      let next = 0;
      const runShard = (shard: number) =>
        new Promise<void>((resolve, reject) => {
          const task: ShardTask = { options: generatorOptions, from: shard * size, to: Math.min(options.people, (shard + 1) * size), shard, partsDir };
          const worker = new Worker(new URL('./shard-worker.ts', import.meta.url), {
            workerData: task,
            // A larger young generation: the generator makes many short-lived strings.
            resourceLimits: { maxYoungGenerationSizeMb: 64 },
          });
          worker.on('message', (message: { kind: string; done?: number; rows?: Record<DemoFileKey, number> }) => {
            if (message.kind === 'progress') {
              done[shard] = message.done ?? 0;
              options.onProgress?.(done.reduce((a, b) => a + b, 0));
            } else if (message.kind === 'done' && message.rows) {
              for (const key of DEMO_FILE_KEYS) rows[key] += message.rows[key];
            }
          });
          worker.on('error', reject);
          worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`demo shard ${shard} stopped with code ${code}`))));
        });
      const lanes = Array.from({ length: threads }, async () => {
        while (next * size < options.people) await runShard(next++);
      });
      shards = Math.ceil(options.people / size);
      await Promise.all(lanes);
    }

    const files: DemoManifest['files'] = [];
    for (const key of DEMO_FILE_KEYS) {
      const spec = DEMO_FILES[key];
      const target = path.join(options.out, spec.name);
      const fd = fs.openSync(target, 'w');
      try {
        if (spec.encoding === 'utf8-bom') fs.writeSync(fd, Buffer.from([0xef, 0xbb, 0xbf]));
        if (spec.header) fs.writeSync(fd, encode(spec.header.join(',') + '\n', spec.encoding));
        if (key === 'products') {
          // The brand's catalogue: one row per SKU, whoever buys it.
          const lines = PRODUCTS.map((p) => [p.sku, p.name, p.spec, p.category, '燕语', p.price.toFixed(2)].join(',') + '\n');
          fs.writeSync(fd, encode(lines.join(''), spec.encoding));
          rows.products = PRODUCTS.length;
        }
        for (let shard = 0; shard < shards; shard++) {
          const part = partPath(partsDir, key, shard);
          if (!fs.existsSync(part)) continue;
          appendFile(fd, part);
        }
      } finally {
        fs.closeSync(fd);
      }
      files.push({ key, name: spec.name, encoding: spec.encoding, rows: rows[key], bytes: fs.statSync(target).size, describes: spec.describes });
    }
    const manifest: DemoManifest = {
      brand: "燕语 Yanyu (fictional bird's-nest brand)",
      seed: options.seed,
      people: options.people,
      endDate: options.endDate,
      miniprogramAppid: MINIPROGRAM_APPID,
      generatedAt: new Date().toISOString(),
      seconds: (Date.now() - started) / 1000,
      files,
    };
    fs.writeFileSync(path.join(options.out, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  } finally {
    fs.rmSync(partsDir, { recursive: true, force: true });
  }
}

function appendFile(fd: number, source: string): void {
  const input = fs.openSync(source, 'r');
  const buffer = Buffer.allocUnsafe(8 << 20);
  try {
    for (;;) {
      const read = fs.readSync(input, buffer, 0, buffer.length, null);
      if (read === 0) break;
      fs.writeSync(fd, buffer, 0, read);
    }
  } finally {
    fs.closeSync(input);
  }
}
