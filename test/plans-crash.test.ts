/**
 * The delivery guarantee, end to end through the real server: a plan to 10,000 people over the
 * webhook channel, the server killed with SIGKILL mid-dispatch and started again; every person ends
 * with exactly one message (by delivery id), and the ledger shows each sent once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, callApi, openTestStores, tempDir, uniqueSlug } from './helpers.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { savePolicy } from '../src/policy/policy.ts';
import { startWebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
// These suites keep the older environment-variable secrets, which the server operator must allow-list.
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'CRASH_TEST_SECRET';

const PEOPLE = 10_000;
const SECRET = 'whsec_crash_test';

function startServer(dataDir: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; base: string; output: () => string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'start', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, ...env, SIYU_DATA_DIR: dataDir, SIYU_DEMO_PEOPLE: '0', SIYU_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /API\s+(http:\/\/\S+)\/api\/v1/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, base: match[1], output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${output}`)));
  });
}

async function until(what: string, check: () => Promise<boolean> | boolean, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a plan to 10k people survives SIGKILL of the server mid-dispatch: everyone gets exactly one message', { timeout: 300_000 }, async () => {
  const dataDir = tempDir();
  const receiver = await startWebhookReceiver(SECRET);
  const env = { CRASH_TEST_SECRET: SECRET, SIYU_CHANNEL_SECRET_ENV_ALLOW: 'CRASH_TEST_SECRET', SIYU_DISPATCH_LEASE_SECONDS: '2' };
  let token: string;
  {
    const { stores } = await openTestStores(dataDir);
    const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('crash'), name: 'crash' });
    token = (await new ApiKeyService(stores.state).create(ws.id, 'ops', 'admin')).token;
    const file = path.join(dataDir, 'members.csv');
    const lines = ['member_no,phone'];
    for (let i = 1; i <= PEOPLE; i++) lines.push(`C${i},1380${String(i).padStart(7, '0')}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
    await saveSegment(stores, ws.id, { key: 'everyone', name: { zh: '全部', en: 'All' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
    await savePolicy(stores, ws.id, { caps: [], quietHours: null });
    await stores.close();
  }
  let server = await startServer(dataDir, env);
  const call = (method: string, route: string, body?: unknown) => callApi(server.base, method, route, token, body);
  try {
    // ~1,000 messages a second, so the kill lands in the middle.
    const channel = await call('POST', '/api/v1/channels', {
      key: 'hook',
      kind: 'webhook',
      ratePerMinute: 60_000,
      concurrency: 16,
      config: { url: receiver.url, secretEnv: 'CRASH_TEST_SECRET' },
    });
    assert.equal(channel.status, 201, channel.text);
    const plan = await call('POST', '/api/v1/plans', {
      key: 'crash_plan',
      name: 'crash',
      audience: { segment: 'everyone' },
      channel: 'hook',
      variants: [{ key: 'A', template: { text: 'hello {{ person.id }}' } }],
    });
    assert.equal(plan.status, 201, plan.text);
    const started = await call('POST', '/api/v1/plans/crash_plan/start');
    assert.equal(started.status, 200, started.text);

    await until('a third of the messages', () => receiver.received.size >= PEOPLE / 3, 120);
    server.child.kill('SIGKILL');
    await new Promise((r) => server.child.once('close', r));
    const atKill = receiver.received.size;
    assert.ok(atKill < PEOPLE, `killed mid-dispatch (${atKill} of ${PEOPLE} had arrived)`);

    server = await startServer(dataDir, env);
    await until('every message', () => receiver.received.size >= PEOPLE, 180);
    await until('the ledger to settle', async () => (await call('GET', '/api/v1/plans/crash_plan/report')).json?.ledger?.delivered === PEOPLE, 60);
    const report = (await call('GET', '/api/v1/plans/crash_plan/report')).json;
    assert.deepEqual(report.ledger, { delivered: PEOPLE });
    assert.equal(report.groups[0].sent, PEOPLE);
    assert.equal((await call('GET', '/api/v1/plans/crash_plan')).json.status, 'completed');
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('close', r));
    await receiver.close();
  }
  // Exactly one message per person: one delivery id each, and all 10,000 people.
  const people = new Set([...receiver.received.values()].map((r) => r.personId));
  assert.equal(receiver.received.size, PEOPLE);
  assert.equal(people.size, PEOPLE);
  // Repeats on the wire can only be the sends in flight at the kill (at most the channel's concurrency
  // per batch); the receiver dropped them by delivery id.
  const repeats = receiver.requests - receiver.received.size;
  assert.ok(repeats <= 500, `${repeats} repeated requests`);
  console.log(`# sigkill: ${repeats} repeated requests (dropped by delivery id) of ${receiver.requests}`);
});
