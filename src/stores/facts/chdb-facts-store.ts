import path from 'node:path';
import { Session, version as chdbVersion } from 'chdb';
import { assertTableName, sandboxedInsertSql, toJsonLines, type FactsParams, type FactsStore, type SandboxLimits } from './facts-store.ts';
import { lockDirectory, type DirectoryLock } from '../lock.ts';

function parseJsonEachRow<Row>(text: string): Row[] {
  const rows: Row[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) rows.push(JSON.parse(text.slice(start, end)) as Row);
    start = end + 1;
  }
  return rows;
}

/** chDB: ClickHouse in this process, data in one directory that only this process may open. */
export class ChdbFactsStore implements FactsStore {
  readonly engine = 'chdb' as const;
  readonly location: string;
  private readonly session: Session;
  private readonly lock: DirectoryLock;
  private pending = new Set<Promise<unknown>>();
  private closed = false;

  /** `backupsDir`: the one directory ClickHouse's BACKUP and RESTORE may use (its `backups.allowed_path`). */
  constructor(directory: string, options: { backupsDir?: string } = {}) {
    this.lock = lockDirectory(directory);
    try {
      const connectionArgs = options.backupsDir ? [`--backups.allowed_path=${path.resolve(options.backupsDir)}`] : [];
      this.session = connectionArgs.length > 0 ? new Session(directory, { connectionArgs }) : new Session(directory);
    } catch (error) {
      this.lock.release();
      throw error;
    }
    this.location = directory;
  }

  /** Closing a session while a query runs aborts the engine, so every call is tracked and drained on close. */
  private track<T>(promise: Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('facts store is closed'));
    this.pending.add(promise);
    const done = () => this.pending.delete(promise);
    promise.then(done, done);
    return promise;
  }

  /**
   * chDB stops an open stream when another query runs on the session. So while a stream is open the
   * other queries wait for it, and a stream opens once the queries before it are done.
   */
  private stream?: Promise<void>;
  private running = 0;
  private idle: Array<() => void> = [];

  private async run<T>(start: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('facts store is closed');
    while (this.stream) await this.stream;
    this.running++;
    try {
      return await this.track(start());
    } finally {
      if (--this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** Waits for its turn, then holds the session until the returned release is called. */
  private async openStream(): Promise<() => void> {
    for (;;) {
      while (this.stream) await this.stream;
      if (this.running === 0) break;
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
    let release!: () => void;
    this.stream = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.stream = undefined;
      release();
    };
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: FactsParams): Promise<Row[]> {
    const opts = { format: 'JSONEachRow' };
    const result = await this.run(() => (params && Object.keys(params).length > 0 ? this.session.queryBindAsync(sql, params, opts) : this.session.queryAsync(sql, opts)));
    return parseJsonEachRow<Row>(result.text());
  }

  async *queryChunks<Row = Record<string, unknown>>(sql: string, params?: FactsParams): AsyncIterable<Row[]> {
    if (this.closed) throw new Error('facts store is closed');
    const release = await this.openStream();
    const stream = this.session.queryStreamBind(sql, params ?? {}, { format: 'JSONEachRow' });
    // Closing the session mid-stream would abort the engine: close() waits for this to finish.
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.pending.add(done);
    try {
      for await (const chunk of stream) yield chunk.rows<Row>();
    } finally {
      if (!stream.closed) stream.cancel();
      finish();
      this.pending.delete(done);
      release();
    }
  }

  async *queryRowBinary(sql: string, params?: FactsParams): AsyncIterable<Uint8Array> {
    if (this.closed) throw new Error('facts store is closed');
    const release = await this.openStream();
    const stream = this.session.queryStreamBind(sql, params ?? {}, { format: 'RowBinary' });
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.pending.add(done);
    try {
      for await (const chunk of stream) yield chunk.raw();
    } finally {
      if (!stream.closed) stream.cancel();
      finish();
      this.pending.delete(done);
      release();
    }
  }

  async insertTsv(table: string, columns: ReadonlyArray<string>, lines: AsyncIterable<string>): Promise<void> {
    await this.run(() => this.session.insert({ table: assertTableName(table), values: lines, format: 'TSV', columns: columns.map(assertTableName) }));
  }

  async command(sql: string, params?: FactsParams): Promise<void> {
    await this.run(() => (params && Object.keys(params).length > 0 ? this.session.queryBindAsync(sql, params) : this.session.queryAsync(sql)));
  }

  async insertFromSandbox(
    table: string,
    columns: ReadonlyArray<string>,
    select: string,
    params: FactsParams,
    options: { workspaceId: string; limits: SandboxLimits },
  ): Promise<void> {
    // chDB has no users: the SELECT is read-only and limited, and holds only checked canonical text.
    await this.command(sandboxedInsertSql(table, columns, select, options.limits), params);
  }

  async insertRows(table: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<number> {
    if (rows.length === 0) return 0;
    const summary = await this.run(() => this.session.insert({ table: assertTableName(table), values: Buffer.from(toJsonLines(rows)), format: 'JSONEachRow' }));
    return summary.rowsSent ?? rows.length;
  }

  async insertJsonLines(table: string, lines: AsyncIterable<string | Buffer>): Promise<number> {
    const summary = await this.run(() => this.session.insert({ table: assertTableName(table), values: lines, format: 'JSONEachRow' }));
    return summary.rowsSent;
  }

  async serverVersion(): Promise<string> {
    const [row] = await this.query<{ v: string }>('SELECT version() AS v');
    return `ClickHouse ${row?.v} (chDB ${chdbVersion().chdb})`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.pending]);
    this.session.close();
    this.lock.release();
  }
}
