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

class StateQueryError extends Error {
  override name = 'StateQueryError';
  readonly code?: string;
  readonly detail?: string;
  constructor(error: NonNullable<WorkerResponse['error']>) {
    super(error.message);
    this.code = error.code;
    this.detail = error.detail;
  }
}

interface Pending {
  resolve: (r: WorkerResponse) => void;
  reject: (e: Error) => void;
}

/** The longest wait between restarts of a worker that keeps dying (doubling from 100 ms). */
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * The main thread's side of the PGlite worker: one connection, requests answered in order. When the
 * worker thread dies (a crash in PGlite, out of memory) the queries in flight fail and a new worker
 * opens the same data directory (PostgreSQL's own recovery replays its log), so the server answers
 * again instead of failing every request until someone restarts it.
 */
export class PgliteWorkerClient {
  private readonly dataDir: string;
  private current!: Worker;
  private nextId = 1;
  private waiting = new Map<number, Pending>();
  private ready!: Promise<void>;
  private closing = false;
  private restartDelayMs = 0;
  /** Counts worker deaths: a transaction begun under one worker cannot go on under the next. */
  generation = 1;
  /** Told when a worker died and another is being started (the caller logs it). */
  onRestart?: (reason: Error) => void;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.start();
  }

  private start(): void {
    const worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), { workerData: { dataDir: this.dataDir } });
    const waiting = new Map<number, Pending>();
    this.current = worker;
    this.waiting = waiting;
    this.ready = new Promise<void>((resolve, reject) => {
      waiting.set(0, { resolve: () => resolve(), reject });
    });
    this.ready.then(
      () => (this.restartDelayMs = 0),
      () => undefined, // seen by whoever awaits it; the restart below handles the worker
    );
    worker.on('message', (response: WorkerResponse) => {
      const entry = waiting.get(response.id);
      if (!entry) return;
      waiting.delete(response.id);
      if (response.error) entry.reject(new StateQueryError(response.error));
      else entry.resolve(response);
    });
    let dead = false;
    const died = (error: Error) => {
      if (dead) return;
      dead = true;
      for (const entry of waiting.values()) entry.reject(error);
      waiting.clear();
      if (this.closing || this.current !== worker) return;
      this.generation++;
      this.onRestart?.(error);
      const delay = this.restartDelayMs;
      this.restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, Math.max(100, delay * 2));
      // Requests made meanwhile wait for the new worker (or fail with why it could not start).
      let started!: () => void;
      this.ready = new Promise<void>((resolve) => (started = resolve)).then(() => this.ready);
      // Not unref'd: requests wait on this restart, and a process with nothing else to do (a CLI
      // command, a test) would otherwise exit with them pending.
      setTimeout(() => {
        if (this.closing) return;
        this.start();
        started();
      }, delay);
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`PGlite worker exited (code ${code})`)));
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  /** The worker thread now serving (tests end it to prove a restart). */
  get worker(): Worker {
    return this.current;
  }

  /** `generation`: the request belongs to a transaction begun then, and fails if that worker has died since. */
  private async send(request: Omit<WorkerRequest, 'id'>, generation?: number): Promise<WorkerResponse> {
    if (this.closing) throw new Error('the state store is closed');
    await this.ready;
    if (generation !== undefined && generation !== this.generation) throw new Error('the state store restarted during this transaction: it was rolled back');
    const id = this.nextId++;
    const waiting = this.waiting;
    const worker = this.current;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } satisfies WorkerRequest);
    });
  }

  async query(sql: string, params: readonly unknown[] = [], generation?: number): Promise<{ rows: unknown[]; affectedRows?: number }> {
    const response = await this.send({ kind: 'query', sql, params: [...params] }, generation);
    return { rows: response.rows ?? [], affectedRows: response.affectedRows };
  }

  /** Runs several statements without parameters (migrations, COPY set-up). */
  async exec(sql: string): Promise<void> {
    await this.send({ kind: 'exec', sql });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    const ready = await this.ready.then(
      () => true,
      () => false,
    );
    const worker = this.current;
    const closed = ready ? this.send({ kind: 'close' }).catch(() => undefined) : Promise.resolve();
    this.closing = true;
    await closed;
    await worker.terminate();
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
    // Tagged before BEGIN: if the worker dies in between, BEGIN itself fails rather than open on the next one.
    this.connection.transactionGeneration = this.connection.generation;
    try {
      await connection.executeQuery(CompiledQuery.raw(`BEGIN${isolation}`));
    } catch (error) {
      this.connection.transactionGeneration = undefined;
      throw error;
    }
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('COMMIT'));
    } finally {
      this.connection.transactionGeneration = undefined;
    }
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // A transaction of a dead worker died with it: there is nothing to roll back on the new one.
    const stale = this.connection.transactionGeneration !== this.connection.generation;
    this.connection.transactionGeneration = undefined;
    if (!stale) await connection.executeQuery(CompiledQuery.raw('ROLLBACK'));
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
  /** The worker a transaction began on; undefined outside a transaction. */
  transactionGeneration?: number;
  constructor(client: PgliteWorkerClient) {
    this.client = client;
  }
  get generation(): number {
    return this.client.generation;
  }
  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    // The rest of a transaction whose worker died must not run on the new one, one statement at a time.
    const result = await this.client.query(compiledQuery.sql, compiledQuery.parameters, this.transactionGeneration);
    return {
      rows: result.rows as R[],
      numAffectedRows: result.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    };
  }
  // biome-ignore lint/correctness/useYield: Kysely asks every driver for a stream; PGlite's has none and says so.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on PGlite; page with LIMIT/OFFSET or keyset instead');
  }
}
