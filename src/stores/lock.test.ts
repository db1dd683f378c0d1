import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { DirectoryLockedError, LOCK_FILE_NAME, lockDirectory } from './lock.ts';
import { tempDir } from '../../test/helpers.ts';

test('a second process opening a locked directory gets an error naming the holder pid', async () => {
  const dir = tempDir();
  // The holder is a real second process, so the pid in the error is not ours.
  const holder = spawn(process.execPath, [
    '--input-type=module',
    '-e',
    `import { lockDirectory } from ${JSON.stringify(path.resolve('src/stores/lock.ts'))}; lockDirectory(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`,
  ]);
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d) => String(d).includes('locked') && resolve());
      holder.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    assert.throws(
      () => lockDirectory(dir),
      (error: unknown) =>
        error instanceof DirectoryLockedError && error.holderPid === holder.pid && error.message.includes(`in use by process ${holder.pid}`) && error.message.includes(dir),
    );
  } finally {
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
  }
  // The holder died without releasing (SIGKILL): its stale lock is taken over.
  const lock = lockDirectory(dir);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE_NAME), 'utf8')).pid, process.pid);
  lock.release();
  assert.equal(fs.existsSync(path.join(dir, LOCK_FILE_NAME)), false);
});

test('the same process cannot lock a directory twice', () => {
  const dir = tempDir();
  const lock = lockDirectory(dir);
  try {
    assert.throws(() => lockDirectory(dir), DirectoryLockedError);
  } finally {
    lock.release();
  }
});
