/**
 * The review queue: probabilistic matches below the merge threshold wait here for a person. Accepting
 * links the two records for good; rejecting keeps them apart for good. Both are recorded overrides.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import { resolveSerially } from './resolve-queue.ts';

/** Reviews, best match first; with `sources`, only pairs of records that both come from them (a team's scope). */
export async function listReviews(stores: Stores, workspaceId: string, status: 'pending' | 'accepted' | 'rejected' = 'pending', limit = 50, sources?: string[]) {
  let query = stores.state.db
    .selectFrom('identity_reviews')
    .select(['id', 'record_a', 'record_b', 'probability', 'pattern', 'status', 'decided_by', 'decided_at', 'created_at'])
    .where('workspace_id', '=', workspaceId)
    .where('status', '=', status);
  if (sources) {
    // A record key is source:kind:record_id.
    query = query.where(sql<string>`split_part(record_a, ':', 1)`, 'in', sources).where(sql<string>`split_part(record_b, ':', 1)`, 'in', sources);
  }
  return query.orderBy('probability', 'desc').limit(limit).execute();
}

function splitKey(key: string): { source: string; kind: string; record_id: string } {
  const [source, kind, ...rest] = key.split(':');
  return { source, kind, record_id: rest.join(':') };
}

async function personOf(stores: Stores, workspaceId: string, key: string): Promise<number> {
  const r = splitKey(key);
  const rows = await stores.facts.query<{ p: string }>(
    `SELECT person_id AS p FROM source_records FINAL WHERE workspace_id = {ws:String} AND source = {s:String} AND kind = {k:String} AND record_id = {r:String}`,
    { ws: workspaceId, s: r.source, k: r.kind, r: r.record_id },
  );
  if (rows.length === 0) throw new NotFoundError(`record ${key} no longer exists`);
  return Number(rows[0].p);
}

export async function decideReview(stores: Stores, workspaceId: string, id: number, decision: 'accepted' | 'rejected', actor: string, sources?: string[]) {
  const review = await stores.state.db.selectFrom('identity_reviews').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
  const inScope = (key: string) => !sources || sources.includes(splitKey(key).source);
  if (!review || !inScope(review.record_a) || !inScope(review.record_b)) throw new NotFoundError(`no review ${id} in this workspace`);
  if (review.status !== 'pending') throw new ConflictError(`review ${id} was ${review.status} already`);
  const a = splitKey(review.record_a);
  const b = splitKey(review.record_b);
  if (decision === 'accepted') {
    await stores.state.db
      .insertInto('identity_overrides')
      .values({
        workspace_id: workspaceId,
        kind: 'link',
        type: null,
        value: null,
        record_source: a.source,
        record_kind: a.kind,
        record_id: a.record_id,
        label: review.record_b,
        person_id: null,
        actor,
      })
      .execute();
  } else {
    const tag = crypto.randomBytes(4).toString('hex');
    for (const [record, side] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      await stores.state.db
        .insertInto('identity_overrides')
        .values({
          workspace_id: workspaceId,
          kind: 'partition',
          type: null,
          value: null,
          record_source: record.source,
          record_kind: record.kind,
          record_id: record.record_id,
          label: `${tag}:${side}`,
          person_id: null,
          actor,
        })
        .execute();
    }
  }
  await stores.state.db
    .updateTable('identity_reviews')
    .set({ status: decision, decided_by: actor, decided_at: new Date() })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
  const people = [...new Set([await personOf(stores, workspaceId, review.record_a), await personOf(stores, workspaceId, review.record_b)])];
  const summary = await resolveSerially(stores, { workspaceId, people, fuzzy: false });
  await stores.state.db
    .insertInto('identity_log')
    .values({
      workspace_id: workspaceId,
      run_id: summary.runId,
      kind: 'review',
      person_id: people[0],
      details: JSON.stringify({ review: id, decision, records: [review.record_a, review.record_b], actor }),
    })
    .execute();
  return { person: await personOf(stores, workspaceId, review.record_a), summary };
}
