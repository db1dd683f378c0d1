/**
 * Backup and restore of an embedded deployment (chDB + PGlite in one data directory).
 *
 * Consistent means: the state store is one snapshot (time `stateSnapshotAt`), taken first; the facts
 * store is backed up right after it, table by table at ClickHouse's part level, so every fact written
 * before the state snapshot is in the backup, and a fact written during the backup may be too. The
 * state never points at facts the backup lacks (an import or tag run the state shows finished has its
 * rows); the reverse (rows of a run the state still shows running) is harmless, because facts are
 * keyed and versioned (ReplacingMergeTree): the run's retry or the next run replaces them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { backupsDir, factsDir, stateDir, type SiyuConfig } from '../config/config.ts';
import { ChdbFactsStore } from '../stores/facts/chdb-facts-store.ts';
import { FACTS_MIGRATIONS, migrateFacts } from '../stores/facts/migrations.ts';
import { migrateState, migrateStateTo, STATE_MIGRATION_NAMES } from '../stores/state/migrations.ts';
import { openPgliteStateStore } from '../stores/state/state-store.ts';
import { keepDataPrivate, type Stores } from '../stores/stores.ts';
import { backupFacts, dropLeftoverReaders, factsCounts, factsCountsInBackup, factsMigrationIds, restoreFacts, type TableCount } from './facts.ts';
import { BACKUP_FORMAT, BackupRefusedError, describeFiles, MANIFEST_FILE, readManifest, verifyFiles, type BackupManifest } from './manifest.ts';
import { dumpState, loadState, stateCounts } from './state.ts';

const BACKUPS_README = 'README, section "Backups"';
const FACTS_PART = 'facts';
const STATE_PART = 'state';

function siyuVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** `siyu backup` covers the embedded engines; a server deployment is backed up with its own tools. */
export function refuseServerEngines(facts: string, state: string): void {
  const servers = [facts !== 'chdb' ? 'the facts store is a ClickHouse server' : '', state !== 'pglite' ? 'the state store is a PostgreSQL server' : ''].filter(Boolean);
  if (servers.length > 0) {
    throw new BackupRefusedError(
      `siyu backup and restore cover the embedded stores only; ${servers.join(' and ')}: back it up with its own tools (pg_dump, ClickHouse BACKUP), see the ${BACKUPS_README}`,
    );
  }
}

export interface BackupResult {
  name: string;
  directory: string;
  manifest: BackupManifest;
  seconds: number;
}

let running: Promise<unknown> | undefined;

/** A unique, sortable name: `siyu-backup-20261207T232107Z-1a2b3c`. */
function backupName(now: Date): string {
  return `siyu-backup-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/**
 * Takes a backup of both stores into a new directory under `<data>/backups` (the only place chDB's
 * BACKUP may write) and returns it. One backup at a time in a process: a second call while one runs is refused.
 */
export async function takeBackup(stores: Stores): Promise<BackupResult> {
  refuseServerEngines(stores.facts.engine, stores.state.engine);
  if (!stores.dataDir) throw new Error('the stores were opened without a data directory');
  if (running) throw new BackupInProgressError();
  const work = takeBackupNow(stores, backupsDir({ dataDir: stores.dataDir }));
  running = work;
  try {
    return await work;
  } finally {
    running = undefined;
  }
}

export class BackupInProgressError extends Error {
  override name = 'BackupInProgressError';
  constructor() {
    super('a backup is already being taken in this server; try again when it is done');
  }
}

async function takeBackupNow(stores: Stores, backupsDir: string): Promise<BackupResult> {
  const started = performance.now();
  const createdAt = new Date();
  const name = backupName(createdAt);
  const directory = path.join(path.resolve(backupsDir), name);
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  try {
    await dropLeftoverReaders(stores.facts);
    const factsMigrations = await factsMigrationIds(stores.facts);
    const state = await dumpState(stores.state.db as unknown as Kysely<unknown>, path.join(directory, STATE_PART));
    const { database } = await backupFacts(stores.facts, path.join(directory, FACTS_PART));
    const factsFinishedAt = new Date().toISOString();
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      siyuVersion: siyuVersion(),
      createdAt: createdAt.toISOString(),
      stateSnapshotAt: state.snapshotAt,
      factsFinishedAt,
      engines: { facts: 'chdb', state: 'pglite' },
      migrations: { facts: factsMigrations, state: state.migrations },
      tables: { facts: await factsCountsInBackup(stores.facts, path.join(directory, FACTS_PART), database), state: state.tables },
      files: await describeFiles(directory),
    };
    fs.writeFileSync(path.join(directory, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
    return { name, directory, manifest, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    fs.rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

/** Moves a finished backup to where the operator asked (a copy when it is on another file system). */
export function moveBackup(from: string, to: string): string {
  const target = path.resolve(to);
  assertEmptyOrAbsent(target, 'the backup target');
  if (fs.existsSync(target)) fs.rmdirSync(target);
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  try {
    fs.renameSync(from, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    fs.cpSync(from, target, { recursive: true });
    fs.rmSync(from, { recursive: true, force: true });
  }
  return target;
}

function assertEmptyOrAbsent(directory: string, what: string): void {
  if (!fs.existsSync(directory)) return;
  if (!fs.statSync(directory).isDirectory()) throw new BackupRefusedError(`${what} ${directory} is a file, not a directory`);
  const entries = fs.readdirSync(directory);
  if (entries.length > 0)
    throw new BackupRefusedError(
      `${what} ${directory} is not empty (it holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); choose an empty or new directory`,
    );
}

export interface RestoreResult {
  dataDir: string;
  manifest: BackupManifest;
  /** Migrations applied after the restore, when the backup was taken by an older Siyu. */
  migrated: { facts: string[]; state: string[] };
  /** The master keys the restored channel secrets are sealed under: not in the backup (see README, Backups). */
  sealedUnder: string[];
  seconds: number;
}

function compareCounts(store: string, expected: ReadonlyArray<TableCount>, actual: ReadonlyArray<TableCount>): void {
  const got = new Map(actual.map((count) => [count.table, count.rows]));
  for (const { table, rows } of expected) {
    if (got.get(table) !== rows) throw new Error(`restored ${store} table ${table} has ${got.get(table) ?? 'no'} rows, the backup ${rows}`);
  }
}

/**
 * Restores a backup into an empty data directory: checks the manifest and every file's checksum first,
 * brings back both stores at the backup's migration versions, checks their row counts, then migrates
 * them forward to this version. What it wrote is removed if it fails.
 */
export async function restoreBackup(config: SiyuConfig, from: string): Promise<RestoreResult> {
  const started = performance.now();
  const source = path.resolve(from);
  refuseServerEngines(config.clickhouseUrl ? 'clickhouse' : 'chdb', config.databaseUrl ? 'postgres' : 'pglite');
  if (!fs.existsSync(source) || !fs.statSync(source).isDirectory()) throw new BackupRefusedError(`backup directory ${source} does not exist`);
  assertEmptyOrAbsent(config.dataDir, 'data directory');
  const manifest = readManifest(source);
  const knownFacts = new Set(FACTS_MIGRATIONS.map((migration) => migration.id));
  const newerFacts = manifest.migrations.facts.filter((id) => !knownFacts.has(id));
  const newerState = manifest.migrations.state.filter((name) => !STATE_MIGRATION_NAMES.includes(name));
  if (newerFacts.length > 0 || newerState.length > 0) {
    throw new BackupRefusedError(
      `the backup was taken by a newer Siyu (${manifest.siyuVersion}): it has migrations this version does not know (${[...newerFacts.map((id) => `facts ${id}`), ...newerState.map((n) => `state ${n}`)].join(', ')}); restore it with that version or newer`,
    );
  }
  const lastState = manifest.migrations.state.at(-1);
  if (!lastState) throw new BackupRefusedError(`backup file ${MANIFEST_FILE}: migrations.state is empty`);
  await verifyFiles(source, manifest);

  keepDataPrivate(config.dataDir);
  try {
    // Each store is brought back at the backup's version, checked, then migrated forward to this version.
    const migrated: RestoreResult['migrated'] = { facts: [], state: [] };
    let sealedUnder: string[] = [];
    const facts = new ChdbFactsStore(factsDir(config), { backupsDir: source });
    try {
      await restoreFacts(facts, path.join(source, FACTS_PART));
      compareCounts('facts', manifest.tables.facts, await factsCounts(facts));
      migrated.facts = (await migrateFacts(facts)).applied;
    } finally {
      await facts.close();
    }
    const state = await openPgliteStateStore(stateDir(config));
    try {
      const db = state.db as unknown as Kysely<unknown>;
      await migrateStateTo(db, lastState);
      await loadState(db, path.join(source, STATE_PART), manifest.tables.state);
      compareCounts('state', manifest.tables.state, await stateCounts(db));
      migrated.state = (await migrateState(db)).applied;
      const { rows: keys } = await sql<{ key_id: string }>`SELECT DISTINCT key_id FROM secrets ORDER BY key_id`.execute(db);
      sealedUnder = keys.map((row) => row.key_id);
    } finally {
      await state.close();
    }
    return { dataDir: config.dataDir, manifest, migrated, sealedUnder, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    // The directory was empty: what is in it now is this restore's, half done.
    for (const entry of fs.readdirSync(config.dataDir)) fs.rmSync(path.join(config.dataDir, entry), { recursive: true, force: true });
    throw error;
  }
}
