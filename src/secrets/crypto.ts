/**
 * Sealing secret values: AES-256-GCM with a random 96-bit IV per value and the workspace id and
 * secret name as additional authenticated data, so a ciphertext copied to another workspace or
 * name is refused, as is any flipped byte.
 */
import crypto from 'node:crypto';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A master key and its id: the first 16 hex digits of the key's SHA-256 (names the key, reveals nothing usable). */
export interface MasterKey {
  id: string;
  key: Buffer;
}

export interface SealedValue {
  keyId: string;
  /** base64 */
  iv: string;
  /** base64 of ciphertext followed by the 16-byte GCM tag */
  ciphertext: string;
}

export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
}

function keyId(key: Buffer): string {
  return crypto.createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function masterKey(key: Buffer): MasterKey {
  if (key.length !== KEY_BYTES) throw new SecretKeyError(`a master key must be ${KEY_BYTES} bytes, got ${key.length}`);
  return { id: keyId(key), key };
}

/** A key as written by people: 64 hex digits or base64 (standard or url-safe) of 32 bytes. `source` names where it came from. */
export function parseMasterKey(text: string, source: string): MasterKey {
  const trimmed = text.trim();
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) bytes = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(trimmed)) bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!bytes || bytes.length !== KEY_BYTES) {
    throw new SecretKeyError(`${source} must be ${KEY_BYTES} bytes written as 64 hex digits or base64 (e.g. from "openssl rand -base64 32")`);
  }
  return masterKey(bytes);
}

export function generateMasterKey(): MasterKey {
  return masterKey(crypto.randomBytes(KEY_BYTES));
}

function aad(workspaceId: string, name: string): Buffer {
  // NUL separators: neither part may contain one, so ("a", "bc") and ("ab", "c") differ.
  return Buffer.from(`siyu-secret/v1\0${workspaceId}\0${name}`, 'utf8');
}

export function seal(key: MasterKey, workspaceId: string, name: string, value: string): SealedValue {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(workspaceId, name));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { keyId: key.id, iv: iv.toString('base64'), ciphertext: body.toString('base64') };
}

export class SecretIntegrityError extends Error {
  override name = 'SecretIntegrityError';
}

/** Opens a sealed value; refuses (SecretIntegrityError) when any byte, the workspace or the name differ from when it was sealed. */
export function open(key: MasterKey, workspaceId: string, name: string, sealed: SealedValue): string {
  if (sealed.keyId !== key.id) throw new SecretKeyError(`secret "${name}" is sealed under key ${sealed.keyId}, not ${key.id}`);
  const iv = Buffer.from(sealed.iv, 'base64');
  const body = Buffer.from(sealed.ciphertext, 'base64');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new SecretIntegrityError(`secret "${name}" is damaged (it cannot be decrypted)`);
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(workspaceId, name));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretIntegrityError(`secret "${name}" failed its integrity check: it was altered or belongs to another workspace or name`);
  }
}
