import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import type { SiyuConfig } from '../config/config.ts';
import type { Stores } from '../stores/stores.ts';
import { factsTableCounts } from '../stores/facts/migrations.ts';

export interface StoreStatus {
  engine: string;
  version: string;
  location: string;
  sizeBytes?: number;
  tables: Array<{ table: string; rows: number }>;
}

export interface SystemStatus {
  node: string;
  platform: string;
  cpus: number;
  memoryGiB: number;
  dataDir: string;
  facts: StoreStatus;
  state: StoreStatus;
}

function directorySize(directory: string): number | undefined {
  if (!fs.existsSync(directory)) return undefined;
  let total = 0;
  const stack = [directory];
  while (stack.length > 0) {
    const current = stack.pop()!;
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) total += fs.statSync(full).size;
    }
  }
  return total;
}

/** What `siyu doctor` prints: engines, versions, where the data is and how many rows each table holds. */
export async function systemStatus(config: SiyuConfig, stores: Stores): Promise<SystemStatus> {
  const [factsVersion, stateVersion, factsTables, stateTables] = await Promise.all([
    stores.facts.serverVersion(),
    stores.state.serverVersion(),
    factsTableCounts(stores.facts),
    stores.state.tableCounts(),
  ]);
  return {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    dataDir: config.dataDir,
    facts: {
      engine: stores.facts.engine,
      version: factsVersion,
      location: stores.facts.location,
      sizeBytes: stores.facts.engine === 'chdb' ? directorySize(stores.facts.location) : undefined,
      tables: factsTables,
    },
    state: {
      engine: stores.state.engine,
      version: stateVersion.split(' on ')[0] ?? stateVersion,
      location: stores.state.location,
      sizeBytes: stores.state.engine === 'pglite' ? directorySize(stores.state.location) : undefined,
      tables: stateTables,
    },
  };
}
