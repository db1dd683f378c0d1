/**
 * OneID resolution: records that share a normalised identifier value become one person, under the
 * rules of each identifier type — priority order, single-valued types that never let one person hold
 * two values, and hub protection for values shared by more people than their cap. Person ids are
 * dense integers and stable: a person keeps their id unless they merge (the older id stays) or split.
 *
 * The work is columnar: the run's records are numbered in a snapshot table, ClickHouse groups the
 * identifier values and sends back numbers only (value, type, record), and the linking runs over
 * typed arrays. Strings come back only for the few values a decision log names.
 */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';
import { readUint32Rows } from '../stores/facts/facts-store.ts';
import type { IdentifierType } from './identifier-types.ts';
import { loadIdentifierTypes } from './identifier-store.ts';
import { suppressionSql } from './suppression.ts';
import { nextVersion } from '../facts/version-clock.ts';
import { fuzzyCandidates, type Candidate, type FuzzyOptions } from './fuzzy.ts';
import { fuzzyOptionsFor } from './settings.ts';

export interface ResolveOptions {
  workspaceId: string;
  /** Recompute every record; otherwise only records not yet given a person and those they touch. */
  full?: boolean;
  /** Recompute these people's records (after an unbind or unmerge). */
  people?: number[];
  /** Probabilistic matching after the deterministic links (default: the workspace's OneID settings). */
  fuzzy?: Partial<FuzzyOptions> | false;
  /** From how many moved records the joins with them sort and merge instead of hashing (default 1M). */
  sortJoinsFrom?: number;
  /** Called as each step of the run ends, with its seconds (progress for a long run). */
  onStep?: (step: string, seconds: number) => void;
}

/** A hidden single-valued type: records given different labels by an unmerge never link again. */
const PARTITION_TYPE = '__partition';

export interface ResolveSummary {
  runId: string;
  records: number;
  people: number;
  newPeople: number;
  merges: number;
  splits: number;
  /** Links made by probabilistic matching, and borderline pairs queued for review. */
  fuzzyLinks: number;
  reviews: number;
  hubs: number;
  conflicts: number;
  reassigned: number;
  seconds: number;
  /** Seconds per step: where a run's time went. */
  steps: Record<string, number>;
}

/** Union–find over record numbers, with path halving and union by size. */
class DisjointSets {
  readonly parent: Int32Array;
  readonly size: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    this.size = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }
  union(a: number, b: number): number {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return ra;
    if (this.size[ra] < this.size[rb]) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra] += this.size[rb];
    return ra;
  }
}

/**
 * Identifier values as numbers: edge k says record `member[k]` carries value `group[k]` of type
 * `type[k]` (1-based, in `typeNames`). Edges are sorted by group, groups by type in linking order.
 */
export interface ValueEdges {
  group: Uint32Array;
  type: Uint32Array;
  member: Uint32Array;
}

/** A decision to log, with values as group numbers (their text is fetched afterwards). */
export interface LinkDecision {
  hubs: Array<{ type: string; group: number; people: number; cap: number }>;
  conflicts: Array<{ type: string; kept: number; refused: number; via: string }>;
}

export type TryLink = (a: number, b: number, via: string) => boolean;

/**
 * Links records by shared values. `typeNames[t - 1]` names type t; the first `linkable` of them are
 * linked, highest priority first: account ids (cap 1) without a hub check, then values people share
 * or mistype (phone, email, device) only while the people they join stay within the cap. Every type
 * that is single-valued never lets one person hold two of its values: the later (lower-priority) link
 * is refused and recorded. `labels` are extra single-valued values per record (unmerge partitions).
 */
function linkValues(
  records: number,
  edges: ValueEdges,
  types: ReadonlyArray<IdentifierType>,
  linkable: number,
  labels: Map<number, number>,
  extraLinks?: (sets: DisjointSets, tryLink: TryLink) => void,
): { sets: DisjointSets; decision: LinkDecision } {
  const sets = new DisjointSets(records);
  const decision: LinkDecision = { hubs: [], conflicts: [] };
  // Each single-valued type's value per component root (-1: none), plus one slot for partition labels.
  const slotOfType = new Int32Array(types.length + 1).fill(-1);
  const slotNames: string[] = [];
  types.forEach((type, i) => {
    if (type.singleValued) {
      slotOfType[i + 1] = slotNames.length;
      slotNames.push(type.name);
    }
  });
  const slots: Int32Array[] = slotNames.map(() => new Int32Array(records).fill(-1));
  if (labels.size > 0) {
    const slot = new Int32Array(records).fill(-1);
    for (const [record, label] of labels) slot[record] = label;
    slots.push(slot);
    slotNames.push(PARTITION_TYPE);
  }
  const { group, type, member } = edges;
  // A record's own value of a single-valued type (the first, if it holds several as given).
  for (let k = 0; k < group.length; k++) {
    const slot = slotOfType[type[k]];
    if (slot >= 0 && slots[slot][member[k]] < 0) slots[slot][member[k]] = group[k];
  }

  const tryLink: TryLink = (x, y, via) => {
    const ra = sets.find(x);
    const rb = sets.find(y);
    if (ra === rb) return true;
    for (let s = 0; s < slots.length; s++) {
      const a = slots[s][ra];
      const b = slots[s][rb];
      if (a >= 0 && b >= 0 && a !== b) {
        decision.conflicts.push({ type: slotNames[s], kept: a, refused: b, via });
        return false;
      }
    }
    const root = sets.union(ra, rb);
    for (let s = 0; s < slots.length; s++) {
      const slot = slots[s];
      if (slot[root] < 0) slot[root] = slot[root === ra ? rb : ra];
    }
    return true;
  };

  const roots: number[] = [];
  for (let start = 0; start < group.length; ) {
    let end = start + 1;
    while (end < group.length && group[end] === group[start]) end++;
    const t = type[start];
    if (t <= linkable && end - start >= 2) {
      const idType = types[t - 1];
      roots.length = 0;
      for (let k = start; k < end; k++) {
        const root = sets.find(member[k]);
        if (!roots.includes(root)) roots.push(root);
        if (roots.length > idType.maxPeoplePerValue && idType.maxPeoplePerValue > 1) break;
      }
      if (roots.length > 1) {
        if (idType.maxPeoplePerValue > 1 && roots.length > idType.maxPeoplePerValue) {
          decision.hubs.push({ type: idType.name, group: group[start], people: countRoots(sets, member, start, end), cap: idType.maxPeoplePerValue });
        } else {
          let anchor = member[start];
          const via = `${idType.name}#${group[start]}`;
          for (let k = start + 1; k < end; k++) if (tryLink(anchor, member[k], via)) anchor = member[k];
        }
      }
    }
    start = end;
  }
  extraLinks?.(sets, tryLink);
  return { sets, decision };
}

function countRoots(sets: DisjointSets, member: Uint32Array, start: number, end: number): number {
  const roots = new Set<number>();
  for (let k = start; k < end; k++) roots.add(sets.find(member[k]));
  return roots.size;
}

/** Gives each component a person id: existing ids are kept where they can be, merges keep the older. */
function assignPeople(
  previous: Uint32Array,
  sets: DisjointSets,
  nextId: number,
): { people: Float64Array; merges: Array<{ kept: number; absorbed: number[] }>; splits: Array<{ person: number; newPeople: number[] }>; newPeople: number; nextId: number } {
  const n = previous.length;
  const roots = new Int32Array(n);
  let maxPrevious = 0;
  for (let i = 0; i < n; i++) {
    roots[i] = sets.find(i);
    if (previous[i] > maxPrevious) maxPrevious = previous[i];
  }
  // A previous person's id goes to the component holding most of its records. Nearly everyone's
  // records sit in one component; only people spread over several are counted in detail.
  const firstRoot = new Int32Array(maxPrevious + 1).fill(-1);
  const spread = new Map<number, Map<number, number>>();
  for (let i = 0; i < n; i++) {
    const p = previous[i];
    if (p === 0) continue;
    if (firstRoot[p] < 0) firstRoot[p] = roots[i];
    else if (firstRoot[p] !== roots[i]) spread.set(p, new Map());
  }
  for (let i = 0; i < n; i++) {
    const counts = spread.get(previous[i]);
    if (counts) counts.set(roots[i], (counts.get(roots[i]) ?? 0) + 1);
  }
  const idOfRoot = new Float64Array(n).fill(-1);
  const mergeOfRoot = new Map<number, { kept: number; absorbed: number[] }>();
  for (let p = 1; p <= maxPrevious; p++) {
    if (firstRoot[p] < 0) continue;
    let claim = firstRoot[p];
    const counts = spread.get(p);
    if (counts) {
      let bestCount = -1;
      for (const [root, count] of counts) if (count > bestCount || (count === bestCount && root < claim)) [claim, bestCount] = [root, count];
    }
    // People are visited in id order, so the first to claim a component is the oldest.
    if (idOfRoot[claim] < 0) idOfRoot[claim] = p;
    else {
      let merge = mergeOfRoot.get(claim);
      if (!merge) mergeOfRoot.set(claim, (merge = { kept: idOfRoot[claim], absorbed: [] }));
      merge.absorbed.push(p);
    }
  }
  const people = new Float64Array(n);
  const fresh = new Uint8Array(n);
  let newPeople = 0;
  let id = nextId;
  const splitsByPerson = new Map<number, Set<number>>();
  for (let i = 0; i < n; i++) {
    const root = roots[i];
    if (idOfRoot[root] < 0) {
      idOfRoot[root] = id++;
      fresh[root] = 1;
      newPeople++;
    }
    people[i] = idOfRoot[root];
    if (fresh[root] && previous[i] > 0) {
      let ids = splitsByPerson.get(previous[i]);
      if (!ids) splitsByPerson.set(previous[i], (ids = new Set()));
      ids.add(people[i]);
    }
  }
  const splits = [...splitsByPerson].map(([person, ids]) => ({ person, newPeople: [...ids] }));
  return { people, merges: [...mergeOfRoot.values()], splits, newPeople, nextId: id };
}

const FACT_OWNERS: Array<{ table: string; kind: string; source?: string; recordColumn: string }> = [
  { table: 'orders', kind: 'order', recordColumn: 'order_id' },
  { table: 'order_lines', kind: 'order', recordColumn: 'order_id' },
  { table: 'shipments', kind: 'order', recordColumn: 'order_id' },
  { table: 'refunds', kind: 'order', recordColumn: 'order_id' },
  { table: 'contacts', kind: 'contact', source: 'wecom', recordColumn: 'external_userid' },
  { table: 'events', kind: 'identity', source: 'sdk', recordColumn: 'identity_key' },
  // Events written before identity records existed were records of their own.
  { table: 'events', kind: 'event', source: 'sdk', recordColumn: 'message_id' },
];

interface EvidenceRow {
  idx: number;
  source: string;
  kind: string;
  record_id: string;
  identifiers: Array<{ type: string; value: string }>;
  name: string;
  masked_phone: string;
  address: string;
  birthday: string;
}

/**
 * Inserts of resolution never hold two rows with one key, so the per-block replacing pass that
 * ReplacingMergeTree runs on insert is skipped: it more than halves the time of these writes.
 */
const NO_INSERT_DEDUP = 'SETTINGS optimize_on_insert = 0, max_insert_threads = 2';
/**
 * When millions of records move, the joins with them are sort-merge joins: a hash table of millions
 * of keys cost more (measured on 10M records: moving them 5.6 s instead of 9.6 s, their identities
 * 8.3 s instead of 10.4 s, and 1.3 GiB less). A few moved records are a small hash table instead
 * (sorting every record for them tripled an incremental run's move).
 */
const MANY_MOVED = 1_000_000;
const joinFor = (moved: number, from = MANY_MOVED) => (moved >= from ? `, join_algorithm = 'full_sorting_merge'` : '');

/** Scratch partitions of one run (ids are generated here, never user input). */
const RUN_TABLES = ['resolution_records', 'resolution_values'];

/**
 * The people a run gave its records, in a table of the run's own: its lines then carry no run id,
 * which halves the text sent for millions of records.
 */
function changesTable(runId: string): string {
  if (!/^res_[0-9a-f]+$/.test(runId)) throw new Error(`invalid run id ${runId}`);
  return `resolution_changes_${runId.slice(4)}`;
}

async function dropRun(facts: Stores['facts'], runId: string): Promise<void> {
  // Partition ids and table names cannot be bound parameters; the run id is generated and checked.
  for (const table of RUN_TABLES) await facts.command(`ALTER TABLE ${table} DROP PARTITION '${runId}'`).catch(() => undefined);
  await facts.command(`DROP TABLE IF EXISTS ${changesTable(runId)}`).catch(() => undefined);
}

export async function resolveIdentities(stores: Stores, options: ResolveOptions): Promise<ResolveSummary> {
  const runId = `res_${crypto.randomBytes(6).toString('hex')}`;
  try {
    return await resolveRun(stores, options, runId);
  } finally {
    await dropRun(stores.facts, runId);
  }
}

/** One run's shared ground: where it writes, what it reads with, and the clock of its steps. */
interface RunContext {
  stores: Stores;
  options: ResolveOptions;
  ws: string;
  runId: string;
  /** The bound parameters every run-scoped statement takes. */
  run: { ws: string; run: string };
  /** Ends a named step: its seconds go to the summary. */
  step: (name: string) => void;
}

async function resolveRun(stores: Stores, options: ResolveOptions, runId: string): Promise<ResolveSummary> {
  const started = Date.now();
  const steps: Record<string, number> = {};
  let stepStarted = performance.now();
  const ctx: RunContext = {
    stores,
    options,
    ws: options.workspaceId,
    runId,
    run: { ws: options.workspaceId, run: runId },
    step: (name) => {
      const now = performance.now();
      steps[name] = Math.round(now - stepStarted) / 1000;
      stepStarted = now;
      options.onStep?.(name, steps[name]);
    },
  };
  const types = await loadIdentifierTypes(stores.state, ctx.ws);
  const pendingRows = await pendingPeopleOf(ctx);
  const { n, previous, maxPerson } = await takeSnapshot(
    ctx,
    pendingRows.map((p) => p.person),
  );
  const overrides = await readOverrides(ctx);
  const values = await groupSharedValues(ctx, types, overrides.unbound);
  const evidence = await readEvidence(ctx, overrides.unbound);
  const linked = await linkRecords(ctx, n, previous, maxPerson, values, overrides, evidence);
  const reassigned = await writeChanges(ctx, n, previous, linked.assigned.people);
  if (reassigned > 0) await moveRecordsAndFacts(ctx, reassigned);
  await rebuildPersonIdentities(
    ctx,
    n,
    reassigned,
    overrides.unbound,
    pendingRows.map((p) => p.person),
  );
  if (pendingRows.length > 0 && !options.people?.length) {
    await stores.facts.insertRows(
      'resolution_pending',
      pendingRows.map((p) => ({ workspace_id: ctx.ws, person_id: p.person, version: p.version, is_deleted: 1 })),
    );
  }
  const reviews = await queueReviews(ctx, linked.reviews, linked.sets);
  await writeDecisionLog(ctx, linked.assigned, linked.decision, overrides.labelIds);
  ctx.step('log');
  const people = await countPeople(ctx, n, linked.assigned);
  ctx.step('count people');
  return {
    runId,
    records: n,
    people,
    newPeople: linked.assigned.newPeople,
    merges: linked.assigned.merges.length,
    splits: linked.assigned.splits.length,
    fuzzyLinks: linked.fuzzyLinks,
    reviews,
    hubs: linked.decision.hubs.length,
    conflicts: linked.decision.conflicts.length,
    reassigned,
    seconds: (Date.now() - started) / 1000,
    steps,
  };
}

/**
 * People whose records changed after they were resolved, read with their versions (so that a later
 * change is not cleared with them).
 */
async function pendingPeopleOf(ctx: RunContext): Promise<Array<{ person: number; version: string }>> {
  const rows = await ctx.stores.facts.query<{ person_id: string; version: string }>(
    `SELECT person_id, version FROM resolution_pending FINAL WHERE workspace_id = {ws:String}`,
    ctx.run,
  );
  return rows.map((row) => ({ person: Number(row.person_id), version: row.version }));
}

/**
 * The records that take part, numbered in key order in the run's snapshot (so that a re-run sees them
 * in the same order): all (full), the people asked for, or the unresolved records and every record of
 * any person that shares an identifier value with them (the only people a new record can change).
 * Returns how many, each one's person before the run, and the highest person id in use.
 */
async function takeSnapshot(ctx: RunContext, pendingPeople: number[]): Promise<{ n: number; previous: Uint32Array; maxPerson: number }> {
  const { facts } = ctx.stores;
  const { options, ws, run } = ctx;
  let scope: string;
  let scopeParams: Record<string, unknown> = { pending: pendingPeople };
  if (options.people && options.people.length > 0) {
    scope = 'person_id IN {people:Array(UInt64)}';
    scopeParams = { people: options.people };
  } else if (options.full) scope = '1';
  else {
    scope = `(person_id = 0 OR person_id IN {pending:Array(UInt64)} OR person_id IN (
      SELECT DISTINCT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND (type, value) IN (
        SELECT DISTINCT tupleElement(id, 1), tupleElement(id, 2) FROM source_records FINAL ARRAY JOIN identifiers AS id
        WHERE workspace_id = {ws:String} AND (person_id = 0 OR person_id IN {pending:Array(UInt64)}))))`;
  }
  // Identifiers of people erased on request (PIPL) link no one again, whatever brought them.
  const suppression = await suppressionSql(ctx.stores, ws);
  await facts.command(
    `INSERT INTO resolution_records (workspace_id, run_id, idx, source, kind, record_id, person_id, identifiers, name, masked_phone, address, birthday)
     SELECT {ws:String}, {run:String}, toUInt32(rowNumberInAllBlocks()), source, kind, record_id, person_id, kept_identifiers, name, masked_phone, address, birthday
     FROM (SELECT source, kind, record_id, person_id, ${suppression.kept('identifiers')} AS kept_identifiers, name, masked_phone, address, birthday FROM source_records FINAL
           WHERE workspace_id = {ws:String} AND ${scope} ORDER BY source, kind, record_id)`,
    { ...run, ...scopeParams, ...suppression.params },
  );
  ctx.step('snapshot');
  const [counts] = await facts.query<{ n: string; maxPerson: string }>(
    `SELECT (SELECT count() FROM resolution_records WHERE workspace_id = {ws:String} AND run_id = {run:String}) AS n,
            (SELECT max(person_id) FROM source_records FINAL WHERE workspace_id = {ws:String}) AS maxPerson`,
    run,
  );
  const n = Number(counts.n);
  const [previous] = await readUint32Rows(
    facts.queryRowBinary(`SELECT toUInt32(person_id) FROM resolution_records WHERE workspace_id = {ws:String} AND run_id = {run:String} ORDER BY idx`, run),
    1,
    n,
  );
  ctx.step('previous people');
  return { n, previous, maxPerson: Number(counts.maxPerson ?? 0) };
}

/** What people decided by hand: values unbound, records kept apart (partitions), pairs accepted from review. */
interface Overrides {
  /** `type\u0001value` of each unbound value: it links no one. */
  unbound: string[];
  /** Records given a partition label by an unmerge (record key → label). */
  partitionKeys: ReadonlyArray<readonly [string, string]>;
  /** Pairs of record keys a reviewer accepted as one person. */
  accepted: ReadonlyArray<readonly [string, string]>;
  /** Record keys the overrides name → their number in the snapshot (filled by linkRecords). */
  idxOf: Map<string, number>;
  /** Partition label → its number, for the decision log. */
  labelIds: Map<string, number>;
}

async function readOverrides(ctx: RunContext): Promise<Overrides> {
  const overrides = await ctx.stores.state.db.selectFrom('identity_overrides').selectAll().where('workspace_id', '=', ctx.ws).execute();
  const recordKey = (o: (typeof overrides)[number]) => `${o.record_source}:${o.record_kind}:${o.record_id}`;
  return {
    unbound: overrides.filter((o) => o.kind === 'unbind').map((o) => `${o.type}\u0001${o.value}`),
    partitionKeys: overrides.filter((o) => o.kind === 'partition').map((o) => [recordKey(o), o.label!] as const),
    accepted: overrides.filter((o) => o.kind === 'link').map((o) => [recordKey(o), o.label!] as const),
    idxOf: new Map(),
    labelIds: new Map(),
  };
}

/** The shared identifier values of the snapshot, as numbers: (value group, type, record) edges. */
interface SharedValues {
  edges: ValueEdges;
  /** The types in linking order, then the other single-valued ones (for the conflict rule only). */
  typeList: IdentifierType[];
  /** How many of typeList are linked (the strong types). */
  linkable: number;
}

/**
 * ClickHouse groups the snapshot's identifier values and sends back numbers only. Linking order:
 * account ids (cap 1) by priority, then shared values by priority; other single-valued types come
 * after, for the conflict rule only.
 */
async function groupSharedValues(ctx: RunContext, types: Map<string, IdentifierType>, unbound: string[]): Promise<SharedValues> {
  const { facts } = ctx.stores;
  const strong = [...types.values()].filter((t) => t.strong).sort((a, b) => b.priority - a.priority);
  const order = [...strong.filter((t) => t.maxPeoplePerValue === 1), ...strong.filter((t) => t.maxPeoplePerValue > 1)];
  const typeList = [...order, ...[...types.values()].filter((t) => !t.strong && t.singleValued)];
  const singleTypes = typeList.flatMap((t, i) => (t.singleValued ? [i + 1] : []));
  await facts.command(
    `INSERT INTO resolution_values (run_id, g, t, value, members)
     SELECT {run:String}, toUInt32(rowNumberInAllBlocks()), t, value, members FROM (
       SELECT t, value, arraySort(groupArray(idx)) AS members FROM (
         SELECT idx, toUInt32(indexOf({types:Array(String)}, tupleElement(id, 1))) AS t, tupleElement(id, 2) AS value
         FROM resolution_records ARRAY JOIN identifiers AS id
         WHERE workspace_id = {ws:String} AND run_id = {run:String}
           AND NOT has({unbound:Array(String)}, concat(tupleElement(id, 1), char(1), tupleElement(id, 2))))
       WHERE t > 0
       GROUP BY t, value
       HAVING length(members) >= 2 OR has({single:Array(UInt32)}, t)
       ORDER BY t, value)`,
    { ...ctx.run, types: typeList.map((t) => t.name), unbound, single: singleTypes },
  );
  ctx.step('group values');
  const [edgeCount] = await facts.query<{ n: string }>(`SELECT sum(length(members)) AS n FROM resolution_values WHERE run_id = {run:String}`, ctx.run);
  const [group, type, member] = await readUint32Rows(
    facts.queryRowBinary(`SELECT g, t, m FROM resolution_values ARRAY JOIN members AS m WHERE run_id = {run:String} ORDER BY g, m`, ctx.run),
    3,
    Number(edgeCount?.n ?? 0),
  );
  ctx.step('read values');
  return { edges: { group, type, member }, typeList, linkable: order.length };
}

/**
 * Every record with profile evidence (name, masked phone, address, birthday) for probabilistic
 * matching — few compared with all records, so these come as rows — with the options that matching
 * runs under; none when the workspace does not match probabilistically.
 */
async function readEvidence(ctx: RunContext, unbound: string[]): Promise<{ rows: EvidenceRow[]; options: FuzzyOptions | undefined }> {
  const options = await fuzzyOptionsFor(ctx.stores, ctx.ws, ctx.options.fuzzy);
  const rows: EvidenceRow[] = [];
  if (options) {
    const unboundSet = new Set(unbound);
    for await (const chunk of ctx.stores.facts.queryChunks<EvidenceRow>(
      `SELECT idx, source, kind, record_id, identifiers, name, masked_phone, address, birthday FROM resolution_records
       WHERE workspace_id = {ws:String} AND run_id = {run:String} AND (name != '' OR masked_phone != '' OR address != '' OR birthday != '')
       ORDER BY idx`,
      ctx.run,
    )) {
      for (const row of chunk) {
        row.idx = Number(row.idx);
        if (unboundSet.size > 0) row.identifiers = row.identifiers.filter((id) => !unboundSet.has(`${id.type}\u0001${id.value}`));
        rows.push(row);
      }
    }
  }
  ctx.step('read evidence');
  return { rows, options };
}

type Assigned = ReturnType<typeof assignPeople>;
type Review = Candidate & { keyA: string; keyB: string };

/**
 * The links: shared values under each type's rules, pairs accepted from review, then probabilistic
 * matches (at or above the merge threshold they link; borderline pairs wait for review). Then each
 * component gets a person id: a previous person's id goes on, new ones start past every id in use —
 * including erased people's, whose de-identified events still carry their id.
 */
async function linkRecords(
  ctx: RunContext,
  n: number,
  previous: Uint32Array,
  maxPerson: number,
  values: SharedValues,
  overrides: Overrides,
  evidence: { rows: EvidenceRow[]; options: FuzzyOptions | undefined },
): Promise<{ sets: DisjointSets; decision: LinkDecision; assigned: Assigned; fuzzyLinks: number; reviews: Review[] }> {
  const { idxOf, labelIds } = overrides;
  const named = [...new Set([...overrides.partitionKeys.map(([k]) => k), ...overrides.accepted.flat()])];
  if (named.length > 0) {
    const rows = await ctx.stores.facts.query<{ idx: number; k: string }>(
      `SELECT idx, concat(source, ':', kind, ':', record_id) AS k FROM resolution_records
       WHERE workspace_id = {ws:String} AND run_id = {run:String} AND k IN {keys:Array(String)}`,
      { ...ctx.run, keys: named },
    );
    for (const row of rows) idxOf.set(row.k, Number(row.idx));
  }
  const labels = new Map<number, number>();
  for (const [key, label] of overrides.partitionKeys) {
    const idx = idxOf.get(key);
    if (idx === undefined) continue;
    if (!labelIds.has(label)) labelIds.set(label, labelIds.size);
    labels.set(idx, labelIds.get(label)!);
  }
  let fuzzyLinks = 0;
  const reviews: Review[] = [];
  const { rows, options: fuzzyOptions } = evidence;
  const { sets, decision } = linkValues(n, values.edges, values.typeList, values.linkable, labels, (linked, tryLink) => {
    for (const [a, b] of overrides.accepted) {
      const ia = idxOf.get(a);
      const ib = idxOf.get(b);
      if (ia !== undefined && ib !== undefined) tryLink(ia, ib, 'review:accepted');
    }
    if (!fuzzyOptions || rows.length < 2) return;
    const fuzzyRecords = rows.map((r) => ({ name: r.name, maskedPhone: r.masked_phone, address: r.address, birthday: r.birthday, identifiers: r.identifiers }));
    const { candidates } = fuzzyCandidates(fuzzyRecords, (a, b) => linked.find(rows[a].idx) === linked.find(rows[b].idx), fuzzyOptions);
    for (const c of candidates) {
      const ia = rows[c.a].idx;
      const ib = rows[c.b].idx;
      if (linked.find(ia) === linked.find(ib)) continue;
      if (c.probability >= fuzzyOptions.mergeAt) {
        if (tryLink(ia, ib, `fuzzy:${c.probability.toFixed(4)}`)) fuzzyLinks++;
      } else {
        const key = (r: EvidenceRow) => `${r.source}:${r.kind}:${r.record_id}`;
        reviews.push({ ...c, a: ia, b: ib, keyA: key(rows[c.a]), keyB: key(rows[c.b]) });
      }
    }
  });
  // A person erased on request (PIPL) may have no record left, but their id is not given to anyone
  // else: their de-identified events still carry it, and imports blank what lands on it.
  const erasedMax = await ctx.stores.state.db
    .selectFrom('erased_people')
    .select((eb) => eb.fn.max('person_id').as('p'))
    .where('workspace_id', '=', ctx.ws)
    .executeTakeFirst();
  const assigned = assignPeople(previous, sets, Math.max(maxPerson, Number(erasedMax?.p ?? 0)) + 1);
  ctx.step('link');
  return { sets, decision, assigned, fuzzyLinks, reviews };
}

/** The records whose person changed, into the run's own changes table; returns how many. */
async function writeChanges(ctx: RunContext, n: number, previous: Uint32Array, people: Float64Array): Promise<number> {
  let reassigned = 0;
  async function* changes(): AsyncIterable<string> {
    let chunk = '';
    for (let i = 0; i < n; i++) {
      if (people[i] === previous[i]) continue;
      reassigned++;
      chunk += `${i}\t${people[i]}\t${previous[i]}\n`;
      if (chunk.length > 1 << 20) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  const changed = changesTable(ctx.runId);
  await ctx.stores.facts.command(`CREATE TABLE ${changed} (idx UInt32, person_id UInt64, previous_person_id UInt64) ENGINE = MergeTree ORDER BY idx`);
  await ctx.stores.facts.insertTsv(changed, ['idx', 'person_id', 'previous_person_id'], changes());
  ctx.step('write changes');
  return reassigned;
}

/**
 * The moves, recorded as identity assignments; then the records, then every fact row they own: the
 * new key written, the old key tombstoned.
 */
async function moveRecordsAndFacts(ctx: RunContext, reassigned: number): Promise<void> {
  const { facts } = ctx.stores;
  const { run, ws } = ctx;
  await facts.command(
    `INSERT INTO identity_assignments (workspace_id, run_id, source, kind, record_id, person_id, previous_person_id)
     SELECT r.workspace_id, r.run_id, r.source, r.kind, r.record_id, c.person_id, c.previous_person_id
     FROM resolution_records AS r
     INNER JOIN ${changesTable(ctx.runId)} AS c ON r.idx = c.idx
     WHERE r.workspace_id = {ws:String} AND r.run_id = {run:String}`,
    run,
  );
  ctx.step('assignments');
  const version = nextVersion();
  const params = { ...run, v: version };
  await facts.command(
    `INSERT INTO source_records SELECT r.* REPLACE (a.person_id AS person_id, {v:UInt64} AS version)
     FROM source_records AS r FINAL INNER JOIN (SELECT * FROM identity_assignments WHERE workspace_id = {ws:String} AND run_id = {run:String}) AS a
     ON r.source = a.source AND r.kind = a.kind AND r.record_id = a.record_id
     WHERE r.workspace_id = {ws:String}
     ${NO_INSERT_DEDUP}${joinFor(reassigned, ctx.options.sortJoinsFrom)}`,
    params,
  );
  ctx.step('move records');
  for (const owner of FACT_OWNERS) {
    // Table and column names are this module's constants; values are bound parameters.
    const [any] = await facts.query(`SELECT 1 FROM ${owner.table} WHERE workspace_id = {ws:String} LIMIT 1`, { ws });
    if (!any) continue;
    // Each moved row twice: under its new person, and as a tombstone under the old one.
    await facts.command(
      `INSERT INTO ${owner.table}
       SELECT t.* REPLACE (if(moved = 1, a.person_id, t.person_id) AS person_id, {v:UInt64} + 1 - moved AS version, 1 - moved AS is_deleted)
       FROM ${owner.table} AS t FINAL
       INNER JOIN (SELECT source, record_id, person_id FROM identity_assignments
                   WHERE workspace_id = {ws:String} AND run_id = {run:String} AND kind = {kind:String}) AS a
         ON ${owner.source ? '' : 't.source = a.source AND '}t.${owner.recordColumn} = a.record_id
       ARRAY JOIN [1, 0] AS moved
       WHERE t.workspace_id = {ws:String} AND t.person_id != a.person_id
       ${NO_INSERT_DEDUP}`,
      { ...params, kind: owner.kind },
    );
  }
  ctx.step('move facts');
}

/**
 * Person identities of the people whose records changed (their previous and new ids), and of the
 * people asked for, rebuilt from the snapshot: it holds every record of each of them.
 */
async function rebuildPersonIdentities(ctx: RunContext, n: number, reassigned: number, unbound: string[], pendingPeople: number[]): Promise<void> {
  const { facts } = ctx.stores;
  const { run, options } = ctx;
  const changed = changesTable(ctx.runId);
  const rebuild = [...(options.people ?? []), ...(options.people?.length ? [] : pendingPeople)];
  if (reassigned === 0 && rebuild.length === 0) return;
  await facts.command(
    `INSERT INTO resolution_people (workspace_id, run_id, person_id)
     SELECT {ws:String}, {run:String}, person_id FROM (
       SELECT person_id FROM ${changed}
       UNION DISTINCT
       SELECT previous_person_id AS person_id FROM ${changed} WHERE previous_person_id > 0
       UNION DISTINCT
       SELECT arrayJoin({people:Array(UInt64)}) AS person_id)`,
    { ...run, people: rebuild },
  );
  ctx.step('touched people');
  const version = nextVersion();
  const people = `person_id IN (SELECT person_id FROM resolution_people WHERE workspace_id = {ws:String} AND run_id = {run:String})`;
  // When every record moved, every person here is touched: no need to look each one up.
  const touched = reassigned === n ? '1' : people;
  const bound = unbound.length === 0 ? '' : `AND NOT has({unbound:Array(String)}, concat(tupleElement(id, 1), char(1), tupleElement(id, 2)))`;
  await facts.command(
    `INSERT INTO person_identities (workspace_id, type, value, person_id, records, sources, version, is_deleted)
     SELECT workspace_id, type, value, person_id, 0, [], {v:UInt64}, 1 FROM person_identities FINAL
     WHERE workspace_id = {ws:String} AND ${people}
     ${NO_INSERT_DEDUP}`,
    { ...run, v: version },
  );
  ctx.step('old identities');
  await facts.command(
    `INSERT INTO person_identities (workspace_id, type, value, person_id, records, sources, version, is_deleted)
     SELECT {ws:String}, tupleElement(id, 1) AS type, tupleElement(id, 2) AS value, person_id, count() AS records,
            groupUniqArray(source) AS sources, {v:UInt64} + 1, 0
     FROM (SELECT r.source AS source, r.identifiers AS identifiers, if(c.person_id = 0, r.person_id, c.person_id) AS person_id
           FROM resolution_records AS r
           LEFT JOIN ${changed} AS c ON r.idx = c.idx
           WHERE r.workspace_id = {ws:String} AND r.run_id = {run:String})
     ARRAY JOIN identifiers AS id
     WHERE ${touched} ${bound}
     GROUP BY type, value, person_id
     ${NO_INSERT_DEDUP}${joinFor(reassigned, options.sortJoinsFrom)}`,
    { ...run, v: version, unbound },
  );
  ctx.step('person identities');
}

/** Borderline pairs still apart after everything else wait for a person's decision; returns how many. */
async function queueReviews(ctx: RunContext, reviews: Review[], sets: DisjointSets): Promise<number> {
  const pending = reviews.filter((c) => sets.find(c.a) !== sets.find(c.b));
  for (let i = 0; i < pending.length; i += 500) {
    await ctx.stores.state.db
      .insertInto('identity_reviews')
      .values(
        pending.slice(i, i + 500).map((c) => ({
          workspace_id: ctx.ws,
          run_id: ctx.runId,
          record_a: c.keyA,
          record_b: c.keyB,
          probability: c.probability,
          pattern: JSON.stringify(c.pattern),
          status: 'pending' as const,
          decided_by: null,
          decided_at: null,
        })),
      )
      .onConflict((oc) => oc.columns(['workspace_id', 'record_a', 'record_b']).doNothing())
      .execute();
  }
  return pending.length;
}

/** Merges, splits, hubs and conflicts into the identity log, naming the values they were about as text. */
async function writeDecisionLog(ctx: RunContext, assigned: Assigned, decision: LinkDecision, labelIds: Map<string, number>): Promise<void> {
  const viaGroup = (via: string) => /#(\d+)$/.exec(via)?.[1];
  const namedGroups = [
    ...new Set([
      ...decision.hubs.map((h) => h.group),
      ...decision.conflicts.flatMap((c) => (c.type === PARTITION_TYPE ? [] : [c.kept, c.refused])),
      ...decision.conflicts.flatMap((c) => (viaGroup(c.via) ? [Number(viaGroup(c.via))] : [])),
    ]),
  ];
  const valueOf = new Map<number, string>();
  for (let i = 0; i < namedGroups.length; i += 10_000) {
    const rows = await ctx.stores.facts.query<{ g: number; value: string }>(`SELECT g, value FROM resolution_values WHERE run_id = {run:String} AND g IN {groups:Array(UInt32)}`, {
      ...ctx.run,
      groups: namedGroups.slice(i, i + 10_000),
    });
    for (const row of rows) valueOf.set(Number(row.g), row.value);
  }
  const labelText = new Map([...labelIds].map(([label, id]) => [id, label]));
  const text = (type: string, id: number) => (type === PARTITION_TYPE ? (labelText.get(id) ?? '') : (valueOf.get(id) ?? ''));
  const viaText = (via: string) => {
    const match = /^(.*)#(\d+)$/.exec(via);
    return match ? `${match[1]}:${valueOf.get(Number(match[2])) ?? ''}` : via;
  };
  const log: Array<{ kind: 'merge' | 'split' | 'hub' | 'conflict'; person_id: number | null; details: unknown }> = [
    ...assigned.merges.map((m) => ({ kind: 'merge' as const, person_id: m.kept, details: m })),
    ...assigned.splits.map((s) => ({ kind: 'split' as const, person_id: s.person, details: s })),
    ...decision.hubs.map((h) => ({ kind: 'hub' as const, person_id: null, details: { type: h.type, value: text(h.type, h.group), people: h.people, cap: h.cap } })),
    ...decision.conflicts.map((c) => ({
      kind: 'conflict' as const,
      person_id: null,
      details: { type: c.type, value: text(c.type, c.refused), kept: text(c.type, c.kept), refused: text(c.type, c.refused), via: viaText(c.via) },
    })),
  ];
  for (let i = 0; i < log.length; i += 1000) {
    await ctx.stores.state.db
      .insertInto('identity_log')
      .values(log.slice(i, i + 1000).map((l) => ({ workspace_id: ctx.ws, run_id: ctx.runId, kind: l.kind, person_id: l.person_id, details: JSON.stringify(l.details) })))
      .execute();
  }
}

/** A full run holds every record, so it counts the people itself; otherwise the store does. */
async function countPeople(ctx: RunContext, n: number, assigned: Assigned): Promise<number> {
  if (ctx.options.full && !ctx.options.people?.length) {
    const seen = new Uint8Array(assigned.nextId + 1);
    let count = 0;
    for (let i = 0; i < n; i++) {
      const person = assigned.people[i];
      if (!seen[person]) {
        seen[person] = 1;
        count++;
      }
    }
    return count;
  }
  const [people] = await ctx.stores.facts.query<{ n: string }>(`SELECT uniqExact(person_id) AS n FROM source_records FINAL WHERE workspace_id = {ws:String}`, { ws: ctx.ws });
  return Number(people?.n ?? 0);
}
