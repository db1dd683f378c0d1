/**
 * The facts store: ClickHouse SQL, embedded (chDB) or a server over HTTP.
 * Nothing here assumes in-process access: every call is async and speaks SQL with
 * server-side `{name:Type}` parameters, so both adapters implement it the same way.
 */
export type FactsParams = Record<string, unknown>;

export type FactsEngine = 'chdb' | 'clickhouse';

export interface FactsStore {
  readonly engine: FactsEngine;
  /** Where the data lives: a directory for chDB, a URL (without credentials) for a server. */
  readonly location: string;
  /** Runs a SELECT and returns its rows (JSONEachRow: 64-bit integers arrive as strings). */
  query<Row = Record<string, unknown>>(sql: string, params?: FactsParams): Promise<Row[]>;
  /** Runs a SELECT and yields its rows in chunks: for results too large to hold as one text. */
  queryChunks<Row = Record<string, unknown>>(sql: string, params?: FactsParams): AsyncIterable<Row[]>;
  /** Runs a statement that returns nothing (DDL, INSERT … SELECT, mutations). */
  command(sql: string, params?: FactsParams): Promise<void>;
  /** Inserts rows given as objects keyed by column name. Returns rows written. */
  insertRows(table: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<number>;
  /** Inserts a stream of JSONEachRow text (one object per line), in bounded chunks. Returns rows sent. */
  insertJsonLines(table: string, lines: AsyncIterable<string | Buffer>): Promise<number>;
  serverVersion(): Promise<string>;
  close(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Table names never come from user input, but an insert names its table in SQL text, so check it. */
export function assertTableName(table: string): string {
  if (!IDENTIFIER.test(table)) throw new Error(`invalid table name: ${JSON.stringify(table)}`);
  return table;
}

export function toJsonLines(rows: ReadonlyArray<Record<string, unknown>>): string {
  let out = '';
  for (const row of rows) out += JSON.stringify(row) + '\n';
  return out;
}
