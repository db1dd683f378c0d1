import fs from 'node:fs';
import path from 'node:path';

/** An embedded engine (chDB, PGlite) allows one process per data directory; this file says which one holds it. */
export const LOCK_FILE_NAME = 'siyu.lock';

export class DirectoryLockedError extends Error {
  override name = 'DirectoryLockedError';
  readonly holderPid: number;
  constructor(directory: string, holderPid: number, since: string) {
    super(`data directory ${directory} is in use by process ${holderPid} (since ${since}); ` + `stop that process or choose another directory with --data / SIYU_DATA_DIR`);
    this.holderPid = holderPid;
  }
}

interface LockContent {
  pid: number;
  since: string;
  command: string;
}

/** Whether a process with this pid exists (EPERM: it exists, but belongs to someone else). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockContent | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockContent;
  } catch {
    return undefined;
  }
}

export interface DirectoryLock {
  readonly file: string;
  release(): void;
}

/**
 * Takes the lock of a data directory, creating the directory if needed.
 * A lock left by a dead process (kill -9, power cut) is taken over; a live holder is named in the error.
 */
export function lockDirectory(directory: string): DirectoryLock {
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const file = path.join(directory, LOCK_FILE_NAME);
  const content: LockContent = { pid: process.pid, since: new Date().toISOString(), command: process.argv.slice(2).join(' ') };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(content), { flag: 'wx', mode: 0o600 });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const current = readLock(file);
        if (current?.pid === process.pid) fs.rmSync(file, { force: true });
        process.off('exit', release);
      };
      process.on('exit', release);
      return { file, release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(file);
      if (holder && holder.pid !== process.pid && processIsAlive(holder.pid)) {
        throw new DirectoryLockedError(directory, holder.pid, holder.since);
      }
      if (holder?.pid === process.pid) {
        throw new DirectoryLockedError(directory, holder.pid, holder.since);
      }
      // Stale: the holder died without releasing. Remove and retry atomically.
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take the lock ${file}`);
}
