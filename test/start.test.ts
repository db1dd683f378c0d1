import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, tempDir } from './helpers.ts';

/** Starts `siyu start` as a user would, waits for its banner, and returns what it printed. */
async function startServer(dataDir: string) {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, SIYU_DATA_DIR: dataDir, SIYU_PORT: '0', SIYU_DEMO_PEOPLE: '300' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 60 s: ${stdout} ${stderr}`)), 60_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const match = /console\s+(http:\/\/\S+?)\/\s/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`start exited ${code}: ${stderr}`)));
  });
  const stop = async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  };
  return { url, output: () => stdout, stop };
}

test('first start creates a workspace, prints an admin key once, writes the demo brand and serves', async () => {
  const dataDir = tempDir();
  const first = await startServer(dataDir);
  try {
    const token = /(siyu_[a-z0-9]{12}_[A-Za-z0-9_-]{43})/.exec(first.output())?.[1];
    assert.ok(token, 'the admin key is printed on the first start');
    assert.match(first.output(), /Demo brand 燕语: 300 people/);
    assert.ok(fs.existsSync(path.join(dataDir, 'demo', 'tmall_orders.csv')));
    const health = await fetch(`${first.url}/healthz`);
    assert.equal(health.status, 200);
    const page = await fetch(`${first.url}/`);
    assert.match(await page.text(), /Siyu 私域/);
    const me = await fetch(`${first.url}/api/v1/workspace`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(((await me.json()) as { slug: string }).slug, 'demo');
  } finally {
    assert.equal(await first.stop(), 0, 'SIGTERM stops cleanly');
  }
  assert.equal(fs.existsSync(path.join(dataDir, 'facts', 'siyu.lock')), false, 'the lock is released on stop');

  const second = await startServer(dataDir);
  try {
    assert.doesNotMatch(second.output(), /siyu_[a-z0-9]{12}_/, 'the key is never printed again');
    assert.doesNotMatch(second.output(), /First start/);
  } finally {
    await second.stop();
  }
});
