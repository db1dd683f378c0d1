/**
 * Writes entities to the facts store, idempotently: each entity's hash is compared with what is
 * stored under its key, so a re-import writes nothing and a changed row replaces its record.
 */
import type { FactsStore } from '../stores/facts/facts-store.ts';
import { stableHash, type Entity, type FactTable } from './entities.ts';
import { nextVersion } from '../facts/version-clock.ts';

export interface WriteCounts {
  landed: number;
  updated: number;
  unchanged: number;
}

interface Stored {
  hash: string;
  personId: number;
  runId: string;
}

const TABLES_WITH_RUN_ID = new Set<FactTable>(['orders', 'refunds', 'contacts']);

export class IngestWriter {
  private readonly facts: FactsStore;
  private readonly workspaceId: string;
  private readonly runId: string;

  constructor(facts: FactsStore, workspaceId: string, runId: string) {
    this.facts = facts;
    this.workspaceId = workspaceId;
    this.runId = runId;
  }

  /**
   * What is stored under each key, in one query: a branch per (table, source, kind) group, each on
   * its table's sort-key prefix. `source_records` are keyed by record_id; `import_keys` (lines,
   * shipments, refunds, events) by key. Results are keyed `table\0source\0kind\0id`.
   */
  private async stored(lookups: Array<{ table: 'source_records' | 'import_keys'; source: string; kind: string; id: string }>): Promise<Map<string, Stored>> {
    const groups = new Map<string, { table: 'source_records' | 'import_keys'; source: string; kind: string; ids: Set<string> }>();
    for (const k of lookups) {
      const group = `${k.table}\u0000${k.source}\u0000${k.kind}`;
      let entry = groups.get(group);
      if (!entry) groups.set(group, (entry = { table: k.table, source: k.source, kind: k.kind, ids: new Set() }));
      entry.ids.add(k.id);
    }
    const found = new Map<string, Stored>();
    if (groups.size === 0) return found;
    const params: Record<string, unknown> = { ws: this.workspaceId };
    const branches = [...groups.values()].map((g, i) => {
      params[`s${i}`] = g.source;
      params[`k${i}`] = g.kind;
      params[`ids${i}`] = [...g.ids];
      const [column, person] = g.table === 'source_records' ? ['record_id', 'person_id'] : ['key', '0'];
      // Table and column names are fixed above; values are bound parameters.
      return `SELECT ${i} AS g, ${column} AS id, toString(row_hash) AS h, toUInt64(${person}) AS p, import_run_id FROM ${g.table} FINAL
        WHERE workspace_id = {ws:String} AND source = {s${i}:String} AND kind = {k${i}:String} AND ${column} IN {ids${i}:Array(String)}`;
    });
    const list = [...groups.values()];
    const rows = await this.facts.query<{ g: number; id: string; h: string; p: string; import_run_id: string }>(branches.join('\nUNION ALL\n'), params);
    for (const row of rows) {
      const g = list[Number(row.g)];
      found.set(`${g.table}\u0000${g.source}\u0000${g.kind}\u0000${row.id}`, { hash: row.h, personId: Number(row.p), runId: row.import_run_id });
    }
    return found;
  }

  async write(batch: Entity[]): Promise<WriteCounts> {
    const counts: WriteCounts = { landed: 0, updated: 0, unchanged: 0 };
    if (batch.length === 0) return counts;

    // The last occurrence of a key in a batch wins; earlier ones are duplicates in the file.
    const byKey = new Map<string, Entity>();
    for (const entity of batch.flatMap((e) => (e.companions ? [e, ...e.companions] : [e]))) {
      const key = entity.record
        ? `r\u0000${entity.record.source}\u0000${entity.record.kind}\u0000${entity.record.record_id}`
        : `k\u0000${entity.facts[0].owner.source}\u0000${entity.facts[0].table}\u0000${entity.facts[0].key}`;
      const earlier = byKey.get(key);
      if (earlier && entity.record && entity.facts.length > 0 && entity.facts.every((f) => f.table === 'contacts')) {
        // One customer added by several staff: a row per (customer, staff member), all of them kept.
        const facts = new Map([...earlier.facts, ...entity.facts].map((f) => [f.key, f]));
        byKey.set(key, { ...entity, facts: [...facts.values()], hash: stableHash([earlier.hash, entity.hash]), rows: (earlier.rows ?? 1) + (entity.rows ?? 1) });
        continue;
      }
      if (earlier) counts.unchanged += earlier.rows ?? 1;
      byKey.set(key, entity);
    }
    const entities = [...byKey.values()];

    // Records and the records that own keyed rows are looked up together: one query per group.
    const found = await this.stored(
      entities.flatMap((e) =>
        e.record
          ? [{ table: 'source_records' as const, source: e.record.source, kind: e.record.kind, id: e.record.record_id }]
          : [
              { table: 'source_records' as const, source: e.facts[0].owner.source, kind: e.facts[0].owner.kind, id: e.facts[0].owner.record_id },
              { table: 'import_keys' as const, source: e.facts[0].owner.source, kind: e.facts[0].table, id: e.facts[0].key },
            ],
      ),
    );

    const version = nextVersion();
    const recordRows: Array<Record<string, unknown>> = [];
    const keyRows: Array<Record<string, unknown>> = [];
    const factRows = new Map<FactTable, Array<Record<string, unknown>>>();
    const changedEvents: string[] = [];
    const changedOrdersBySource = new Map<string, Array<[number, string]>>();
    const pendingPeople = new Set<number>();

    for (const entity of entities) {
      let stored: Stored | undefined;
      let personId = 0;
      if (entity.record) {
        const r = entity.record;
        stored = found.get(`source_records\u0000${r.source}\u0000${r.kind}\u0000${r.record_id}`);
        personId = stored?.personId ?? 0;
      } else {
        const f = entity.facts[0];
        stored = found.get(`import_keys\u0000${f.owner.source}\u0000${f.table}\u0000${f.key}`);
        personId = found.get(`source_records\u0000${f.owner.source}\u0000${f.owner.kind}\u0000${f.owner.record_id}`)?.personId ?? 0;
      }
      if (stored && stored.hash === entity.hash) {
        // Written by an earlier attempt of this same run (a crash in between): it landed in this run.
        if (stored.runId === this.runId) counts.landed += entity.rows ?? 1;
        else counts.unchanged += entity.rows ?? 1;
        continue;
      }
      if (stored) counts.updated += entity.rows ?? 1;
      else counts.landed += entity.rows ?? 1;
      // A changed record may carry other identifiers: its person is resolved again by the next run.
      if (stored && entity.record && personId > 0) pendingPeople.add(personId);
      if (stored && !entity.record && entity.facts[0].table === 'events') changedEvents.push(entity.facts[0].key);
      if (stored && entity.ownsLines && entity.record) {
        const orders = changedOrdersBySource.get(entity.record.source) ?? [];
        orders.push([personId, entity.record.record_id]);
        changedOrdersBySource.set(entity.record.source, orders);
      }

      if (entity.record) {
        const r = entity.record;
        recordRows.push({
          workspace_id: this.workspaceId,
          source: r.source,
          kind: r.kind,
          record_id: r.record_id,
          person_id: personId,
          identifiers: r.identifiers.map(([type, value]) => ({ type, value })),
          name: r.name,
          masked_phone: r.masked_phone,
          address: r.address,
          birthday: r.birthday,
          attributes: r.attributes,
          seen_at: r.seen_at,
          row_hash: entity.hash,
          import_run_id: this.runId,
          version,
        });
      } else {
        const f = entity.facts[0];
        keyRows.push({ workspace_id: this.workspaceId, source: f.owner.source, kind: f.table, key: f.key, row_hash: entity.hash, import_run_id: this.runId, version });
      }
      for (const fact of entity.facts) {
        if (!factRows.has(fact.table)) factRows.set(fact.table, []);
        factRows.get(fact.table)!.push({
          ...fact.row,
          workspace_id: this.workspaceId,
          person_id: personId,
          ...(TABLES_WITH_RUN_ID.has(fact.table) ? { import_run_id: this.runId } : {}),
          version,
        });
      }
    }

    // A changed event may now belong to another identity, hence another person and sort key: its old
    // row is deleted (one version below the new row's, so where the keys coincide the new row wins).
    if (changedEvents.length > 0) {
      await this.facts.command(
        `INSERT INTO events SELECT * REPLACE (1 AS is_deleted, {v:UInt64} AS version) FROM events FINAL
         WHERE workspace_id = {ws:String} AND message_id IN {ids:Array(String)}`,
        { ws: this.workspaceId, ids: changedEvents, v: version - 1 },
      );
    }
    // A changed order's stored lines are deleted the same way: the lines it has now are written over
    // them, and a line it no longer has stays deleted.
    for (const [source, orders] of changedOrdersBySource) {
      const pairs = '(SELECT t.1, t.2 FROM (SELECT arrayJoin(arrayZip({persons:Array(UInt64)}, {ids:Array(String)})) AS t))';
      await deleteOrderLines(this.facts, pairs, { ws: this.workspaceId, source, persons: orders.map(([p]) => p), ids: orders.map(([, id]) => id), v: version - 1 });
    }
    // Facts first, then the records and keys that say they were written: a crash in between
    // re-writes the same rows on the next attempt instead of losing them.
    await Promise.all([...factRows].map(([table, rows]) => this.facts.insertRows(table, rows)));
    await Promise.all([
      this.facts.insertRows('source_records', recordRows),
      this.facts.insertRows('import_keys', keyRows),
      this.facts.insertRows(
        'resolution_pending',
        [...pendingPeople].map((person_id) => ({ workspace_id: this.workspaceId, person_id, version })),
      ),
    ]);
    return counts;
  }
}

/**
 * Deletes the stored lines of some orders, one version below the lines written in their place.
 * `orders` is SQL from constants that yields (person_id, order_id) pairs, an array parameter or a
 * subquery: a line is stored under its order's person, so the table's key finds them.
 */
export async function deleteOrderLines(facts: FactsStore, orders: string, params: { ws: string; source: string; v: number } & Record<string, unknown>): Promise<void> {
  await facts.command(
    `INSERT INTO order_lines SELECT * REPLACE (1 AS is_deleted, {v:UInt64} AS version) FROM order_lines FINAL
     WHERE workspace_id = {ws:String} AND source = {source:String} AND (person_id, order_id) IN ${orders}`,
    params,
  );
}
