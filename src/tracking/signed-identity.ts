/**
 * Signed identities: a compact JWT (HS256) the brand's server issues for a customer it has
 * authenticated, carried by tracked events in `context.signedIdentity`. Its claims:
 *
 *   { iss: "<sign key id>", ws: "<workspace slug>", ids: { openid: "…", unionid: "…" }, exp, iat }
 *
 * Events from a tracker key (a public browser key) link people only through the identifiers a valid
 * token names; everything else they say about identity is kept as a claim. Keys are made and
 * revoked by admins; each key's secret is sealed in the workspace's secret store and shown once.
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import type { Stores } from '../stores/stores.ts';
import { deleteSecret, readSecret, writeSecret } from '../secrets/secrets.ts';
import { recordAudit } from '../access/audit.ts';
import { InputError, NotFoundError } from '../kernel/errors.ts';
import { EVENT_LIMITS } from '../ingest/events.ts';
import { type SignKey, signKeyInputSchema as signKeyInput } from '../contract/identity.ts';
import { isoTime, isoTimeOrNull } from '../kernel/time.ts';

/** The longest a token may live: a stolen token is a claim for at most this long. */
const MAX_TOKEN_LIFETIME_S = 7 * 24 * 3600;
/** Clocks of the brand's server and ours may differ by this much. */
const CLOCK_SKEW_S = 60;
const MAX_TOKEN_LENGTH = 4096;

/** The secret's name in the workspace's secret store. */
const secretName = (keyId: string) => `signkey.${keyId}`;

function toSignKey(row: { id: string; name: string; created_by: string; created_at: Date | string; revoked_at: Date | string | null }): SignKey {
  return { id: row.id, name: row.name, createdBy: row.created_by, createdAt: isoTime(row.created_at), revokedAt: isoTimeOrNull(row.revoked_at) };
}

/** Creates a sign key; its secret is returned once and stored sealed. */
export async function createSignKey(stores: Stores, workspaceId: string, name: string, actor: string): Promise<{ key: SignKey; secret: string }> {
  const input = signKeyInput.safeParse({ name });
  if (!input.success) throw new InputError(`name: ${input.error.issues[0].message}`);
  const id = `sik_${crypto.randomBytes(8).toString('hex')}`;
  const secret = crypto.randomBytes(32).toString('base64url');
  await writeSecret(stores, workspaceId, secretName(id), secret, actor);
  const row = await stores.state.db
    .insertInto('identity_sign_keys')
    .values({ id, workspace_id: workspaceId, name: input.data.name, created_by: actor, revoked_at: null })
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(stores, workspaceId, actor, 'signkey.create', id, { name: input.data.name });
  forgetSignKeys(workspaceId);
  return { key: toSignKey(row), secret };
}

export async function listSignKeys(stores: Stores, workspaceId: string): Promise<SignKey[]> {
  const rows = await stores.state.db.selectFrom('identity_sign_keys').selectAll().where('workspace_id', '=', workspaceId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toSignKey);
}

/** Revokes a key: tokens it signed are claims from now on (within SIGN_KEYS_TTL_MS on other servers). */
export async function revokeSignKey(stores: Stores, workspaceId: string, keyId: string, actor: string): Promise<SignKey> {
  const row = await stores.state.db
    .updateTable('identity_sign_keys')
    .set({ revoked_at: new Date() })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', keyId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  forgetSignKeys(workspaceId);
  if (row) {
    await deleteSecret(stores, workspaceId, secretName(keyId));
    await recordAudit(stores, workspaceId, actor, 'signkey.revoke', keyId, { name: row.name });
    return toSignKey(row);
  }
  const already = await stores.state.db.selectFrom('identity_sign_keys').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', keyId).executeTakeFirst();
  if (!already) throw new NotFoundError(`no sign key "${keyId}" in this workspace`);
  return toSignKey(already);
}

/** How long the verifier trusts the keys it loaded: a revoke reaches every server within this. */
const SIGN_KEYS_TTL_MS = 10_000;
const keyCache = new Map<string, { at: number; keys: Promise<Map<string, string>> }>();

function forgetSignKeys(workspaceId: string): void {
  keyCache.delete(workspaceId);
}

/** The workspace's live keys: id → secret. */
async function liveSignKeys(stores: Stores, workspaceId: string): Promise<Map<string, string>> {
  const cached = keyCache.get(workspaceId);
  if (cached && Date.now() - cached.at < SIGN_KEYS_TTL_MS) return cached.keys;
  const keys = (async () => {
    const rows = await stores.state.db.selectFrom('identity_sign_keys').select('id').where('workspace_id', '=', workspaceId).where('revoked_at', 'is', null).execute();
    const out = new Map<string, string>();
    for (const { id } of rows) {
      const secret = await readSecret(stores, workspaceId, secretName(id));
      if (secret) out.set(id, secret);
    }
    return out;
  })();
  keyCache.set(workspaceId, { at: Date.now(), keys });
  keys.catch(() => forgetSignKeys(workspaceId));
  return keys;
}

const tokenClaims = z.object({
  iss: z.string().min(1).max(100),
  ws: z.string().min(1).max(100),
  ids: z
    .record(z.string().max(40), z.union([z.string().min(1).max(EVENT_LIMITS.idLength), z.number()]))
    .refine((ids) => Object.keys(ids).length >= 1 && Object.keys(ids).length <= EVENT_LIMITS.identities, `1 to ${EVENT_LIMITS.identities} identifiers`),
  exp: z.number(),
  iat: z.number().optional(),
  nbf: z.number().optional(),
});

export type SignedIdentityResult = { ids: Record<string, string> } | { problem: string };

function decodePart(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/**
 * Checks a token against the workspace's live keys. A token that fails says why (for the event's
 * claims and the sender's debugging), never which secret it was checked against.
 */
export async function verifySignedIdentity(stores: Stores, workspace: { id: string; slug: string }, token: unknown, now = Date.now()): Promise<SignedIdentityResult> {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { problem: 'malformed: not a compact JWT' };
  const parts = token.split('.');
  if (parts.length !== 3) return { problem: 'malformed: not a compact JWT' };
  let header: unknown;
  let payload: unknown;
  try {
    header = decodePart(parts[0]);
    payload = decodePart(parts[1]);
  } catch {
    return { problem: 'malformed: header or payload is not base64url JSON' };
  }
  // Only HS256: "none" and asymmetric algorithms are refused, whatever the header says.
  if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== 'HS256') return { problem: 'alg must be HS256' };
  const claims = tokenClaims.safeParse(payload);
  if (!claims.success) {
    const issue = claims.error.issues[0];
    return { problem: `malformed: ${issue.path.join('.') || 'payload'}: ${issue.message}` };
  }
  let keys: Map<string, string>;
  try {
    keys = await liveSignKeys(stores, workspace.id);
  } catch {
    // A server that cannot open its secrets (a missing master key) still takes the events, as claims.
    return { problem: 'this server cannot read its sign keys (is its master key, SIYU_SECRET_KEY, in place?)' };
  }
  const secret = keys.get(claims.data.iss);
  if (!secret) return { problem: `unknown or revoked sign key "${claims.data.iss.slice(0, 40)}"` };
  const expected = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return { problem: 'signature does not match' };
  const { ws, exp, nbf, iat, ids } = claims.data;
  if (ws !== workspace.slug) return { problem: 'issued for another workspace' };
  const nowS = now / 1000;
  if (exp < nowS - CLOCK_SKEW_S) return { problem: 'expired' };
  if (exp > nowS + MAX_TOKEN_LIFETIME_S + CLOCK_SKEW_S) return { problem: `exp is more than ${MAX_TOKEN_LIFETIME_S / 86_400} days ahead` };
  if ((nbf ?? iat ?? 0) > nowS + CLOCK_SKEW_S) return { problem: 'not valid yet (nbf or iat in the future)' };
  return { ids: Object.fromEntries(Object.entries(ids).map(([type, value]) => [type, String(value)])) };
}

/**
 * Signs an identity as the brand's server would (tests, examples, `siyu identities sign-key`
 * users checking a setup). Any JWT library does the same with the key's secret as an HS256 key.
 */
export function signIdentity(secret: string, claims: { iss: string; ws: string; ids: Record<string, string | number>; exp: number; iat?: number }): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${crypto.createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
