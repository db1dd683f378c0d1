/**
 * The facts store's part of a backup: ClickHouse's own BACKUP DATABASE … TO File(…) (hard links of each
 * table's active parts, with the tables' DDL) and RESTORE. chDB allows it only under the directory its
 * session was opened with as `backups.allowed_path` (see ChdbFactsStore).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { assertTableName, type FactsStore } from '../stores/facts/facts-store.ts';
import { BackupRefusedError } from './manifest.ts';

export interface TableCount {
  table: string;
  rows: number;
}

/** The path goes into SQL text (BACKUP takes no bound parameters): ours, absolute, and without quotes. */
function pathLiteral(directory: string): string {
  const absolute = path.resolve(directory);
  if (/['\\\n\r\0]/.test(absolute)) throw new BackupRefusedError(`a backup path may not contain quotes, backslashes or line breaks: ${JSON.stringify(absolute)}`);
  return `'${absolute}'`;
}

async function databaseOf(facts: FactsStore): Promise<string> {
  const [row] = await facts.query<{ db: string }>('SELECT currentDatabase() AS db');
  const db = row?.db ?? '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) throw new Error(`unexpected facts database name ${JSON.stringify(db)}`);
  return db;
}

export async function factsMigrationIds(facts: FactsStore): Promise<number[]> {
  const rows = await facts.query<{ id: number }>('SELECT id FROM siyu_migrations ORDER BY id');
  return rows.map((row) => Number(row.id));
}

/** Writes the whole facts database to `target` (which must not exist yet). */
export async function backupFacts(facts: FactsStore, target: string): Promise<{ database: string }> {
  const database = await databaseOf(facts);
  await facts.command(`BACKUP DATABASE ${database} TO File(${pathLiteral(target)})`);
  return { database };
}

/**
 * Rows per table as the backup holds them, read through ClickHouse's Backup database engine (a
 * read-only database over the backup's files: BACKUP stores identical files once, so the parts' own
 * files cannot simply be summed).
 */
export async function factsCountsInBackup(facts: FactsStore, target: string, database: string): Promise<TableCount[]> {
  const reader = `siyu_backup_${randomBytes(6).toString('hex')}`;
  await facts.command(`CREATE DATABASE ${reader} ENGINE = Backup('${assertTableName(database)}', File(${pathLiteral(target)}))`);
  try {
    return await factsCounts(facts, reader);
  } finally {
    await facts.command(`DROP DATABASE IF EXISTS ${reader}`);
  }
}

/** Readers a process stopped mid-count left behind (the store opens with them, but they point at a backup that may be gone). */
export async function dropLeftoverReaders(facts: FactsStore): Promise<void> {
  const rows = await facts.query<{ name: string }>(`SELECT name FROM system.databases WHERE startsWith(name, 'siyu_backup_')`);
  for (const { name } of rows) await facts.command(`DROP DATABASE IF EXISTS ${assertTableName(name)}`);
}

/** Brings a facts backup into an empty store (opened with the backup's directory as its allowed path). */
export async function restoreFacts(facts: FactsStore, source: string): Promise<void> {
  const database = await databaseOf(facts);
  await facts.command(`RESTORE DATABASE ${database} FROM File(${pathLiteral(source)})`);
}

/** Rows per table in a database of the facts store (the store's own by default), merged as FINAL reads them. */
export async function factsCounts(facts: FactsStore, database?: string): Promise<TableCount[]> {
  const db = assertTableName(database ?? (await databaseOf(facts)));
  const tables = await facts.query<{ name: string; engine: string }>(`SELECT name, engine FROM system.tables WHERE database = {db:String} AND NOT is_temporary ORDER BY name`, {
    db,
  });
  const counts: TableCount[] = [];
  for (const { name, engine } of tables) {
    // A view holds no rows of its own (a materialized view here writes TO another table); it is restored with its DDL.
    if (engine.endsWith('View')) continue;
    // Rows as queries see them: parts of a Replacing/Aggregating table merge on their own schedule
    // (a restore merges what the backup held apart), so a count without FINAL is not stable.
    const final = /^(Replacing|Aggregating|Collapsing|VersionedCollapsing|Summing)MergeTree$/.test(engine) ? ' FINAL' : '';
    const [row] = await facts.query<{ n: string }>(`SELECT count() AS n FROM ${db}.${assertTableName(name)}${final}`);
    counts.push({ table: name, rows: Number(row?.n ?? 0) });
  }
  return counts;
}
