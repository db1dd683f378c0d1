/**
 * A backup's `manifest.json`: what was taken (versions of Siyu and of both stores' migrations, row
 * counts per table) and a SHA-256 of every other file, so a restore refuses a backup that was cut
 * short or edited before it touches anything, naming the file.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const MANIFEST_FILE = 'manifest.json';
export const BACKUP_FORMAT = 'siyu-backup/1';

const tableCount = z.object({ table: z.string().min(1), rows: z.number().int().nonnegative() });

export const manifestSchema = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    siyuVersion: z.string().min(1),
    createdAt: z.iso.datetime(),
    /** The state store's snapshot: every fact written before it is in the backup (see README, Backups). */
    stateSnapshotAt: z.iso.datetime(),
    factsFinishedAt: z.iso.datetime(),
    engines: z.object({ facts: z.literal('chdb'), state: z.literal('pglite') }),
    migrations: z.object({
      facts: z.array(z.number().int().positive()),
      state: z.array(z.string().min(1)),
    }),
    tables: z.object({ facts: z.array(tableCount), state: z.array(tableCount) }),
    files: z.array(z.object({ path: z.string().min(1), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  })
  .strict();

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupFile = BackupManifest['files'][number];

export class BackupRefusedError extends Error {
  override name = 'BackupRefusedError';
}

/** Every regular file under `root`, as paths relative to it with '/' separators, sorted. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(path.relative(root, full).split(path.sep).join('/'));
      else throw new BackupRefusedError(`backup file ${path.relative(root, full)} is not a regular file`);
    }
  };
  walk(root);
  return out.sort();
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Size and SHA-256 of every file under `root` except the manifest itself. */
export async function describeFiles(root: string): Promise<BackupFile[]> {
  const files: BackupFile[] = [];
  for (const relative of listFiles(root)) {
    if (relative === MANIFEST_FILE) continue;
    const full = path.join(root, relative);
    files.push({ path: relative, bytes: fs.statSync(full).size, sha256: await sha256Of(full) });
  }
  return files;
}

/** Reads and checks `manifest.json`: the field that is wrong is named. */
export function readManifest(root: string): BackupManifest {
  const file = path.join(root, MANIFEST_FILE);
  if (!fs.existsSync(file)) throw new BackupRefusedError(`${root} is not a Siyu backup: it has no ${MANIFEST_FILE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BackupRefusedError(`backup file ${MANIFEST_FILE} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BackupRefusedError(`backup file ${MANIFEST_FILE}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

/** Every file the manifest lists is there, unchanged, and nothing else is: else the first difference, naming the file. */
export async function verifyFiles(root: string, manifest: BackupManifest): Promise<void> {
  const listed = new Map(manifest.files.map((file) => [file.path, file]));
  const present = listFiles(root).filter((relative) => relative !== MANIFEST_FILE);
  for (const relative of present) {
    if (!listed.has(relative)) throw new BackupRefusedError(`backup file ${relative} is not in ${MANIFEST_FILE}: the backup was changed after it was taken`);
  }
  const presentSet = new Set(present);
  for (const file of manifest.files) {
    if (!presentSet.has(file.path)) throw new BackupRefusedError(`backup file ${file.path} is missing`);
    const full = path.join(root, file.path);
    const bytes = fs.statSync(full).size;
    if (bytes !== file.bytes) throw new BackupRefusedError(`backup file ${file.path} has ${bytes} bytes, ${MANIFEST_FILE} says ${file.bytes}: it was changed or cut short`);
    if ((await sha256Of(full)) !== file.sha256) throw new BackupRefusedError(`backup file ${file.path} does not match its checksum in ${MANIFEST_FILE}: it was changed`);
  }
}
