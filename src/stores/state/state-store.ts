import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { lockDirectory, type DirectoryLock } from '../lock.ts';
import { PgliteWorkerClient, PgliteWorkerDialect } from './pglite-client.ts';
import type { StateDatabase } from './schema.ts';

export type StateEngine = 'pglite' | 'postgres';

/**
 * The state store: PostgreSQL, embedded (PGlite in a worker thread) or a server.
 * One query layer (Kysely) and one set of migrations for both.
 */
export interface StateStore {
  readonly engine: StateEngine;
  /** A directory for PGlite, the server URL without its password for PostgreSQL. */
  readonly location: string;
  readonly db: Kysely<StateDatabase>;
  serverVersion(): Promise<string>;
  tableCounts(): Promise<Array<{ table: string; rows: number }>>;
  close(): Promise<void>;
}

// int8 counts and sums arrive as strings from pg; they are below 2^53 in every query here.
pg.types.setTypeParser(20, (value) => Number(value));
pg.types.setTypeParser(1700, (value) => Number(value));

abstract class KyselyStateStore implements StateStore {
  abstract readonly engine: StateEngine;
  abstract readonly location: string;
  readonly db: Kysely<StateDatabase>;
  constructor(db: Kysely<StateDatabase>) {
    this.db = db;
  }
  async serverVersion(): Promise<string> {
    const { rows } = await sql<{ v: string }>`SELECT version() AS v`.execute(this.db);
    return rows[0]?.v ?? 'unknown';
  }
  async tableCounts(): Promise<Array<{ table: string; rows: number }>> {
    const { rows: tables } = await sql<{ name: string }>`
      SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(this.db);
    const counts: Array<{ table: string; rows: number }> = [];
    for (const { name } of tables) {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(name)}`.execute(this.db);
      counts.push({ table: name, rows: Number(rows[0]?.n ?? 0) });
    }
    return counts;
  }
  abstract close(): Promise<void>;
}

class PgliteStateStore extends KyselyStateStore {
  readonly engine = 'pglite' as const;
  readonly location: string;
  private readonly client: PgliteWorkerClient;
  private readonly lock: DirectoryLock;
  constructor(client: PgliteWorkerClient, directory: string, lock: DirectoryLock) {
    super(new Kysely<StateDatabase>({ dialect: new PgliteWorkerDialect(client) }));
    this.client = client;
    this.location = directory;
    this.lock = lock;
  }
  async close(): Promise<void> {
    await this.db.destroy();
    await this.client.close();
    this.lock.release();
  }
}

class PostgresStateStore extends KyselyStateStore {
  readonly engine = 'postgres' as const;
  readonly location: string;
  constructor(pool: pg.Pool, location: string) {
    super(new Kysely<StateDatabase>({ dialect: new PostgresDialect({ pool }) }));
    this.location = location;
  }
  async close(): Promise<void> {
    await this.db.destroy();
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgresql://(unparsable URL)';
  }
}

export async function openPgliteStateStore(directory: string): Promise<StateStore> {
  const lock = lockDirectory(directory);
  const client = new PgliteWorkerClient(directory);
  client.onRestart = (reason) => console.error(`state store: the PGlite worker stopped (${reason.message}); starting a new one on ${directory}`);
  try {
    await client.whenReady();
  } catch (error) {
    await client.close().catch(() => undefined);
    lock.release();
    throw error;
  }
  return new PgliteStateStore(client, directory, lock);
}

export async function openPostgresStateStore(databaseUrl: string): Promise<StateStore> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const store = new PostgresStateStore(pool, redactUrl(databaseUrl));
  try {
    await sql`SELECT 1`.execute(store.db);
  } catch (error) {
    await store.close();
    throw new Error(`cannot reach PostgreSQL at ${store.location}: ${(error as Error).message}`);
  }
  return store;
}
