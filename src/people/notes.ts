/** Notes on a person (备注): who wrote what and when; read and written within the caller's scope. */
import type { Stores } from '../stores/stores.ts';
import type { AuthenticatedKey } from '../access/keys.ts';
import { NotFoundError } from '../kernel/errors.ts';
import { assertPersonInScope } from '../access/scope.ts';

import { type Note, noteInputSchema } from '../contract/people.ts';

/** With `teamId`, only the notes the team's own members wrote (a person shared with other teams). */
export async function listNotes(stores: Stores, workspaceId: string, personId: number, options: { teamId?: string } = {}): Promise<Note[]> {
  let query = stores.state.db.selectFrom('person_notes').selectAll().where('workspace_id', '=', workspaceId).where('person_id', '=', personId);
  if (options.teamId)
    query = query.where('author', 'in', (eb) =>
      eb.selectFrom('users').select('users.id').where('users.workspace_id', '=', workspaceId).where('users.team_id', '=', options.teamId!),
    );
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(200).execute();
  return rows.map((r) => ({ id: Number(r.id), text: r.text, author: r.author, authorName: r.author_name, createdAt: new Date(r.created_at).toISOString() }));
}

/** The name shown with a note: the user's name, or the API key's. */
async function authorName(stores: Stores, caller: AuthenticatedKey): Promise<string> {
  const user = await stores.state.db.selectFrom('users').select('name').where('id', '=', caller.keyId).executeTakeFirst();
  if (user) return user.name;
  const key = await stores.state.db.selectFrom('api_keys').select('name').where('id', '=', caller.keyId).executeTakeFirst();
  return key?.name ?? caller.keyId;
}

export async function addNote(stores: Stores, caller: AuthenticatedKey, personId: number, input: unknown): Promise<Note> {
  const { text } = noteInputSchema.parse(input);
  await assertPersonInScope(stores, caller, personId);
  const known = await stores.facts.query(`SELECT 1 FROM source_records WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} LIMIT 1`, {
    ws: caller.workspaceId,
    p: personId,
  });
  if (known.length === 0) throw new NotFoundError(`no person ${personId} in this workspace`);
  const row = await stores.state.db
    .insertInto('person_notes')
    .values({ workspace_id: caller.workspaceId, person_id: personId, author: caller.keyId, author_name: await authorName(stores, caller), text })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { id: Number(row.id), text: row.text, author: row.author, authorName: row.author_name, createdAt: new Date(row.created_at).toISOString() };
}
