/**
 * People's accounts: passwords hashed with scrypt (N=2^15, r=8, p=1, a 16-byte salt), sessions kept
 * as the SHA-256 of a random 256-bit token, and a lockout after repeated wrong passwords.
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import { ConflictError, NotFoundError, ROLES, type AuthenticatedKey, type Role } from '../workspaces/workspaces.ts';
import { InputError } from '../system/validation.ts';
import type { DataScope } from './scope.ts';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
export const SESSION_DAYS = 14;
const LOCK_AFTER = 5;
const LOCK_MINUTES = 15;

/** People log in to the console; 'tracker' is for machines only. */
export const USER_ROLES = ROLES.filter((r) => r !== 'tracker') as Exclude<Role, 'tracker'>[];

export const passwordSchema = z.string().min(10, 'at least 10 characters').max(200);
export const newUserSchema = z
  .object({
    email: z.email().transform((e) => e.toLowerCase()),
    name: z.string().min(1).max(200),
    role: z.enum(USER_ROLES as [Exclude<Role, 'tracker'>, ...Exclude<Role, 'tracker'>[]]),
    password: passwordSchema,
    teamId: z.string().min(1).nullable().optional(),
    staffUserId: z.string().min(1).max(64).nullable().optional(),
  })
  .strict();

export interface User {
  id: string;
  workspaceId: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  /** The team whose data scope the user works in (null: the whole workspace). */
  teamId: string | null;
  /** Staff: their WeCom userid, which decides the contacts they see. */
  staffUserId: string | null;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt') return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return crypto.timingSafeEqual(actual, expected);
}

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

type UserRow = { id: string; workspace_id: string; email: string; name: string; role: string; disabled_at: Date | null; created_at: Date; team_id: string | null; staff_userid: string | null };
function toUser(row: UserRow): User {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    email: row.email,
    name: row.name,
    role: row.role as Role,
    disabled: row.disabled_at !== null,
    createdAt: new Date(row.created_at).toISOString(),
    teamId: row.team_id,
    staffUserId: row.staff_userid,
  };
}

export async function createUser(stores: Stores, workspaceId: string, input: unknown): Promise<User> {
  const data = newUserSchema.parse(input);
  const row = await stores.state.db
    .insertInto('users')
    .values({ id: `usr_${crypto.randomBytes(8).toString('hex')}`, workspace_id: workspaceId, email: data.email, name: data.name, role: data.role, password_hash: await hashPassword(data.password) })
    .onConflict((c) => c.column('email').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new ConflictError(`a user with the email ${data.email} exists already`);
  if (data.teamId || data.staffUserId) {
    try {
      return await updateUser(stores, workspaceId, row.id, { teamId: data.teamId, staffUserId: data.staffUserId });
    } catch (error) {
      // A refused team leaves no user behind.
      await stores.state.db.deleteFrom('users').where('id', '=', row.id).execute();
      throw error;
    }
  }
  return toUser(row);
}

export async function listUsers(stores: Stores, workspaceId: string): Promise<User[]> {
  return (await stores.state.db.selectFrom('users').selectAll().where('workspace_id', '=', workspaceId).orderBy('email').execute()).map(toUser);
}

export async function getUser(stores: Stores, workspaceId: string, idOrEmail: string): Promise<User> {
  const row = await stores.state.db
    .selectFrom('users')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where((eb) => eb.or([eb('id', '=', idOrEmail), eb('email', '=', idOrEmail.toLowerCase())]))
    .executeTakeFirst();
  if (!row) throw new NotFoundError(`no user "${idOrEmail}" in this workspace`);
  return toUser(row);
}

export interface UserChange {
  role?: Role;
  disabled?: boolean;
  teamId?: string | null;
  staffUserId?: string | null;
}

/**
 * Changes a user's role, team, staff userid, or disables them; their sessions end either way (the
 * rights they had are gone). Admins see the whole workspace, so they are in no team.
 */
export async function updateUser(stores: Stores, workspaceId: string, idOrEmail: string, change: UserChange): Promise<User> {
  const user = await getUser(stores, workspaceId, idOrEmail);
  if (change.role && !(USER_ROLES as string[]).includes(change.role)) throw new InputError(`role: expected one of ${USER_ROLES.join(', ')}`);
  const teamId = change.teamId !== undefined ? change.teamId : user.teamId;
  if ((change.role ?? user.role) === 'admin' && teamId) throw new InputError('teamId: an admin sees the whole workspace and cannot be in a team');
  if (change.teamId) {
    const team = await stores.state.db.selectFrom('teams').select('id').where('workspace_id', '=', workspaceId).where('id', '=', change.teamId).executeTakeFirst();
    if (!team) throw new InputError(`teamId: no team "${change.teamId}" in this workspace`);
  }
  await stores.state.db
    .updateTable('users')
    .set({
      ...(change.role ? { role: change.role } : {}),
      ...(change.disabled !== undefined ? { disabled_at: change.disabled ? new Date() : null } : {}),
      ...(change.teamId !== undefined ? { team_id: change.teamId } : {}),
      ...(change.staffUserId !== undefined ? { staff_userid: change.staffUserId || null } : {}),
    })
    .where('id', '=', user.id)
    .execute();
  await stores.state.db.deleteFrom('sessions').where('user_id', '=', user.id).execute();
  return getUser(stores, workspaceId, user.id);
}

export class LoginError extends Error {
  override name = 'LoginError';
  readonly locked: boolean;
  constructor(message: string, locked = false) {
    super(message);
    this.locked = locked;
  }
}

/** Checks an email and password; returns a new session token (for the cookie) and the user. */
export async function login(stores: Stores, email: string, password: string): Promise<{ token: string; user: User; expiresAt: Date }> {
  const row = await stores.state.db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
  // The same message whether the email is unknown or the password wrong: no account probing.
  const refused = new LoginError('the email or the password is wrong');
  if (!row) {
    await hashPassword(password); // the same time either way
    throw refused;
  }
  if (row.disabled_at) throw refused;
  if (row.locked_until && new Date(row.locked_until) > new Date()) throw new LoginError(`too many wrong passwords: try again after ${new Date(row.locked_until).toISOString()}`, true);
  if (!(await verifyPassword(password, row.password_hash))) {
    // Counted in the database (not read, then written), so tries in parallel all count.
    await sql`
      UPDATE users SET
        locked_until = CASE WHEN failed_logins + 1 >= ${LOCK_AFTER} THEN now() + make_interval(mins => ${LOCK_MINUTES}) ELSE locked_until END,
        failed_logins = CASE WHEN failed_logins + 1 >= ${LOCK_AFTER} THEN 0 ELSE failed_logins + 1 END
      WHERE id = ${row.id}`.execute(stores.state.db);
    throw refused;
  }
  await stores.state.db.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', row.id).execute();
  const token = crypto.randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + SESSION_DAYS * 86_400_000);
  await stores.state.db.insertInto('sessions').values({ token_hash: sha256(token), user_id: row.id, expires_at: expiresAt }).execute();
  return { token, user: toUser(row), expiresAt };
}

export async function logout(stores: Stores, token: string): Promise<void> {
  await stores.state.db.deleteFrom('sessions').where('token_hash', '=', sha256(token)).execute();
}

/** The caller behind a session cookie, or undefined when it is unknown, expired or the user disabled. */
export async function authenticateSession(stores: Stores, token: string): Promise<(AuthenticatedKey & { userId: string }) | undefined> {
  const row = await stores.state.db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .leftJoin('teams', 'teams.id', 'users.team_id')
    .select(['users.id as user_id', 'users.workspace_id', 'users.role', 'users.disabled_at', 'users.staff_userid', 'sessions.expires_at', 'teams.id as team_id', 'teams.name as team_name', 'teams.sources as team_sources'])
    .where('sessions.token_hash', '=', sha256(token))
    .executeTakeFirst();
  if (!row || row.disabled_at || new Date(row.expires_at) < new Date()) return undefined;
  const role = row.role as Role;
  const scope: DataScope = {
    team: row.team_id ? { id: row.team_id, name: row.team_name ?? '', sources: row.team_sources ?? [] } : null,
    staff: role === 'staff',
    staffUserId: row.staff_userid,
  };
  return { keyId: row.user_id, userId: row.user_id, workspaceId: row.workspace_id, role, scope };
}

/** Changes one's password (the current one is asked again); every other session ends. */
export async function changePassword(stores: Stores, userId: string, current: string, next: string, keepToken?: string): Promise<void> {
  const row = await stores.state.db.selectFrom('users').select(['password_hash']).where('id', '=', userId).executeTakeFirstOrThrow();
  if (!(await verifyPassword(current, row.password_hash))) throw new LoginError('the current password is wrong');
  const checked = passwordSchema.safeParse(next);
  if (!checked.success) throw new InputError(`newPassword: ${checked.error.issues[0].message}`);
  await stores.state.db.updateTable('users').set({ password_hash: await hashPassword(next), password_changed_at: new Date() }).where('id', '=', userId).execute();
  let sessions = stores.state.db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepToken) sessions = sessions.where('token_hash', '!=', sha256(keepToken));
  await sessions.execute();
}
