/**
 * A workspace's secrets (channel credentials): named values sealed at rest, written and deleted by
 * admins, read only by the code that sends. Nothing here returns a value to a caller who is a person:
 * listings carry a hint (`••••1234`) and the time it was set.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../config/config.ts';
import type { Stores } from '../stores/stores.ts';
import { InputError } from '../kernel/errors.ts';
import { recordAudit } from '../access/audit.ts';
import { generateMasterKey, open, seal, SecretKeyError, type MasterKey } from './crypto.ts';
import { loadKeyring, writeKeyFile, type Keyring } from './keyring.ts';

const SECRET_NAME_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;
const secretNameSchema = z.string().regex(SECRET_NAME_PATTERN, 'a secret name is 1–64 characters: lowercase letters, digits, "_", "." or "-", starting with a letter');
/**
 * Names Siyu keeps for its own secrets (an identity sign key's is `signkey.<id>`): admins cannot set,
 * delete or list them (API, CLI, console), and no channel may name one (refused at save and at send).
 */
const RESERVED_SECRET_PREFIXES = ['signkey.', 'system.', 'internal.'] as const;
export function isReservedSecretName(name: string): boolean {
  return RESERVED_SECRET_PREFIXES.some((prefix) => name.startsWith(prefix));
}
export const RESERVED_SECRET_RULE = `names starting ${RESERVED_SECRET_PREFIXES.map((p) => `"${p}"`).join(', ')} are reserved for Siyu's own secrets (identity sign keys are managed under /api/v1/identity/sign-keys)`;
/** A name an admin may set or delete: any secret name but the reserved ones. */
export const adminSecretNameSchema = secretNameSchema.refine((name) => !isReservedSecretName(name), RESERVED_SECRET_RULE);
/** Long enough for a PEM private key (some payment and SMS providers sign with one). */
const MAX_SECRET_BYTES = 16 * 1024;
export const secretValueSchema = z
  .string()
  .min(1, 'a secret value cannot be empty')
  .refine((v) => Buffer.byteLength(v, 'utf8') <= MAX_SECRET_BYTES, `a secret value is at most ${MAX_SECRET_BYTES} bytes`);

export interface SecretListing {
  name: string;
  hint: string;
  updatedAt: string;
}

// One keyring per opened state store: tests open many stores with their own data directories.
const keyrings = new WeakMap<object, Keyring>();

/** The data directory the embedded stores of `stores` live in (the key file sits beside them). */
function dataDirOf(stores: Stores): string {
  if ('dataDir' in stores && typeof stores.dataDir === 'string') return stores.dataDir;
  if (stores.state.engine === 'pglite') return path.dirname(stores.state.location);
  if (stores.facts.engine === 'chdb') return path.dirname(stores.facts.location);
  return loadConfig().dataDir;
}

/**
 * The keyring of `stores`, loaded on first use. `create` generates the key file when there is none
 * (first start, or the first secret written).
 */
export function secretKeyring(stores: Stores, options: { create?: boolean; reload?: boolean } = {}): Keyring | undefined {
  const cached = keyrings.get(stores.state);
  if (cached && !options.reload) return cached;
  const loaded = loadKeyring({ dataDir: dataDirOf(stores), create: options.create });
  if (loaded) keyrings.set(stores.state, loaded);
  return loaded ?? cached;
}

/**
 * At start: the master key is there (SIYU_SECRET_KEY, or the key file, generated now on the first
 * start), so a bad SIYU_SECRET_KEY stops the server at once rather than at the first send.
 */
export function ensureSecretKey(stores: Stores): { created: boolean; source: string; keyId: string } {
  const file = path.join(dataDirOf(stores), 'secret.key');
  const existed = fs.existsSync(file);
  const keyring = secretKeyring(stores, { create: true, reload: true });
  if (!keyring) throw new SecretKeyError('no master key: set SIYU_SECRET_KEY');
  return { created: !existed && keyring.file !== undefined, source: keyring.source, keyId: keyring.current.id };
}

/** What a listing shows: never more than the last 4 characters, and none of a short value. */
export function secretHint(value: string): string {
  const chars = [...value];
  return chars.length >= 12 ? `••••${chars.slice(-4).join('')}` : '••••';
}

function checkName(name: string, schema: z.ZodType<string> = secretNameSchema): string {
  const parsed = schema.safeParse(name);
  if (!parsed.success) throw new InputError(`name: ${parsed.error.issues[0].message}, got "${name.slice(0, 80)}"`);
  return parsed.data;
}

function keyFor(stores: Stores, keyId: string, name: string): MasterKey {
  let keyring = secretKeyring(stores);
  let key = keyring?.keys.get(keyId);
  // Another process may have rotated the key file since this one loaded it.
  if (!key) {
    keyring = secretKeyring(stores, { reload: true });
    key = keyring?.keys.get(keyId);
  }
  if (!key) {
    throw new SecretKeyError(
      `secret "${name}" is sealed under master key ${keyId}, which this server does not have: set it in SIYU_SECRET_KEY_PREVIOUS (or restore ${path.join(dataDirOf(stores), 'secret.key')})`,
    );
  }
  return key;
}

export async function readSecret(stores: Stores, workspaceId: string, name: string): Promise<string | undefined> {
  const row = await stores.state.db
    .selectFrom('secrets')
    .select(['key_id', 'iv', 'ciphertext'])
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (!row) return undefined;
  return open(keyFor(stores, row.key_id, name), workspaceId, name, { keyId: row.key_id, iv: row.iv, ciphertext: row.ciphertext });
}

export async function writeSecret(stores: Stores, workspaceId: string, name: string, value: string, updatedBy = 'system'): Promise<{ hint: string }> {
  checkName(name);
  const checked = secretValueSchema.safeParse(value);
  if (!checked.success) throw new InputError(`value: ${checked.error.issues[0].message}`);
  const keyring = secretKeyring(stores, { create: true });
  if (!keyring) throw new SecretKeyError('no master key: set SIYU_SECRET_KEY');
  const sealed = seal(keyring.current, workspaceId, name, value);
  const hint = secretHint(value);
  const row = { key_id: sealed.keyId, iv: sealed.iv, ciphertext: sealed.ciphertext, hint, updated_by: updatedBy, updated_at: new Date() };
  await stores.state.db
    .insertInto('secrets')
    .values({ workspace_id: workspaceId, name, ...row })
    .onConflict((c) => c.columns(['workspace_id', 'name']).doUpdateSet(row))
    .execute();
  return { hint };
}

export async function deleteSecret(stores: Stores, workspaceId: string, name: string): Promise<boolean> {
  const result = await stores.state.db.deleteFrom('secrets').where('workspace_id', '=', workspaceId).where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The workspace's secrets as admins see them: names and hints, never values, and not Siyu's own (reserved names). */
export async function listSecrets(stores: Stores, workspaceId: string): Promise<SecretListing[]> {
  const rows = await stores.state.db.selectFrom('secrets').select(['name', 'hint', 'updated_at']).where('workspace_id', '=', workspaceId).orderBy('name').execute();
  return rows.filter((r) => !isReservedSecretName(r.name)).map((r) => ({ name: r.name, hint: r.hint, updatedAt: new Date(r.updated_at).toISOString() }));
}

export async function secretExists(stores: Stores, workspaceId: string, name: string): Promise<boolean> {
  const row = await stores.state.db.selectFrom('secrets').select('name').where('workspace_id', '=', workspaceId).where('name', '=', name).executeTakeFirst();
  return row !== undefined;
}

// --- what admins do (API, CLI, console): each change is audited, values never leave ---

export async function setSecret(stores: Stores, workspaceId: string, actor: string, name: string, value: string): Promise<SecretListing> {
  const existed = await secretExists(stores, workspaceId, checkName(name, adminSecretNameSchema));
  const { hint } = await writeSecret(stores, workspaceId, name, value, actor);
  await recordAudit(stores, workspaceId, actor, existed ? 'secret.replace' : 'secret.set', name, { hint });
  return (await listSecrets(stores, workspaceId)).find((s) => s.name === name) ?? { name, hint, updatedAt: new Date().toISOString() };
}

export async function removeSecret(stores: Stores, workspaceId: string, actor: string, name: string): Promise<boolean> {
  const removed = await deleteSecret(stores, workspaceId, checkName(name, adminSecretNameSchema));
  if (removed) await recordAudit(stores, workspaceId, actor, 'secret.delete', name);
  return removed;
}

export interface RotationResult {
  /** The key every value is now sealed under. */
  keyId: string;
  /** Values re-sealed, per workspace. */
  resealed: Record<string, number>;
  /** Key ids dropped from the key file (no value uses them any more). */
  retired: string[];
  /** Whether a new key was generated (key file) or SIYU_SECRET_KEY was already the new one. */
  generated: boolean;
}

/**
 * Rotates the master key. With the key file: a new key goes first in the file (the old ones stay
 * until nothing uses them), every value is re-sealed under it, then the old keys are dropped.
 * With SIYU_SECRET_KEY: the operator has set the new key and moved the old one to
 * SIYU_SECRET_KEY_PREVIOUS; every value not under the new key is re-sealed. Safe to run again
 * after an interruption. Each workspace whose values moved gets an audit entry.
 */
export async function rotateSecretKey(stores: Stores, actor: string): Promise<RotationResult> {
  let keyring = secretKeyring(stores, { create: true, reload: true });
  if (!keyring) throw new SecretKeyError('no master key: set SIYU_SECRET_KEY');
  let generated = false;
  if (keyring.file) {
    const fresh = generateMasterKey();
    writeKeyFile(keyring.file, [fresh, ...keyring.keys.values()]);
    keyring = secretKeyring(stores, { reload: true })!;
    generated = true;
  }
  const current = keyring.current;
  const resealed: Record<string, number> = {};
  const rows = await stores.state.db.selectFrom('secrets').select(['workspace_id', 'name', 'key_id']).where('key_id', '!=', current.id).execute();
  for (const row of rows) {
    // Each value is re-read inside its own update so a concurrent set is not overwritten with an old value.
    await stores.state.db.transaction().execute(async (trx) => {
      const locked = await trx
        .selectFrom('secrets')
        .select(['key_id', 'iv', 'ciphertext'])
        .where('workspace_id', '=', row.workspace_id)
        .where('name', '=', row.name)
        .forUpdate()
        .executeTakeFirst();
      if (!locked || locked.key_id === current.id) return;
      const value = open(keyFor(stores, locked.key_id, row.name), row.workspace_id, row.name, { keyId: locked.key_id, iv: locked.iv, ciphertext: locked.ciphertext });
      const sealed = seal(current, row.workspace_id, row.name, value);
      await trx
        .updateTable('secrets')
        .set({ key_id: sealed.keyId, iv: sealed.iv, ciphertext: sealed.ciphertext })
        .where('workspace_id', '=', row.workspace_id)
        .where('name', '=', row.name)
        .execute();
      resealed[row.workspace_id] = (resealed[row.workspace_id] ?? 0) + 1;
    });
  }
  let retired: string[] = [];
  if (keyring.file) {
    const inUse = new Set((await stores.state.db.selectFrom('secrets').select('key_id').distinct().execute()).map((r) => r.key_id));
    const kept = [...keyring.keys.values()].filter((k) => k.id === current.id || inUse.has(k.id));
    retired = [...keyring.keys.keys()].filter((id) => !kept.some((k) => k.id === id));
    writeKeyFile(keyring.file, kept);
    secretKeyring(stores, { reload: true });
  }
  const workspaces = await stores.state.db.selectFrom('workspaces').select('id').execute();
  for (const { id } of workspaces) {
    await recordAudit(stores, id, actor, 'secret.rotate-key', current.id, { resealed: resealed[id] ?? 0, generated });
  }
  return { keyId: current.id, resealed, retired, generated };
}

/** Replaces every occurrence of the given secret values in `text` (e.g. a provider's error that echoes a token). */
export function redactSecretValues(text: string, values: Iterable<string | undefined>): string {
  let out = text;
  for (const value of values) {
    // Short values would redact ordinary words; a credential is longer than this.
    if (value && value.length >= 6) out = out.split(value).join('••••');
  }
  return out;
}
