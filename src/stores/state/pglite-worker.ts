/**
 * Hosts PGlite in a worker thread: PGlite runs queries on the calling thread, and a long query
 * there would stall the HTTP server. The main thread talks to it by messages (see pglite-client.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { fuzzystrmatch } from '@electric-sql/pglite/contrib/fuzzystrmatch';

export interface WorkerRequest {
  id: number;
  kind: 'query' | 'exec' | 'close';
  sql?: string;
  params?: unknown[];
}

export interface WorkerResponse {
  id: number;
  rows?: unknown[];
  affectedRows?: number;
  error?: { message: string; code?: string; detail?: string; hint?: string; position?: string };
}

const { dataDir } = workerData as { dataDir: string };
const port = parentPort;
if (!port) throw new Error('pglite-worker must run in a worker thread');

const db = new PGlite(dataDir, { extensions: { pg_trgm, fuzzystrmatch } });
await db.waitReady;
port.postMessage({ id: 0, rows: [] } satisfies WorkerResponse);

port.on('message', async (request: WorkerRequest) => {
  try {
    if (request.kind === 'close') {
      await db.close();
      port.postMessage({ id: request.id, rows: [] } satisfies WorkerResponse);
      port.close();
      return;
    }
    if (request.kind === 'exec') {
      await db.exec(request.sql ?? '');
      port.postMessage({ id: request.id, rows: [] } satisfies WorkerResponse);
      return;
    }
    const result = await db.query(request.sql ?? '', request.params ?? []);
    port.postMessage({ id: request.id, rows: result.rows, affectedRows: result.affectedRows } satisfies WorkerResponse);
  } catch (caught) {
    const error = caught as { message?: string; code?: string; detail?: string; hint?: string; position?: string };
    port.postMessage({
      id: request.id,
      error: {
        message: error.message ?? String(caught),
        code: error.code,
        detail: error.detail,
        hint: error.hint,
        position: error.position,
      },
    } satisfies WorkerResponse);
  }
});
