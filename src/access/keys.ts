/**
 * API keys and roles: who may call the API, as what. A key's token is shown once; only its hash is
 * kept. Tracker keys may be held to page origins, so a key in a web page cannot be used from another site.
 */
import crypto from 'node:crypto';
import { InputError, NotFoundError } from '../kernel/errors.ts';
import type { StateStore } from '../stores/state/state-store.ts';
import type { DataScope } from './scope.ts';
import { type ApiKey, MAX_ALLOWED_ORIGINS, type Role } from '../contract/access.ts';
import { isoTime, isoTimeOrNull } from '../kernel/time.ts';

// Roles and a key's public shape are the API's contract; re-exported for the server-side callers.
export { ROLES, type Role } from '../contract/access.ts';

/**
 * A page origin as a tracker key's allow-list holds it: `https://shop.example.com`, a port when it is
 * not the scheme's, or `https://*.example.com` for every subdomain. Paths and other schemes are refused.
 */
export function normaliseOrigin(text: string): string {
  const trimmed = text.trim().replace(/\/$/, '');
  const wildcard = /^(https?:\/\/)\*\./i.exec(trimmed);
  let url: URL;
  try {
    url = new URL(wildcard ? `${wildcard[1]}${trimmed.slice(wildcard[0].length)}` : trimmed);
  } catch {
    throw new InputError(`"${text.slice(0, 100)}" is not an origin like https://shop.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InputError(`"${text.slice(0, 100)}": an origin is http:// or https://`);
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new InputError(`"${text.slice(0, 100)}": an origin has no path, query or credentials (like https://shop.example.com)`);
  }
  return `${url.protocol}//${wildcard ? '*.' : ''}${url.host}`;
}

/** Whether a request's origin (`https://m.shop.example.com`) is one the list allows. */
export function originAllowed(allowed: readonly string[], origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const host = url.host.toLowerCase();
  return allowed.some((entry) => {
    const [scheme, rest] = entry.split('//');
    if (scheme !== url.protocol) return false;
    return rest.startsWith('*.') ? host.endsWith(rest.slice(1)) && host.length > rest.length - 1 : host === rest;
  });
}

function checkedOrigins(origins: readonly string[] | null | undefined): string[] | null {
  if (origins === null || origins === undefined) return null;
  if (origins.length > MAX_ALLOWED_ORIGINS) throw new InputError(`allowedOrigins: at most ${MAX_ALLOWED_ORIGINS} origins`);
  const out: string[] = [];
  origins.forEach((origin, i) => {
    try {
      out.push(normaliseOrigin(origin));
    } catch (error) {
      throw new InputError(`allowedOrigins[${i}]: ${(error as Error).message}`);
    }
  });
  return [...new Set(out)];
}

const KEY_PATTERN = /^siyu_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex');
}

export interface AuthenticatedKey {
  keyId: string;
  workspaceId: string;
  role: Role;
  /** A user's team or staff scope (see access/scope.ts); API keys see the whole workspace. */
  scope?: DataScope;
}

/** How long a checked key is trusted without asking the state store again. */
const AUTH_CACHE_MS = 5_000;
/** Checked tokens per state store, shared by every service on it, so a revoke here takes effect at once. */
const authCaches = new WeakMap<StateStore, Map<string, { key: AuthenticatedKey; at: number }>>();

export class ApiKeyService {
  private readonly state: StateStore;
  private readonly cache: Map<string, { key: AuthenticatedKey; at: number }>;
  constructor(state: StateStore) {
    this.state = state;
    let cache = authCaches.get(state);
    if (!cache) authCaches.set(state, (cache = new Map()));
    this.cache = cache;
  }

  /** Creates a key and returns its token. The token is shown once: only its hash is kept. */
  async create(workspaceId: string, name: string, role: Role = 'admin', allowedOrigins?: readonly string[] | null): Promise<{ key: ApiKey; token: string }> {
    const origins = checkedOrigins(allowedOrigins);
    if (origins && role !== 'tracker') throw new InputError('allowedOrigins: only a tracker key is held to page origins');
    const prefix = crypto
      .randomBytes(9)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0')
      .slice(0, 12);
    const secret = crypto.randomBytes(32).toString('base64url');
    const row = await this.state.db
      .insertInto('api_keys')
      .values({
        id: `key_${crypto.randomBytes(8).toString('hex')}`,
        workspace_id: workspaceId,
        name,
        prefix,
        secret_hash: hashSecret(secret),
        role,
        last_used_at: null,
        revoked_at: null,
        allowed_origins: origins ? JSON.stringify(origins) : null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { key: toApiKey(row), token: `siyu_${prefix}_${secret}` };
  }

  async list(workspaceId: string): Promise<ApiKey[]> {
    const rows = await this.state.db.selectFrom('api_keys').selectAll().where('workspace_id', '=', workspaceId).orderBy('seq').execute();
    return rows.map(toApiKey);
  }

  /** Revokes by id or prefix within the workspace. Revoking twice is not an error. */
  async revoke(workspaceId: string, idOrPrefix: string): Promise<ApiKey> {
    const row = await this.state.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('workspace_id', '=', workspaceId)
      .where((eb) => eb.or([eb('id', '=', idOrPrefix), eb('prefix', '=', idOrPrefix)]))
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    this.cache.clear();
    if (row) return toApiKey(row);
    const already = await this.state.db
      .selectFrom('api_keys')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where((eb) => eb.or([eb('id', '=', idOrPrefix), eb('prefix', '=', idOrPrefix)]))
      .executeTakeFirst();
    if (!already) throw new NotFoundError(`no API key "${idOrPrefix}" in this workspace`);
    return toApiKey(already);
  }

  /** Holds a tracker key to these page origins (null or empty: any origin). */
  async setAllowedOrigins(workspaceId: string, idOrPrefix: string, allowedOrigins: readonly string[] | null): Promise<ApiKey> {
    const origins = checkedOrigins(allowedOrigins);
    const row = await this.state.db
      .selectFrom('api_keys')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where((eb) => eb.or([eb('id', '=', idOrPrefix), eb('prefix', '=', idOrPrefix)]))
      .executeTakeFirst();
    if (!row) throw new NotFoundError(`no API key "${idOrPrefix}" in this workspace`);
    if (row.role !== 'tracker') throw new InputError(`allowedOrigins: only a tracker key is held to page origins; this key has the role ${row.role}`);
    const updated = await this.state.db
      .updateTable('api_keys')
      .set({ allowed_origins: origins && origins.length > 0 ? JSON.stringify(origins) : null })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toApiKey(updated);
  }

  /** A tracker key's allowed origins by key id (null: any), as the tracking routes check them. */
  async allowedOrigins(keyId: string): Promise<string[] | null> {
    const row = await this.state.db.selectFrom('api_keys').select('allowed_origins').where('id', '=', keyId).executeTakeFirst();
    return row?.allowed_origins ? (JSON.parse(row.allowed_origins) as string[]) : null;
  }

  /** Checks a bearer token; undefined when it is malformed, unknown or revoked. */
  async authenticate(token: string): Promise<AuthenticatedKey | undefined> {
    const match = KEY_PATTERN.exec(token);
    if (!match) return undefined;
    // A busy client (the tracking SDK) sends many requests a second: a key checked moments ago is
    // not looked up again. A revoke in another process takes effect within AUTH_CACHE_MS.
    const cacheKey = hashSecret(token);
    const cached = this.cache.get(cacheKey);
    if (cached && Date.now() - cached.at < AUTH_CACHE_MS) return cached.key;
    const [, prefix, secret] = match;
    const row = await this.state.db
      .selectFrom('api_keys')
      .select(['id', 'workspace_id', 'role', 'secret_hash', 'revoked_at', 'last_used_at'])
      .where('prefix', '=', prefix)
      .executeTakeFirst();
    if (!row || row.revoked_at) return undefined;
    const expected = Buffer.from(row.secret_hash, 'hex');
    const actual = Buffer.from(hashSecret(secret), 'hex');
    if (expected.length !== actual.length || !crypto.timingSafeEqual(expected, actual)) return undefined;
    // Touch last_used_at at most once a minute: a write per request would be wasted work.
    const lastUsed = row.last_used_at ? new Date(row.last_used_at).getTime() : 0;
    if (Date.now() - lastUsed > 60_000) {
      await this.state.db.updateTable('api_keys').set({ last_used_at: new Date() }).where('id', '=', row.id).execute();
    }
    const role = row.role as Role;
    // Staff see their own customers, and a key belongs to no guide: a staff key sees nobody.
    const key: AuthenticatedKey = { keyId: row.id, workspaceId: row.workspace_id, role, ...(role === 'staff' ? { scope: { team: null, staff: true, staffUserId: null } } : {}) };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { key, at: Date.now() });
    return key;
  }
}

function toApiKey(row: {
  id: string;
  workspace_id: string;
  name: string;
  prefix: string;
  role: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
  allowed_origins: string | null;
}): ApiKey {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    prefix: row.prefix,
    role: row.role as Role,
    createdAt: isoTime(row.created_at),
    lastUsedAt: isoTimeOrNull(row.last_used_at),
    revokedAt: isoTimeOrNull(row.revoked_at),
    allowedOrigins: row.allowed_origins ? (JSON.parse(row.allowed_origins) as string[]) : null,
  };
}
