/**
 * The CLI against a remote server (SIYU_URL + SIYU_API_KEY): the daily commands print what they print on
 * the server's machine, an import uploads its file and lands its rows, a key's role is enforced by the API
 * (a refusal is one line), and host-level commands are refused naming why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, tempDir } from './helpers.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function siyu(args: string[], env: NodeJS.ProcessEnv, cwd = ROOT, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/siyu.ts'), ...args], {
      cwd,
      env: { ...process.env, SIYU_URL: '', SIYU_API_KEY: '', ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** `siyu start` on an empty workspace; resolves with its URL and admin key once it serves. */
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
  const stop = () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return exited;
  };
  return { url, adminKey, stop };
}

/** Timings differ between two runs of one command; everything else must not. */
const withoutTimings = (text: string) => text.replace(/\d+(\.\d+)? (ms|s)\b/g, 'T');

test('the daily commands work against SIYU_URL with the output they have on the server machine', async () => {
  const dataDir = tempDir();
  const work = tempDir('siyu-remote-cwd-');
  const file = (name: string, content: unknown) => {
    fs.writeFileSync(path.join(work, name), typeof content === 'string' ? content : JSON.stringify(content));
    return path.join(work, name);
  };
  const server = await startServer(dataDir);
  const local = { SIYU_DATA_DIR: dataDir, SIYU_PROGRESS_INTERVAL_MS: '1' };
  const remote = { SIYU_URL: server.url, SIYU_API_KEY: server.adminKey, SIYU_DATA_DIR: tempDir(), SIYU_PROGRESS_INTERVAL_MS: '20' };
  const api = async (route: string) => {
    const response = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${server.adminKey}` } });
    assert.equal(response.status, 200, route);
    return (await response.json()) as Record<string, unknown>;
  };
  /** The command locally (through the server on the data directory) and remotely: both succeed with the same output. */
  const same = async (...args: string[]) => {
    const [here, there] = [await siyu(args, local, work), await siyu(args, remote, work)];
    assert.equal(here.code, 0, here.stderr);
    assert.equal(there.code, 0, there.stderr);
    assert.equal(withoutTimings(there.stdout), withoutTimings(here.stdout), `siyu ${args.join(' ')}`);
    return there.stdout;
  };
  try {
    // An import through remote mode: the file is uploaded, its run polled, its rows land.
    file('members.csv', 'member_no,phone,name\nP1,13600000001,甲\nP2,13600000002,乙\nP3,,丙\nP4,12,丁\n');
    const imported = await siyu(['import', 'members', 'members.csv', '--source', 'crm'], remote, work);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /^members\.csv\s+4\s+4\s+0\s+0\s+0\s+1\b/m, 'one row per uploaded file: read, landed, updated, unchanged, quarantined, values dropped');
    assert.match(imported.stdout, /run \S+: 4 rows read, 4 landed, 0 updated, 0 unchanged, 0 quarantined, 1 values dropped in \d+\.\d s/);
    assert.match(imported.stdout, /see: siyu import quarantine --run /);
    const { runs } = (await api('/api/v1/imports')) as { runs: Array<{ landed: number; source: string; status: string }> };
    assert.deepEqual(
      runs.map((r) => [r.source, r.status, r.landed]),
      [['crm', 'completed', 4]],
    );
    // The import resolves OneID on the server afterwards: the people become searchable.
    for (let i = 0; ; i++) {
      const { people } = (await api('/api/v1/people?q=13600000001')) as { people: unknown[] };
      if (people.length === 1) break;
      assert.ok(i < 100, 'the imported member is found');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.match(await same('import', 'quarantine'), /phone/);
    assert.match(await same('import', 'runs'), /^imp_\S+\s+members\s+crm\s+completed\s+4\s+4\b/m);

    // Segments: create from a file remotely, then list and count the same here and there.
    const created = await siyu(
      ['segments', 'create', file('seg.json', { key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] })],
      remote,
      work,
    );
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'segment members (会员 / Members): 4 people\n');
    assert.match(await same('segments', 'list'), /^members\s+会员\s+1\b/m);
    assert.match(await same('segments', 'count', 'members'), /^exact: 4 people/m);

    // OneID reads and a resolve.
    const resolved = await siyu(['resolve'], remote, work);
    assert.equal(resolved.code, 0, resolved.stderr);
    assert.match(resolved.stdout, /^resolved \d+ records → 4 people/m);
    assert.match(await same('identities', 'explain', '1'), /^person 1: 1 records/m);
    await same('identities', 'review');
    assert.match(await same('users', 'list'), /admin/);

    // Plans made on the server machine read the same remotely.
    const secret = await siyu(['secrets', 'set', 'hook_secret'], local, work, 'a webhook signing secret\n');
    assert.equal(secret.code, 0, secret.stderr);
    const channel = await siyu(
      [
        'channels',
        'add',
        file('channel.json', { key: 'hook', kind: 'webhook', address: 'phone', costPerMessage: 0.1, config: { url: 'https://hooks.example.com/x', secret: 'hook_secret' } }),
      ],
      local,
      work,
    );
    assert.equal(channel.code, 0, channel.stderr);
    const plan = { key: 'hello', name: '问候', audience: { segment: 'members' }, channel: 'hook', variants: [{ key: 'A', template: { text: '{{ person.name }}您好' } }] };
    const planCreated = await siyu(['plans', 'create', file('plan.json', plan)], local, work);
    assert.equal(planCreated.code, 0, planCreated.stderr);
    assert.match(await same('plans', 'list'), /^hello\s+问候\s+draft/m);
    assert.match(await same('plans', 'report', 'hello'), /^plan hello: draft/m);
    assert.match(await same('plans', 'report', 'hello', '--json'), /"plan": "hello"/);
    const paused = await siyu(['plans', 'pause', 'hello'], remote, work);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(paused.stdout, 'plan hello: paused\n');
    assert.equal(((await api('/api/v1/plans/hello')) as { status: string }).status, 'paused');

    const doctor = await siyu(['doctor'], remote, work);
    assert.equal(doctor.code, 0, doctor.stderr);
    assert.match(doctor.stdout, /ok: both stores answer/);

    // An operator's key: the API refuses an admin command, in one line.
    const key = await siyu(['apikey', 'create', '--name', 'ops', '--role', 'operator'], local, work);
    const operatorKey = /token \(shown once, store it now\): (\S+)/.exec(key.stdout)?.[1];
    assert.ok(operatorKey, key.stdout + key.stderr);
    const refused = await siyu(['users', 'list'], { ...remote, SIYU_API_KEY: operatorKey });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^siyu: SIYU_API_KEY may not do this on http:\/\/\S+: .+\n$/);
    assert.equal((await siyu(['segments', 'list'], { ...remote, SIYU_API_KEY: operatorKey })).code, 0, 'an operator reads segments');

    // Host-level commands say why they do not run remotely; unknown ones list what does.
    const backup = await siyu(['backup', '--out', work], remote, work);
    assert.equal(backup.code, 1);
    assert.match(backup.stderr, /^siyu: siyu backup: not against a remote server \(SIYU_URL=http:\/\/\S+\): it writes the backup on the server's machine; run it there\n$/);
    const other = await siyu(['tags', 'install-pack', 'retail'], remote, work);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /not available against a remote server .*remotely: .*import, segments list/);
  } finally {
    await server.stop();
  }
});
