import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, ownStateDatabase, tempDir } from './helpers.ts';

// rotate-key re-seals every secret of the state store and commands default to the only workspace:
// on a PostgreSQL server, this suite's own database.
let database: Awaited<ReturnType<typeof ownStateDatabase>>;
before(async () => {
  database = await ownStateDatabase();
});
after(async () => {
  await database.drop();
});

/** Runs the real CLI with `input` on stdin. */
function siyu(dataDir: string, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), '--data', dataDir, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...database.env, SIYU_DEMO_PEOPLE: '0', SIYU_SECRET_KEY: '', SIYU_SECRET_KEY_PREVIOUS: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

test('siyu secrets: set from stdin, list shows only a hint, rotate-key re-encrypts, delete', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  const value = 'cli-secret-value-from-stdin-2468';
  assert.equal((await siyu(dir, ['workspace', 'create', '--slug', 'cli-secrets', '--name', 'CLI'])).code, 0);
  const set = await siyu(dir, ['secrets', 'set', 'wecom_corp_secret'], `${value}\n`);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /secret wecom_corp_secret set \(••••2468\)/);
  assert.equal(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777, 0o600);
  const list = await siyu(dir, ['secrets', 'list']);
  assert.match(list.stdout, /wecom_corp_secret/);
  assert.match(list.stdout, /••••2468/);
  assert.ok(!list.stdout.includes(value));
  const keyBefore = fs.readFileSync(path.join(dir, 'secret.key'), 'utf8');
  const rotate = await siyu(dir, ['secrets', 'rotate-key']);
  assert.equal(rotate.code, 0, rotate.stderr);
  assert.match(rotate.stdout, /new master key [0-9a-f]{16}: 1 secret\(s\) re-encrypted in 1 workspace\(s\)/);
  assert.notEqual(fs.readFileSync(path.join(dir, 'secret.key'), 'utf8'), keyBefore);
  const bad = await siyu(dir, ['secrets', 'set', 'Not A Name'], 'x');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /name: a secret name is/);
  // Siyu's own secrets (a sign key's signkey.<id>) are not the CLI's to set or delete.
  for (const args of [
    ['secrets', 'set', 'signkey.sik_0123456789abcdef'],
    ['secrets', 'delete', 'signkey.sik_0123456789abcdef'],
  ]) {
    const reserved = await siyu(dir, args, 'attacker-value');
    assert.equal(reserved.code, 1, reserved.stdout);
    assert.match(reserved.stderr, /name: names starting "signkey\.", "system\.", "internal\." are reserved/);
  }
  const del = await siyu(dir, ['secrets', 'delete', 'wecom_corp_secret']);
  assert.equal(del.code, 0, del.stderr);
  assert.doesNotMatch((await siyu(dir, ['secrets', 'list'])).stdout, /wecom_corp_secret/);
});
