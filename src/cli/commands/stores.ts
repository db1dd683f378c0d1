import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { migrateStores } from '../../stores/stores.ts';
import { openCliStores } from '../workspace.ts';
import { systemStatus } from '../../system/status.ts';
import { formatBytes, printTable } from '../output.ts';

export function registerStoreCommands(program: Command, config: () => SiyuConfig): void {
  program
    .command('migrate')
    .description('apply pending migrations to both stores')
    .action(async () => {
      const stores = await openCliStores(config, { migrate: false });
      try {
        const applied = await migrateStores(stores);
        console.log(`facts store (${stores.facts.engine}): ${applied.facts.length ? applied.facts.join('; ') : 'up to date'}`);
        console.log(`state store (${stores.state.engine}): ${applied.state.length ? applied.state.join('; ') : 'up to date'}`);
      } finally {
        await stores.close();
      }
    });

  program
    .command('doctor')
    .description('check both stores: engines, versions, data directories, row counts per table')
    .option('--json', 'print one JSON object')
    .action(async (options: { json?: boolean }) => {
      const cfg = config();
      const stores = await openCliStores(() => cfg);
      try {
        const status = await systemStatus(cfg, stores);
        if (options.json) {
          console.log(JSON.stringify(status, null, 2));
          return;
        }
        console.log(`node ${status.node} on ${status.platform}, ${status.cpus} cores, ${status.memoryGiB} GiB`);
        console.log(`data directory: ${status.dataDir}`);
        for (const [label, store] of [
          ['facts store', status.facts],
          ['state store', status.state],
        ] as const) {
          console.log('');
          console.log(`${label}: ${store.engine} — ${store.version}`);
          console.log(`  location: ${store.location}${store.sizeBytes !== undefined ? ` (${formatBytes(store.sizeBytes)})` : ''}`);
          printTable(store.tables.map((t) => ({ table: t.table, rows: t.rows })));
        }
        console.log('');
        console.log('ok: both stores answer');
      } finally {
        await stores.close();
      }
    });
}
