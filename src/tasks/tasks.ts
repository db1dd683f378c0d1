/**
 * Staff tasks (made by journeys' task steps): listed for the people the caller may see, and closed
 * when done. A staff member's list is their own customers' tasks; a team's is its people's.
 */
import type { Stores } from '../stores/stores.ts';
import type { AuthenticatedKey } from '../access/keys.ts';
import { NotFoundError } from '../kernel/errors.ts';
import { peopleInScope, peopleSeenInPart, scopeOf } from '../access/scope.ts';

import type { Task } from '../contract/tasks.ts';

type Row = { id: number | string; person_id: number | string; source: string; title: string; status: 'open' | 'done'; created_at: Date; closed_at: Date | null };
const toTask = (r: Row): Task => ({
  id: Number(r.id),
  personId: Number(r.person_id),
  source: r.source,
  title: r.title,
  status: r.status,
  createdAt: new Date(r.created_at).toISOString(),
  closedAt: r.closed_at ? new Date(r.closed_at).toISOString() : null,
});

export async function listTasks(stores: Stores, caller: AuthenticatedKey, options: { status?: 'open' | 'done'; limit?: number } = {}): Promise<Task[]> {
  const limit = options.limit ?? 100;
  const scope = scopeOf(caller);
  const base = () => {
    let query = stores.state.db.selectFrom('staff_tasks').selectAll().where('workspace_id', '=', caller.workspaceId);
    if (options.status) query = query.where('status', '=', options.status);
    return query;
  };
  if (scope?.staff) {
    // A guide's customers are few: their people go into the state store's query.
    const rows = await stores.facts.query<{ person_id: string }>(
      `SELECT DISTINCT person_id FROM contacts FINAL WHERE workspace_id = {ws:String} AND staff_userid = {staff:String} AND staff_userid != '' AND person_id > 0`,
      { ws: caller.workspaceId, staff: scope.staffUserId ?? '' },
    );
    const contacts = rows.map((r) => Number(r.person_id));
    // Their contacts are their staff scope already; a team as well narrows them to its sources.
    const mine = scope.team ? [...(await peopleInScope(stores, caller, contacts))] : contacts;
    if (mine.length === 0) return [];
    return (await base().where('person_id', 'in', mine).orderBy('id', 'desc').limit(limit).execute()).map(toTask);
  }
  // A team's people can be millions: pages of tasks (newest first, by id), kept when their person is in scope.
  const tasks: Task[] = [];
  let before = Number.MAX_SAFE_INTEGER;
  while (tasks.length < limit) {
    const rows = (await base().where('id', '<', before).orderBy('id', 'desc').limit(1000).execute()).map(toTask);
    if (rows.length === 0) break;
    const people = [...new Set(rows.map((t) => t.personId))];
    const visible = await peopleInScope(stores, caller, people);
    // Another team's customer too (linked by the team's own record): their tasks are not the team's.
    const shared = await peopleSeenInPart(stores, caller, people);
    tasks.push(...rows.filter((t) => visible.has(t.personId) && !shared.has(t.personId)));
    before = rows[rows.length - 1].id;
    if (rows.length < 1000) break;
  }
  return tasks.slice(0, limit);
}

/** Marks a task done (or open again); a task of someone out of scope is not found. */
export async function setTaskStatus(stores: Stores, caller: AuthenticatedKey, id: number, status: 'open' | 'done'): Promise<Task> {
  const row = await stores.state.db.selectFrom('staff_tasks').selectAll().where('workspace_id', '=', caller.workspaceId).where('id', '=', id).executeTakeFirst();
  const person = Number(row?.person_id ?? 0);
  if (!row || !(await peopleInScope(stores, caller, [person])).has(person) || (await peopleSeenInPart(stores, caller, [person])).has(person))
    throw new NotFoundError(`no task ${id} in this workspace`);
  const updated = await stores.state.db
    .updateTable('staff_tasks')
    .set({ status, closed_at: status === 'done' ? new Date() : null })
    .where('workspace_id', '=', caller.workspaceId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toTask(updated);
}
