/**
 * The state store's part of a backup: every table's rows as JSON lines (`row_to_json`), read in one
 * REPEATABLE READ transaction so all tables are one snapshot, with the sequences' positions and the
 * migrations applied. Loaded back with `json_populate_recordset` into a store migrated to the same
 * version, so each value goes through PostgreSQL's own input function (no hand-written encoding).
 * On PGlite the transaction holds the one connection: other state queries wait the few seconds it takes.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { TableCount } from './facts.ts';

/** Kysely's own bookkeeping: written by the migrator, not copied. */
const MIGRATOR_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);
const PAGE_ROWS = 2000;
const INSERT_ROWS = 1000;
const SEQUENCES_FILE = 'sequences.json';

export interface StateDump {
  snapshotAt: string;
  migrations: string[];
  tables: TableCount[];
}

interface SequencePosition {
  name: string;
  lastValue: number | null;
}

// The state schema is typed for the domains; a dump walks whatever tables exist.
type AnyDb = Kysely<unknown>;

async function baseTables(db: AnyDb | Transaction<unknown>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(db);
  return rows.map((row) => row.name).filter((name) => !MIGRATOR_TABLES.has(name));
}

export async function dumpState(db: AnyDb, target: string): Promise<StateDump> {
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const { rows: clock } = await sql<{ at: Date | string }>`SELECT now() AS at`.execute(trx);
      const snapshotAt = new Date(clock[0]!.at).toISOString();
      const { rows: migrations } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(trx);
      const tables: TableCount[] = [];
      for (const table of await baseTables(trx)) {
        const out = fs.openSync(path.join(target, `${table}.jsonl`), 'w', 0o600);
        let rows = 0;
        try {
          // Pages by physical position: stable within the snapshot, and each page starts where the last ended.
          let after = '(0,0)';
          for (;;) {
            const { rows: page } = await sql<{ c: string; j: string }>`
              SELECT t.ctid::text AS c, row_to_json(t)::text AS j FROM ${sql.table(table)} t
              WHERE t.ctid > ${after}::tid ORDER BY t.ctid LIMIT ${PAGE_ROWS}`.execute(trx);
            if (page.length === 0) break;
            fs.writeSync(out, page.map((row) => row.j).join('\n') + '\n');
            rows += page.length;
            after = page[page.length - 1]!.c;
          }
        } finally {
          fs.closeSync(out);
        }
        tables.push({ table, rows });
      }
      const { rows: sequences } = await sql<{ name: string; last_value: string | number | null }>`
        SELECT sequencename AS name, last_value FROM pg_sequences WHERE schemaname = current_schema() ORDER BY sequencename`.execute(trx);
      const positions: SequencePosition[] = sequences.map((row) => ({ name: row.name, lastValue: row.last_value === null ? null : Number(row.last_value) }));
      fs.writeFileSync(path.join(target, SEQUENCES_FILE), JSON.stringify(positions, null, 2) + '\n', { mode: 0o600 });
      return { snapshotAt, migrations: migrations.map((row) => row.name), tables };
    });
}

async function* batches(file: string, size: number): AsyncIterable<string[]> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let batch: string[] = [];
  for await (const line of lines) {
    if (line.length === 0) continue;
    batch.push(line);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Loads a dump into a store whose schema is at the dump's migration and whose tables are empty, in
 * one transaction. Foreign keys and triggers are off while it loads (`session_replication_role =
 * replica`): the rows are a snapshot that held them, and tables are loaded in name order.
 */
export async function loadState(db: AnyDb, source: string, tables: ReadonlyArray<TableCount>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(trx);
    const present = new Set(await baseTables(trx));
    for (const { table } of tables) {
      if (!present.has(table)) throw new Error(`the backup has state table ${table}, which the schema at its migration does not`);
      const { rows: columns } = await sql<{ name: string }>`
        SELECT column_name AS name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ${table} AND is_generated = 'NEVER'
        ORDER BY ordinal_position`.execute(trx);
      const list = sql.join(columns.map((column) => sql.id(column.name)));
      const file = path.join(source, `${table}.jsonl`);
      for await (const batch of batches(file, INSERT_ROWS)) {
        await sql`INSERT INTO ${sql.table(table)} (${list}) OVERRIDING SYSTEM VALUE
          SELECT ${list} FROM json_populate_recordset(NULL::${sql.table(table)}, ${`[${batch.join(',')}]`}::json)`.execute(trx);
      }
    }
    const positions = JSON.parse(fs.readFileSync(path.join(source, SEQUENCES_FILE), 'utf8')) as SequencePosition[];
    for (const { name, lastValue } of positions) {
      if (lastValue !== null) await sql`SELECT setval(quote_ident(${name})::regclass, ${lastValue}, true)`.execute(trx);
    }
  });
}

/** Rows per table (the migrator's own tables left out, as in a dump). */
export async function stateCounts(db: AnyDb): Promise<TableCount[]> {
  const counts: TableCount[] = [];
  for (const table of await baseTables(db)) {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(db);
    counts.push({ table, rows: Number(rows[0]?.n ?? 0) });
  }
  return counts;
}
