/** Teams: a name and the sources (tmall, jd, wecom, …) whose data their members see. */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import { type Team, teamInputSchema } from '../contract/access.ts';

export async function listTeams(stores: Stores, workspaceId: string): Promise<Team[]> {
  const rows = await stores.state.db
    .selectFrom('teams')
    .leftJoin('users', 'users.team_id', 'teams.id')
    .select((eb) => ['teams.id', 'teams.name', 'teams.sources', 'teams.created_at', eb.fn.count<string>('users.id').as('members')])
    .where('teams.workspace_id', '=', workspaceId)
    .groupBy(['teams.id', 'teams.name', 'teams.sources', 'teams.created_at'])
    .orderBy('teams.name')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, sources: r.sources, members: Number(r.members), createdAt: new Date(r.created_at).toISOString() }));
}

export async function getTeam(stores: Stores, workspaceId: string, id: string): Promise<Team> {
  const team = (await listTeams(stores, workspaceId)).find((t) => t.id === id);
  if (!team) throw new NotFoundError(`no team "${id}" in this workspace`);
  return team;
}

export async function createTeam(stores: Stores, workspaceId: string, input: unknown): Promise<Team> {
  const data = teamInputSchema.parse(input);
  const id = `team_${crypto.randomBytes(6).toString('hex')}`;
  const row = await stores.state.db
    .insertInto('teams')
    .values({ id, workspace_id: workspaceId, name: data.name, sources: data.sources })
    .onConflict((c) => c.columns(['workspace_id', 'name']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!row) throw new ConflictError(`a team named "${data.name}" exists already`);
  return getTeam(stores, workspaceId, id);
}

/** Renames a team or changes its sources; its members' next request reads the new scope. */
export async function updateTeam(stores: Stores, workspaceId: string, id: string, input: unknown): Promise<Team> {
  const data = teamInputSchema.parse(input);
  await getTeam(stores, workspaceId, id);
  const clash = await stores.state.db
    .selectFrom('teams')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', data.name)
    .where('id', '!=', id)
    .executeTakeFirst();
  if (clash) throw new ConflictError(`a team named "${data.name}" exists already`);
  await stores.state.db.updateTable('teams').set({ name: data.name, sources: data.sources }).where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
  return getTeam(stores, workspaceId, id);
}

/** A team with members stays: removing it would widen their view to the whole workspace. */
export async function deleteTeam(stores: Stores, workspaceId: string, id: string): Promise<void> {
  const team = await getTeam(stores, workspaceId, id);
  if (team.members > 0) throw new ConflictError(`team "${team.name}" has ${team.members} member(s): move them to another team (or none) first`);
  await stores.state.db.deleteFrom('teams').where('workspace_id', '=', workspaceId).where('id', '=', id).execute();
}
