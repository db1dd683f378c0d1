import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, runCli, tempDir, testConfig, uniqueSlug } from './helpers.ts';
import { openStores } from '../src/stores/stores.ts';

const ROWS = 200_000;

/**
 * Starts `siyu import`, SIGKILLs it once its progress reaches `killAtRows`, checks the run was left
 * unfinished, then runs the same command again and checks nothing was lost or doubled.
 */
async function killAndResume(format: 'csv' | 'tsv', killAtRows: number) {
  const dir = tempDir();
  const env = { SIYU_DATA_DIR: dir, SIYU_DEMO_PEOPLE: '0', SIYU_PROGRESS_INTERVAL_MS: '1' };
  const separator = format === 'csv' ? ',' : '\t';
  const file = path.join(dir, `orders.${format}`);
  const lines = [['order_id', 'ordered_at', 'amount', 'member_no', 'sku', 'quantity', 'unit_price'].join(separator)];
  for (let i = 0; i < ROWS; i++)
    lines.push(
      [`K${i}`, `2026-05-${String(1 + (i % 28)).padStart(2, '0')} 10:00:00`, `${(i % 500) + 1}.00`, `M${i % 50_000}`, `SKU${i % 7}`, '1', `${(i % 500) + 1}`].join(separator),
    );
  fs.writeFileSync(file, lines.join('\n') + '\n');
  // A workspace of its own, named on every command: on a PostgreSQL server the state store holds other suites' too.
  const slug = uniqueSlug('crash');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'crash'], env)).code, 0);

  const args = [path.join(ROOT, 'src/cli/main.ts'), 'import', 'orders', file, '--source', 'erp', '--workspace', slug];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const killedAt = await new Promise<number>((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      const match = /importing: ([\d,]+) rows/.exec(
        stderr
          .split('\n')
          .filter((l) => l.includes('importing'))
          .pop() ?? '',
      );
      const rows = match ? Number(match[1].replace(/,/g, '')) : 0;
      if (rows >= killAtRows && child.exitCode === null) {
        child.kill('SIGKILL');
        resolve(rows);
      }
    });
    child.on('exit', (code, signal) => (signal ? undefined : reject(new Error(`import finished (${code}) before it could be killed: ${stderr}`))));
  });
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode ? resolve(null) : child.once('exit', resolve)));
  let stores = await openStores(testConfig(dir));
  const importRuns = () =>
    stores.state.db
      .selectFrom('import_runs')
      .innerJoin('workspaces', 'workspaces.id', 'import_runs.workspace_id')
      .where('workspaces.slug', '=', slug)
      .select(['import_runs.status', 'import_runs.attempts'])
      .execute();
  try {
    const [run] = await importRuns();
    assert.equal(run.status, 'running', `killed after ${killedAt} rows, before the run completed`);
  } finally {
    await stores.close();
  }

  const again = await runCli(['import', 'orders', file, '--source', 'erp', '--workspace', slug], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /\(resumed\)/);
  assert.match(again.stdout, new RegExp(`${ROWS.toLocaleString('en-US')} rows read, ${ROWS.toLocaleString('en-US')} landed, 0 updated, 0 unchanged, 0 quarantined`));

  stores = await openStores(testConfig(dir));
  try {
    const [orders] = await stores.facts.query<{ n: string; distinct_ids: string; total: string }>(
      `SELECT count() AS n, uniqExact(order_id) AS distinct_ids, toString(sum(amount)) AS total FROM orders FINAL`,
    );
    assert.equal(Number(orders.n), ROWS, 'nothing lost');
    assert.equal(Number(orders.distinct_ids), ROWS, 'nothing doubled');
    const expected = Array.from({ length: ROWS }, (_, i) => (i % 500) + 1).reduce((a, b) => a + b, 0);
    assert.equal(Number(orders.total), expected);
    const [records] = await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM source_records FINAL`);
    assert.equal(Number(records.n), ROWS);
    const runs = await importRuns();
    assert.deepEqual(
      runs.map((r) => [r.status, r.attempts]),
      [['completed', 2]],
      'one run, completed on its second attempt',
    );
  } finally {
    await stores.close();
  }
}

test('a row-by-row import (TSV) killed with SIGKILL mid-file completes when the same command runs again: nothing lost, nothing doubled', async () => {
  await killAndResume('tsv', 40_000);
});

test('an import in SQL (CSV) killed with SIGKILL after staging completes when the same command runs again: nothing lost, nothing doubled', async () => {
  await killAndResume('csv', ROWS);
});
