/**
 * Team data scopes. A caller with a scope sees only:
 * - people who have a record from one of their team's sources (the Tmall team: people with a Tmall
 *   record), and of those people only the orders, records and identities of those sources;
 * - for staff (导购): the people whose WeCom contact they own.
 * The scope is a condition in the queries themselves (person_id IN (…) on the facts store; source
 * filters on both stores), not a filter over rows already read.
 */
import type { Stores } from '../stores/stores.ts';
import { type AuthenticatedKey } from './keys.ts';
import { NotFoundError } from '../kernel/errors.ts';

export interface DataScope {
  team: { id: string; name: string; sources: string[] } | null;
  /** Staff only: their WeCom userid (no userid: they see nobody). */
  staffUserId: string | null;
  staff: boolean;
}

/** The caller's scope, or undefined when they see the whole workspace. */
export function scopeOf(caller: Pick<AuthenticatedKey, 'scope'>): DataScope | undefined {
  const scope = caller.scope;
  return scope && (scope.team || scope.staff) ? scope : undefined;
}

/** The sources a scoped caller may read records and orders of; undefined: all. */
export function scopeSources(caller: Pick<AuthenticatedKey, 'scope'>): string[] | undefined {
  return scopeOf(caller)?.team?.sources;
}

/**
 * A condition on a person id column for the facts store, with its parameters (named scope_*; the
 * workspace is {ws:String}). 1 when the caller sees everyone.
 */
export function peopleScopeSql(caller: Pick<AuthenticatedKey, 'scope'>, column = 'person_id'): { sql: string; params: Record<string, unknown> } {
  const scope = scopeOf(caller);
  if (!scope) return { sql: '1', params: {} };
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  if (scope.team) {
    parts.push(
      `${column} IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND source IN {scope_sources:Array(String)} AND person_id > 0)`,
    );
    params.scope_sources = scope.team.sources;
  }
  if (scope.staff) {
    parts.push(`${column} IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = {ws:String} AND staff_userid = {scope_staff:String} AND staff_userid != '' AND person_id > 0)`);
    // Staff without a WeCom userid match no contact.
    params.scope_staff = scope.staffUserId ?? '';
  }
  return { sql: parts.join(' AND '), params };
}

/** A source condition for the facts store (orders, records, identities' sources). */
export function sourceScopeSql(caller: Pick<AuthenticatedKey, 'scope'>, column = 'source'): { sql: string; params: Record<string, unknown> } {
  const sources = scopeSources(caller);
  return sources ? { sql: `${column} IN {scope_sources:Array(String)}`, params: { scope_sources: sources } } : { sql: '1', params: {} };
}

/**
 * Of these few people, those the caller may see: point lookups by person (records through their
 * bloom filter, contacts by their order), not a pass over everyone in the scope.
 */
export async function peopleInScope(stores: Stores, caller: AuthenticatedKey, people: number[]): Promise<Set<number>> {
  const scope = scopeOf(caller);
  if (!scope || people.length === 0) return new Set(people);
  const checks: string[] = [];
  if (scope.team) checks.push(`person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id IN {people:Array(UInt64)} AND source IN {scope_sources:Array(String)})`);
  if (scope.staff) checks.push(`person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = {ws:String} AND person_id IN {people:Array(UInt64)} AND staff_userid = {scope_staff:String} AND staff_userid != '')`);
  const rows = await stores.facts.query<{ person_id: string }>(`SELECT arrayJoin({people:Array(UInt64)}) AS person_id WHERE ${checks.join(' AND ')}`, {
    ws: caller.workspaceId,
    people,
    ...(scope.team ? { scope_sources: scope.team.sources } : {}),
    ...(scope.staff ? { scope_staff: scope.staffUserId ?? '' } : {}),
  });
  return new Set(rows.map((r) => Number(r.person_id)));
}

/**
 * A condition on person_identities (its `sources` column, optionally qualified): a team sees the
 * identifiers its own sources brought. 1 for everyone else.
 */
export function identitySourcesSql(caller: Pick<AuthenticatedKey, 'scope'>, column = 'sources'): { sql: string; params: Record<string, unknown> } {
  const sources = scopeSources(caller);
  return sources ? { sql: `hasAny(${column}, {scope_sources:Array(String)})`, params: { scope_sources: sources } } : { sql: '1', params: {} };
}

/** Whether the person is one the caller may see. */
export async function personInScope(stores: Stores, caller: AuthenticatedKey, personId: number): Promise<boolean> {
  return (await peopleInScope(stores, caller, [personId])).has(personId);
}

/** A person outside the caller's scope is as good as absent: the same 404, nothing to probe. */
export async function assertPersonInScope(stores: Stores, caller: AuthenticatedKey, personId: number): Promise<void> {
  if (!(await personInScope(stores, caller, personId))) throw new NotFoundError(`no person ${personId} in this workspace`);
}

/**
 * Whether a team sees only part of this person: they also have records from sources outside the
 * team's (another team's customer whom the team's own record linked to). What was derived from all
 * their data or written by others — tags, other teams' notes, tasks, messages — is then not the
 * team's to read; their own sources' facts are.
 */
export async function seesPartOf(stores: Stores, caller: AuthenticatedKey, personId: number): Promise<boolean> {
  return (await peopleSeenInPart(stores, caller, [personId])).has(personId);
}

/** Of these people, those the caller's team sees only part of (see seesPartOf); none for everyone else. */
export async function peopleSeenInPart(stores: Stores, caller: AuthenticatedKey, people: number[]): Promise<Set<number>> {
  const sources = scopeSources(caller);
  if (!sources || people.length === 0) return new Set();
  const rows = await stores.facts.query<{ person_id: string }>(
    `SELECT DISTINCT person_id FROM source_records FINAL
     WHERE workspace_id = {ws:String} AND person_id IN {people:Array(UInt64)} AND source NOT IN {scope_sources:Array(String)}`,
    { ws: caller.workspaceId, people, scope_sources: sources },
  );
  return new Set(rows.map((r) => Number(r.person_id)));
}
