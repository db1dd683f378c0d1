/**
 * The master keys that seal secrets.
 *
 * - `SIYU_SECRET_KEY` (32 bytes, base64 or hex) is the current key when set; `SIYU_SECRET_KEY_PREVIOUS`
 *   (comma-separated) lists older keys that may still open values sealed before a rotation.
 * - Unset: the key file `<data dir>/secret.key` (mode 0600, generated on first start) holds one key
 *   per line, the current one first, older ones after it (a rotation interrupted half-way leaves
 *   both, so every value stays readable).
 * Every ciphertext records the id of its key, so a key that no value uses can be dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateMasterKey, parseMasterKey, SecretKeyError, type MasterKey } from './crypto.ts';

const KEY_FILE_NAME = 'secret.key';

export interface Keyring {
  /** New values are sealed with this key. */
  current: MasterKey;
  /** Every key that may open a value, the current one included. */
  keys: ReadonlyMap<string, MasterKey>;
  /** The key file, when the keys live in one (not when SIYU_SECRET_KEY is set). */
  file?: string;
  /** Where the current key came from, for messages. */
  source: string;
}

export interface KeyringOptions {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  /** Generate the key file when there is neither SIYU_SECRET_KEY nor a key file (first start). */
  create?: boolean;
}

export function keyFilePath(dataDir: string): string {
  return path.join(dataDir, KEY_FILE_NAME);
}

function readKeyFile(file: string): MasterKey[] {
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return lines.map((line, index) => parseMasterKey(line, `${file} line ${index + 1}`));
}

/** Writes the key file atomically (a rename), mode 0600, its directory closed to others. */
export function writeKeyFile(file: string, keys: MasterKey[]): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The data directory holds the key: nobody but the server's user reads it.
  if ((fs.statSync(dir).mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  const body = `# Siyu master keys: the first seals new secrets, the others only open older ones. Keep a backup; without it the secrets are lost.\n${keys
    .map((k) => k.key.toString('base64'))
    .join('\n')}\n`;
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, body, { mode: 0o600, flag: 'w' });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, file);
}

/** Creates the key file only when none exists (two processes starting at once keep the first one's key). */
function createKeyFile(file: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((fs.statSync(dir).mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  const key = generateMasterKey();
  try {
    fs.writeFileSync(file, `# Siyu master key, generated on first start. Keep a backup; without it the secrets are lost.\n${key.key.toString('base64')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export function loadKeyring(options: KeyringOptions): Keyring | undefined {
  const env = options.env ?? process.env;
  const file = keyFilePath(options.dataDir);
  const keys = new Map<string, MasterKey>();
  const add = (key: MasterKey) => {
    if (!keys.has(key.id)) keys.set(key.id, key);
  };
  if (env.SIYU_SECRET_KEY) {
    const current = parseMasterKey(env.SIYU_SECRET_KEY, 'SIYU_SECRET_KEY');
    add(current);
    const previous = (env.SIYU_SECRET_KEY_PREVIOUS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    previous.forEach((text, index) => add(parseMasterKey(text, `SIYU_SECRET_KEY_PREVIOUS item ${index + 1}`)));
    // A server moving from the generated file to SIYU_SECRET_KEY still opens what the file's keys sealed.
    if (fs.existsSync(file)) readKeyFile(file).forEach(add);
    return { current, keys, source: 'SIYU_SECRET_KEY' };
  }
  if (!fs.existsSync(file)) {
    if (!options.create) return undefined;
    createKeyFile(file);
  }
  const fileKeys = readKeyFile(file);
  if (fileKeys.length === 0) throw new SecretKeyError(`${file} holds no key; restore it from a backup or set SIYU_SECRET_KEY`);
  fileKeys.forEach(add);
  return { current: fileKeys[0], keys, file, source: file };
}
