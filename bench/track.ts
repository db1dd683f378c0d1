/**
 * bench/track: events per second accepted by the tracking API from a local load generator sending
 * batches of 100, with p50/p95 request latency, at several numbers of concurrent connections (the
 * server commits whatever arrived during the previous write as one group, so throughput grows with
 * concurrency at the cost of latency). The server runs as `siyu start` in its own process.
 *   npm run bench -- track [--seconds 15] [--concurrency 16,64,128] [--batch 100]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { machine, option, percentile, printTable } from './common.ts';

export async function run(args: string[]): Promise<void> {
  const seconds = Number(option(args, 'seconds', '15'));
  const levels = option(args, 'concurrency', '16,64,128').split(',').map(Number);
  const batchSize = Number(option(args, 'batch', '100'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-track-'));
  const server = spawn(
    process.execPath,
    [...(process.env.SIYU_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.SIYU_BENCH_PROFILE] : []), 'src/cli/main.ts', 'start'],
    {
      env: { ...process.env, SIYU_DATA_DIR: dataDir, SIYU_PORT: '0', SIYU_DEMO_PEOPLE: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    let out = '';
    const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
      server.stdout!.on('data', (d) => {
        out += d;
        const url = /console\s+(http:\/\/\S+?)\/\s/.exec(out)?.[1];
        const token = /(siyu_[a-z0-9]{12}_[A-Za-z0-9_-]{43})/.exec(out)?.[1];
        if (url && token) {
          clearTimeout(timer);
          resolve({ url, token });
        }
      });
    });
    console.log(`bench/track on ${machine()}: batches of ${batchSize}, ${seconds} s per level against ${url}`);
    let sequence = 0;
    const results: Array<Record<string, number>> = [];
    for (const concurrency of levels) {
      const latencies: number[] = [];
      let events = 0;
      let failures = 0;
      const deadline = Date.now() + seconds * 1000;
      const worker = async (w: number) => {
        while (Date.now() < deadline) {
          const batch = [];
          for (let i = 0; i < batchSize; i++) {
            const n = sequence++;
            batch.push({
              type: 'track',
              event: n % 3 === 0 ? 'Product Viewed' : n % 3 === 1 ? 'Product Added' : 'Order Completed',
              messageId: `bench-${w}-${n}`,
              anonymousId: `anon-${n % 50_000}`,
              timestamp: new Date().toISOString(),
              properties: { sku: `SKU${n % 40}`, price: 399 },
              identities: { unionid: `oU${n % 50_000}` },
            });
          }
          const started = performance.now();
          const response = await fetch(`${url}/api/v1/batch`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ batch }),
          });
          await response.arrayBuffer();
          latencies.push(performance.now() - started);
          if (response.status === 200) events += batchSize;
          else failures++;
        }
      };
      const began = Date.now();
      await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
      const elapsed = (Date.now() - began) / 1000;
      results.push({
        concurrency,
        seconds: Math.round(elapsed * 10) / 10,
        batch: batchSize,
        requests: latencies.length,
        failed_requests: failures,
        events,
        events_per_s: Math.round(events / elapsed),
        p50_ms: Math.round(percentile(latencies, 50) * 10) / 10,
        p95_ms: Math.round(percentile(latencies, 95) * 10) / 10,
      });
    }
    printTable(
      results.map((r) => ({
        connections: r.concurrency,
        events: r.events,
        'events/s': r.events_per_s,
        requests: r.requests,
        failed: r.failed_requests,
        'p50 ms': r.p50_ms,
        'p95 ms': r.p95_ms,
      })),
    );
    console.log(JSON.stringify({ benchmark: 'track', machine: machine(), results }));
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
