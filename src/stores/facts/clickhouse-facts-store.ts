import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { assertTableName, sandboxedInsertSql, sandboxSettings, type FactsParams, type FactsStore, type SandboxLimits } from './facts-store.ts';

export interface ClickHouseServerOptions {
  url: string;
  username?: string;
  password?: string;
  database: string;
  /**
   * A read-only ClickHouse user (readonly = 2) for SQL tags, whose row policies keep each query to the
   * workspace in the custom setting SQL_siyu_workspace (README: "SQL tags on a ClickHouse server").
   */
  sqlTagUser?: string;
  sqlTagPassword?: string;
  /** Longest wait for one request (default: SIYU_CLICKHOUSE_TIMEOUT_MS, or an hour). */
  requestTimeoutMs?: number;
}

/** A SQL tag may run up to its time limit; the HTTP request waits that long and a little more. */
const SANDBOX_REQUEST_TIMEOUT_MS = 3_600_000;

/**
 * How long one request to the server may take. The client's own default (30 s) is shorter than the
 * queries Siyu runs: a large import's INSERT … SELECT, a full OneID resolve, a tag run (its queries
 * are allowed an hour, max_execution_time = 3600): at 30 s the client gave up while the server went
 * on. So an hour by default, SIYU_CLICKHOUSE_TIMEOUT_MS to change it.
 */
export function clickhouseRequestTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SIYU_CLICKHOUSE_TIMEOUT_MS;
  if (raw === undefined || raw === '') return 3_600_000;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1000) throw new Error(`SIYU_CLICKHOUSE_TIMEOUT_MS: expected whole milliseconds, at least 1000, got "${raw}"`);
  return value;
}

/** A ClickHouse server over HTTP: the same SQL and `{name:Type}` parameters as chDB. */
export class ClickHouseFactsStore implements FactsStore {
  readonly engine = 'clickhouse' as const;
  readonly location: string;
  private readonly client: ClickHouseClient;
  /** The SQL-tag user's client, when one is configured. */
  private readonly sandbox?: ClickHouseClient;

  private constructor(client: ClickHouseClient, location: string, sandbox?: ClickHouseClient) {
    this.client = client;
    this.location = location;
    this.sandbox = sandbox;
  }

  static async connect(options: ClickHouseServerOptions): Promise<ClickHouseFactsStore> {
    const url = new URL(options.url);
    const location = `${url.protocol}//${url.host}/${options.database}`;
    const admin = createClient({ url: options.url, username: options.username, password: options.password });
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${assertTableName(options.database)}` });
    } finally {
      await admin.close();
    }
    const client = createClient({
      url: options.url,
      username: options.username,
      password: options.password,
      database: options.database,
      request_timeout: options.requestTimeoutMs ?? clickhouseRequestTimeoutMs(),
    });
    // Read here (not in config.ts) so every way of opening the store honours it.
    const sqlTagUser = options.sqlTagUser ?? (process.env.SIYU_CLICKHOUSE_SQL_TAG_USER || undefined);
    const sqlTagPassword = options.sqlTagPassword ?? process.env.SIYU_CLICKHOUSE_SQL_TAG_PASSWORD;
    const sandbox = sqlTagUser
      ? createClient({ url: options.url, username: sqlTagUser, password: sqlTagPassword, database: options.database, request_timeout: SANDBOX_REQUEST_TIMEOUT_MS })
      : undefined;
    return new ClickHouseFactsStore(client, location, sandbox);
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: FactsParams): Promise<Row[]> {
    const result = await this.client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    return (await result.json()) as Row[];
  }

  async *queryChunks<Row = Record<string, unknown>>(sql: string, params?: FactsParams): AsyncIterable<Row[]> {
    const result = await this.client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    for await (const rows of result.stream()) yield (rows as Array<{ json<T>(): T }>).map((row) => row.json<Row>());
  }

  async *queryRowBinary(sql: string, params?: FactsParams): AsyncIterable<Uint8Array> {
    const result = await this.client.exec({ query: `${sql}\nFORMAT RowBinary`, query_params: params });
    for await (const chunk of result.stream) yield chunk as Buffer;
  }

  async insertTsv(table: string, columns: ReadonlyArray<string>, lines: AsyncIterable<string>): Promise<void> {
    await this.client.insert({
      table: assertTableName(table),
      values: Readable.from(lines),
      format: 'TabSeparated',
      columns: columns.map(assertTableName) as [string, ...string[]],
    });
  }

  async insertFromSandbox(
    table: string,
    columns: ReadonlyArray<string>,
    select: string,
    params: FactsParams,
    options: { workspaceId: string; limits: SandboxLimits },
  ): Promise<void> {
    if (!this.sandbox) {
      await this.client.command({ query: sandboxedInsertSql(table, columns, select, options.limits), query_params: params });
      return;
    }
    // The SQL-tag user can only read, and its row policies see only this workspace: its rows go to our insert.
    const result = await this.sandbox.query({
      query: select,
      query_params: params,
      format: 'JSONEachRow',
      clickhouse_settings: {
        ...sandboxSettings(options.limits),
        max_result_rows: String(options.limits.maxResultRows),
        result_overflow_mode: 'throw',
        SQL_siyu_workspace: options.workspaceId,
        // A custom setting (prefix SQL_) is not in the client's list of known ones.
      } as ClickHouseSettings,
    });
    async function* rows() {
      for await (const batch of result.stream()) for (const row of batch as Array<{ json<T>(): T }>) yield row.json<Record<string, unknown>>();
    }
    await this.client.insert({
      table: assertTableName(table),
      values: Readable.from(rows()),
      format: 'JSONEachRow',
      columns: columns.map(assertTableName) as [string, ...string[]],
    });
  }

  async command(sql: string, params?: FactsParams): Promise<void> {
    await this.client.command({ query: sql, query_params: params });
  }

  async insertRows(table: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<number> {
    if (rows.length === 0) return 0;
    await this.client.insert({ table: assertTableName(table), values: rows as Record<string, unknown>[], format: 'JSONEachRow' });
    return rows.length;
  }

  async insertJsonLines(table: string, lines: AsyncIterable<string | Buffer>): Promise<number> {
    // The client serialises JSONEachRow from objects, so lines are parsed back into rows as they stream.
    let count = 0;
    async function* rows() {
      let rest = '';
      for await (const chunk of lines) {
        const text = rest + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
        const parts = text.split('\n');
        rest = parts.pop() ?? '';
        for (const line of parts) {
          if (line.length === 0) continue;
          count++;
          yield JSON.parse(line) as Record<string, unknown>;
        }
      }
      if (rest.trim().length > 0) {
        count++;
        yield JSON.parse(rest) as Record<string, unknown>;
      }
    }
    await this.client.insert({ table: assertTableName(table), values: Readable.from(rows()), format: 'JSONEachRow' });
    return count;
  }

  async serverVersion(): Promise<string> {
    const [row] = await this.query<{ v: string }>('SELECT version() AS v');
    return `ClickHouse ${row?.v} (server)`;
  }

  async close(): Promise<void> {
    await this.sandbox?.close();
    await this.client.close();
  }
}
