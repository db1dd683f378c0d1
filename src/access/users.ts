/**
 * People's accounts: passwords hashed with scrypt (N=2^15, r=8, p=1, a 16-byte salt), sessions kept
 * as the SHA-256 of a random 256-bit token, and failed logins slowed down without locking anyone out
 * (see `login`).
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import ipaddr from 'ipaddr.js';
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import type { AuthenticatedKey, Role } from './keys.ts';
import { ConflictError, NotFoundError, InputError } from '../kernel/errors.ts';
import type { DataScope } from './scope.ts';
import { newUserSchema, passwordSchema, USER_ROLES } from '../contract/access.ts';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
export const SESSION_DAYS = 14;

/**
 * Login throttling. Failures are counted under three keys, each forgotten after 15 quiet minutes:
 *  - the account from one client address: past 5 failures each further one blocks that pair for
 *    2^n seconds (1 s, 2 s, 4 s … at most 15 min);
 *  - the client address over all accounts: the same past 50 (password spraying from one place);
 *  - the account over all addresses: never blocks; past 20 it lowers the pair allowance to 1, so
 *    many addresses guessing one password are each slowed after their first miss.
 * A block holds only the pair or address that earned it, so a burst of wrong passwords from
 * elsewhere never stops the owner: their first try from their own address is always checked.
 */
export const LOGIN_THROTTLE = {
  quietMinutes: 15,
  pairFailures: 5,
  addressFailures: 50,
  accountAlarm: 20,
  maxBlockSeconds: 15 * 60,
};

// Who may log in, and what a new user and a password must be, are the API's contract.
export { newUserSchema, USER_ROLES } from '../contract/access.ts';

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
  /** A generated first password: until it is changed the session may do nothing else. */
  mustChangePassword: boolean;
}

async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt') return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return crypto.timingSafeEqual(actual, expected);
}

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

type UserRow = {
  id: string;
  workspace_id: string;
  email: string;
  name: string;
  role: string;
  disabled_at: Date | null;
  created_at: Date;
  team_id: string | null;
  staff_userid: string | null;
  must_change_password: boolean;
};
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
    mustChangePassword: row.must_change_password,
  };
}

export async function createUser(stores: Stores, workspaceId: string, input: unknown, options: { mustChangePassword?: boolean } = {}): Promise<User> {
  const data = newUserSchema.parse(input);
  const row = await stores.state.db
    .insertInto('users')
    .values({
      id: `usr_${crypto.randomBytes(8).toString('hex')}`,
      workspace_id: workspaceId,
      email: data.email,
      name: data.name,
      role: data.role,
      password_hash: await hashPassword(data.password),
      must_change_password: options.mustChangePassword ?? false,
    })
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
  if (change.role && !(USER_ROLES as readonly string[]).includes(change.role)) throw new InputError(`role: expected one of ${USER_ROLES.join(', ')}`);
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
  /** Set when the try was not even checked: the client must wait this long. */
  readonly retryAfterSeconds?: number;
  constructor(message: string, retryAfterSeconds?: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Checked when the email is unknown or disabled, so every refusal costs the same scrypt run. */
let dummyHash: Promise<string> | undefined;
/** How many passwords were checked against the dummy hash (tests read it: an unknown email still costs a hash). */
export const dummyChecks = { count: 0 };

const throttleKey = (...parts: string[]) => crypto.createHash('sha256').update(parts.join('\0')).digest('hex');

/**
 * The client a throttle counts: an IPv4 address, or an IPv6 /64 (one subscriber's network; anyone
 * holding one has 2^64 addresses to rotate through).
 */
export function throttleClient(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  return `${(address as ipaddr.IPv6).parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`;
}

interface ThrottleKeys {
  pair: string;
  address: string;
  account: string;
}

/** The block in force on any of these keys, in whole seconds left (0: none). */
async function blockedFor(stores: Stores, keys: ThrottleKeys, now: Date): Promise<number> {
  const rows = await stores.state.db.selectFrom('login_throttle').select('blocked_until').where('key', 'in', [keys.pair, keys.address]).where('blocked_until', '>', now).execute();
  const until = Math.max(0, ...rows.map((r) => new Date(r.blocked_until!).getTime()));
  return until > 0 ? Math.ceil((until - now.getTime()) / 1000) : 0;
}

/**
 * One more failure under `key` (in one statement: tries in parallel all count). Past `allowed`
 * failures, the key is blocked for 2^(failures − allowed) seconds, at most the longest block;
 * after 15 quiet minutes (counted from the end of a block) the count starts again.
 */
async function countFailure(stores: Stores, key: string, allowed: number, now: Date): Promise<number> {
  const quiet = new Date(now.getTime() - LOGIN_THROTTLE.quietMinutes * 60_000);
  const failures = sql<number>`CASE WHEN greatest(t.last_failure_at, coalesce(t.blocked_until, t.last_failure_at)) < ${quiet} THEN 1 ELSE t.failures + 1 END`;
  const limit = sql`${allowed}::bigint`;
  const block = (n: typeof failures) =>
    sql`CASE WHEN ${n} >= ${limit} THEN ${now}::timestamptz + make_interval(secs => least(power(2, ${n} - ${limit}), ${LOGIN_THROTTLE.maxBlockSeconds}::int)) ELSE NULL END`;
  const row = await sql<{ failures: number }>`
    INSERT INTO login_throttle AS t (key, failures, last_failure_at, blocked_until)
    VALUES (${key}, 1, ${now}, ${block(sql<number>`1`)})
    ON CONFLICT (key) DO UPDATE SET failures = ${failures}, last_failure_at = ${now}, blocked_until = ${block(failures)}
    RETURNING failures`.execute(stores.state.db);
  return row.rows[0].failures;
}

export interface LoginContext {
  /** The client's address (behind a proxy: as SIYU_TRUST_PROXY lets Fastify read it). */
  ip: string;
  /** The clock (tests move it). */
  now?: Date;
}

/**
 * Checks an email and password; returns a new session token (for the cookie) and the user. Unknown,
 * disabled and wrong give the same refusal after the same scrypt run; a throttled pair or address is
 * refused before anything is checked, for known and unknown emails alike.
 */
export async function login(stores: Stores, email: string, password: string, context: LoginContext): Promise<{ token: string; user: User; expiresAt: Date }> {
  const now = context.now ?? new Date();
  const account = email.trim().toLowerCase();
  const client = throttleClient(context.ip);
  const keys: ThrottleKeys = { pair: throttleKey('pair', account, client), address: throttleKey('address', client), account: throttleKey('account', account) };
  const wait = await blockedFor(stores, keys, now);
  if (wait > 0) throw new LoginError(`too many failed logins from this address: try again in ${wait} s`, wait);

  const row = await stores.state.db.selectFrom('users').selectAll().where('email', '=', account).executeTakeFirst();
  let verified: boolean;
  if (row && !row.disabled_at) verified = await verifyPassword(password, row.password_hash);
  else {
    dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'));
    await verifyPassword(password, await dummyHash);
    dummyChecks.count++;
    verified = false;
  }
  if (!row || row.disabled_at || !verified) {
    const accountFailures = await countFailure(stores, keys.account, Number.MAX_SAFE_INTEGER, now);
    const pairAllowed = accountFailures > LOGIN_THROTTLE.accountAlarm ? 1 : LOGIN_THROTTLE.pairFailures;
    await countFailure(stores, keys.pair, pairAllowed, now);
    await countFailure(stores, keys.address, LOGIN_THROTTLE.addressFailures, now);
    // Old counts are dropped now and then (each is forgotten after 15 quiet minutes anyway).
    if (Math.random() < 0.02)
      await stores.state.db
        .deleteFrom('login_throttle')
        .where('last_failure_at', '<', new Date(now.getTime() - 86_400_000))
        .execute();
    // The same message whether the email is unknown, disabled or the password wrong: no account probing.
    throw new LoginError('the email or the password is wrong');
  }
  // The owner's success clears their own pair; the account and address counts stay.
  await stores.state.db.deleteFrom('login_throttle').where('key', '=', keys.pair).execute();
  const token = crypto.randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_DAYS * 86_400_000);
  await stores.state.db
    .insertInto('sessions')
    .values({ token_hash: sha256(token), user_id: row.id, expires_at: expiresAt })
    .execute();
  return { token, user: toUser(row), expiresAt };
}

export async function logout(stores: Stores, token: string): Promise<void> {
  await stores.state.db.deleteFrom('sessions').where('token_hash', '=', sha256(token)).execute();
}

/** The caller behind a session cookie, or undefined when it is unknown, expired or the user disabled. */
export async function authenticateSession(stores: Stores, token: string): Promise<(AuthenticatedKey & { userId: string; mustChangePassword: boolean }) | undefined> {
  const row = await stores.state.db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .leftJoin('teams', 'teams.id', 'users.team_id')
    .select([
      'users.id as user_id',
      'users.workspace_id',
      'users.role',
      'users.disabled_at',
      'users.staff_userid',
      'users.must_change_password',
      'sessions.expires_at',
      'teams.id as team_id',
      'teams.name as team_name',
      'teams.sources as team_sources',
    ])
    .where('sessions.token_hash', '=', sha256(token))
    .executeTakeFirst();
  if (!row || row.disabled_at || new Date(row.expires_at) < new Date()) return undefined;
  const role = row.role as Role;
  const scope: DataScope = {
    team: row.team_id ? { id: row.team_id, name: row.team_name ?? '', sources: row.team_sources ?? [] } : null,
    staff: role === 'staff',
    staffUserId: row.staff_userid,
  };
  return { keyId: row.user_id, userId: row.user_id, workspaceId: row.workspace_id, role, scope, mustChangePassword: row.must_change_password };
}

/** Changes one's password (the current one is asked again); every other session ends. */
export async function changePassword(stores: Stores, userId: string, current: string, next: string, keepToken?: string): Promise<void> {
  const row = await stores.state.db.selectFrom('users').select(['password_hash']).where('id', '=', userId).executeTakeFirstOrThrow();
  if (!(await verifyPassword(current, row.password_hash))) throw new LoginError('the current password is wrong');
  const checked = passwordSchema.safeParse(next);
  if (!checked.success) throw new InputError(`newPassword: ${checked.error.issues[0].message}`);
  if (next === current) throw new InputError('newPassword: must differ from the current password');
  await stores.state.db
    .updateTable('users')
    .set({ password_hash: await hashPassword(next), password_changed_at: new Date(), must_change_password: false })
    .where('id', '=', userId)
    .execute();
  let sessions = stores.state.db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepToken) sessions = sessions.where('token_hash', '!=', sha256(keepToken));
  await sessions.execute();
}
