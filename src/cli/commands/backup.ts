import type { Command } from 'commander';
import type { SiyuConfig } from '../../config/config.ts';
import { moveBackup, restoreBackup, takeBackup } from '../../backup/backup.ts';
import { formatBytes, printTable } from '../output.ts';
import { openCliStores } from '../workspace.ts';

export function registerBackupCommands(program: Command, config: () => SiyuConfig): void {
  program
    .command('backup')
    .description('take a consistent backup of both stores into a new directory (runs inside the server while one holds the data directory)')
    .requiredOption('--out <dir>', 'the backup directory: new or empty')
    .action(async (options: { out: string }) => {
      // While a server runs, this runs inside it (client mode) on its open stores.
      const stores = await openCliStores(config);
      try {
        const backup = await takeBackup(stores);
        const directory = moveBackup(backup.directory, options.out);
        const { manifest } = backup;
        printTable([
          ...manifest.tables.state.map((t) => ({ store: 'state', table: t.table, rows: t.rows })),
          ...manifest.tables.facts.map((t) => ({ store: 'facts', table: t.table, rows: t.rows })),
        ]);
        const bytes = manifest.files.reduce((sum, file) => sum + file.bytes, 0);
        console.log(
          `\nbackup of Siyu ${manifest.siyuVersion} (state snapshot ${manifest.stateSnapshotAt}): ${manifest.files.length} files, ${formatBytes(bytes)} in ${backup.seconds.toFixed(1)} s → ${directory}`,
        );
      } finally {
        await stores.close();
      }
    });

  program
    .command('restore')
    .description('restore a backup into an empty data directory (no server may run on it), then migrate it to this version')
    .argument('<dir>', 'a directory written by siyu backup')
    .action(async (dir: string) => {
      const result = await restoreBackup(config(), dir);
      const rows = (tables: Array<{ rows: number }>) => tables.reduce((sum, t) => sum + t.rows, 0);
      const migrated = [...result.migrated.facts.map((m) => `facts ${m}`), ...result.migrated.state.map((m) => `state ${m}`)];
      console.log(
        `restored the backup of ${result.manifest.createdAt} (Siyu ${result.manifest.siyuVersion}) into ${result.dataDir}: ` +
          `${rows(result.manifest.tables.state).toLocaleString('en-US')} state rows in ${result.manifest.tables.state.length} tables, ` +
          `${rows(result.manifest.tables.facts).toLocaleString('en-US')} facts rows in ${result.manifest.tables.facts.length} tables, checked, in ${result.seconds.toFixed(1)} s`,
      );
      console.log(migrated.length > 0 ? `migrated forward: ${migrated.join('; ')}` : 'migrations: the backup is at this version');
      if (result.sealedUnder.length > 0) {
        console.log(
          `channel secrets are sealed under master key ${result.sealedUnder.join(', ')}, which backups leave out: ` +
            `put the old data directory's secret.key into ${result.dataDir} (or set SIYU_SECRET_KEY) before siyu start`,
        );
      }
    });
}
