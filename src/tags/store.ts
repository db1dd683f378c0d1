/**
 * Tags in the stores: definitions (state), runs (state) and values (facts). A run writes the whole
 * value set of its tag; the current values are those of the completed run with the latest base date,
 * and "as of a date" means the last completed run whose base date is on or before it.
 */
import { ZodError } from 'zod';
import type { Stores } from '../stores/stores.ts';
import type { AuthenticatedKey } from '../access/keys.ts';
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import { peopleScope } from '../access/scope.ts';
import { sql } from '../facts/sql.ts';
import { tagDefinitionSchema, valueTypeOf, type ManualTag, type TagDefinition } from './definition.ts';
import { VALUE_COLUMN, type ValueType } from '../facts/tag-values.ts';
import { validateSqlTag } from './sql-tags.ts';

function parseDefinition(raw: unknown): TagDefinition {
  return tagDefinitionSchema.parse(typeof raw === 'string' ? JSON.parse(raw) : raw);
}

export async function saveTag(stores: Stores, workspaceId: string, input: unknown, options: { replace?: boolean } = {}): Promise<TagDefinition> {
  const tag = tagDefinitionSchema.parse(input);
  // A SQL tag's query is checked when saved (and again at every run).
  if (tag.kind === 'sql') await validateSqlTag(stores.facts, tag, workspaceId);
  const existing = await stores.state.db.selectFrom('tag_definitions').select('key').where('workspace_id', '=', workspaceId).where('key', '=', tag.key).executeTakeFirst();
  if (existing && !options.replace) throw new ConflictError(`tag "${tag.key}" exists already (replace it to change it)`);
  await stores.state.db
    .insertInto('tag_definitions')
    .values({ workspace_id: workspaceId, key: tag.key, definition: JSON.stringify(tag) })
    .onConflict((oc) => oc.columns(['workspace_id', 'key']).doUpdateSet({ definition: JSON.stringify(tag), updated_at: new Date() }))
    .execute();
  return tag;
}

export async function listTags(stores: Stores, workspaceId: string): Promise<TagDefinition[]> {
  const rows = await stores.state.db.selectFrom('tag_definitions').select('definition').where('workspace_id', '=', workspaceId).orderBy('key').execute();
  return rows.map((r) => parseDefinition(r.definition));
}

export async function getTag(stores: Stores, workspaceId: string, key: string): Promise<TagDefinition> {
  const row = await stores.state.db.selectFrom('tag_definitions').select('definition').where('workspace_id', '=', workspaceId).where('key', '=', key).executeTakeFirst();
  if (!row) throw new NotFoundError(`no tag "${key}" in this workspace`);
  return parseDefinition(row.definition);
}

export interface TagRunInfo {
  id: string;
  baseDate: string;
  trigger: string;
  status: string;
  people: number;
  error: string | null;
  startedAt: string;
  seconds: number | null;
}

function dateText(value: Date | string): string {
  return typeof value === 'string' ? value.slice(0, 10) : value.toISOString().slice(0, 10);
}

export async function tagRuns(stores: Stores, workspaceId: string, key: string, limit = 10): Promise<TagRunInfo[]> {
  const rows = await stores.state.db
    .selectFrom('tag_runs')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('tag_key', '=', key)
    .orderBy('started_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    baseDate: dateText(r.base_date),
    trigger: r.trigger,
    status: r.status,
    people: Number(r.people),
    error: r.error,
    startedAt: new Date(r.started_at as unknown as string).toISOString(),
    seconds: r.finished_at ? (new Date(r.finished_at).getTime() - new Date(r.started_at as unknown as string).getTime()) / 1000 : null,
  }));
}

/** The run whose values hold on a date: the current one, or the last completed run up to `asOf`. */
export async function valueRun(stores: Stores, workspaceId: string, key: string, asOf?: string): Promise<{ runId: string; baseDate: string } | undefined> {
  return (await valueRuns(stores, workspaceId, [key], asOf)).get(key);
}

/**
 * The run each tag's values are read from, in one query: its last completed run (by base date, then
 * start), or the last one on or before `asOf`.
 */
export async function valueRuns(stores: Stores, workspaceId: string, keys: string[], asOf?: string): Promise<Map<string, { runId: string; baseDate: string }>> {
  if (keys.length === 0) return new Map();
  let query = stores.state.db
    .selectFrom('tag_runs')
    .distinctOn('tag_key')
    .select(['tag_key', 'id', 'base_date'])
    .where('workspace_id', '=', workspaceId)
    .where('tag_key', 'in', keys)
    .where('status', '=', 'completed');
  if (asOf) query = query.where('base_date', '<=', asOf);
  const rows = await query.orderBy('tag_key').orderBy('base_date', 'desc').orderBy('started_at', 'desc').execute();
  return new Map(rows.map((r) => [r.tag_key, { runId: r.id, baseDate: dateText(r.base_date) }]));
}

function valueExpression(type: ValueType): string {
  // Column names come from this module's fixed map.
  return type === 'date' ? `toString(${VALUE_COLUMN.date})` : VALUE_COLUMN[type];
}

/** How many people hold each value (the most common first), and how many have a value at all. */
export async function tagCoverage(stores: Stores, workspaceId: string, key: string, options: { asOf?: string; top?: number; viewer?: Pick<AuthenticatedKey, 'scope'> } = {}) {
  const tag = await getTag(stores, workspaceId, key);
  const run = await valueRun(stores, workspaceId, key, options.asOf);
  if (!run) return { tag, run: undefined, people: 0, values: [] as Array<{ value: string; people: number }> };
  const type = valueTypeOf(tag);
  // A team or staff member counts (and reads the values of) the people in their scope only.
  const scope = peopleScope(options.viewer ?? {}, workspaceId);
  const named = sql.with({ ws: workspaceId, tag: key, run: run.runId, top: options.top ?? 20 });
  const counted = named`SELECT count() AS n FROM tag_values WHERE workspace_id = {ws:String} AND tag = {tag:String} AND run_id = {run:String} AND ${scope}`.toQuery();
  const [total] = await stores.facts.query<{ n: string }>(counted.query, counted.params);
  const value =
    type === 'number' ? `toString(round(${VALUE_COLUMN.number}, 2))` : type === 'string_list' ? `arrayJoin(${VALUE_COLUMN.string_list})` : `toString(${valueExpression(type)})`;
  // The value expression is ours, by the tag's type.
  const byValue = named`SELECT ${sql.raw(value)} AS value, count() AS people FROM tag_values
     WHERE workspace_id = {ws:String} AND tag = {tag:String} AND run_id = {run:String} AND ${scope}
     GROUP BY value ORDER BY people DESC, value LIMIT {top:UInt32}`.toQuery();
  const values = await stores.facts.query<{ value: string; people: string }>(byValue.query, byValue.params);
  return { tag, run, people: Number(total.n), values: values.map((v) => ({ value: v.value, people: Number(v.people) })) };
}

/** A person's tags: each tag's value in its current run (or as of a date), with the run's base date. */
export async function personTags(stores: Stores, workspaceId: string, personId: number, asOf?: string) {
  const tags = await listTags(stores, workspaceId);
  const runs = new Map<string, { runId: string; baseDate: string }>();
  for (const tag of tags) {
    const run = await valueRun(stores, workspaceId, tag.key, asOf);
    if (run) runs.set(tag.key, run);
  }
  if (runs.size === 0) return [];
  const rows = await stores.facts.query<{ tag: string; v_string: string; v_number: number; v_bool: number; v_date: string; v_list: string[] }>(
    `SELECT tag, v_string, v_number, v_bool, toString(v_date) AS v_date, v_list FROM tag_values
     WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} AND run_id IN {runs:Array(String)}`,
    { ws: workspaceId, p: personId, runs: [...runs.values()].map((r) => r.runId) },
  );
  const byTag = new Map(rows.map((r) => [r.tag, r]));
  return tags.flatMap((tag) => {
    const row = byTag.get(tag.key);
    const run = runs.get(tag.key);
    if (!row || !run) return [];
    const type = valueTypeOf(tag);
    const value =
      type === 'number' ? Number(row.v_number) : type === 'boolean' ? row.v_bool === 1 : type === 'date' ? row.v_date : type === 'string_list' ? row.v_list : row.v_string;
    return [{ key: tag.key, name: tag.name, type, value, baseDate: run.baseDate, runId: run.runId }];
  });
}

/** A person's tags, and for manual ones who set the value and when. */
export async function personTagsWithAuthors(stores: Stores, workspaceId: string, personId: number, asOf?: string) {
  const tags = await personTags(stores, workspaceId, personId, asOf);
  const manual = new Set((await listTags(stores, workspaceId)).filter((t) => t.kind === 'manual').map((t) => t.key));
  return Promise.all(
    tags.map(async (t) => {
      if (!manual.has(t.key)) return t;
      const [set] = await manualValues(stores, workspaceId, t.key, personId);
      return set ? { ...t, setBy: set.setBy, setAt: set.setAt } : t;
    }),
  );
}

export type TagValue = string | number | boolean | string[];

/** Checks a value against a manual tag's type and options; text (from a command line) is converted. */
export function manualValue(tag: Pick<ManualTag, 'key' | 'valueType' | 'options'>, raw: unknown): TagValue {
  // A validation error like any other input's: 400 over HTTP, one line on the command line.
  const invalid = (message: string) => new ZodError([{ code: 'custom', path: ['value'], message, input: raw }]);
  const fail = (expected: string): never => {
    throw invalid(`tag "${tag.key}" takes ${expected}; got ${JSON.stringify(raw)}`);
  };
  let value: TagValue;
  switch (tag.valueType) {
    case 'number':
      value = typeof raw === 'number' ? raw : Number(raw);
      if (typeof raw === 'boolean' || raw === '' || !Number.isFinite(value)) fail('a number');
      break;
    case 'boolean':
      value = raw === true || raw === 'true' ? true : raw === false || raw === 'false' ? false : fail('true or false');
      break;
    case 'date':
      value = typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(raw) && !Number.isNaN(Date.parse(raw)) ? raw : fail('a date like 2026-06-30');
      break;
    case 'string_list':
      value = Array.isArray(raw)
        ? raw.map(String)
        : typeof raw === 'string'
          ? raw
              .split(',')
              .map((v) => v.trim())
              .filter(Boolean)
          : fail('a list of text values');
      break;
    default:
      value = typeof raw === 'string' && raw.trim() ? raw.trim() : fail('a non-empty text');
  }
  if (tag.options) {
    const chosen = Array.isArray(value) ? value : [String(value)];
    const unknown = chosen.filter((v) => !tag.options!.includes(v));
    if (unknown.length > 0) throw invalid(`tag "${tag.key}" takes one of ${tag.options.join(', ')}; got ${unknown.join(', ')}`);
  }
  return value;
}

/** Sets (or with `value` undefined, removes) a manual tag's value on a person, recording who did it. */
export async function setManualValue(stores: Stores, workspaceId: string, key: string, personId: number, value: unknown, actor: string): Promise<TagValue | undefined> {
  const tag = await getTag(stores, workspaceId, key);
  if (tag.kind !== 'manual') throw new ConflictError(`tag "${key}" is computed (${tag.kind}); only manual tags are set by hand`);
  const db = stores.state.db;
  if (value === undefined) {
    await db.deleteFrom('manual_tag_values').where('workspace_id', '=', workspaceId).where('tag_key', '=', key).where('person_id', '=', personId).execute();
    return undefined;
  }
  const checked = manualValue(tag, value);
  await db
    .insertInto('manual_tag_values')
    // Wrapped in an object: a bare JSON string would be ambiguous to read back from either driver.
    .values({ workspace_id: workspaceId, tag_key: key, person_id: personId, value: JSON.stringify({ v: checked }), set_by: actor })
    .onConflict((oc) => oc.columns(['workspace_id', 'tag_key', 'person_id']).doUpdateSet({ value: JSON.stringify({ v: checked }), set_by: actor, set_at: new Date() }))
    .execute();
  return checked;
}

/** A manual tag's values as set, with who set each and when. */
export async function manualValues(stores: Stores, workspaceId: string, key: string, personId?: number) {
  let query = stores.state.db.selectFrom('manual_tag_values').selectAll().where('workspace_id', '=', workspaceId).where('tag_key', '=', key);
  if (personId !== undefined) query = query.where('person_id', '=', personId);
  return (await query.execute()).map((r) => ({
    personId: Number(r.person_id),
    value: ((typeof r.value === 'string' ? JSON.parse(r.value) : r.value) as { v: TagValue }).v,
    setBy: r.set_by,
    setAt: new Date(r.set_at).toISOString(),
  }));
}
