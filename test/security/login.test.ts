/**
 * Login cannot be used to lock people out, nor to learn which emails have accounts. Failures slow the
 * account from the address that made them (2^n s past 5, at most 15 min), an address over all accounts
 * (past 50), and many addresses on one account each after their first miss (past 20) — but a burst
 * from elsewhere never stops the owner. Unknown, disabled and known emails are refused alike, after
 * the same scrypt run. A generated first password opens nothing but the page that replaces it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { chromium } from 'playwright-core';
import { ensureChromium, openTestStores, tempDir, workspaceWithKeys } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import type { Workspace } from '../../src/access/workspaces.ts';
import { buildServer, consoleRoot } from '../../src/app/server.ts';
import { createUser, dummyChecks, login, LoginError, LOGIN_THROTTLE, throttleClient, updateUser } from '../../src/access/users.ts';
import { ensureFirstWorkspace } from '../../src/app/bootstrap.ts';
import { openPgliteStateStore } from '../../src/stores/state/state-store.ts';
import { migrateState } from '../../src/stores/state/migrations.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
const PASSWORD = 'the owner knows this one';
let n = 0;
/** A fresh account per test: the counts of one test never reach another. */
async function account(): Promise<string> {
  const email = `owner-${process.pid}-${++n}@login.example`;
  await createUser(stores, ws.id, { email, name: 'Owner', role: 'operator', password: PASSWORD });
  return email;
}
let ipSeq = 0;
/** A fresh documentation-range address per use, and per run (a shared PostgreSQL keeps counts 15 minutes). */
const RUN = crypto.randomBytes(2).toString('hex');
const address = () => `2001:db8:${RUN.slice(0, 4)}:${(++ipSeq).toString(16)}::1`;

async function serve(s: Stores): Promise<{ app: FastifyInstance; base: string }> {
  // Behind a trusted proxy, as in production: X-Forwarded-For names the client.
  const server = await buildServer({ config: { logLevel: 'error' }, stores: s, logger: false, trustProxy: true });
  await server.listen({ port: 0, host: '127.0.0.1' });
  return { app: server, base: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}` };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, text, json: text ? JSON.parse(text) : undefined, headers: response.headers };
}
const logIn = (email: string, password: string, ip: string) => post(`${base}/api/v1/auth/login`, { email, password }, { 'x-forwarded-for': ip });

/** The domain's answer for one try at a moment: 'ok', 'wrong' or the seconds to wait. */
async function attempt(email: string, password: string, ip: string, now: Date): Promise<'ok' | 'wrong' | number> {
  try {
    await login(stores, email, password, { ip, now });
    return 'ok';
  } catch (error) {
    if (!(error instanceof LoginError)) throw error;
    return error.retryAfterSeconds ?? 'wrong';
  }
}

before(async () => {
  ({ stores } = await openTestStores());
  ({ ws } = await workspaceWithKeys(stores, 'login'));
  ({ app, base } = await serve(stores));
});
after(async () => {
  await app.close();
  await stores.close();
});

test('after a burst of 50 wrong passwords from one address, the owner logs in at once from another', async () => {
  const email = await account();
  const attacker = address();
  const statuses: number[] = [];
  for (let i = 0; i < 50; i++) statuses.push((await logIn(email, `guess number ${i}`, attacker)).status);
  assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
  assert.ok(statuses.slice(5).every((s) => s === 429 || s === 401) && statuses.includes(429), `the attacker is slowed: ${statuses.join(' ')}`);
  const owner = await logIn(email, PASSWORD, address());
  assert.equal(owner.status, 200, owner.text);
  assert.equal(owner.json.user.email, email);
});

test('one address guessing one account is slowed: 2^n s blocks past 5 failures, at most 15 min, forgotten after 15 quiet minutes', async () => {
  const email = await account();
  const ip = address();
  let now = new Date('2026-03-01T00:00:00Z');
  const at = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));
  for (let i = 0; i < 4; i++) assert.equal(await attempt(email, 'wrong password', ip, now), 'wrong');
  assert.equal(await attempt(email, 'wrong password', ip, now), 'wrong', 'the 5th is checked and refused…');
  assert.equal(await attempt(email, PASSWORD, ip, now), 1, '…and blocks the pair 1 s: even the right password waits');
  const blocks: number[] = [];
  for (let i = 0; i < 12; i++) {
    const wait = await attempt(email, 'x', ip, now);
    assert.equal(typeof wait, 'number');
    at(wait as number);
    assert.equal(await attempt(email, 'wrong password', ip, now), 'wrong', 'once the block ends the next try is checked');
    blocks.push((await attempt(email, 'wrong password', ip, now)) as number);
  }
  assert.deepEqual(blocks, [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]);
  // Blocked tries are not counted: waiting it out is enough.
  at(900);
  assert.equal(await attempt(email, PASSWORD, ip, now), 'ok');
  // A success clears the pair: the next miss is one of five again.
  assert.equal(await attempt(email, 'wrong password', ip, now), 'wrong');
  assert.equal(await attempt(email, 'wrong password', ip, now), 'wrong');
  // The account's 20th failure; at its 21st a pair is allowed one miss, so this 4th blocks for 2^3 s.
  assert.equal(await attempt(email, 'wrong password', ip, now), 'wrong');
  assert.equal(await attempt(email, 'wrong password', ip, now), 'wrong');
  assert.equal(await attempt(email, 'wrong password', ip, now), 8);
  // And 15 minutes after the block ends, every count starts over.
  at(8 + LOGIN_THROTTLE.quietMinutes * 60 + 1);
  for (let i = 0; i < 5; i++) assert.equal(await attempt(email, 'wrong password', ip, now), 'wrong', `try ${i + 1} after a quiet spell`);
});

test('one address spraying many accounts is blocked past 50 failures; other addresses are not', async () => {
  const ip = address();
  const now = new Date('2026-03-02T00:00:00Z');
  // Five at a time (scrypt runs on the thread pool): every one of them still counts.
  for (let i = 0; i < LOGIN_THROTTLE.addressFailures; i += 5) {
    const tries = await Promise.all([0, 1, 2, 3, 4].map((j) => attempt(`nobody-${process.pid}-${i + j}@spray.example`, 'Winter2026!', ip, now)));
    assert.deepEqual(tries, ['wrong', 'wrong', 'wrong', 'wrong', 'wrong']);
  }
  assert.equal(await attempt(`nobody-${process.pid}-x@spray.example`, 'Winter2026!', ip, now), 1);
  const email = await account();
  assert.equal(await attempt(email, PASSWORD, ip, now), 1, 'the address waits, whatever it tries');
  assert.equal(await attempt(email, PASSWORD, address(), now), 'ok', 'another address is not held');
});

test('many addresses on one account: past 20 failures each address is slowed after its first miss, and the owner still gets in', async () => {
  const email = await account();
  const now = new Date('2026-03-03T00:00:00Z');
  for (let i = 0; i < LOGIN_THROTTLE.accountAlarm; i++) assert.equal(await attempt(email, 'wrong password', address(), now), 'wrong');
  const bot = address();
  assert.equal(await attempt(email, 'wrong password', bot, now), 'wrong');
  assert.equal(await attempt(email, 'wrong password', bot, now), 1, 'a first miss past the alarm blocks that address');
  assert.equal(await attempt(email, PASSWORD, address(), now), 'ok', 'the owner from an address that has not failed is checked, and let in');
});

test('unknown, disabled and known emails: the same refusal, the same throttle, and a scrypt run each time', async () => {
  const known = await account();
  const disabled = await account();
  await updateUser(stores, ws.id, disabled, { disabled: true });
  const unknown = `nobody-${process.pid}@login.example`;
  // The HTTP answer to a first wrong try: status and body alike.
  const firstRefusal = async (email: string) => {
    const r = await logIn(email, 'wrong password', address());
    return `${r.status} ${r.text}`;
  };
  const knownRefusal = await firstRefusal(known);
  assert.match(knownRefusal, /^401 .*the email or the password is wrong/);
  assert.equal(await firstRefusal(unknown), knownRefusal);
  assert.equal(await firstRefusal(disabled), knownRefusal);
  // Seven tries from one address (on a held clock): the same answers, so a block reveals nothing either.
  const answers = async (email: string) => {
    const ip = address();
    const now = new Date('2026-03-04T00:00:00Z');
    const seen: Array<string | number> = [];
    for (let i = 0; i < 7; i++) seen.push(await attempt(email, 'wrong password', ip, now));
    return seen;
  };
  const knownAnswers = await answers(known);
  assert.deepEqual(knownAnswers, ['wrong', 'wrong', 'wrong', 'wrong', 'wrong', 1, 1]);
  assert.deepEqual(await answers(unknown), knownAnswers);
  assert.deepEqual(await answers(disabled), knownAnswers);
  // The disabled user's right password is refused like a wrong one.
  const refused = await logIn(disabled, PASSWORD, address());
  assert.equal(refused.status, 401);

  // An unknown or disabled email is checked against a dummy hash: the time is a scrypt run either way.
  const before = dummyChecks.count;
  await attempt(unknown, 'wrong password', address(), new Date());
  await attempt(disabled, 'wrong password', address(), new Date());
  assert.equal(dummyChecks.count, before + 2);
  const median = async (email: string) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      await attempt(email, 'wrong password', address(), new Date());
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[2];
  };
  const [k, u, d] = [await median(known), await median(unknown), await median(disabled)];
  assert.ok(Math.max(k, u, d) / Math.min(k, u, d) < 3, `medians: known ${k.toFixed(1)} ms, unknown ${u.toFixed(1)} ms, disabled ${d.toFixed(1)} ms`);
});

test('the first start: a generated admin password opens only the change-password page; one from SIYU_ADMIN_PASSWORD stands', async () => {
  for (const env of [{}, { SIYU_ADMIN_EMAIL: `chosen-${process.pid}@login.example`, SIYU_ADMIN_PASSWORD: 'the operator chose this' }] as NodeJS.ProcessEnv[]) {
    // A state store of its own, empty, so the first start happens (the facts store is not touched).
    const state = await openPgliteStateStore(tempDir());
    await migrateState(state.db as unknown as Kysely<unknown>);
    const fresh: Stores = { facts: stores.facts, state, close: async () => undefined };
    const server = await serve(fresh);
    try {
      const boot = await ensureFirstWorkspace(fresh, env);
      const { email, password, fromEnvironment } = boot.adminLogin!;
      const session = await post(`${server.base}/api/v1/auth/login`, { email, password }, { 'x-forwarded-for': address() });
      assert.equal(session.status, 200, session.text);
      const cookie = session.headers.get('set-cookie')!.split(';')[0];
      const get = (route: string) => fetch(`${server.base}${route}`, { headers: { cookie } });
      if (fromEnvironment) {
        assert.equal(session.json.user.mustChangePassword, false);
        assert.equal((await get('/api/v1/users')).status, 200);
        continue;
      }
      assert.equal(email, 'admin@siyu.local');
      assert.equal(session.json.user.mustChangePassword, true);
      const refused = await get('/api/v1/users');
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'password_change_required');
      assert.equal((await fetch(`${server.base}/api/v1/users`, { headers: { authorization: `Bearer ${boot.adminToken}` } })).status, 200, 'the admin API key is not held');
      const me = await get('/api/v1/auth/me');
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { user: { mustChangePassword: boolean } }).user.mustChangePassword, true);
      const change = (newPassword: string) => post(`${server.base}/api/v1/auth/password`, { currentPassword: password, newPassword }, { cookie });
      const same = await change(password);
      assert.equal(same.status, 400);
      assert.match(same.json.error.message, /^newPassword: must differ/);
      assert.equal((await change('my very own password')).status, 204);
      assert.equal((await get('/api/v1/users')).status, 200, 'the same session goes on, with everything open');
      const again = await post(`${server.base}/api/v1/auth/login`, { email, password: 'my very own password' }, { 'x-forwarded-for': address() });
      assert.equal(again.json.user.mustChangePassword, false);
    } finally {
      await server.app.close();
      await state.close();
    }
  }
});

test('the console: a generated first password shows only the page that replaces it, then the console opens', {
  skip: consoleRoot() ? false : 'the console is not built',
}, async () => {
  const state = await openPgliteStateStore(tempDir());
  await migrateState(state.db as unknown as Kysely<unknown>);
  const fresh: Stores = { facts: stores.facts, state, close: async () => undefined };
  const server = await serve(fresh);
  const browser = await chromium.launch({ executablePath: ensureChromium(), args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const { email, password } = (await ensureFirstWorkspace(fresh, {})).adminLogin!;
    const page = await browser.newPage({ locale: 'zh-CN' });
    page.setDefaultTimeout(30_000);
    await page.goto(server.base);
    await page.getByLabel('邮箱').fill(email);
    await page.getByLabel('密码').fill(password);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByText('设置你自己的密码').waitFor();
    assert.equal(await page.getByRole('navigation').count(), 0, 'no navigation before the password is changed');
    await page.getByLabel('当前密码').fill(password);
    await page.getByLabel('新密码', { exact: true }).fill('the admin chose this one');
    await page.getByLabel('确认新密码').fill('the admin chose this one');
    await page.getByRole('button', { name: '修改密码' }).click();
    await page.getByRole('navigation').waitFor();
    await page.getByRole('heading', { name: '概览' }).waitFor();
  } finally {
    await browser.close();
    await server.app.close();
    await state.close();
  }
});

test('an IPv6 client is counted by its /64 (rotating addresses inside it does not reset the count); IPv4 inside IPv6 as IPv4', async () => {
  assert.equal(throttleClient('2001:db8:1:2:aaaa::1'), throttleClient('2001:db8:1:2:bbbb::9'));
  assert.notEqual(throttleClient('2001:db8:1:2::1'), throttleClient('2001:db8:1:3::1'));
  assert.equal(throttleClient('::ffff:203.0.113.7'), '203.0.113.7');
  const email = await account();
  const now = new Date('2026-03-05T00:00:00Z');
  for (let i = 0; i < LOGIN_THROTTLE.pairFailures; i++) assert.equal(await attempt(email, 'wrong password', `2001:db8:${RUN}:ffff::${i + 1}`, now), 'wrong');
  assert.equal(await attempt(email, 'wrong password', `2001:db8:${RUN}:ffff::99`, now), 1);
});

test('the throttle keeps hashes, not emails or addresses', async () => {
  const rows = await sql<{ key: string }>`SELECT key FROM login_throttle`.execute(stores.state.db);
  assert.ok(rows.rows.length > 0);
  assert.ok(rows.rows.every((r) => /^[0-9a-f]{64}$/.test(r.key)));
});
