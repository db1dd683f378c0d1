/**
 * OneID resolution: records that share a normalised identifier value become one person, under the
 * rules of each identifier type — priority order, single-valued types that never let one person hold
 * two values, and hub protection for values shared by more people than their cap. Person ids are
 * dense integers and stable: a person keeps their id unless they merge (the older id stays) or split.
 */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';
import type { IdentifierType } from './identifier-types.ts';
import { loadIdentifierTypes } from './identifier-store.ts';
import { nextVersion } from '../ingest/writer.ts';
import { DEFAULT_FUZZY, fuzzyCandidates, type Candidate, type FuzzyOptions } from './fuzzy.ts';

export interface ResolveOptions {
  workspaceId: string;
  /** Recompute every record; otherwise only records not yet given a person and those they touch. */
  full?: boolean;
  /** Recompute these people's records (after an unbind or unmerge). */
  people?: number[];
  /** Probabilistic matching after the deterministic links (default: on, conservative thresholds). */
  fuzzy?: Partial<FuzzyOptions> | false;
}

/** A hidden single-valued type: records given different labels by an unmerge never link again. */
export const PARTITION_TYPE = '__partition';

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
}

interface RecordRow {
  source: string;
  kind: string;
  record_id: string;
  person_id: string;
  identifiers: Array<{ type: string; value: string }>;
  name: string;
  masked_phone: string;
  address: string;
  birthday: string;
}

const RECORD_COLUMNS = 'source, kind, record_id, person_id, identifiers, name, masked_phone, address, birthday';

/** Union–find over record indexes, with path halving. */
export class DisjointSets {
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

export interface LinkDecision {
  hubs: Array<{ type: string; value: string; people: number; cap: number }>;
  conflicts: Array<{ type: string; value: string; kept: string; refused: string; via: string }>;
}

/**
 * Links records by shared identifiers. Types are processed from the highest priority down, so when a
 * lower-priority link would give a person two values of a single-valued type, it is the one refused.
 */
export type TryLink = (a: number, b: number, via: string) => boolean;

export function linkRecords(
  records: ReadonlyArray<{ identifiers: ReadonlyArray<{ type: string; value: string }> }>,
  types: Map<string, IdentifierType>,
  /** Links beyond shared identifiers (fuzzy matching), made after them and under the same rules. */
  extraLinks?: (sets: DisjointSets, tryLink: TryLink) => void,
): { sets: DisjointSets; decision: LinkDecision } {
  const sets = new DisjointSets(records.length);
  const decision: LinkDecision = { hubs: [], conflicts: [] };
  const ordered = [...types.values()].filter((t) => t.strong).sort((a, b) => b.priority - a.priority);
  const singleValued = [...types.values()].filter((t) => t.singleValued).map((t) => t.name);
  // Each component's values of single-valued types (only components that have any).
  const singles = new Map<number, Map<string, string>>();
  for (let i = 0; i < records.length; i++) {
    for (const { type, value } of records[i].identifiers) {
      if (!singleValued.includes(type)) continue;
      let own = singles.get(i);
      if (!own) singles.set(i, (own = new Map()));
      if (!own.has(type)) own.set(type, value);
    }
  }
  // One record holding two values of a single-valued type is data we keep as given (it is one record).

  // Pass 1: account ids (a value names exactly one person: a UnionID, a JD pin) link without a hub check.
  // Pass 2: values people share or mistype (phone, email, device) link only below their cap, counted
  // in the people pass 1 formed; a record carrying nothing else counts as a person of its own.
  const passes = [ordered.filter((t) => t.maxPeoplePerValue === 1), ordered.filter((t) => t.maxPeoplePerValue > 1)];
  for (const pass of passes) {
    for (const type of pass) {
      linkType(type);
    }
  }

  function linkType(type: IdentifierType): void {
    const byValue = new Map<string, number[]>();
    for (let i = 0; i < records.length; i++) {
      for (const id of records[i].identifiers) {
        if (id.type !== type.name) continue;
        const list = byValue.get(id.value);
        if (list) list.push(i);
        else byValue.set(id.value, [i]);
      }
    }
    for (const [value, members] of byValue) {
      if (members.length < 2) continue;
      const roots = new Set(members.map((m) => sets.find(m)));
      if (roots.size <= 1) continue;
      if (type.maxPeoplePerValue > 1 && roots.size > type.maxPeoplePerValue) {
        decision.hubs.push({ type: type.name, value, people: roots.size, cap: type.maxPeoplePerValue });
        continue;
      }
      let anchor = members[0];
      for (const member of members.slice(1)) {
        if (tryLink(anchor, member, `${type.name}:${value}`)) anchor = member;
      }
    }
  }

  /** Joins two records' people unless that gives one person two values of a single-valued type. */
  function tryLink(x: number, y: number, via: string): boolean {
    const ra = sets.find(x);
    const rb = sets.find(y);
    if (ra === rb) return true;
    const a = singles.get(ra);
    const b = singles.get(rb);
    if (a && b) {
      for (const [t, v] of b) {
        const mine = a.get(t);
        if (mine !== undefined && mine !== v) {
          decision.conflicts.push({ type: t, value: v, kept: mine, refused: v, via });
          return false;
        }
      }
    }
    const root = sets.union(ra, rb);
    if (a || b) {
      const merged = new Map([...(b ?? []), ...(a ?? [])]);
      singles.delete(ra);
      singles.delete(rb);
      singles.set(root, merged);
    }
    return true;
  }

  extraLinks?.(sets, tryLink);
  return { sets, decision };
}

/** Gives each component a person id: existing ids are kept where they can be, merges keep the older. */
export function assignPeople(
  previous: ReadonlyArray<number>,
  sets: DisjointSets,
  nextId: number,
): { people: Int32Array | Float64Array; merges: Array<{ kept: number; absorbed: number[] }>; splits: Array<{ person: number; newPeople: number[] }>; newPeople: number; nextId: number } {
  const n = previous.length;
  const roots = new Int32Array(n);
  for (let i = 0; i < n; i++) roots[i] = sets.find(i);
  // For every previous person, how many of its records each component holds.
  const byPerson = new Map<number, Map<number, number>>();
  const byRoot = new Map<number, Set<number>>();
  for (let i = 0; i < n; i++) {
    const p = previous[i];
    if (p > 0) {
      let counts = byPerson.get(p);
      if (!counts) byPerson.set(p, (counts = new Map()));
      counts.set(roots[i], (counts.get(roots[i]) ?? 0) + 1);
      let persons = byRoot.get(roots[i]);
      if (!persons) byRoot.set(roots[i], (persons = new Set()));
      persons.add(p);
    }
  }
  // A previous person's id goes to the component holding most of its records.
  const claim = new Map<number, number>();
  for (const [person, counts] of byPerson) {
    let best = -1;
    let bestCount = -1;
    for (const [root, count] of counts) if (count > bestCount || (count === bestCount && root < best)) [best, bestCount] = [root, count];
    claim.set(person, best);
  }
  const idOfRoot = new Map<number, number>();
  const merges: Array<{ kept: number; absorbed: number[] }> = [];
  for (const [root, persons] of byRoot) {
    const claimed = [...persons].filter((p) => claim.get(p) === root).sort((a, b) => a - b);
    if (claimed.length === 0) continue;
    idOfRoot.set(root, claimed[0]);
    if (claimed.length > 1) merges.push({ kept: claimed[0], absorbed: claimed.slice(1) });
  }
  const people = new Float64Array(n);
  let newPeople = 0;
  let id = nextId;
  const splitsByPerson = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const root = roots[i];
    let person = idOfRoot.get(root);
    if (person === undefined) {
      person = id++;
      idOfRoot.set(root, person);
      newPeople++;
      const from = [...(byRoot.get(root) ?? [])];
      for (const p of from) {
        if (!splitsByPerson.has(p)) splitsByPerson.set(p, []);
        splitsByPerson.get(p)!.push(person);
      }
    }
    people[i] = person;
  }
  const splits = [...splitsByPerson].map(([person, ids]) => ({ person, newPeople: [...new Set(ids)] }));
  return { people, merges, splits, newPeople, nextId: id };
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

/** All rows of a large result, read in chunks (one text of millions of records would not fit). */
async function collect<Row>(facts: Stores['facts'], sql: string, params: Record<string, unknown>): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const chunk of facts.queryChunks<Row>(sql, params)) for (const row of chunk) rows.push(row);
  return rows;
}

export async function resolveIdentities(stores: Stores, options: ResolveOptions): Promise<ResolveSummary> {
  const started = Date.now();
  const { facts, state } = stores;
  const ws = options.workspaceId;
  const runId = `res_${crypto.randomBytes(6).toString('hex')}`;
  const types = await loadIdentifierTypes(state, ws);

  // Which records take part: all (full), or the unresolved ones and every record of any person that
  // shares an identifier value with them (the only people a new record can change).
  let records: RecordRow[];
  if (options.people && options.people.length > 0) {
    records = await collect<RecordRow>(facts,
      `SELECT ${RECORD_COLUMNS} FROM source_records FINAL
       WHERE workspace_id = {ws:String} AND person_id IN {people:Array(UInt64)} ORDER BY source, kind, record_id`,
      { ws, people: options.people },
    );
  } else if (options.full) {
    records = await collect<RecordRow>(facts,
      `SELECT ${RECORD_COLUMNS} FROM source_records FINAL WHERE workspace_id = {ws:String} ORDER BY source, kind, record_id`,
      { ws },
    );
  } else {
    records = await collect<RecordRow>(facts,
      `WITH fresh AS (SELECT source, kind, record_id, identifiers FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id = 0),
            touched_values AS (SELECT DISTINCT tupleElement(id, 1) AS type, tupleElement(id, 2) AS value FROM fresh ARRAY JOIN identifiers AS id),
            touched_people AS (SELECT DISTINCT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND (type, value) IN (SELECT type, value FROM touched_values))
       SELECT ${RECORD_COLUMNS} FROM source_records FINAL
       WHERE workspace_id = {ws:String} AND (person_id = 0 OR person_id IN (SELECT person_id FROM touched_people))
       ORDER BY source, kind, record_id`,
      { ws },
    );
  }
  const overrides = await state.db.selectFrom('identity_overrides').selectAll().where('workspace_id', '=', ws).execute();
  const unbound = new Set(overrides.filter((o) => o.kind === 'unbind').map((o) => `${o.type}\u0000${o.value}`));
  const partitions = new Map(overrides.filter((o) => o.kind === 'partition').map((o) => [`${o.record_source}\u0000${o.record_kind}\u0000${o.record_id}`, o.label!]));
  const linkable = records.map((r) => {
    const identifiers = unbound.size > 0 ? r.identifiers.filter((id) => !unbound.has(`${id.type}\u0000${id.value}`)) : r.identifiers;
    const label = partitions.get(`${r.source}\u0000${r.kind}\u0000${r.record_id}`);
    return { identifiers: label ? [...identifiers, { type: PARTITION_TYPE, value: label }] : identifiers };
  });
  // Pairs a person accepted from the review queue: "source:kind:record_id" of both records.
  const accepted = overrides.filter((o) => o.kind === 'link').map((o) => [`${o.record_source}:${o.record_kind}:${o.record_id}`, o.label!] as const);
  const linkTypes = new Map(types);
  linkTypes.set(PARTITION_TYPE, { name: PARTITION_TYPE, label: 'unmerge partition', priority: 1000, singleValued: true, maxPeoplePerValue: 1, normaliser: 'trim', strong: false });
  const [maxRow] = await facts.query<{ m: string }>(`SELECT max(person_id) AS m FROM source_records FINAL WHERE workspace_id = {ws:String}`, { ws });
  const fuzzyOptions = options.fuzzy === false ? undefined : { ...DEFAULT_FUZZY, ...options.fuzzy };
  let fuzzyLinks = 0;
  const reviews: Candidate[] = [];
  const indexOf = new Map(records.map((r, i) => [`${r.source}:${r.kind}:${r.record_id}`, i]));
  const { sets, decision } = linkRecords(linkable, linkTypes, (linked, tryLink) => {
    for (const [a, b] of accepted) {
      const ia = indexOf.get(a);
      const ib = indexOf.get(b);
      if (ia !== undefined && ib !== undefined) tryLink(ia, ib, 'review:accepted');
    }
    if (!fuzzyOptions) return;
    const evidence = records.map((r, i) => ({ name: r.name, maskedPhone: r.masked_phone, address: r.address, birthday: r.birthday, identifiers: linkable[i].identifiers }));
    const { candidates } = fuzzyCandidates(evidence, (a, b) => linked.find(a) === linked.find(b), fuzzyOptions);
    for (const c of candidates) {
      if (linked.find(c.a) === linked.find(c.b)) continue;
      if (c.probability >= fuzzyOptions.mergeAt) {
        if (tryLink(c.a, c.b, `fuzzy:${c.probability.toFixed(4)}`)) fuzzyLinks++;
      } else reviews.push(c);
    }
  });
  const previous = records.map((r) => Number(r.person_id));
  const assigned = assignPeople(previous, sets, Number(maxRow?.m ?? 0) + 1);

  const changed: Array<Record<string, unknown>> = [];
  for (let i = 0; i < records.length; i++) {
    if (assigned.people[i] !== previous[i]) {
      const r = records[i];
      changed.push({ workspace_id: ws, run_id: runId, source: r.source, kind: r.kind, record_id: r.record_id, person_id: assigned.people[i], previous_person_id: previous[i] });
    }
  }

  if (changed.length > 0) {
    for (let i = 0; i < changed.length; i += 100_000) await facts.insertRows('identity_assignments', changed.slice(i, i + 100_000));
    const version = nextVersion();
    const params = { ws, run: runId, v: version };
    // The records first, then every fact row they own: new key written, old key tombstoned.
    await facts.command(
      `INSERT INTO source_records SELECT r.* REPLACE (a.person_id AS person_id, {v:UInt64} AS version)
       FROM source_records AS r FINAL INNER JOIN (SELECT * FROM identity_assignments WHERE workspace_id = {ws:String} AND run_id = {run:String}) AS a
       ON r.source = a.source AND r.kind = a.kind AND r.record_id = a.record_id
       WHERE r.workspace_id = {ws:String}`,
      params,
    );
    for (const owner of FACT_OWNERS) {
      // Table and column names are this module's constants; values are bound parameters.
      const join = `INNER JOIN (SELECT source, record_id, person_id FROM identity_assignments
          WHERE workspace_id = {ws:String} AND run_id = {run:String} AND kind = {kind:String}) AS a
        ON ${owner.source ? '' : 't.source = a.source AND '}t.${owner.recordColumn} = a.record_id`;
      await facts.command(
        `INSERT INTO ${owner.table} SELECT t.* REPLACE (a.person_id AS person_id, {v:UInt64} AS version)
         FROM ${owner.table} AS t FINAL ${join} WHERE t.workspace_id = {ws:String} AND t.person_id != a.person_id`,
        { ...params, kind: owner.kind },
      );
      await facts.command(
        `INSERT INTO ${owner.table} SELECT t.* REPLACE (1 AS is_deleted, {v:UInt64} + 1 AS version)
         FROM ${owner.table} AS t FINAL ${join} WHERE t.workspace_id = {ws:String} AND t.person_id != a.person_id`,
        { ...params, kind: owner.kind },
      );
    }
  }

  // Person identities of everyone this run touched, rebuilt from their records. The touched ids go
  // into a table: a large array parameter is slow to bind, a subquery set is fast to probe.
  const touched = [...new Set([...assigned.people, ...previous.filter((p) => p > 0)])];
  if (touched.length > 0) {
    for (let i = 0; i < touched.length; i += 500_000) {
      await facts.insertRows('resolution_people', touched.slice(i, i + 500_000).map((person_id) => ({ workspace_id: ws, run_id: runId, person_id })));
    }
    const version = nextVersion();
    const people = `person_id IN (SELECT person_id FROM resolution_people WHERE workspace_id = {ws:String} AND run_id = {run:String})`;
    await facts.command(
      `INSERT INTO person_identities (workspace_id, type, value, person_id, records, sources, version, is_deleted)
       SELECT workspace_id, type, value, person_id, 0, [], {v:UInt64}, 1 FROM person_identities FINAL
       WHERE workspace_id = {ws:String} AND ${people}`,
      { ws, run: runId, v: version },
    );
    await facts.command(
      `INSERT INTO person_identities (workspace_id, type, value, person_id, records, sources, version, is_deleted)
       SELECT workspace_id, tupleElement(id, 1) AS type, tupleElement(id, 2) AS value, person_id, count() AS records,
              groupUniqArray(source) AS sources, {v:UInt64} + 1, 0
       FROM source_records FINAL ARRAY JOIN identifiers AS id
       WHERE workspace_id = {ws:String} AND ${people} AND NOT has({unbound:Array(String)}, concat(tupleElement(id, 1), char(1), tupleElement(id, 2)))
       GROUP BY workspace_id, type, value, person_id`,
      { ws, run: runId, v: version, unbound: [...unbound].map((k) => k.replace('\u0000', '\u0001')) },
    );
  }

  // Borderline pairs still apart after everything else wait for a person's decision.
  const key = (i: number) => `${records[i].source}:${records[i].kind}:${records[i].record_id}`;
  const pending = reviews.filter((c) => sets.find(c.a) !== sets.find(c.b));
  for (let i = 0; i < pending.length; i += 500) {
    await state.db
      .insertInto('identity_reviews')
      .values(pending.slice(i, i + 500).map((c) => ({ workspace_id: ws, run_id: runId, record_a: key(c.a), record_b: key(c.b), probability: c.probability, pattern: JSON.stringify(c.pattern), status: 'pending' as const, decided_by: null, decided_at: null })))
      .onConflict((oc) => oc.columns(['workspace_id', 'record_a', 'record_b']).doNothing())
      .execute();
  }

  const log: Array<{ kind: 'merge' | 'split' | 'hub' | 'conflict'; person_id: number | null; details: unknown }> = [
    ...assigned.merges.map((m) => ({ kind: 'merge' as const, person_id: m.kept, details: m })),
    ...assigned.splits.map((s) => ({ kind: 'split' as const, person_id: s.person, details: s })),
    ...decision.hubs.map((h) => ({ kind: 'hub' as const, person_id: null, details: h })),
    ...decision.conflicts.map((c) => ({ kind: 'conflict' as const, person_id: null, details: c })),
  ];
  for (let i = 0; i < log.length; i += 1000) {
    await state.db
      .insertInto('identity_log')
      .values(log.slice(i, i + 1000).map((l) => ({ workspace_id: ws, run_id: runId, kind: l.kind, person_id: l.person_id, details: JSON.stringify(l.details) })))
      .execute();
  }
  const [people] = await facts.query<{ n: string }>(`SELECT uniqExact(person_id) AS n FROM source_records FINAL WHERE workspace_id = {ws:String}`, { ws });
  return {
    runId,
    records: records.length,
    people: Number(people?.n ?? 0),
    newPeople: assigned.newPeople,
    merges: assigned.merges.length,
    splits: assigned.splits.length,
    fuzzyLinks,
    reviews: pending.length,
    hubs: decision.hubs.length,
    conflicts: decision.conflicts.length,
    reassigned: changed.length,
    seconds: (Date.now() - started) / 1000,
  };
}
