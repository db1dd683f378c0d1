import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { WorkerRequest, WorkerResponse } from './pglite-worker.ts';

export class StateQueryError extends Error {
  override name = 'StateQueryError';
  readonly code?: string;
  readonly detail?: string;
  constructor(error: NonNullable<WorkerResponse['error']>) {
    super(error.message);
    this.code = error.code;
    this.detail = error.detail;
  }
}

/** The main thread's side of the PGlite worker: one connection, requests answered in order. */
export class PgliteWorkerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void }>();
  private readonly ready: Promise<void>;
  private failure?: Error;

  constructor(dataDir: string) {
    this.worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), { workerData: { dataDir } });
    this.ready = new Promise<void>((resolve, reject) => {
      this.waiting.set(0, { resolve: () => resolve(), reject });
    });
    this.worker.on('message', (response: WorkerResponse) => {
      const entry = this.waiting.get(response.id);
      if (!entry) return;
      this.waiting.delete(response.id);
      if (response.error) entry.reject(new StateQueryError(response.error));
      else entry.resolve(response);
    });
    const failAll = (error: Error) => {
      this.failure = error;
      for (const entry of this.waiting.values()) entry.reject(error);
      this.waiting.clear();
    };
    this.worker.on('error', (error) => failAll(error));
    this.worker.on('exit', (code) => failAll(new Error(`PGlite worker exited (code ${code})`)));
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  private send(request: Omit<WorkerRequest, 'id'>): Promise<WorkerResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } satisfies WorkerRequest);
    });
  }

  async query(sql: string, params: readonly unknown[] = []): Promise<{ rows: unknown[]; affectedRows?: number }> {
    const response = await this.send({ kind: 'query', sql, params: [...params] });
    return { rows: response.rows ?? [], affectedRows: response.affectedRows };
  }

  /** Runs several statements without parameters (migrations, COPY set-up). */
  async exec(sql: string): Promise<void> {
    await this.send({ kind: 'exec', sql });
  }

  async close(): Promise<void> {
    if (this.failure) return;
    await this.send({ kind: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}

/** A Kysely dialect over the worker: PGlite has one connection, so connections are handed out one at a time. */
export class PgliteWorkerDialect implements Dialect {
  private readonly client: PgliteWorkerClient;
  constructor(client: PgliteWorkerClient) {
    this.client = client;
  }
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PgliteWorkerDriver(this.client);
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

class PgliteWorkerDriver implements Driver {
  private readonly connection: PgliteWorkerConnection;
  private queue: Promise<void> = Promise.resolve();
  private releaseCurrent?: () => void;

  constructor(client: PgliteWorkerClient) {
    this.connection = new PgliteWorkerConnection(client);
  }
  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>((resolve) => (release = resolve));
    await previous;
    this.releaseCurrent = release;
    return this.connection;
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const isolation = settings.isolationLevel ? ` ISOLATION LEVEL ${settings.isolationLevel.toUpperCase()}` : '';
    await connection.executeQuery(CompiledQuery.raw(`BEGIN${isolation}`));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('COMMIT'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('ROLLBACK'));
  }
  async releaseConnection(): Promise<void> {
    const release = this.releaseCurrent;
    this.releaseCurrent = undefined;
    release?.();
  }
  async destroy(): Promise<void> {}
}

class PgliteWorkerConnection implements DatabaseConnection {
  private readonly client: PgliteWorkerClient;
  constructor(client: PgliteWorkerClient) {
    this.client = client;
  }
  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.client.query(compiledQuery.sql, compiledQuery.parameters);
    return {
      rows: result.rows as R[],
      numAffectedRows: result.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    };
  }
  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on PGlite; page with LIMIT/OFFSET or keyset instead');
  }
}
