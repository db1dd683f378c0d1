/**
 * Operators' corrections to OneID: unbind (this identifier value must link nobody) and unmerge
 * (undo a person's latest merge). Both are recorded, logged and honoured by every later resolution.
 */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';
import { NotFoundError } from '../kernel/errors.ts';
import { normalise } from './identifier-types.ts';
import { loadIdentifierTypes } from './identifier-store.ts';
import { resolveSerially } from './resolve-queue.ts';
import type { ResolveSummary } from './resolve.ts';

export async function unbindIdentifier(stores: Stores, workspaceId: string, personId: number, type: string, rawValue: string, actor: string): Promise<ResolveSummary> {
  const types = await loadIdentifierTypes(stores.state, workspaceId);
  const definition = types.get(type);
  if (!definition) throw new NotFoundError(`no identifier type "${type}" (declared: ${[...types.keys()].join(', ')})`);
  const value = normalise(definition, rawValue);
  const held = await stores.facts.query<{ n: string }>(
    `SELECT count() AS n FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = {type:String} AND value = {value:String} AND person_id = {p:UInt64}`,
    { ws: workspaceId, type, value, p: personId },
  );
  if (Number(held[0]?.n ?? 0) === 0) throw new NotFoundError(`person ${personId} has no ${type} ${value}`);
  await stores.state.db
    .insertInto('identity_overrides')
    .values({ workspace_id: workspaceId, kind: 'unbind', type, value, record_source: null, record_kind: null, record_id: null, label: null, person_id: personId, actor })
    .execute();
  const summary = await resolveSerially(stores, { workspaceId, people: [personId] });
  await stores.state.db
    .insertInto('identity_log')
    .values({ workspace_id: workspaceId, run_id: summary.runId, kind: 'unbind', person_id: personId, details: JSON.stringify({ type, value, actor, split: summary.newPeople }) })
    .execute();
  return summary;
}

/** Splits a person back into the people their latest merge joined; they never link again. */
export async function unmergePerson(stores: Stores, workspaceId: string, personId: number, actor: string): Promise<{ summary: ResolveSummary; groups: number }> {
  const merge = await stores.state.db
    .selectFrom('identity_log')
    .select(['run_id', 'details'])
    .where('workspace_id', '=', workspaceId)
    .where('person_id', '=', personId)
    .where('kind', '=', 'merge')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (!merge) throw new NotFoundError(`person ${personId} has no merge to undo (see: siyu identities explain ${personId})`);
  const details = (typeof merge.details === 'string' ? JSON.parse(merge.details) : merge.details) as { kept: number; absorbed: number[] };
  // Which person each of today's records belonged to before that merge.
  const before = await stores.facts.query<{ source: string; kind: string; record_id: string; previous_person_id: string }>(
    `SELECT source, kind, record_id, previous_person_id FROM identity_assignments
     WHERE workspace_id = {ws:String} AND run_id = {run:String} AND person_id = {p:UInt64}`,
    { ws: workspaceId, run: merge.run_id, p: personId },
  );
  const records = await stores.facts.query<{ source: string; kind: string; record_id: string }>(
    `SELECT source, kind, record_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64}`,
    { ws: workspaceId, p: personId },
  );
  const groupOf = new Map(
    before.filter((b) => details.absorbed.includes(Number(b.previous_person_id))).map((b) => [`${b.source}\u0000${b.kind}\u0000${b.record_id}`, Number(b.previous_person_id)]),
  );
  const tag = crypto.randomBytes(4).toString('hex');
  const rows = records.map((r) => ({
    workspace_id: workspaceId,
    kind: 'partition' as const,
    type: null,
    value: null,
    record_source: r.source,
    record_kind: r.kind,
    record_id: r.record_id,
    label: `${tag}:${groupOf.get(`${r.source}\u0000${r.kind}\u0000${r.record_id}`) ?? details.kept}`,
    person_id: personId,
    actor,
  }));
  for (let i = 0; i < rows.length; i += 1000)
    await stores.state.db
      .insertInto('identity_overrides')
      .values(rows.slice(i, i + 1000))
      .execute();
  const summary = await resolveSerially(stores, { workspaceId, people: [personId] });
  await stores.state.db
    .insertInto('identity_log')
    .values({
      workspace_id: workspaceId,
      run_id: summary.runId,
      kind: 'unmerge',
      person_id: personId,
      details: JSON.stringify({ undid: details, actor, newPeople: summary.newPeople }),
    })
    .execute();
  return { summary, groups: new Set(rows.map((r) => r.label)).size };
}
