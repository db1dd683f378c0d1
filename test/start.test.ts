import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, ownStateDatabase, tempDir } from './helpers.ts';

// A first start acts on empty stores: on a PostgreSQL server each data directory gets a database of its own.
const databases = new Map<string, Awaited<ReturnType<typeof ownStateDatabase>>>();
async function stateEnv(dataDir: string): Promise<NodeJS.ProcessEnv> {
  if (!databases.has(dataDir)) databases.set(dataDir, await ownStateDatabase());
  return databases.get(dataDir)!.env;
}
after(async () => {
  for (const database of databases.values()) await database.drop();
});

/** Starts `siyu start` as a user would, waits for its banner, and returns what it printed. */
async function startServer(dataDir: string, demoPeople = '300') {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, ...(await stateEnv(dataDir)), SIYU_DATA_DIR: dataDir, SIYU_PORT: '0', SIYU_DEMO_PEOPLE: demoPeople },
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
  const kill = async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  return { url, output: () => stdout, stop, kill };
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
    // The console's first admin logs in with the printed password and finds the demo brand tagged.
    const login = /Console login: (\S+) \/ (\S+)/.exec(first.output());
    assert.ok(login, first.output());
    const session = await fetch(`${first.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: login[1], password: login[2] }),
    });
    assert.equal(session.status, 200);
    const cookie = session.headers.get('set-cookie')!.split(';')[0];
    // The printed password is only good for choosing one's own: nothing else opens before that.
    assert.equal((await fetch(`${first.url}/api/v1/overview?days=365`, { headers: { cookie } })).status, 403);
    const changed = await fetch(`${first.url}/api/v1/auth/password`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ currentPassword: login[2], newPassword: 'the admin chose this one' }),
    });
    assert.equal(changed.status, 204);
    assert.match(first.output(), /Installed the retail tag pack \(\d+ tags\) and computed \d+ of them/);
    const overview = (await (await fetch(`${first.url}/api/v1/overview?days=365`, { headers: { cookie } })).json()) as {
      people: number;
      orders: number;
      lifecycle: unknown[];
      rfm: unknown;
    };
    assert.ok(overview.people > 0 && overview.orders > 0, JSON.stringify(overview).slice(0, 200));
    assert.ok(overview.lifecycle.length > 0 && overview.rfm !== null, 'lifecycle and RFM computed on the first start');
  } finally {
    assert.equal(await first.stop(), 0, 'SIGTERM stops cleanly');
  }
  assert.equal(fs.existsSync(path.join(dataDir, 'facts', 'siyu.lock')), false, 'the lock is released on stop');

  const second = await startServer(dataDir);
  try {
    assert.doesNotMatch(second.output(), /siyu_[a-z0-9]{12}_/, 'the key is never printed again');
    assert.doesNotMatch(second.output(), /First start/);
    assert.doesNotMatch(second.output(), /Console login/);
  } finally {
    await second.stop();
  }
});

async function interruptAndResume(end: 'kill' | 'stop') {
  const dataDir = tempDir();
  const ROWS = 150_000;
  const lines = ['order_id\tordered_at\tamount\tmember_no'];
  for (let i = 0; i < ROWS; i++) lines.push(`H${i}\t2026-05-${String(1 + (i % 28)).padStart(2, '0')} 10:00:00\t${(i % 300) + 1}.00\tM${i % 40_000}`);
  const first = await startServer(dataDir, '0');
  const token = /(siyu_[a-z0-9]{12}_[A-Za-z0-9_-]{43})/.exec(first.output())![1];
  const auth = { authorization: `Bearer ${token}` };
  let run: string;
  try {
    // Tags that read orders, so the resumed import has tags to run after it.
    const pack = await fetch(`${first.url}/api/v1/tags/packs/retail`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(pack.status, 200, await pack.text());
    const posted = await fetch(`${first.url}/api/v1/imports?kind=orders&source=erp&filename=orders.tsv`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/tab-separated-values' },
      body: lines.join('\n') + '\n',
    });
    assert.equal(posted.status, 202);
    run = ((await posted.json()) as { run: string }).run;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const status = (await (await fetch(`${first.url}/api/v1/imports/${run}`, { headers: auth })).json()) as { status: string };
    assert.equal(status.status, 'running', 'still importing when the server dies');
  } finally {
    if (end === 'kill') await first.kill();
    else assert.equal(await first.stop(), 0, 'SIGTERM stops cleanly, mid-import');
  }

  const resumedAt = Date.now();
  const second = await startServer(dataDir, '0');
  try {
    assert.match(second.output(), new RegExp(`resuming import ${run!}`));
    type Run = { status: string; rowsRead: number; landed: number; unchanged: number; quarantined: number };
    let finished: Run | undefined;
    for (let i = 0; i < 600 && !finished; i++) {
      const body = (await (await fetch(`${second.url}/api/v1/imports/${run!}`, { headers: auth })).json()) as Run;
      if (body.status !== 'running') finished = body;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(finished?.status, 'completed');
    assert.deepEqual([finished!.rowsRead, finished!.landed, finished!.unchanged, finished!.quarantined], [ROWS, ROWS, 0, 0]);
    const records = await fetch(`${second.url}/api/v1/records/export`, { headers: auth });
    const exported = (await records.text()).trim().split('\n');
    assert.equal(exported.length - 1, ROWS, 'every order once');
    assert.equal(new Set(exported.slice(1).map((l) => l.split(',')[1])).size, ROWS);
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'uploads')), [], 'the upload is removed once the import completes');
    // A resumed import is followed by the tags that read its data, as a first run is.
    type Tags = { tags: Array<{ key: string; lastRun: { startedAt: string } | null }> };
    let retagged = false;
    for (let i = 0; i < 300 && !retagged; i++) {
      const tags = (await (await fetch(`${second.url}/api/v1/tags`, { headers: auth })).json()) as Tags;
      retagged = tags.tags.some((tag) => tag.key === 'spend_total' && tag.lastRun !== null && Date.parse(tag.lastRun.startedAt) >= resumedAt);
      if (!retagged) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(retagged, 'spend_total was computed again after the resumed import');
  } finally {
    await second.stop();
  }
}

test('an import posted over HTTP survives the server being killed: the next start resumes it, nothing lost or doubled', async () => {
  await interruptAndResume('kill');
});

test('an import posted over HTTP survives the server being stopped (SIGTERM) mid-import: the next start resumes it', async () => {
  await interruptAndResume('stop');
});
