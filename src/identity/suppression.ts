/**
 * The suppression list of erased identifiers (PIPL art. 47): once a person is erased, their
 * identifiers are never linked to anyone again. The list keeps salted SHA-256 hashes of
 * `type:value` (the salt is the workspace's own, so a list alone cannot be checked against a phone
 * book of another brand), never the values. Resolution leaves such identifiers out, an import
 * withholds them from the records it lands and says so in its quarantine, and the tracking API
 * keeps them out of the events it lands (checked in memory: ErasedIdentifierCache).
 */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';

/** The hash ClickHouse computes in SQL too: lower(hex(SHA256(concat(salt, type, ':', value)))). */
function identifierHash(salt: string, type: string, value: string): string {
  return crypto.createHash('sha256').update(`${salt}${type}:${value}`).digest('hex');
}

/** The workspace's salt, made on first use (two callers at once both read the one that was kept). */
async function erasureSalt(stores: Stores, workspaceId: string): Promise<string> {
  await stores.state.db
    .insertInto('erasure_salts')
    .values({ workspace_id: workspaceId, salt: crypto.randomBytes(32).toString('hex') })
    .onConflict((c) => c.column('workspace_id').doNothing())
    .execute();
  return (await stores.state.db.selectFrom('erasure_salts').select('salt').where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow()).salt;
}

/** Adds identifiers to the list; returns how many were new. */
export async function suppressIdentifiers(stores: Stores, workspaceId: string, identifiers: Array<{ type: string; value: string }>): Promise<number> {
  if (identifiers.length === 0) return 0;
  const salt = await erasureSalt(stores, workspaceId);
  const hashes = [...new Set(identifiers.map((i) => identifierHash(salt, i.type, i.value)))];
  const added = await stores.state.db
    .insertInto('erased_identifiers')
    .values(hashes.map((hash) => ({ workspace_id: workspaceId, hash })))
    .onConflict((c) => c.columns(['workspace_id', 'hash']).doNothing())
    .returning('hash')
    .execute();
  // This process's in-memory lists see the new hashes at their next use, not after their TTL.
  changed.set(workspaceId, (changed.get(workspaceId) ?? 0) + 1);
  return added.length;
}

/** Bumped per workspace when this process adds to its list (see ErasedIdentifierCache). */
const changed = new Map<string, number>();

/** Whether an identifier (type, normalised value) is on a workspace's suppression list. */
export type ErasedCheck = (type: string, value: string) => boolean;

/**
 * The suppression lists of workspaces in memory, for the tracking path: per workspace its salt and
 * the set of hashes, so an event is checked without a query. A list is checked again after `ttlMs`
 * with one small query (how many, the latest), and read again only when that changed; an erasure
 * made by this process is seen at once. `undefined` when the workspace has erased nothing.
 */
export class ErasedIdentifierCache {
  private readonly stores: Stores;
  private readonly ttlMs: number;
  private readonly lists = new Map<string, { at: number; generation: number; value: Promise<{ stamp: string; check?: ErasedCheck }> }>();

  constructor(stores: Stores, ttlMs = 5_000) {
    this.stores = stores;
    this.ttlMs = ttlMs;
  }

  async of(workspaceId: string): Promise<ErasedCheck | undefined> {
    const generation = changed.get(workspaceId) ?? 0;
    const hit = this.lists.get(workspaceId);
    if (hit && hit.generation === generation && Date.now() - hit.at < this.ttlMs) return (await hit.value).check;
    if (this.lists.size > 10_000) this.lists.clear();
    const value = this.load(workspaceId, hit?.value);
    this.lists.set(workspaceId, { at: Date.now(), generation, value });
    value.catch(() => this.lists.delete(workspaceId));
    return (await value).check;
  }

  private async load(workspaceId: string, previous?: Promise<{ stamp: string; check?: ErasedCheck }>): Promise<{ stamp: string; check?: ErasedCheck }> {
    const db = this.stores.state.db;
    const [seen] = await db
      .selectFrom('erased_identifiers')
      .select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.max('erased_at').as('latest')])
      .where('workspace_id', '=', workspaceId)
      .execute();
    const stamp = `${seen.n}/${seen.latest ? new Date(seen.latest as Date).getTime() : ''}`;
    const before = await previous?.catch(() => undefined);
    if (before && before.stamp === stamp) return before;
    if (Number(seen.n) === 0) return { stamp };
    const salt = (await db.selectFrom('erasure_salts').select('salt').where('workspace_id', '=', workspaceId).executeTakeFirst())?.salt;
    if (!salt) return { stamp };
    const hashes = new Set((await db.selectFrom('erased_identifiers').select('hash').where('workspace_id', '=', workspaceId).execute()).map((r) => r.hash));
    return { stamp, check: (type, value) => hashes.has(identifierHash(salt, type, value)) };
  }
}

export interface SuppressionSql {
  /** An Array(Tuple(type, value)) expression: the column without erased identifiers. */
  kept: (column: string) => string;
  /** An Array(Tuple(type, value)) expression: only the erased identifiers of the column. */
  erased: (column: string) => string;
  params: Record<string, unknown>;
  empty: boolean;
}

/** SQL over an identifiers column that leaves erased identifiers out (the column as is when none were erased). */
export async function suppressionSql(stores: Stores, workspaceId: string): Promise<SuppressionSql> {
  const salt = await stores.state.db.selectFrom('erasure_salts').select('salt').where('workspace_id', '=', workspaceId).executeTakeFirst();
  const hashes = salt ? (await stores.state.db.selectFrom('erased_identifiers').select('hash').where('workspace_id', '=', workspaceId).execute()).map((r) => r.hash) : [];
  const hashed = `lower(hex(SHA256(concat({erasure_salt:String}, tupleElement(id, 1), ':', tupleElement(id, 2)))))`;
  if (hashes.length === 0) return { kept: (column) => column, erased: () => '[]', params: {}, empty: true };
  return {
    kept: (column) => `arrayFilter(id -> NOT has({erased_hashes:Array(String)}, ${hashed}), ${column})`,
    erased: (column) => `arrayFilter(id -> has({erased_hashes:Array(String)}, ${hashed}), ${column})`,
    params: { erasure_salt: salt!.salt, erased_hashes: hashes },
    empty: false,
  };
}

const WITHHELD_REASON = 'an identifier of a person erased on request (PIPL): not kept, linked to no one';
const ERASED_RECORD_REASON = 'a record of a person erased on request (PIPL): its personal fields were not kept';

/**
 * After an import landed its records and before they are resolved: erased identifiers are taken
 * out of the run's records, and a record that still belongs to an erased person (the same order
 * imported again) keeps no personal field. Each is listed in the run's quarantine (without the
 * value). Returns the identifiers withheld and the records blanked.
 */
export async function withholdErasedIdentities(stores: Stores, workspaceId: string, runId: string): Promise<{ identifiers: number; records: number }> {
  const suppression = await suppressionSql(stores, workspaceId);
  const erasedPeople = (await stores.state.db.selectFrom('erased_people').select('person_id').where('workspace_id', '=', workspaceId).execute()).map((r) => Number(r.person_id));
  if (suppression.empty && erasedPeople.length === 0) return { identifiers: 0, records: 0 };
  const params = { ws: workspaceId, run: runId, erased_people: erasedPeople, ...suppression.params };
  const hits = await stores.facts.query<{ source: string; kind: string; record_id: string; types: string[]; erased_person: number }>(
    `SELECT source, kind, record_id, arrayMap(id -> tupleElement(id, 1), ${suppression.erased('identifiers')}) AS types,
            toUInt8(has({erased_people:Array(UInt64)}, person_id)) AS erased_person
     FROM source_records FINAL
     WHERE workspace_id = {ws:String} AND import_run_id = {run:String} AND (length(types) > 0 OR erased_person)`,
    params,
  );
  if (hits.length === 0) return { identifiers: 0, records: 0 };
  const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
  await stores.facts.insertRows(
    'import_quarantine',
    hits.flatMap((hit, row) => [
      ...hit.types.map((type) => ({
        workspace_id: workspaceId,
        run_id: runId,
        file: '',
        row_number: row,
        field: `identities.${type}`,
        value: '',
        reason: WITHHELD_REASON,
        action: 'identifier withheld',
        row: JSON.stringify({ record: `${hit.source}:${hit.kind}:${hit.record_id}` }),
        at: now,
      })),
      ...(Number(hit.erased_person)
        ? [
            {
              workspace_id: workspaceId,
              run_id: runId,
              file: '',
              row_number: row,
              field: '*',
              value: '',
              reason: ERASED_RECORD_REASON,
              action: 'personal fields withheld',
              row: JSON.stringify({ record: `${hit.source}:${hit.kind}:${hit.record_id}` }),
              at: now,
            },
          ]
        : []),
    ]),
  );
  // A mutation, not a newer row: the landed version with the values must not stay behind on disk.
  if (!suppression.empty) {
    await stores.facts.command(
      `ALTER TABLE source_records UPDATE identifiers = ${suppression.kept('identifiers')}
       WHERE workspace_id = {ws:String} AND import_run_id = {run:String} AND length(${suppression.erased('identifiers')}) > 0
       SETTINGS mutations_sync = 2`,
      params,
    );
  }
  if (erasedPeople.length > 0) {
    await stores.facts.command(
      `ALTER TABLE source_records UPDATE identifiers = [], name = '', masked_phone = '', address = '', birthday = '', attributes = map()
       WHERE workspace_id = {ws:String} AND import_run_id = {run:String} AND has({erased_people:Array(UInt64)}, person_id)
       SETTINGS mutations_sync = 2`,
      params,
    );
  }
  return { identifiers: hits.reduce((n, h) => n + h.types.length, 0), records: hits.filter((h) => Number(h.erased_person)).length };
}
