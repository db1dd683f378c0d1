import { factsDir, stateDir, type SiyuConfig } from '../config/config.ts';
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
  return new ChdbFactsStore(factsDir(config));
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

/** Opens both stores (state first: it is the one that holds workspaces) and migrates them. */
export async function openStores(config: SiyuConfig, options: OpenStoresOptions = {}): Promise<Stores> {
  const state = await openStateStore(config);
  let facts: FactsStore;
  try {
    facts = await openFactsStore(config);
  } catch (error) {
    await state.close();
    throw error;
  }
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
