/**
 * `siyu import <kind> <file...>`: plans every file before writing anything (a file that cannot be
 * imported at all fails here, naming what is missing), then streams rows in batches: good rows land,
 * bad rows go to quarantine with file, row, field, value and reason. Runs are recorded in the state
 * store; the same command after a crash resumes its run.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import type { Workspace } from '../access/workspaces.ts';
import { loadIdentifierTypes } from '../identity/identifier-store.ts';
import type { IdentifierType } from '../identity/identifier-types.ts';
import { checkRecordLengths, describeShape, readJsonLines, readRows, recordTooLongReason, sniffFile, type FileShape } from './file-reader.ts';
import { canonicalLayouts, findPreset, ImportPlanError, layoutFromMapping, requiredFields, type ColumnSource, type FileLayout, type MappingFile } from './layouts.ts';
import type { ImportKind } from '../contract/imports.ts';
import { entityForShape, orderEntity, RowRejected, type Entity, type EntityContext, type FieldProblem } from './entities.ts';
import { eventEntity } from './events.ts';
import { IngestWriter, type WriteCounts } from './writer.ts';
import { clickhouseTime } from '../kernel/time.ts';
import { processIsAlive } from '../stores/lock.ts';
import type { ResolveSummary } from '../identity/resolve.ts';
import { resolveSerially } from '../identity/resolve-queue.ts';
import { withholdErasedIdentities } from '../identity/suppression.ts';
import { dropImportStage, importOrdersWithSql, sqlImportable } from './sql-orders.ts';

export { ImportPlanError };

/** An import stopped on purpose before it finished; its run is left to be resumed. */
class ImportInterrupted extends Error {
  override name = 'ImportInterrupted';
}

export interface ImportRequest {
  workspace: Workspace;
  kind: ImportKind;
  files: string[];
  source?: string;
  preset?: string;
  mapping?: MappingFile;
  batchSize?: number;
  /** Attach new records to people after the import (default true). */
  resolve?: boolean;
  /** Import order files in SQL where possible (default true; false forces the row-by-row path). */
  sql?: boolean;
  /** Stops the import between batches (a server stopping): the run stays `running`, to be resumed. */
  signal?: AbortSignal;
  onProgress?: (progress: { file: string; rows: number }) => void;
  /** Called once the files are planned and the run is recorded, before any row is read. */
  onRunStarted?: (runId: string, resumed: boolean) => void;
}

export interface FilePlan {
  path: string;
  shape: FileShape;
  layout?: FileLayout;
  columnIndex: Map<string, number>;
  source: string;
}

/** Counts in source rows: read = landed + updated + unchanged + quarantined. */
export interface ImportCounts {
  rowsRead: number;
  landed: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  /** Bad optional values dropped from rows that still landed. */
  valuesDropped: number;
}

export interface FileSummary extends ImportCounts {
  file: string;
  detected: string;
  layout: string;
}

export interface ImportSummary extends ImportCounts {
  runId: string;
  /** OneID after the import: new records attached to people. */
  resolution?: ResolveSummary;
  resumed: boolean;
  files: FileSummary[];
  seconds: number;
}

async function readHeader(shape: FileShape): Promise<string[]> {
  const rows = readRows(shape);
  const first = await rows.next();
  await rows.return(undefined);
  if (first.done) throw new ImportPlanError(`${shape.path}: the file is empty (expected a header row)`);
  return first.value.values;
}

function columnsOf(source: ColumnSource): string[] {
  return typeof source === 'string' ? [source] : 'header' in source ? [source.header] : source.columns;
}

function sourceFor(request: ImportRequest): string | undefined {
  if (request.mapping?.source) return request.mapping.source;
  if (request.source) return request.source;
  if (request.preset) return findPreset(request.preset).source;
  if (request.kind === 'contacts') return 'wecom';
  if (request.kind === 'events') return 'sdk';
  if (request.kind === 'products') return 'catalogue';
  return undefined;
}

/** Checks every file and chooses its layout; throws before anything is written. */
async function planImport(request: ImportRequest): Promise<FilePlan[]> {
  if (request.files.length === 0) throw new ImportPlanError('no files given');
  const preset = request.preset ? findPreset(request.preset) : undefined;
  if (preset && request.mapping) throw new ImportPlanError('give either --preset or --mapping, not both');
  const source = sourceFor(request);
  if (!source && request.kind !== 'records') {
    throw new ImportPlanError(`--source is required for canonical ${request.kind} files (e.g. --source erp), or use --preset`);
  }
  const plans: FilePlan[] = [];
  for (const file of request.files) {
    const shape = sniffFile(file);
    if (request.kind === 'events') {
      if (shape.format !== 'jsonl') throw new ImportPlanError(`${file}: events are imported from JSON lines (one event object per line); this looks like ${describeShape(shape)}`);
      plans.push({ path: file, shape, columnIndex: new Map(), source: 'sdk' });
      continue;
    }
    if (shape.format === 'jsonl') throw new ImportPlanError(`${file}: ${request.kind} are imported from CSV, TSV or XLSX; JSON lines are for events`);
    const header = await readHeader(shape);
    const columnIndex = new Map(header.map((h, i) => [h.replace(/^\uFEFF/, '').trim(), i]));
    let candidates: FileLayout[];
    if (request.mapping) candidates = [layoutFromMapping(request.kind, request.mapping)];
    else if (preset) {
      const layouts = preset.kinds[request.kind] ?? (request.kind === 'refunds' ? (preset.kinds.orders ?? []).filter((l) => l.shape === 'refund') : []);
      if (layouts.length === 0) {
        const served = Object.keys(preset.kinds).join(', ');
        throw new ImportPlanError(`preset "${preset.name}" has no ${request.kind} files (it serves: ${served})`);
      }
      candidates = layouts;
    } else candidates = canonicalLayouts(request.kind);
    const layout = candidates.find((l) => l.detect.every((column) => columnIndex.has(column)));
    if (!layout) {
      const expected = candidates.map((l) => `${l.name} needs ${l.detect.join(', ')} (missing: ${l.detect.filter((c) => !columnIndex.has(c)).join(', ')})`).join('; ');
      throw new ImportPlanError(`${file}: the header does not match any expected layout: ${expected}. The file's columns: ${header.slice(0, 30).join(', ')}`);
    }
    if (request.mapping) {
      const missing = Object.entries(layout.fields).flatMap(([field, source]) =>
        columnsOf(source)
          .filter((c) => !columnIndex.has(c))
          .map((c) => `${field} ← "${c}"`),
      );
      if (missing.length > 0) throw new ImportPlanError(`${file}: the mapping names columns the file does not have: ${missing.join(', ')}`);
      const unmapped = requiredFields(request.kind, layout.shape).filter((f) => !layout.fields[f]);
      if (unmapped.length > 0) throw new ImportPlanError(`${file}: the mapping must give the required fields ${unmapped.join(', ')}`);
    }
    plans.push({ path: file, shape, layout, columnIndex, source: source ?? '' });
  }
  return plans;
}

/** A cell's value through a mapping's value map: own keys only (a cell reading "constructor" is not Object's). */
function mappedValue(map: Record<string, string>, raw: string): string {
  return Object.hasOwn(map, raw) ? map[raw] : raw;
}

function extract(layout: FileLayout, columnIndex: Map<string, number>, values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, source] of Object.entries(layout.fields)) {
    let value: string;
    if (typeof source === 'string') value = values[columnIndex.get(source) ?? -1] ?? '';
    else if ('header' in source) {
      const raw = values[columnIndex.get(source.header) ?? -1] ?? '';
      value = mappedValue(source.map, raw);
    } else {
      value = source.columns
        .map((c) => values[columnIndex.get(c) ?? -1] ?? '')
        .filter((v) => v)
        .join(' ');
      if (source.map) value = mappedValue(source.map, value);
    }
    out[field] = value;
  }
  return out;
}

async function fingerprint(request: ImportRequest, plans: FilePlan[]): Promise<string> {
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify([request.workspace.id, request.kind, request.preset ?? '', request.source ?? '', request.mapping ?? null]));
  for (const plan of plans) {
    const stat = fs.statSync(plan.path);
    const fd = fs.openSync(plan.path, 'r');
    const head = Buffer.alloc(Math.min(stat.size, 1 << 20));
    fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    hash.update(`${path.resolve(plan.path)}|${stat.size}|`).update(head);
  }
  return hash.digest('hex');
}

interface QuarantineRow {
  file: string;
  rowNumber: number;
  problems: FieldProblem[];
  row: Record<string, string>;
}

export async function runImport(stores: Stores, request: ImportRequest): Promise<ImportSummary> {
  const started = Date.now();
  const plans = await planImport(request);
  const identifierTypes = await loadIdentifierTypes(stores.state, request.workspace.id);
  const { runId, resumed } = await startOrResumeRun(stores, request, plans);
  // What a crashed attempt staged for SQL is started over.
  if (resumed) await dropImportStage(stores, runId);
  request.onRunStarted?.(runId, resumed);
  const writer = new IngestWriter(stores.facts, request.workspace.id, runId);
  const summaries: FileSummary[] = [];
  try {
    for (const [fileNo, plan] of plans.entries()) {
      if (request.signal?.aborted) throw new ImportInterrupted('the import was interrupted; run it again to resume');
      if (request.sql !== false && sqlImportable(stores, plan.shape, plan.layout)) summaries.push(await importFileWithSql(stores, request, plan, fileNo, runId, identifierTypes));
      else summaries.push(await importFileByRows(stores, request, plan, writer, runId, identifierTypes));
    }
    return await completeRun(stores, request, runId, resumed, summaries, started);
  } catch (error) {
    // An interrupted run stays `running`: the same command (or the server's next start) resumes it.
    if (error instanceof ImportInterrupted) throw error;
    await stores.state.db
      .updateTable('import_runs')
      .set({ status: 'failed', error: (error as Error).message, finished_at: new Date() })
      .where('id', '=', runId)
      .execute()
      .catch(() => undefined);
    throw error;
  } finally {
    await dropImportStage(stores, runId);
  }
}

/**
 * The run this import is: the same command on the same files after a crash (its process gone)
 * resumes that run; while that process lives, the import is refused; otherwise a new run.
 */
async function startOrResumeRun(stores: Stores, request: ImportRequest, plans: FilePlan[]): Promise<{ runId: string; resumed: boolean }> {
  const db = stores.state.db;
  const fp = await fingerprint(request, plans);
  const previous = await db
    .selectFrom('import_runs')
    .selectAll()
    .where('workspace_id', '=', request.workspace.id)
    .where('fingerprint', '=', fp)
    .where('status', '=', 'running')
    .orderBy('started_at', 'desc')
    .executeTakeFirst();
  if (previous && !(previous.pid && processIsAlive(previous.pid))) {
    await db
      .updateTable('import_runs')
      .set({ pid: process.pid, attempts: sql`attempts + 1` as never })
      .where('id', '=', previous.id)
      .execute();
    return { runId: previous.id, resumed: true };
  }
  if (previous && previous.pid !== process.pid) throw new ImportPlanError(`the same import is running in process ${previous.pid} (run ${previous.id})`);
  const runId = `imp_${crypto.randomBytes(8).toString('hex')}`;
  await db
    .insertInto('import_runs')
    .values({
      id: runId,
      workspace_id: request.workspace.id,
      kind: request.kind,
      source: plans[0]?.source ?? '',
      preset: request.preset ?? null,
      fingerprint: fp,
      files: JSON.stringify(plans.map((p) => ({ path: path.resolve(p.path), detected: describeShape(p.shape), layout: p.layout?.name ?? 'events' }))),
      status: 'running',
      pid: process.pid,
      error: null,
      finished_at: null,
      request: JSON.stringify({ preset: request.preset ?? null, source: request.source ?? null, mapping: request.mapping ?? null }),
    })
    .execute();
  return { runId, resumed: false };
}

/**
 * An order file run inside the engine: parsed, checked, grouped and written with SQL. ClickHouse reads
 * the file whole, so its unpacked size and its records' length are checked (and bounded) first.
 */
async function importFileWithSql(
  stores: Stores,
  request: ImportRequest,
  plan: FilePlan,
  fileNo: number,
  runId: string,
  identifierTypes: Map<string, IdentifierType>,
): Promise<FileSummary> {
  await checkRecordLengths(plan.shape);
  const counts = await importOrdersWithSql(stores, {
    onStaged: (rows: number) => request.onProgress?.({ file: plan.path, rows }),
    workspaceId: request.workspace.id,
    runId,
    fileNo,
    fileName: path.basename(plan.path),
    shape: plan.shape,
    layout: plan.layout!,
    columnIndex: plan.columnIndex,
    source: plan.source,
    timeZone: request.workspace.timeZone,
    identifierTypes,
  });
  request.onProgress?.({ file: plan.path, rows: counts.rowsRead });
  return { file: plan.path, detected: describeShape(plan.shape), layout: plan.layout!.name, ...counts };
}

/**
 * A file read row by row into entities, written in batches: one batch is written while the next is
 * read — at most one write in flight, so each batch's lookups see everything written before it. Bad
 * rows and dropped values go to the quarantine with their reasons.
 */
class RowBatches {
  readonly summary: FileSummary;
  private entities: Entity[] = [];
  private quarantine: QuarantineRow[] = [];
  private inFlight: Promise<void> = Promise.resolve();
  private writeFailure: Error | undefined;
  private sinceYield = 0;
  private readonly fileName: string;
  private readonly stores: Stores;
  private readonly request: ImportRequest;
  private readonly plan: FilePlan;
  private readonly writer: IngestWriter;
  private readonly runId: string;

  constructor(stores: Stores, request: ImportRequest, plan: FilePlan, writer: IngestWriter, runId: string) {
    this.stores = stores;
    this.request = request;
    this.plan = plan;
    this.writer = writer;
    this.runId = runId;
    this.fileName = path.basename(plan.path);
    this.summary = {
      file: plan.path,
      detected: describeShape(plan.shape),
      layout: plan.layout?.name ?? 'events (JSON lines)',
      rowsRead: 0,
      landed: 0,
      updated: 0,
      unchanged: 0,
      quarantined: 0,
      valuesDropped: 0,
    };
  }

  /** Whether the batch being gathered is full. */
  get full(): boolean {
    return this.entities.length + this.quarantine.length >= (this.request.batchSize ?? 20_000);
  }

  /** Counts a row read; every so many, lets the event loop go, so the API answers during an import. */
  async rowRead(): Promise<void> {
    this.summary.rowsRead++;
    if (++this.sinceYield < 200) return;
    this.sinceYield = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** A row refused whole, with the reason, into the quarantine. */
  reject(rowNumber: number, field: string, value: string, reason: string): void {
    this.summary.quarantined++;
    this.quarantine.push({ file: this.fileName, rowNumber, problems: [{ field, value, reason, action: 'row_rejected' }], row: {} });
  }

  /** The entity a row (or the `rowCount` rows of one order) makes; a row it refuses goes to the quarantine. */
  accept(make: () => Entity, rowNumber: number, row: Record<string, string>, rowCount = 1): Entity | undefined {
    try {
      const entity = make();
      this.entities.push(entity);
      if (entity.dropped && entity.dropped.length > 0) {
        this.summary.valuesDropped += entity.dropped.length;
        this.quarantine.push({ file: this.fileName, rowNumber, problems: entity.dropped, row });
      }
      return entity;
    } catch (error) {
      if (error instanceof RowRejected) {
        this.summary.quarantined += rowCount;
        this.quarantine.push({ file: this.fileName, rowNumber, problems: error.problems, row });
        return undefined;
      }
      throw error;
    }
  }

  /** Sends the gathered batch to be written once the one in flight is done. */
  async flush(): Promise<void> {
    if (this.request.signal?.aborted) throw new ImportInterrupted('the import was interrupted; run it again to resume');
    const batch = this.entities;
    const held = this.quarantine;
    this.entities = [];
    this.quarantine = [];
    await this.settle();
    this.inFlight = this.write(batch, held).catch((error: Error) => {
      this.writeFailure = error;
    });
  }

  /** Waits for the write in flight; its failure is the import's. */
  async settle(): Promise<void> {
    await this.inFlight;
    if (this.writeFailure) throw this.writeFailure;
  }

  private async write(batch: Entity[], held: QuarantineRow[]): Promise<void> {
    const counts: WriteCounts = await this.writer.write(batch);
    this.summary.landed += counts.landed;
    this.summary.updated += counts.updated;
    this.summary.unchanged += counts.unchanged;
    if (held.length > 0) {
      const at = clickhouseTime(Date.now());
      await this.stores.facts.insertRows(
        'import_quarantine',
        held.flatMap((q) =>
          q.problems.map((p) => ({
            workspace_id: this.request.workspace.id,
            run_id: this.runId,
            file: this.fileName,
            row_number: q.rowNumber,
            field: p.field,
            value: p.value,
            reason: p.reason,
            action: p.action,
            row: JSON.stringify(q.row),
            at,
          })),
        ),
      );
    }
    this.request.onProgress?.({ file: this.plan.path, rows: this.summary.rowsRead });
  }
}

async function importFileByRows(
  stores: Stores,
  request: ImportRequest,
  plan: FilePlan,
  writer: IngestWriter,
  runId: string,
  identifierTypes: Map<string, IdentifierType>,
): Promise<FileSummary> {
  const batches = new RowBatches(stores, request, plan, writer, runId);
  if (request.kind === 'events') await readEventLines(batches, plan, identifierTypes);
  else await readTableRows(batches, plan, { source: plan.source, timeZone: request.workspace.timeZone, identifierTypes, runId });
  await batches.flush();
  await batches.settle();
  return batches.summary;
}

/** JSON lines, one event each. */
async function readEventLines(batches: RowBatches, plan: FilePlan, identifierTypes: Map<string, IdentifierType>): Promise<void> {
  for await (const line of readJsonLines(plan.shape)) {
    await batches.rowRead();
    if (line.tooLong !== undefined) {
      batches.reject(line.rowNumber, 'line', '', recordTooLongReason(line.tooLong));
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.text);
    } catch {
      batches.reject(line.rowNumber, 'line', line.text.slice(0, 200), 'not valid JSON');
      continue;
    }
    batches.accept(() => eventEntity(parsed, identifierTypes), line.rowNumber, { line: line.text.slice(0, 2000) });
    if (batches.full) await batches.flush();
  }
}

/** A table (CSV, TSV, XLSX) through its layout; the lines of one order become one entity. */
async function readTableRows(batches: RowBatches, plan: FilePlan, ctx: EntityContext): Promise<void> {
  const layout = plan.layout!;
  const make = entityForShape(layout.shape);
  let group: Array<{ rowNumber: number; values: Record<string, string> }> = [];
  const closeGroup = () => {
    if (group.length === 0) return;
    const rows = group;
    group = [];
    batches.accept(
      () =>
        orderEntity(
          rows.map((g) => g.values),
          layout.shape === 'order' ? 'order' : 'order_line',
          ctx,
        ),
      rows[0].rowNumber,
      rows[0].values,
      rows.length,
    );
  };
  let header = true;
  for await (const row of readRows(plan.shape)) {
    if (header) {
      header = false;
      continue;
    }
    if (row.tooLong === undefined && row.values.every((v) => v === '')) continue;
    await batches.rowRead();
    if (row.tooLong !== undefined) {
      batches.reject(row.rowNumber, 'row', '', recordTooLongReason(row.tooLong));
      continue;
    }
    const values = extract(layout, plan.columnIndex, row.values);
    if (layout.shape === 'order' || layout.shape === 'order_line') {
      // Lines of one order are adjacent in every export we know; a new order id closes the group,
      // and batches are only cut between orders, never inside one.
      if (group.length > 0 && group[0].values.order_id !== values.order_id) {
        closeGroup();
        if (batches.full) await batches.flush();
      }
      group.push({ rowNumber: row.rowNumber, values });
      if (layout.shape === 'order') closeGroup();
    } else batches.accept(() => make!(values, ctx), row.rowNumber, values);
    if (group.length === 0 && batches.full) await batches.flush();
  }
  closeGroup();
}

/**
 * The run's totals; identifiers of people erased on request withheld before anything links them
 * (listed in the quarantine); new records joined to people before the run counts as complete, so a
 * crash here re-runs it.
 */
async function completeRun(stores: Stores, request: ImportRequest, runId: string, resumed: boolean, summaries: FileSummary[], started: number): Promise<ImportSummary> {
  const total: ImportCounts = { rowsRead: 0, landed: 0, updated: 0, unchanged: 0, quarantined: 0, valuesDropped: 0 };
  for (const s of summaries) for (const key of Object.keys(total) as Array<keyof ImportCounts>) total[key] += s[key];
  total.valuesDropped += (await withholdErasedIdentities(stores, request.workspace.id, runId)).identifiers;
  const resolution = request.resolve === false ? undefined : await resolveSerially(stores, { workspaceId: request.workspace.id });
  await stores.state.db
    .updateTable('import_runs')
    .set({
      status: 'completed',
      rows_read: total.rowsRead,
      landed: total.landed,
      updated: total.updated,
      unchanged: total.unchanged,
      quarantined: total.quarantined,
      values_dropped: total.valuesDropped,
      finished_at: new Date(),
    })
    .where('id', '=', runId)
    .execute();
  return { runId, resumed, files: summaries, ...total, resolution, seconds: (Date.now() - started) / 1000 };
}
