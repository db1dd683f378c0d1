/**
 * The facts store: ClickHouse SQL, embedded (chDB) or a server over HTTP.
 * Nothing here assumes in-process access: every call is async and speaks SQL with
 * server-side `{name:Type}` parameters, so both adapters implement it the same way.
 */
export type FactsParams = Record<string, unknown>;

export type FactsEngine = 'chdb' | 'clickhouse';

/** Limits for a query an operator wrote (a SQL tag): memory, time, rows read and rows returned. */
export interface SandboxLimits {
  maxMemoryBytes: number;
  maxSeconds: number;
  maxRowsToRead: number;
  maxResultRows: number;
}

/** The limits as ClickHouse settings (each a checked integer from our configuration, never user text). */
export function sandboxSettings(limits: SandboxLimits): Record<string, number | string> {
  for (const [name, value] of Object.entries(limits)) if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`sandbox limit ${name} must be a positive integer`);
  return {
    max_memory_usage: limits.maxMemoryBytes,
    max_execution_time: limits.maxSeconds,
    timeout_overflow_mode: 'throw',
    max_rows_to_read: limits.maxRowsToRead,
    read_overflow_mode: 'throw',
  };
}

/**
 * `INSERT INTO table (columns) SELECT …` where the SELECT holds an operator's checked query: the SELECT
 * runs with readonly = 1 (the insert around it is ours) and the whole statement within the limits.
 */
export function sandboxedInsertSql(table: string, columns: ReadonlyArray<string>, select: string, limits: SandboxLimits): string {
  return `INSERT INTO ${assertTableName(table)} (${columns.map(assertTableName).join(', ')})
    SELECT * FROM (${select}
    SETTINGS readonly = 1)
    SETTINGS ${sandboxSettingsSql(limits)}`;
}

/** The limits as the text of a SETTINGS clause. */
export function sandboxSettingsSql(limits: SandboxLimits): string {
  return Object.entries(sandboxSettings(limits))
    .map(([name, value]) => `${name} = ${typeof value === 'number' ? value : `'${value}'`}`)
    .join(', ');
}

export interface FactsStore {
  readonly engine: FactsEngine;
  /** Where the data lives: a directory for chDB, a URL (without credentials) for a server. */
  readonly location: string;
  /** Runs a SELECT and returns its rows (JSONEachRow: 64-bit integers arrive as strings). */
  query<Row = Record<string, unknown>>(sql: string, params?: FactsParams): Promise<Row[]>;
  /** Runs a SELECT and yields its rows in chunks: for results too large to hold as one text. */
  queryChunks<Row = Record<string, unknown>>(sql: string, params?: FactsParams): AsyncIterable<Row[]>;
  /**
   * Runs a SELECT and yields its result in RowBinary, as raw byte chunks (row boundaries may fall
   * anywhere): for millions of numbers, which JSON would make slow and large. See `readUint32Rows`.
   */
  queryRowBinary(sql: string, params?: FactsParams): AsyncIterable<Uint8Array>;
  /**
   * Inserts into `table` the rows of `select`, a SELECT holding an operator's checked query (a SQL
   * tag): read-only and within `limits`; on a ClickHouse server with a SQL-tag user, the SELECT runs as
   * that user with `workspaceId` for its row policies, and its rows are streamed into the insert.
   * The SELECT names its columns as `columns`.
   */
  insertFromSandbox(table: string, columns: ReadonlyArray<string>, select: string, params: FactsParams, options: { workspaceId: string; limits: SandboxLimits }): Promise<void>;
  /** Runs a statement that returns nothing (DDL, INSERT … SELECT, mutations). */
  command(sql: string, params?: FactsParams): Promise<void>;
  /** Inserts rows given as objects keyed by column name. Returns rows written. */
  insertRows(table: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<number>;
  /** Inserts a stream of JSONEachRow text (one object per line), in bounded chunks. Returns rows sent. */
  insertJsonLines(table: string, lines: AsyncIterable<string | Buffer>): Promise<number>;
  /** Inserts a stream of TabSeparated text (whole lines per chunk) into the given columns. */
  insertTsv(table: string, columns: ReadonlyArray<string>, lines: AsyncIterable<string>): Promise<void>;
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

/**
 * Reads a RowBinary result whose columns are all UInt32 into one typed array per column. `expected`
 * sizes the arrays up front (they grow if the result is longer).
 */
export async function readUint32Rows(chunks: AsyncIterable<Uint8Array>, columns: number, expected = 1024): Promise<Uint32Array[]> {
  const rowBytes = columns * 4;
  let capacity = Math.max(expected, 1);
  let out = Array.from({ length: columns }, () => new Uint32Array(capacity));
  let rows = 0;
  let rest: Uint8Array = new Uint8Array(0);
  const take = (bytes: Uint8Array, rowCount: number) => {
    if (rows + rowCount > capacity) {
      capacity = Math.max(capacity * 2, rows + rowCount);
      out = out.map((column) => {
        const grown = new Uint32Array(capacity);
        grown.set(column.subarray(0, rows));
        return grown;
      });
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, rowCount * rowBytes);
    for (let r = 0; r < rowCount; r++) {
      for (let c = 0; c < columns; c++) out[c][rows + r] = view.getUint32(r * rowBytes + c * 4, true);
    }
    rows += rowCount;
  };
  for await (const chunk of chunks) {
    let bytes = chunk;
    if (rest.length > 0) {
      const joined = new Uint8Array(rest.length + chunk.length);
      joined.set(rest);
      joined.set(chunk, rest.length);
      bytes = joined;
    }
    const whole = Math.floor(bytes.length / rowBytes);
    take(bytes, whole);
    // The chunk's memory may belong to the engine: keep a copy of a split row only.
    rest = bytes.slice(whole * rowBytes);
  }
  if (rest.length > 0) throw new Error(`RowBinary result ended inside a row (${rest.length} bytes left over)`);
  return out.map((column) => column.subarray(0, rows));
}
