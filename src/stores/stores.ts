import fs from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { backupsDir, factsDir, stateDir, type SiyuConfig } from '../config/config.ts';
import { ChdbFactsStore } from './facts/chdb-facts-store.ts';
import { ClickHouseFactsStore } from './facts/clickhouse-facts-store.ts';
import type { FactsStore } from './facts/facts-store.ts';
import { migrateFacts } from './facts/migrations.ts';
import { migrateState } from './state/migrations.ts';
import { openPgliteStateStore, openPostgresStateStore, type StateStore } from './state/state-store.ts';
import type { Kysely } from 'kysely';

export interface Stores {
  facts: FactsStore;
  state: StateStore;
  /** The data directory the stores were opened with: uploads and temporary files go under it, never to /tmp. */
  dataDir?: string;
  close(): Promise<void>;
}

export async function openFactsStore(config: SiyuConfig): Promise<FactsStore> {
  if (config.clickhouseUrl) {
    return ClickHouseFactsStore.connect({
      url: config.clickhouseUrl,
      username: config.clickhouseUser,
      password: config.clickhousePassword,
      database: config.clickhouseDatabase,
    });
  }
  return new ChdbFactsStore(factsDir(config), { backupsDir: backupsDir(config) });
}

export async function openStateStore(config: SiyuConfig): Promise<StateStore> {
  return config.databaseUrl ? openPostgresStateStore(config.databaseUrl) : openPgliteStateStore(stateDir(config));
}

export interface OpenStoresOptions {
  /** Apply pending migrations of both stores (the default: every process migrates at start). */
  migrate?: boolean;
}

export interface MigrationSummary {
  facts: string[];
  state: string[];
}

export async function migrateStores(stores: { facts: FactsStore; state: StateStore }): Promise<MigrationSummary> {
  const facts = await migrateFacts(stores.facts);
  const state = await migrateState(stores.state.db as unknown as Kysely<unknown>);
  return { facts: facts.applied, state: state.applied };
}

/**
 * Takes group and other bits off a tree (0700 directories, 0600 files), leaving links alone. The
 * engines may be running (chDB merges parts in the background), so an entry that vanishes while the
 * tree is walked is simply gone: nothing left to tighten.
 */
function tightenTree(entry: string): void {
  try {
    const stat = fs.lstatSync(entry);
    if (stat.isSymbolicLink()) return;
    if ((stat.mode & 0o077) !== 0) fs.chmodSync(entry, stat.mode & 0o700);
    if (stat.isDirectory()) for (const name of fs.readdirSync(entry)) tightenTree(path.join(entry, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * The data directory holds personal data: only this user may read it. The process's umask takes
 * group and other bits off every file created from now on (chDB's parts, PGlite's files, which it
 * would make 0666, uploads, exports), and what an earlier version left open is tightened.
 */
export function keepDataPrivate(dataDir: string): void {
  // A worker thread may not change the umask; the main thread's applies to the whole process.
  if (isMainThread) process.umask(0o077);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  tightenTree(dataDir);
}

/** Opens both stores (state first: it is the one that holds workspaces) and migrates them. */
export async function openStores(config: SiyuConfig, options: OpenStoresOptions = {}): Promise<Stores> {
  keepDataPrivate(config.dataDir);
  const state = await openStateStore(config);
  let facts: FactsStore;
  try {
    facts = await openFactsStore(config);
  } catch (error) {
    await state.close();
    throw error;
  }
  // PGlite's first start unpacks its initial database with the archive's modes (0666): tightened once open.
  keepDataPrivate(config.dataDir);
  const stores: Stores = {
    facts,
    state,
    dataDir: config.dataDir,
    async close() {
      await Promise.allSettled([facts.close(), state.close()]);
    },
  };
  if (options.migrate !== false) {
    try {
      await migrateStores(stores);
    } catch (error) {
      await stores.close();
      throw error;
    }
  }
  return stores;
}
