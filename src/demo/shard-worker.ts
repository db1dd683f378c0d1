/** Generates one shard of the demo population in a worker thread (see demo-brand.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { FileSink, partPath } from './file-sink.ts';
import { DemoBrandGenerator, type DemoOptions } from './generator.ts';

export interface ShardTask {
  options: DemoOptions;
  from: number;
  to: number;
  shard: number;
  partsDir: string;
}

const task = workerData as ShardTask;
const sink = new FileSink((file) => partPath(task.partsDir, file, task.shard));
const generator = new DemoBrandGenerator(task.options, sink);
const STEP = 5000;
for (let from = task.from; from < task.to; from += STEP) {
  generator.generate(from, Math.min(task.to, from + STEP));
  parentPort?.postMessage({ kind: 'progress', done: Math.min(task.to, from + STEP) - task.from });
}
sink.close();
parentPort?.postMessage({ kind: 'done', rows: sink.rows });
