/**
 * Tag runs: each tag is computed for a base date (all day boundaries in the workspace's time zone)
 * by one INSERT … SELECT into tag_values, after the tags it depends on. A run that finds no one
 * either clears the tag or keeps its last values, as the tag says; a failed run leaves them as they
 * were and records its error.
 */
import crypto from 'node:crypto';
import { isCalendarDate } from '../contract/dates.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { NotFoundError, InputError } from '../kernel/errors.ts';
import { runOrder, valueTypeOf, type TagDefinition } from './definition.ts';
import { cycleKey, cycleMeasures, tagQuery, type PurchaseSources, type RuleInput, type TagQuery } from './compute.ts';
import { EVERYONE, PURCHASES, purchaseLines } from '../facts/views.ts';
import { VALUE_COLUMN, type ValueType } from '../facts/tag-values.ts';
import { sandboxedQuery, sqlTagLimits, sqlTagRunError } from './sql-tags.ts';
import { importedQuery } from './imported-tags.ts';
import { listTags, manualValues, setManualValue, valueRun } from './store.ts';
import { buyerSummaries, fitBuyers, modelValue, needsSpend, type BuyerSummaries, type ModelFit } from './model-tags.ts';
import { dateInZone } from '../kernel/time.ts';

export interface TagRunResult {
  key: string;
  runId: string;
  status: 'completed' | 'kept' | 'failed';
  people: number;
  seconds: number;
  error?: string;
}

export interface RunTagsOptions {
  workspaceId: string;
  /** Only these tags, and the tags they depend on that have no values yet; all when absent. */
  keys?: string[];
  /** YYYY-MM-DD; today in the workspace's time zone when absent (a daily schedule passes yesterday). */
  baseDate?: string;
  trigger?: 'manual' | 'schedule' | 'import';
  onTag?: (result: TagRunResult) => void;
}

export async function runTags(stores: Stores, options: RunTagsOptions): Promise<TagRunResult[]> {
  const workspace = await new WorkspaceService(stores.state).get(options.workspaceId);
  const baseDate = options.baseDate ?? dateInZone(workspace.timeZone);
  if (!isCalendarDate(baseDate)) throw new InputError(`base date: expected a real date YYYY-MM-DD (years 1900–2200), got "${baseDate}"`);
  const all = await listTags(stores, workspace.id);
  let chosen: TagDefinition[] = all;
  if (options.keys && options.keys.length > 0) {
    const unknown = options.keys.filter((k) => !all.some((t) => t.key === k));
    if (unknown.length > 0) throw new NotFoundError(`no tag ${unknown.map((k) => `"${k}"`).join(', ')} in this workspace`);
    // Dependencies not listed come along when they have no values yet (a rule over a new tag).
    const wanted = new Set(options.keys);
    const byKey = new Map(all.map((t) => [t.key, t]));
    const pending = [...wanted];
    while (pending.length > 0) {
      for (const dependency of byKey.get(pending.pop()!)?.dependsOn ?? []) {
        if (wanted.has(dependency) || !byKey.has(dependency)) continue;
        if (await valueRun(stores, workspace.id, dependency, baseDate)) continue;
        wanted.add(dependency);
        pending.push(dependency);
      }
    }
    chosen = all.filter((t) => wanted.has(t.key));
  }
  const results: TagRunResult[] = [];
  const tables = await RunTables.create(stores, { ws: workspace.id, tz: workspace.timeZone, base: baseDate }, chosen);
  try {
    // One fit serves every model tag of a unit: with spend from the start if any of them needs it.
    const spendUnits = new Set(chosen.flatMap((t) => (t.kind === 'model' && needsSpend(t) ? [t.unit] : [])));
    const models = new ModelCache(stores, workspace.id, workspace.timeZone, baseDate, tables, spendUnits);
    const definitions = new Map(all.map((t) => [t.key, t]));
    for (const tag of runOrder(chosen)) {
      const result = await runTag(stores, workspace.id, workspace.timeZone, tag, baseDate, options.trigger ?? 'manual', models, definitions, tables);
      results.push(result);
      options.onTag?.(result);
    }
  } finally {
    await tables.drop();
  }
  // Whole runs (scheduled, after imports, or all tags) tell whoever follows tags, e.g. segment snapshots.
  const whole = options.trigger === 'schedule' || options.trigger === 'import' || !options.keys || options.keys.length === 0;
  if (whole && results.some((r) => r.status === 'completed')) {
    await writePeopleBitmap(stores, workspace.id);
    for (const listener of listeners) {
      try {
        await listener(stores, workspace.id, results);
      } catch (error) {
        console.warn(`after the tag run of workspace ${workspace.slug}: ${(error as Error).message}`);
      }
    }
  }
  return results;
}

/** Values a tag may have before it is not kept as bitmaps (one per value): segments then scan its values. */
const BITMAP_VALUES = 10_000;

/**
 * A run of a text, boolean, date or list tag is also kept as one bitmap of people per value, so
 * segments over tags are bitmap algebra. Numbers are compared by scanning their values.
 */
export async function writeBitmaps(stores: Stores, tag: TagDefinition, params: { ws: string; tag: string; run: string }): Promise<void> {
  const type = valueTypeOf(tag);
  if (type === 'number') return;
  const value = bitmapValue(type);
  const values = `SELECT person_id, ${value} AS value FROM tag_values WHERE workspace_id = {ws:String} AND tag = {tag:String} AND run_id = {run:String}`;
  const [{ n }] = await stores.facts.query<{ n: string }>(`SELECT uniqExact(value) AS n FROM (${values})`, params);
  if (Number(n) > BITMAP_VALUES) return;
  await stores.facts.command(
    `INSERT INTO tag_bitmaps (workspace_id, tag, run_id, value, people) SELECT {ws:String}, {tag:String}, {run:String}, value, groupBitmapState(person_id) FROM (${values}) GROUP BY value`,
    params,
  );
}

/** A tag value as the text its bitmap is kept under (booleans as true/false; a list gives one per item). */
export function bitmapValue(type: ValueType): string {
  // Column names come from the fixed map.
  if (type === 'string_list') return `arrayJoin(${VALUE_COLUMN.string_list})`;
  if (type === 'boolean') return `if(${VALUE_COLUMN.boolean} = 1, 'true', 'false')`;
  return `toString(${VALUE_COLUMN[type]})`;
}

/** Everyone OneID knows, as a bitmap: refreshed after whole tag runs. */
export async function writePeopleBitmap(stores: Stores, workspaceId: string): Promise<void> {
  await stores.facts.command(`INSERT INTO people_bitmaps (workspace_id, computed_at, people) SELECT {ws:String}, now64(3), groupBitmapState(person_id) FROM ${EVERYONE}`, {
    ws: workspaceId,
  });
}

type TagRunListener = (stores: Stores, workspaceId: string, results: TagRunResult[]) => Promise<void>;
const listeners: TagRunListener[] = [];

/** Called after every whole tag run of a workspace (segments that follow tag runs snapshot themselves). */
export function onTagRunsFinished(listener: TagRunListener): void {
  if (!listeners.includes(listener)) listeners.push(listener);
}

/** Kinds that read no purchases (an inline statistic in a rule may). */
const WITHOUT_PURCHASES = new Set<TagDefinition['kind']>(['manual', 'imported', 'sql', 'profile', 'wecom', 'tier']);

/**
 * The run's own copies of what many tags read, as of its base date: its purchases (and their lines,
 * when a preference ranks what was in them) made at the start, and each purchase-cycle window's
 * measures on first use. Tags read these instead of deduplicating orders again each time. Tables a
 * crashed run left behind are dropped after a day.
 */
class RunTables {
  purchases?: string;
  lines?: string;
  private readonly cycles = new Map<string, string>();
  private readonly id = crypto.randomBytes(6).toString('hex');
  private readonly stores: Stores;
  private readonly params: { ws: string; tz: string; base: string };
  constructor(stores: Stores, params: { ws: string; tz: string; base: string }) {
    this.stores = stores;
    this.params = params;
  }

  static async create(stores: Stores, params: { ws: string; tz: string; base: string }, tags: TagDefinition[]): Promise<RunTables> {
    const stale = await stores.facts.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, 'tag_run_') AND metadata_modification_time < now() - INTERVAL 1 DAY`,
    );
    for (const { name } of stale) if (/^tag_run_\w+$/.test(name)) await stores.facts.command(`DROP TABLE IF EXISTS ${name}`);
    const tables = new RunTables(stores, params);
    const readsPurchases = tags.some(
      (t) => !WITHOUT_PURCHASES.has(t.kind) && !(t.kind === 'statistic' && t.of === 'events') && (t.kind !== 'rule' || JSON.stringify(t.cases).includes('"purchases"')),
    );
    const readsLines = tags.some((t) => t.kind === 'preference' && ['category', 'sku', 'product'].includes(t.dimension));
    if (readsPurchases || readsLines) {
      tables.purchases = `tag_run_purchases_${tables.id}`;
      await stores.facts.command(
        `CREATE TABLE ${tables.purchases} (person_id UInt64, source LowCardinality(String), order_id String, ordered_at DateTime64(3, 'UTC'), day Date,
           store_id String, amount Float64, item_count Float64, discount Float64, package_periods UInt16) ENGINE = MergeTree ORDER BY person_id`,
      );
      await stores.facts.command(
        `INSERT INTO ${tables.purchases} SELECT person_id, source, order_id, ordered_at, day, store_id, amount, item_count, discount, package_periods FROM ${PURCHASES}`,
        params,
      );
    }
    if (readsLines) {
      tables.lines = `tag_run_lines_${tables.id}`;
      await stores.facts.command(
        `CREATE TABLE ${tables.lines} (person_id UInt64, sku String, category LowCardinality(String), product_name String, amount Float64, at DateTime64(3, 'UTC'), day Date,
         source LowCardinality(String), order_id String)
         ENGINE = MergeTree ORDER BY person_id`,
      );
      await stores.facts.command(`INSERT INTO ${tables.lines} SELECT * FROM ${purchaseLines(tables.purchases ?? PURCHASES)}`, params);
    }
    return tables;
  }

  /** What the run's tags read: its own tables where it made them, the shared views elsewhere. */
  private get sources(): PurchaseSources {
    const purchases = this.purchases ?? PURCHASES;
    return { purchases, lines: this.lines ?? purchaseLines(purchases), cycles: this.cycles };
  }

  /** A tag's sources; a purchase-cycle or lifecycle tag's window gets its table of cycle measures on first use. */
  async sourcesFor(tag: TagDefinition): Promise<PurchaseSources> {
    if (tag.kind === 'purchase_cycle' || tag.kind === 'lifecycle') await this.cycle(tag.windowDays);
    return this.sources;
  }

  private async cycle(windowDays: number | undefined): Promise<void> {
    const key = cycleKey(windowDays);
    if (this.cycles.has(key)) return;
    const table = `tag_run_cycle_${this.id}_${key}`;
    const measures = `(${cycleMeasures(windowDays, {}, this.sources)})`;
    this.cycles.set(key, table);
    await this.stores.facts.command(`CREATE TABLE ${table} ENGINE = MergeTree ORDER BY person_id AS SELECT * FROM ${measures}`, {
      ...this.params,
      window: windowDays ?? 0,
    });
  }

  async drop(): Promise<void> {
    for (const table of [this.purchases, this.lines, ...this.cycles.values()]) if (table) await this.stores.facts.command(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** One fit per time unit for all model tags of a run (a fit with spend serves the others too). */
class ModelCache {
  private summaries?: Promise<BuyerSummaries>;
  private readonly fits = new Map<string, ModelFit>();
  private readonly stores: Stores;
  private readonly workspaceId: string;
  private readonly timeZone: string;
  private readonly baseDate: string;
  private readonly tables: { purchases?: string };
  private readonly spendUnits: Set<string>;
  constructor(stores: Stores, workspaceId: string, timeZone: string, baseDate: string, tables: { purchases?: string }, spendUnits: Set<string>) {
    this.tables = tables;
    this.spendUnits = spendUnits;
    this.stores = stores;
    this.workspaceId = workspaceId;
    this.timeZone = timeZone;
    this.baseDate = baseDate;
  }
  buyers(): Promise<BuyerSummaries> {
    this.summaries ??= buyerSummaries(this.stores, this.workspaceId, this.timeZone, this.baseDate, undefined, this.tables);
    return this.summaries;
  }
  async fit(unit: 'day' | 'week', withSpend: boolean): Promise<ModelFit> {
    const cached = this.fits.get(`${unit}|spend`) ?? (withSpend ? undefined : this.fits.get(`${unit}|`));
    if (cached) return cached;
    if (!withSpend && this.spendUnits.has(unit)) {
      // Another tag of the run needs spend: fit it now, unless spend cannot be fitted (then that tag fails, not this one).
      try {
        return await this.fit(unit, true);
      } catch {
        this.spendUnits.delete(unit);
      }
    }
    const fit = fitBuyers(await this.buyers(), unit, withSpend);
    this.fits.set(`${unit}|${withSpend ? 'spend' : ''}`, fit);
    return fit;
  }
}

/** Writes a model tag's predictions (one per buyer) and returns the fit it used. */
async function writeModelTag(
  stores: Stores,
  tag: Extract<TagDefinition, { kind: 'model' }>,
  models: ModelCache,
  params: { ws: string; tag: string; run: string; base: string },
): Promise<ModelFit> {
  const fit = await models.fit(tag.unit, needsSpend(tag));
  const buyers = await models.buyers();
  async function* lines(): AsyncIterable<string> {
    let chunk = '';
    for (let i = 0; i < buyers.person.length; i++) {
      const value = modelValue(tag, fit, buyers.x[i], buyers.txDays[i], buyers.TDays[i], buyers.mCents[i] / 100);
      if (!Number.isFinite(value)) continue;
      chunk += `${params.ws}\t${params.tag}\t${params.run}\t${params.base}\t${buyers.person[i]}\t${value}\n`;
      if (chunk.length > 1 << 20) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await stores.facts.insertTsv('tag_values', ['workspace_id', 'tag', 'run_id', 'base_date', 'person_id', 'v_number'], lines());
  return fit;
}

async function runTag(
  stores: Stores,
  workspaceId: string,
  timeZone: string,
  tag: TagDefinition,
  baseDate: string,
  trigger: 'manual' | 'schedule' | 'import',
  models: ModelCache,
  definitions: Map<string, TagDefinition>,
  tables: RunTables,
): Promise<TagRunResult> {
  const started = Date.now();
  const runId = `tag_${crypto.randomBytes(8).toString('hex')}`;
  const db = stores.state.db;
  await db
    .insertInto('tag_runs')
    .values({ id: runId, workspace_id: workspaceId, tag_key: tag.key, base_date: baseDate, trigger, status: 'running', error: null, finished_at: null })
    .execute();
  try {
    const params = { ws: workspaceId, tz: timeZone, base: baseDate, tag: tag.key, run: runId };
    let details: unknown = null;
    if (tag.kind === 'model') {
      const fit = await writeModelTag(stores, tag, models, params);
      details = { model: tag.model, ...fit };
    } else if (tag.kind === 'manual') {
      // Publishes what staff have set, as of now (the column is the tag type's, from a fixed map).
      const column = VALUE_COLUMN[valueTypeOf(tag)];
      const rows = (await manualValues(stores, workspaceId, tag.key)).map((v) => ({
        workspace_id: workspaceId,
        tag: tag.key,
        run_id: runId,
        base_date: baseDate,
        person_id: v.personId,
        [column]: typeof v.value === 'boolean' ? (v.value ? 1 : 0) : v.value,
      }));
      await stores.facts.insertRows('tag_values', rows);
    } else {
      // The tags it reads, as of this run's base date (they ran first if they were part of this run).
      const inputs = new Map<string, RuleInput>();
      for (const key of tag.dependsOn) {
        const definition = definitions.get(key);
        if (!definition) throw new Error(`reads tag "${key}", which does not exist`);
        inputs.set(key, { runId: (await valueRun(stores, workspaceId, key, baseDate))?.runId, type: valueTypeOf(definition) });
      }
      // The value column is chosen from the tag's type (a fixed map), never from input.
      const column = VALUE_COLUMN[valueTypeOf(tag)];
      if (tag.kind === 'sql') {
        const runs: string[] = [];
        for (const key of definitions.keys()) {
          const run = key === tag.key ? undefined : await valueRun(stores, workspaceId, key, baseDate);
          if (run) runs.push(run.runId);
        }
        const bound = { ...params, sql_tag_runs: runs };
        // Not rewritten to read the run's tables: text replacement has no place near an operator's SQL.
        const sandboxed = await sandboxedQuery(stores.facts, tag, bound);
        await stores.facts.insertFromSandbox(
          'tag_values',
          ['workspace_id', 'tag', 'run_id', 'base_date', 'person_id', column],
          `SELECT {ws:String} AS workspace_id, {tag:String} AS tag, {run:String} AS run_id, {base:Date} AS base_date, person_id, value AS ${column} FROM (${sandboxed})`,
          bound,
          { workspaceId, limits: sqlTagLimits() },
        );
      } else {
        const query: TagQuery = tag.kind === 'imported' ? importedQuery(tag) : tagQuery(tag, inputs, await tables.sourcesFor(tag));
        await stores.facts.command(
          `INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, ${column})
           SELECT {ws:String}, {tag:String}, {run:String}, {base:Date}, person_id, value FROM (${query.sql})
           SETTINGS max_execution_time = 3600`,
          { ...query.params, ...params },
        );
      }
    }
    if (details)
      await db
        .updateTable('tag_runs')
        .set({ details: JSON.stringify(details) })
        .where('id', '=', runId)
        .execute();
    await writeBitmaps(stores, tag, params);
    const [count] = await stores.facts.query<{ n: string }>(
      `SELECT count() AS n FROM tag_values WHERE workspace_id = {ws:String} AND tag = {tag:String} AND run_id = {run:String}`,
      params,
    );
    const people = Number(count.n);
    // A manual tag that nobody has anymore is empty for real: it clears.
    const status = people === 0 && tag.onEmpty === 'keep' && tag.kind !== 'manual' ? 'kept' : 'completed';
    await db.updateTable('tag_runs').set({ status, people, finished_at: new Date() }).where('id', '=', runId).execute();
    return { key: tag.key, runId, status, people, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    // A SQL tag's failure is told in our words: ClickHouse's text would show the sandbox's own SQL.
    const message = tag.kind === 'sql' ? sqlTagRunError(error) : (error as Error).message;
    await db.updateTable('tag_runs').set({ status: 'failed', error: message, finished_at: new Date() }).where('id', '=', runId).execute();
    return { key: tag.key, runId, status: 'failed', people: 0, seconds: (Date.now() - started) / 1000, error: message };
  }
}

/**
 * After an import: every tag of the workspace is computed again for today, so values follow the
 * data. Returns nothing to do when the workspace has no tags.
 */
export async function runTagsAfterImport(stores: Stores, workspaceId: string): Promise<TagRunResult[]> {
  if ((await listTags(stores, workspaceId)).length === 0) return [];
  return runTags(stores, { workspaceId, trigger: 'import' });
}

/** Staff set (or remove, with `value` undefined) a manual tag on a person; the tag is published at once. */
export async function setManualTag(stores: Stores, workspaceId: string, key: string, personId: number, value: unknown, actor: string) {
  const set = await setManualValue(stores, workspaceId, key, personId, value, actor);
  const [run] = await runTags(stores, { workspaceId, keys: [key], trigger: 'manual' });
  if (run.status === 'failed') throw new Error(`the value was saved but the tag could not be published: ${run.error}`);
  return set;
}
