/**
 * Imports over HTTP, for the console and for machines: the file is the request body (streamed to
 * disk), the kind and preset are query parameters. A file that cannot be imported is refused at once
 * (400, nothing written); otherwise the answer is 202 with the run, which continues in the
 * background and is followed with GET /api/v1/imports/:id.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf } from '../access/auth.ts';
import { privateDirectory, receiveUpload, UploadTooLargeError } from '../kernel/uploads.ts';
import { ApiError, NotFoundError } from '../kernel/errors.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import type { AuthenticatedKey } from '../access/keys.ts';
import { ImportPlanError, runImport } from './importer.ts';
import { FileFormatError } from './file-reader.ts';
import {
  importQuerySchema,
  importRunListQuerySchema,
  importRunListSchema,
  importRunParamsSchema,
  importRunSchema,
  importStartedSchema,
  quarantineListSchema,
  quarantineQuerySchema,
  type ImportKind,
  type ImportRun,
} from '../contract/imports.ts';
import { listQuarantine } from './runs.ts';
import { processIsAlive } from '../stores/lock.ts';
import { importMaxAttempts } from '../config/config.ts';
import { scopeOf, scopeSources } from '../access/scope.ts';

/** What a team may import (into its own sources): rows whose source is the one it names. */
const TEAM_IMPORT_KINDS: readonly string[] = ['orders', 'refunds', 'members', 'contacts'];
import { maskField, seesPersonalData } from '../access/masking.ts';
import { isoTime, isoTimeOrNull } from '../kernel/time.ts';

/**
 * What the app runs once an import has landed (tags follow the data); handed down so that ingest
 * does not import the domains that read its data.
 */
export type AfterImport = (workspaceId: string) => Promise<unknown>;

export async function importRoutes(app: FastifyInstance, stores: Stores, uploadsDir: string, afterImport: AfterImport): Promise<void> {
  /** Import runs as the caller may see them: a team sees the runs of its sources (the filter is in the query). */
  async function importRuns(caller: AuthenticatedKey, options: { id?: string; limit?: number }): Promise<ImportRun[]> {
    let query = stores.state.db.selectFrom('import_runs').selectAll().where('workspace_id', '=', caller.workspaceId);
    if (options.id) query = query.where('id', '=', options.id);
    const sources = scopeSources(caller);
    if (sources) query = query.where('source', 'in', sources);
    const rows = await query
      .orderBy('started_at', 'desc')
      .limit(options.limit ?? 1)
      .execute();
    return rows.map((run) => ({
      id: run.id,
      kind: run.kind,
      source: run.source,
      preset: run.preset,
      status: run.status,
      rowsRead: Number(run.rows_read),
      landed: Number(run.landed),
      updated: Number(run.updated),
      unchanged: Number(run.unchanged),
      quarantined: Number(run.quarantined),
      valuesDropped: Number(run.values_dropped),
      error: run.error,
      startedAt: isoTime(run.started_at),
      finishedAt: isoTimeOrNull(run.finished_at),
    }));
  }

  await app.register(async (scope) => {
    // Any body is the file itself, streamed to disk as it arrives (bounded by kind in receiveUpload, not held in memory).
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    // A server that stops interrupts its imports between batches and keeps their uploads: the next
    // start resumes them.
    let stopping = false;
    const running = new Set<{ controller: AbortController; done: Promise<unknown> }>();
    scope.addHook('onClose', async () => {
      stopping = true;
      for (const r of running) r.controller.abort();
      await Promise.allSettled([...running].map((r) => r.done));
    });
    const api = scope.withTypeProvider<ZodTypeProvider>();

    api.post(
      '/api/v1/imports',
      {
        config: { roles: ['admin', 'operator'], scoped: true },
        bodyLimit: Number.MAX_SAFE_INTEGER,
        schema: {
          tags: ['import'],
          summary: 'Import one file (the request body): CSV, TSV, XLSX, JSON lines, optionally gzip',
          security: [{ bearer: [] }],
          querystring: importQuerySchema,
          response: { 202: importStartedSchema },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const sources = scopeSources(caller);
        // A team imports into its own sources only, named up front (a preset's default source could be another team's).
        if (sources && (!request.query.source || !sources.includes(request.query.source))) {
          throw new ApiError(403, 'forbidden', `your team imports into its sources only: pass source= one of ${sources.join(', ')}`);
        }
        // Records carry their own source per row, events are the SDK's and products the whole catalogue's.
        if (scopeOf(caller) && !TEAM_IMPORT_KINDS.includes(request.query.kind)) {
          throw new ApiError(403, 'forbidden', `a team imports ${TEAM_IMPORT_KINDS.join(', ')} only; ${request.query.kind} are imported by a user who sees the whole workspace`);
        }
        const workspace = await new WorkspaceService(stores.state).get(caller.workspaceId);
        const file = path.join(privateDirectory(uploadsDir), `${crypto.randomBytes(6).toString('hex')}-${request.query.filename}`);
        try {
          await receiveUpload(request.body as Readable, file);
        } catch (error) {
          // The client may still be sending a file too large: the connection ends with the answer.
          if (error instanceof UploadTooLargeError) reply.header('connection', 'close');
          throw error;
        }
        const controller = new AbortController();
        const started = new Promise<{ run: string; resumed: boolean }>((resolve, reject) => {
          const done = runImport(stores, {
            signal: controller.signal,
            workspace,
            kind: request.query.kind as ImportKind,
            files: [file],
            preset: request.query.preset,
            source: request.query.source,
            onRunStarted: (run, resumed) => resolve({ run, resumed }),
          });
          const entry = {
            controller,
            done: done
              .then(() => (stopping ? undefined : afterImport(workspace.id)))
              .catch(reject)
              .finally(() => {
                running.delete(entry);
                if (!stopping) fs.rmSync(file, { force: true });
              }),
          };
          running.add(entry);
        });
        try {
          return reply.code(202).send(await started);
        } catch (error) {
          if (error instanceof ImportPlanError || error instanceof FileFormatError) {
            throw new ApiError(400, 'import_refused', error.message.replace(file, request.query.filename).replace(path.basename(file), request.query.filename));
          }
          throw error;
        }
      },
    );

    api.get(
      '/api/v1/imports/:id',
      {
        config: { roles: ['admin', 'operator', 'analyst'] },
        schema: { tags: ['import'], summary: 'An import run: status and counts', security: [{ bearer: [] }], params: importRunParamsSchema, response: { 200: importRunSchema } },
      },
      async (request) => {
        const [run] = await importRuns(callerOf(request), { id: request.params.id });
        if (!run) throw new NotFoundError(`no import run ${request.params.id}`);
        return run;
      },
    );

    api.get(
      '/api/v1/imports',
      {
        config: { roles: ['admin', 'operator', 'analyst'] },
        schema: {
          tags: ['import'],
          summary: 'Recent import runs, newest first',
          security: [{ bearer: [] }],
          querystring: importRunListQuerySchema,
          response: { 200: importRunListSchema },
        },
      },
      async (request) => ({ runs: await importRuns(callerOf(request), { limit: request.query.limit }) }),
    );

    api.get(
      '/api/v1/imports/:id/quarantine',
      {
        config: { roles: ['admin', 'operator', 'analyst'] },
        schema: {
          tags: ['import'],
          summary: 'Rows and values an import refused, with row, field, value and reason',
          security: [{ bearer: [] }],
          params: importRunParamsSchema,
          querystring: quarantineQuerySchema,
          response: { 200: quarantineListSchema },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const [run] = await importRuns(caller, { id: request.params.id });
        if (!run) throw new NotFoundError(`no import run ${request.params.id}`);
        const rows = await listQuarantine(stores, caller.workspaceId, { runId: request.params.id, limit: request.query.limit });
        const clear = seesPersonalData(caller.role);
        return {
          rows: rows.map((r) => ({
            file: r.file,
            row: Number(r.row_number),
            field: r.field,
            value: clear ? r.value : maskField(r.field, r.value),
            reason: r.reason,
            action: r.action,
          })),
        };
      },
    );
  });
}

/**
 * Imports posted over HTTP that a server stop interrupted: their uploads are still in `uploadsDir`,
 * so each is run again with what it was asked, which resumes its run (nothing lost, nothing doubled).
 * An interrupted upload whose file is gone is marked failed, and so is one
 * once it has been interrupted SIYU_IMPORT_MAX_ATTEMPTS times (a file that stops every server that reads it is not read forever).
 * Uploads no run will read any more (finished, failed, or no run at all) are deleted. Returns the
 * runs taken up again.
 */
export async function resumeInterruptedUploads(stores: Stores, uploadsDir: string, log: (message: string) => void, afterImport: AfterImport): Promise<string[]> {
  const db = stores.state.db;
  // Files written since this process started are its own (an upload may arrive while this runs).
  const startedAt = Date.now() - process.uptime() * 1000;
  const maxAttempts = importMaxAttempts();
  const keep = new Set<string>();
  // Running (the server was killed) or failed while the server stopped (its upload was kept).
  const runs = await db.selectFrom('import_runs').selectAll().where('status', 'in', ['running', 'failed']).execute();
  const resumed: string[] = [];
  const root = path.resolve(uploadsDir) + path.sep;
  for (const run of runs) {
    // This process has started no import yet: a run under its pid is from an earlier life of it.
    const files = (typeof run.files === 'string' ? JSON.parse(run.files) : run.files) as Array<{ path: string }>;
    const paths = files.map((f) => f.path);
    if (run.pid && run.pid !== process.pid && processIsAlive(run.pid)) {
      for (const p of paths) keep.add(path.resolve(p));
      continue;
    }
    // Imports from the command line are resumed by running the same command again.
    if (!paths.every((p) => path.resolve(p).startsWith(root))) continue;
    if (!paths.every((p) => fs.existsSync(p))) {
      if (run.status === 'running') {
        await db
          .updateTable('import_runs')
          .set({ status: 'failed', error: 'interrupted, and its upload is gone: post the file again', finished_at: new Date() })
          .where('id', '=', run.id)
          .execute();
      }
      continue;
    }
    // attempts counts the first run and every resume of it.
    if (Number(run.attempts) >= maxAttempts) {
      const error = `interrupted ${Number(run.attempts)} times (the server stopped while it ran); not resumed again (SIYU_IMPORT_MAX_ATTEMPTS=${maxAttempts}): check the file and post it again`;
      await db.updateTable('import_runs').set({ status: 'failed', error, finished_at: new Date() }).where('id', '=', run.id).execute();
      log(`import ${run.id} ${error}`);
      continue;
    }
    for (const p of paths) keep.add(path.resolve(p));
    const asked = ((typeof run.request === 'string' ? JSON.parse(run.request) : run.request) ?? {}) as { preset?: string | null; source?: string | null; mapping?: unknown };
    const workspace = await new WorkspaceService(stores.state).get(run.workspace_id);
    await db.updateTable('import_runs').set({ pid: null, status: 'running', error: null, finished_at: null }).where('id', '=', run.id).execute();
    resumed.push(run.id);
    log(`resuming import ${run.id} (${files.length} uploaded file${files.length === 1 ? '' : 's'}) after an interruption`);
    void runImport(stores, {
      workspace,
      kind: run.kind as ImportKind,
      files: paths,
      preset: asked.preset ?? undefined,
      source: asked.source ?? undefined,
      mapping: (asked.mapping ?? undefined) as never,
    })
      .then(
        (summary) => {
          log(`import ${summary.runId} resumed and completed: ${summary.rowsRead.toLocaleString('en-US')} rows read, ${summary.landed.toLocaleString('en-US')} landed`);
          return true;
        },
        (error: Error) => {
          log(`import ${run.id} failed again: ${error.message}`);
          return false;
        },
      )
      .then(async (completed) => {
        for (const p of paths) fs.rmSync(p, { force: true });
        // As after a first run: the tags that read the data are computed again (this was forgotten once).
        if (completed) await afterImport(run.workspace_id);
      })
      .catch((error: Error) => log(`tags after the resumed import ${run.id} failed: ${error.message}`));
  }
  removeOrphanedUploads(uploadsDir, keep, startedAt, log);
  return resumed;
}

/**
 * Files in the uploads directory that nothing will read: every upload older than this process that
 * is not an import being resumed (a killed server leaves its imports' and its other uploads' files).
 */
function removeOrphanedUploads(uploadsDir: string, keep: Set<string>, before: number, log: (message: string) => void): void {
  let names: string[];
  try {
    names = fs.readdirSync(uploadsDir);
  } catch {
    return;
  }
  let removed = 0;
  for (const name of names) {
    const file = path.resolve(uploadsDir, name);
    if (keep.has(file)) continue;
    try {
      const stat = fs.lstatSync(file);
      if (!stat.isFile() || stat.mtimeMs >= before) continue;
      fs.rmSync(file, { force: true });
      removed++;
    } catch {
      // gone meanwhile
    }
  }
  if (removed > 0) log(`removed ${removed} upload${removed === 1 ? '' : 's'} no import will read any more`);
}
