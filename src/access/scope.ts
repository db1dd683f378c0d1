/**
 * Team data scopes. A caller with a scope sees only:
 * - people who have a record from one of their team's sources (the Tmall team: people with a Tmall
 *   record), and of those people only the orders, records and identities of those sources;
 * - for staff (导购): the people whose WeCom contact they own.
 * The scope is a condition in the queries themselves (person_id IN (…) on the facts store; source
 * filters on both stores), not a filter over rows already read.
 */
import type { Stores } from '../stores/stores.ts';
import { sql, type SqlFragment } from '../facts/sql.ts';
import type { AuthenticatedKey } from './keys.ts';
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

/** A column as `name` or `table.name` (always ours: plain names only). */
const columnOf = (name: string) => sql.identifier(...name.split('.'));

/** A condition on a person id column for the facts store, with its own parameters. 1 when the caller sees everyone. */
export function peopleScope(caller: Pick<AuthenticatedKey, 'scope'>, workspaceId: string, column = 'person_id'): SqlFragment {
  const scope = scopeOf(caller);
  if (!scope) return sql`1`;
  const person = columnOf(column);
  const parts: SqlFragment[] = [];
  if (scope.team) {
    parts.push(
      sql`${person} IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = ${workspaceId} AND source IN ${sql.param(scope.team.sources, 'Array(String)')} AND person_id > 0)`,
    );
  }
  // Staff without a WeCom userid match no contact.
  if (scope.staff)
    parts.push(
      sql`${person} IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = ${workspaceId} AND staff_userid = ${scope.staffUserId ?? ''} AND staff_userid != '' AND person_id > 0)`,
    );
  return sql.join(parts, sql` AND `);
}

/** A source condition for the facts store (orders, records, identities' sources). */
export function sourceScope(caller: Pick<AuthenticatedKey, 'scope'>, column = 'source'): SqlFragment {
  const sources = scopeSources(caller);
  return sources ? sql`${columnOf(column)} IN ${sql.param(sources, 'Array(String)')}` : sql`1`;
}

/**
 * Of these few people, those the caller may see: point lookups by person (records through their
 * bloom filter, contacts by their order), not a pass over everyone in the scope.
 */
export async function peopleInScope(stores: Stores, caller: AuthenticatedKey, people: number[]): Promise<Set<number>> {
  const scope = scopeOf(caller);
  if (!scope || people.length === 0) return new Set(people);
  const ws = caller.workspaceId;
  const ids = sql.param(people, 'Array(UInt64)');
  const checks: SqlFragment[] = [];
  if (scope.team)
    checks.push(
      sql`person_id IN (SELECT person_id FROM source_records FINAL WHERE workspace_id = ${ws} AND person_id IN ${ids} AND source IN ${sql.param(scope.team.sources, 'Array(String)')})`,
    );
  if (scope.staff)
    checks.push(
      sql`person_id IN (SELECT person_id FROM contacts FINAL WHERE workspace_id = ${ws} AND person_id IN ${ids} AND staff_userid = ${scope.staffUserId ?? ''} AND staff_userid != '')`,
    );
  const { query, params } = sql`SELECT arrayJoin(${ids}) AS person_id WHERE ${sql.join(checks, sql` AND `)}`.toQuery();
  const rows = await stores.facts.query<{ person_id: string }>(query, params);
  return new Set(rows.map((r) => Number(r.person_id)));
}

/**
 * A condition on person_identities (its `sources` column, optionally qualified): a team sees the
 * identifiers its own sources brought. 1 for everyone else.
 */
export function identitySourcesScope(caller: Pick<AuthenticatedKey, 'scope'>, column = 'sources'): SqlFragment {
  const sources = scopeSources(caller);
  return sources ? sql`hasAny(${columnOf(column)}, ${sql.param(sources, 'Array(String)')})` : sql`1`;
}

/** Whether the person is one the caller may see. */
async function personInScope(stores: Stores, caller: AuthenticatedKey, personId: number): Promise<boolean> {
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
  const { query, params } = sql`SELECT DISTINCT person_id FROM source_records FINAL
     WHERE workspace_id = ${caller.workspaceId} AND person_id IN ${sql.param(people, 'Array(UInt64)')} AND source NOT IN ${sql.param(sources, 'Array(String)')}`.toQuery();
  const rows = await stores.facts.query<{ person_id: string }>(query, params);
  return new Set(rows.map((r) => Number(r.person_id)));
}
