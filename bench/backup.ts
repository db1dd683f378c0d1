/**
 * bench/backup: `siyu backup` through the route of a serving server and `siyu restore` into a fresh
 * directory, at the demo brand of a stated size with its tags computed; beside them in the same run,
 * two baselines: a plain copy of the data directory while the stores are closed, and opening empty
 * stores in a fresh directory (what any restore pays before it loads a row: PGlite's initdb, migrations).
 *   npm run bench -- backup [--people 20000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config/config.ts';
import { openStores } from '../src/stores/stores.ts';
import { ensureFirstWorkspace } from '../src/app/bootstrap.ts';
import { buildServer } from '../src/app/server.ts';
import { generateDemoBrand } from '../src/demo/demo-brand.ts';
import { loadDemoBrand } from '../src/demo/load.ts';
import { installPack } from '../src/tags/packs/packs.ts';
import { runTags } from '../src/tags/engine.ts';
import { restoreBackup } from '../src/backup/backup.ts';
import { formatBytes } from '../src/cli/output.ts';
import { machine, option, printTable, timed } from './common.ts';

function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

export async function run(args: string[]): Promise<void> {
  const people = Number(option(args, 'people', '20000').replace(/_/g, ''));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-backup-'));
  const env = { ...process.env, SIYU_DEMO_PEOPLE: '0' };
  const config = (dir: string) => loadConfig({ dataDir: path.join(root, dir) }, env);
  try {
    const source = config('data');
    const stores = await openStores(source);
    const boot = await ensureFirstWorkspace(stores);
    const demo = path.join(root, 'demo');
    await generateDemoBrand({ people, seed: 1, endDate: '2026-10-31', out: demo });
    await loadDemoBrand(stores, boot.workspace, demo);
    await installPack(stores, boot.workspace.id, 'retail');
    await runTags(stores, { workspaceId: boot.workspace.id, baseDate: '2026-10-31' });

    const app = await buildServer({ config: { logLevel: 'error' }, stores, logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const backup = await timed(async () => {
      const response = await fetch(`${base}/api/v1/admin/backups`, { method: 'POST', headers: { authorization: `Bearer ${boot.adminToken}` } });
      if (!response.ok) throw new Error(`backup route: ${response.status} ${await response.text()}`);
      return (await response.json()) as { directory: string; bytes: number; tables: { facts: Array<{ rows: number }>; state: Array<{ rows: number }> } };
    });
    await app.close();
    await stores.close();

    // The data directory without the backup just taken: what a stopped copy would hold.
    const backups = path.join(source.dataDir, 'backups');
    const kept = path.join(root, 'backup');
    fs.renameSync(backup.value.directory, kept);
    fs.rmSync(backups, { recursive: true, force: true });
    const dataBytes = treeBytes(source.dataDir);
    const copy = await timed(async () => fs.cpSync(source.dataDir, path.join(root, 'copy'), { recursive: true }));

    const restore = await timed(() => restoreBackup(config('restored'), kept));
    const empty = await timed(async () => (await openStores(config('empty'))).close());

    const rows = (tables: Array<{ rows: number }>) => tables.reduce((sum, t) => sum + t.rows, 0);
    const s = (seconds: number) => Math.round(seconds * 100) / 100;
    printTable([
      { step: 'siyu backup (route, server serving)', seconds: s(backup.seconds), size: formatBytes(backup.value.bytes) },
      { step: 'baseline: copy of the stopped data directory', seconds: s(copy.seconds), size: formatBytes(dataBytes) },
      { step: 'siyu restore into a fresh directory (checked)', seconds: s(restore.seconds), size: '' },
      { step: 'baseline: open empty stores in a fresh directory', seconds: s(empty.seconds), size: '' },
    ]);
    const result = {
      benchmark: 'backup',
      machine: machine(),
      people,
      facts_rows: rows(backup.value.tables.facts),
      state_rows: rows(backup.value.tables.state),
      backup_seconds: s(backup.seconds),
      backup_bytes: backup.value.bytes,
      copy_stopped_seconds: s(copy.seconds),
      data_dir_bytes: dataBytes,
      restore_seconds: s(restore.seconds),
      open_empty_stores_seconds: s(empty.seconds),
    };
    console.log(
      `\n${people.toLocaleString('en-US')} people: ${result.facts_rows.toLocaleString('en-US')} facts rows, ${result.state_rows.toLocaleString('en-US')} state rows; ` +
        `backup ${result.backup_seconds} s (copy while stopped ${result.copy_stopped_seconds} s), restore ${result.restore_seconds} s (empty stores ${result.open_empty_stores_seconds} s)`,
    );
    console.log(JSON.stringify(result));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.main) await run(process.argv.slice(2));
