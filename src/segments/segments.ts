/**
 * Segments in the stores: definitions in the state store; members computed in the facts store from
 * the compiled tree, as an exact count, a quick estimate, or a sample of people.
 */
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import type { AuthenticatedKey, Role } from '../access/keys.ts';
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import { identitySourcesScope, peopleScope, scopeOf } from '../access/scope.ts';
import { dateInZone } from '../kernel/time.ts';
import { listTags, valueRun, valueRuns } from '../tags/store.ts';
import { valueTypeOf } from '../tags/definition.ts';
import { maskIdentifier, seesPersonalData } from '../access/masking.ts';
import { segmentSchema, type Condition, type Segment } from '../contract/segments.ts';
import { nodes, segmentReferences } from './definition.ts';
import { hasChangesSince, recentBuild, usable } from './behaviour.ts';
import { compileSegment, tagRunKey, type CompileContext, type CompiledSegment } from './compile.ts';
import { sql, type SqlFragment } from '../facts/sql.ts';

function parse(raw: unknown): Segment {
  return segmentSchema.parse(typeof raw === 'string' ? JSON.parse(raw) : raw);
}

export async function listSegments(stores: Stores, workspaceId: string): Promise<Segment[]> {
  const rows = await stores.state.db.selectFrom('segments').select('definition').where('workspace_id', '=', workspaceId).orderBy('key').execute();
  return rows.map((r) => parse(r.definition));
}

export async function getSegment(stores: Stores, workspaceId: string, key: string): Promise<Segment> {
  const row = await stores.state.db.selectFrom('segments').select('definition').where('workspace_id', '=', workspaceId).where('key', '=', key).executeTakeFirst();
  if (!row) throw new NotFoundError(`no segment "${key}" in this workspace`);
  return parse(row.definition);
}

/** Saves a segment after checking what it reads exists and that no segment ends up reading itself. */
export async function saveSegment(stores: Stores, workspaceId: string, input: unknown, options: { replace?: boolean } = {}): Promise<Segment> {
  const segment = segmentSchema.parse(input);
  const existing = await stores.state.db.selectFrom('segments').select('key').where('workspace_id', '=', workspaceId).where('key', '=', segment.key).executeTakeFirst();
  if (existing && !options.replace) throw new ConflictError(`segment "${segment.key}" exists already (replace it to change it)`);
  await context(stores, workspaceId, segment);
  await stores.state.db
    .insertInto('segments')
    .values({ workspace_id: workspaceId, key: segment.key, definition: JSON.stringify(segment) })
    .onConflict((oc) => oc.columns(['workspace_id', 'key']).doUpdateSet({ definition: JSON.stringify(segment), updated_at: new Date() }))
    .execute();
  return segment;
}

export async function deleteSegment(stores: Stores, workspaceId: string, key: string): Promise<void> {
  const readers = (await listSegments(stores, workspaceId)).filter((s) => s.key !== key && segmentReferences(s.conditions).includes(key));
  if (readers.length > 0) throw new ConflictError(`segment "${key}" is read by ${readers.map((s) => s.key).join(', ')}`);
  const { numDeletedRows } = await stores.state.db.deleteFrom('segments').where('workspace_id', '=', workspaceId).where('key', '=', key).executeTakeFirst();
  if (Number(numDeletedRows) === 0) throw new NotFoundError(`no segment "${key}" in this workspace`);
  // Its snapshots and imported list go with it.
  await stores.state.db.deleteFrom('segment_snapshots').where('workspace_id', '=', workspaceId).where('segment_key', '=', key).execute();
  for (const table of ['segment_members', 'segment_lists']) {
    await stores.facts.command(`ALTER TABLE ${table} DELETE WHERE workspace_id = {ws:String} AND segment = {segment:String}`, { ws: workspaceId, segment: key });
  }
}

/**
 * What compiling a tree needs: today in the workspace's zone, the run each tag condition reads (the
 * current one, or as of its date), and the segments it reads, transitively (a cycle is an error).
 */
async function context(
  stores: Stores,
  workspaceId: string,
  segment: Pick<Segment, 'conditions'> & { key?: string },
  slice?: number,
  today?: string,
  now?: number,
): Promise<CompileContext> {
  const segments = new Map<string, Segment>();
  const pending = [...segmentReferences(segment.conditions)];
  const all: Condition[] = [...nodes(segment.conditions)];
  while (pending.length > 0) {
    const key = pending.pop()!;
    if (segments.has(key)) continue;
    if (key === segment.key) throw new ConflictError(`segment "${key}" would read itself`);
    const other = await getSegment(stores, workspaceId, key).catch(() => {
      throw new NotFoundError(`the tree reads segment "${key}", which does not exist`);
    });
    segments.set(key, other);
    all.push(...nodes(other.conditions));
    pending.push(...segmentReferences(other.conditions));
  }
  const tagNodes = new Map<string, Extract<Condition, { type: 'tag' }>>();
  for (const node of all) if (node.type === 'tag') tagNodes.set(tagRunKey(node.tag, node.asOf), node);
  const behaviourNodes = all.some((node) => node.type === 'event' || node.type === 'sequence');
  // Every count starts here, so the lookups run side by side: the state store's (workspace, tags and
  // their runs) and the facts store's (what is kept as bitmaps, the behaviour index's build).
  const workspace = new WorkspaceService(stores.state).get(workspaceId);
  const [{ timeZone }, tags, runs, everyoneBitmap, behaviour] = await Promise.all([
    workspace,
    tagNodes.size > 0 ? listTags(stores, workspaceId) : [],
    tagRunIds(stores, workspaceId, [...tagNodes.values()]).then(async (ids) => {
      const withBitmaps = await runsKept(
        stores,
        workspaceId,
        ids.filter((id): id is string => id !== undefined),
      );
      return ids.map((runId) => ({ runId, bitmaps: runId !== undefined && withBitmaps.has(runId) }));
    }),
    everyoneKept(stores, workspaceId),
    behaviourNodes
      ? behaviourContext(
          stores,
          workspaceId,
          workspace.then((w) => w.timeZone),
        )
      : undefined,
  ]);
  const tagsByKey = new Map(tags.map((t) => [t.key, t]));
  for (const node of tagNodes.values()) if (!tagsByKey.has(node.tag)) throw new NotFoundError(`the tree reads tag "${node.tag}", which does not exist`);
  const tagRuns = new Map<string, { runId?: string; type: ReturnType<typeof valueTypeOf>; bitmaps?: boolean }>();
  [...tagNodes].forEach(([key, node], i) => tagRuns.set(key, { ...runs[i], type: valueTypeOf(tagsByKey.get(node.tag)!) }));
  const ctx: CompileContext = { now, today: today ?? dateInZone(timeZone), timeZone, workspaceId, tagRuns, segments, slice, everyoneBitmap, behaviour };
  // Compiling checks for cycles through segment references.
  compileSegment({ match: 'all', conditions: segment.conditions, key: segment.key }, ctx);
  return ctx;
}

/** The run each tag node reads: the current ones in one query, those as of a date one by one. */
async function tagRunIds(stores: Stores, workspaceId: string, nodes: Array<Extract<Condition, { type: 'tag' }>>): Promise<Array<string | undefined>> {
  const current = await valueRuns(stores, workspaceId, [...new Set(nodes.filter((n) => !n.asOf).map((n) => n.tag))]);
  return Promise.all(nodes.map(async (node) => (node.asOf ? (await valueRun(stores, workspaceId, node.tag, node.asOf))?.runId : current.get(node.tag)?.runId)));
}

/**
 * What is kept in the facts store: whether everyone is kept as a bitmap, which tag runs are, and (for
 * trees with behaviour) the behaviour index's build and whether anyone changed since it. Every count
 * asks, so what cannot be undone is remembered (everyone's bitmap, a run's bitmaps: both are only
 * ever added) and the build is read at most every 30 s; only "changed since" is asked each time.
 */
const knownKept = new WeakMap<Stores, Map<string, { everyone: boolean; runs: Set<string> }>>();

function keptIn(stores: Stores, workspaceId: string): { everyone: boolean; runs: Set<string> } {
  const byWorkspace = knownKept.get(stores) ?? new Map<string, { everyone: boolean; runs: Set<string> }>();
  knownKept.set(stores, byWorkspace);
  const known = byWorkspace.get(workspaceId) ?? { everyone: false, runs: new Set<string>() };
  byWorkspace.set(workspaceId, known);
  return known;
}

async function everyoneKept(stores: Stores, workspaceId: string): Promise<boolean> {
  const known = keptIn(stores, workspaceId);
  if (!known.everyone) known.everyone = (await stores.facts.query(`SELECT 1 FROM people_bitmaps WHERE workspace_id = {ws:String} LIMIT 1`, { ws: workspaceId })).length > 0;
  return known.everyone;
}

/** The runs known to be kept as bitmaps per value, after looking up (in one query) those of `runIds` not known yet. */
async function runsKept(stores: Stores, workspaceId: string, runIds: string[]): Promise<Set<string>> {
  const known = keptIn(stores, workspaceId);
  const unknown = runIds.filter((id) => !known.runs.has(id));
  if (unknown.length > 0) {
    const rows = await stores.facts.query<{ run_id: string }>(`SELECT DISTINCT run_id FROM tag_bitmaps WHERE workspace_id = {ws:String} AND run_id IN {runs:Array(String)}`, {
      ws: workspaceId,
      runs: unknown,
    });
    for (const row of rows) known.runs.add(row.run_id);
  }
  return known.runs;
}

async function behaviourContext(stores: Stores, workspaceId: string, timeZone: Promise<string>): Promise<CompileContext['behaviour']> {
  const build = await recentBuild(stores, workspaceId);
  if (!usable(build, await timeZone)) return undefined;
  return { watermark: build.watermark, changed: await hasChangesSince(stores, workspaceId, build), bits: build.bits };
}

/**
 * A tree to evaluate; `today` (YYYY-MM-DD) moves relative windows (default: today in the workspace's
 * zone) and `now` (Unix seconds) the moment a sequence's time to act is judged at (default: now).
 */
export type SegmentTree = Pick<Segment, 'match' | 'conditions'> & { key?: string; today?: string; now?: number; viewer?: Viewer };
/** Who reads the members: a caller with a team or staff scope sees only the members in it. */
export type Viewer = Pick<AuthenticatedKey, 'scope'>;

/** The members the viewer may see (no bitmap shortcut then: the scope is a scan). */
function withinScope(compiled: CompiledSegment, viewer: Viewer | undefined, workspaceId: string): CompiledSegment {
  if (!viewer || !scopeOf(viewer)) return compiled;
  const scoped = sql`SELECT person_id FROM (${sql.raw(compiled.sql, compiled.params)}) WHERE ${peopleScope(viewer, workspaceId)}`.toQuery();
  return { sql: scoped.query, params: scoped.params };
}

export async function compileFor(stores: Stores, workspaceId: string, segment: SegmentTree, slice?: number): Promise<CompiledSegment> {
  return withinScope(compileSegment(segment, await context(stores, workspaceId, segment, slice, segment.today, segment.now)), segment.viewer, workspaceId);
}

/** The members (SELECT person_id) as a fragment carrying its own parameters: it composes with others without renaming. */
export async function membersSql(stores: Stores, workspaceId: string, segment: SegmentTree): Promise<SqlFragment> {
  const compiled = await compileFor(stores, workspaceId, segment);
  return sql.raw(compiled.sql, compiled.params);
}

/** The exact number of people in a segment. */
export async function countSegment(stores: Stores, workspaceId: string, segment: SegmentTree): Promise<{ people: number; seconds: number; method: 'bitmaps' | 'scan' }> {
  const started = performance.now();
  const { sql, params, bitmap } = await compileFor(stores, workspaceId, segment);
  // A tree over tags only is bitmap algebra: its cardinality, without listing anyone.
  const [row] = await stores.facts.query<{ n: string }>(bitmap ? `SELECT bitmapCardinality(${bitmap}) AS n` : `SELECT count() AS n FROM (${sql})`, params);
  return { people: Number(row.n), seconds: (performance.now() - started) / 1000, method: bitmap ? ('bitmaps' as const) : ('scan' as const) };
}

/**
 * A quick estimate while editing: the tree over 1 person in `slice` (by a hash of the id), scaled
 * up, with a 95% interval. Small populations are counted exactly.
 */
export async function estimateSegment(stores: Stores, workspaceId: string, segment: SegmentTree, slice = 16) {
  const started = performance.now();
  const ctx = await context(stores, workspaceId, segment, undefined, segment.today, segment.now);
  const scoped = segment.viewer !== undefined && scopeOf(segment.viewer) !== undefined;
  if (slice > 1 && !scoped) {
    // Bitmap algebra reads only the sets the leaves select: exact, and faster than a sample that scans everyone.
    const whole = compileSegment(segment, ctx);
    if (whole.bitmap) {
      const [row] = await stores.facts.query<{ n: string }>(`SELECT bitmapCardinality(${whole.bitmap}) AS n`, whole.params);
      const n = Number(row.n);
      return { estimate: n, low: n, high: n, slice: 1, seconds: (performance.now() - started) / 1000 };
    }
  }
  const { sql, params } = withinScope(compileSegment(segment, { ...ctx, slice }), segment.viewer, workspaceId);
  const [row] = await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM (${sql})`, params);
  const sampled = Number(row.n);
  // Binomial sampling of members at rate 1/slice.
  const estimate = sampled * slice;
  const margin = Math.round(1.96 * Math.sqrt(sampled * (1 - 1 / slice)) * slice);
  return { estimate, low: Math.max(0, estimate - margin), high: estimate + margin, slice, seconds: (performance.now() - started) / 1000 };
}

/** A few members with their identifiers (masked unless the role sees personal data). */
export async function sampleSegment(stores: Stores, workspaceId: string, segment: SegmentTree, options: { limit?: number; role?: Role } = {}) {
  const members = await membersSql(stores, workspaceId, segment);
  const limit = Math.min(Math.max(options.limit ?? 20, 1), 1000);
  // A team sees the identifiers its own sources brought.
  const sources = identitySourcesScope(segment.viewer ?? {});
  const sample = sql`SELECT m.person_id AS person_id, groupArray((pi.type, pi.value)) AS identifiers
     FROM (SELECT person_id FROM (${members}) ORDER BY cityHash64(person_id) LIMIT ${sql.param(limit, 'UInt32')}) AS m
     LEFT JOIN (SELECT person_id, type, value FROM person_identities FINAL WHERE workspace_id = ${workspaceId} AND ${sources}) AS pi ON m.person_id = pi.person_id
     GROUP BY m.person_id ORDER BY cityHash64(m.person_id)`.toQuery();
  const rows = await stores.facts.query<{ person_id: string; identifiers: Array<[string, string]> }>(sample.query, sample.params);
  const clear = options.role === undefined || seesPersonalData(options.role);
  return rows.map((r) => ({
    personId: Number(r.person_id),
    identifiers: r.identifiers.filter(([type]) => type !== '').map(([type, value]) => ({ type, value: clear ? value : maskIdentifier(type, value) })),
  }));
}
