/**
 * The CLI beside a running server: `siyu start` in one process, commands in others. They run inside the
 * server (client mode), print what direct mode prints, and run directly again once the server stops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, tempDir } from './helpers.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `siyu` (the light entry a user runs) in its own process. */
function siyu(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string; nodeArgs?: string[] } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path.join(ROOT, 'src/cli/siyu.ts'), ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, SIYU_URL: '', SIYU_API_KEY: '', ...options.env },
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  });
}

/** `siyu start` on an empty workspace, as test/start.test.ts starts it; resolves once it serves. */
async function startServer(dataDir: string) {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, SIYU_DATA_DIR: dataDir, SIYU_PORT: '0', SIYU_DEMO_PEOPLE: '0', SIYU_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 120 s: ${stdout} ${stderr}`)), 120_000);
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
  const adminKey = /(siyu_[a-z0-9]{12}_[A-Za-z0-9_-]{43})/.exec(stdout)?.[1];
  assert.ok(adminKey, stdout);
  const stop = async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  };
  return { url, adminKey, pid: child.pid!, stop };
}

/** Loads each module the command imports and reports the heavy ones on stderr. */
const WATCH_HEAVY = `data:text/javascript,${encodeURIComponent(`
import module from 'node:module';
module.registerHooks({ resolve(specifier, context, next) {
  const resolved = next(specifier, context);
  if (/chdb|pglite|fastify|\\/src\\/(stores\\/stores|ingest|identity|tags|segments|plans|people)\\//.test(resolved.url)) process.stderr.write('HEAVY ' + resolved.url + '\\n');
  return resolved;
} });`)}`;

test('siyu commands run beside siyu start through the server, and directly again once it stops', async () => {
  const dataDir = tempDir();
  const work = tempDir('siyu-cli-cwd-');
  fs.writeFileSync(
    path.join(work, 'orders.csv'),
    'order_id,customer_id,phone,name,ordered_at,amount\nO-1,C-1,13800000001,张三,2026-11-01 10:00:00,99.5\nO-2,C-2,13800000002,李四,2026-11-02 11:00:00,120\n',
  );
  const env = { SIYU_DATA_DIR: dataDir, SIYU_PROGRESS_INTERVAL_MS: '1' };
  const server = await startServer(dataDir);
  const api = async (route: string, key = server.adminKey) => {
    const response = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(response.status, 200, route);
    return response.json() as Promise<any>;
  };
  let searchWhileRunning: Run;
  try {
    // The credential: the owner's only, naming this server's pid and a loopback URL.
    const credentialFile = path.join(dataDir, 'local-admin.json');
    assert.equal(fs.statSync(credentialFile).mode & 0o777, 0o600);
    const credential = JSON.parse(fs.readFileSync(credentialFile, 'utf8'));
    assert.equal(credential.pid, server.pid);
    assert.match(credential.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    // Its token is good for the CLI route only, and a wrong one is refused.
    const wrong = await fetch(`${credential.url}/local/cli`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope', 'content-type': 'application/json' },
      body: JSON.stringify({ argv: ['doctor'], cwd: '/', user: 'x', stderrIsTTY: false, env: {} }),
    });
    assert.equal(wrong.status, 401);
    assert.equal((await fetch(`${server.url}/api/v1/workspace`, { headers: { authorization: `Bearer ${credential.token}` } })).status, 401);

    // An import of a file named relative to the caller's directory, with its progress on stderr.
    const imported = await siyu(['import', 'orders', 'orders.csv', '--source', 'erp'], { env, cwd: work });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /^orders\.csv\s+CSV/m, 'the file as the user wrote it');
    assert.match(imported.stdout, /2 rows read, 2 landed/);
    assert.match(imported.stderr, /^importing: 2 rows/m);
    const runs = (await api('/api/v1/imports')).runs as Array<{ rows_read?: number; rowsRead?: number }>;
    assert.equal(runs.length, 1, 'the import ran in the server');

    // A read: the people just imported, found by phone.
    searchWhileRunning = await siyu(['people', 'search', '13800000001'], { env });
    assert.equal(searchWhileRunning.code, 0, searchWhileRunning.stderr);
    assert.match(searchWhileRunning.stdout, /^1 person$/m);
    assert.match(searchWhileRunning.stdout, /张三/);

    // Client mode loads no store, no fastify and no domain.
    const light = await siyu(['people', 'search', '13800000001'], { env, nodeArgs: ['--import', WATCH_HEAVY] });
    assert.equal(light.code, 0, light.stderr);
    assert.doesNotMatch(light.stderr, /HEAVY/);

    // Writes: a tag pack and a run, a user with the password on stdin.
    const pack = await siyu(['tags', 'install-pack', 'retail'], { env });
    assert.equal(pack.code, 0, pack.stderr);
    const ran = await siyu(['tags', 'run', 'orders_total', 'spend_total'], { env });
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^orders_total\s+completed\s+2\b/m);
    assert.match(ran.stderr, /^computing tags: 1 tags/m, 'progress as each tag finishes');
    const tags = (await api('/api/v1/tags')).tags as Array<{ key: string; lastRun: { status: string; people: number } | null }>;
    const lastRun = tags.find((t) => t.key === 'orders_total')?.lastRun;
    assert.deepEqual({ status: lastRun?.status, people: lastRun?.people }, { status: 'completed', people: 2 });
    const user = await siyu(['users', 'create', '--email', 'ops@example.com', '--name', 'Ops', '--role', 'analyst'], { env, stdin: 'a long enough password 7\n' });
    assert.equal(user.code, 0, user.stderr);
    const users = (await api('/api/v1/users')).users as Array<{ email: string; role: string }>;
    assert.ok(
      users.some((u) => u.email === 'ops@example.com' && u.role === 'analyst'),
      JSON.stringify(users),
    );
    const audit = await siyu(['audit', '--action', 'user.create'], { env });
    assert.match(audit.stdout, new RegExp(`cli:${process.env.USER ?? os.userInfo().username}\\s+user\\.create`));

    // Errors stay one line and the exit code comes through; start is refused while the server runs.
    const missing = await siyu(['tags', 'show', 'no_such_tag'], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^siyu: .*no_such_tag/);
    const again = await siyu(['start'], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^siyu: siyu start: a server already runs on this data directory/);

    // Remote: SIYU_URL with a key of that server; a wrong key or none is one line naming the variable.
    const remote = await siyu(['people', 'search', '13800000001'], { env: { SIYU_URL: server.url, SIYU_API_KEY: server.adminKey, SIYU_DATA_DIR: tempDir() } });
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(remote.stdout, searchWhileRunning.stdout, 'the same table as on the same machine');
    const remoteTags = await siyu(['tags', 'list'], { env: { SIYU_URL: server.url, SIYU_API_KEY: server.adminKey } });
    assert.equal(remoteTags.code, 0, remoteTags.stderr);
    assert.equal(remoteTags.stdout, (await siyu(['tags', 'list'], { env })).stdout);
    const badKey = await siyu(['tags', 'list'], { env: { SIYU_URL: server.url, SIYU_API_KEY: 'siyu_nope' } });
    assert.equal(badKey.code, 1);
    assert.match(badKey.stderr, /^siyu: the server at SIYU_URL \(http:\/\/[^)]+\) refused SIYU_API_KEY/);
    assert.equal(badKey.stderr.trim().split('\n').length, 1);
    const noKey = await siyu(['tags', 'list'], { env: { SIYU_URL: server.url } });
    assert.match(noKey.stderr, /^siyu: SIYU_URL is set but SIYU_API_KEY is not/);
    const unreachable = await siyu(['tags', 'list'], { env: { SIYU_URL: 'http://127.0.0.1:9', SIYU_API_KEY: server.adminKey } });
    assert.match(unreachable.stderr, /^siyu: cannot reach SIYU_URL \(http:\/\/127\.0\.0\.1:9\)/);
    const notRemote = await siyu(['users', 'create'], { env: { SIYU_URL: server.url, SIYU_API_KEY: server.adminKey } });
    assert.match(notRemote.stderr, /^siyu: siyu users create: not available against a remote server/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
  assert.equal(fs.existsSync(path.join(dataDir, 'local-admin.json')), false, 'removed on a clean stop');

  // Direct again, with the same output.
  const direct = await siyu(['people', 'search', '13800000001'], { env });
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(direct.stdout, searchWhileRunning!.stdout);

  // A credential left by a crashed server (its pid is gone) is ignored.
  fs.writeFileSync(path.join(dataDir, 'local-admin.json'), JSON.stringify({ url: 'http://127.0.0.1:9', token: 'x', pid: 2 ** 22 + 1, since: new Date().toISOString() }), {
    mode: 0o600,
  });
  const afterCrash = await siyu(['tags', 'list'], { env });
  assert.equal(afterCrash.code, 0, afterCrash.stderr);
  assert.match(afterCrash.stdout, /orders_total/);
});
