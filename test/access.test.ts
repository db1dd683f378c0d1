/**
 * People's accounts over HTTP: login with a session cookie, roles through the same checks as API
 * keys, login throttling, logout, password change, role changes that end sessions, origin checks for
 * cookie-authenticated writes, and the audit log of keys, users and exports.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, uniqueSlug, runCli, tempDir } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('access'), name: 'access' });
  admin = (await new ApiKeyService(stores.state).create(ws.id, 'root', 'admin')).token;
  ({ app, base } = await startTestServer(stores));
});
after(async () => {
  await app.close();
  await stores.close();
});

/** A browser: keeps the session cookie between calls. */
function browser() {
  let cookie = '';
  return async (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { ...(cookie ? { cookie } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = response.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0].endsWith('=') ? '' : set.split(';')[0];
    const text = await response.text();
    return { status: response.status, json: text.startsWith('{') ? JSON.parse(text) : undefined, setCookie: set };
  };
}

const email = (name: string) => `${name}-${ws.slug}@brand.example`;

test('users log in with a password and act with their role; sessions end on logout, password and role changes', async () => {
  const weak = await callApi(base, 'POST', '/api/v1/users', admin, { email: email('ana'), name: '分析师', role: 'analyst', password: 'short' });
  assert.equal(weak.status, 400);
  assert.match(weak.json.error.message, /^body\.password: at least 10 characters/);
  const created = await callApi(base, 'POST', '/api/v1/users', admin, { email: email('ana'), name: '分析师', role: 'analyst', password: 'correct horse 1' });
  assert.equal(created.status, 201);
  assert.equal((await callApi(base, 'POST', '/api/v1/users', admin, { email: email('ana'), name: 'x', role: 'analyst', password: 'correct horse 1' })).status, 409);
  const operatorKey = (await new ApiKeyService(stores.state).create(ws.id, 'ops', 'operator')).token;
  assert.equal((await callApi(base, 'GET', '/api/v1/users', operatorKey)).status, 403, 'only admins manage users');

  const ana = browser();
  assert.equal((await ana('GET', '/api/v1/auth/me')).status, 401);
  const wrong = await ana('POST', '/api/v1/auth/login', { email: email('ana'), password: 'wrong password' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.error.message, 'the email or the password is wrong');
  const unknown = await ana('POST', '/api/v1/auth/login', { email: email('nobody'), password: 'wrong password' });
  assert.equal(unknown.json.error.message, wrong.json.error.message, 'unknown accounts are not told apart');
  const ok = await ana('POST', '/api/v1/auth/login', { email: email('ANA'), password: 'correct horse 1' });
  assert.equal(ok.status, 200);
  assert.match(ok.setCookie ?? '', /siyu_session=[\w-]{43}; Max-Age=1209600; Path=\/; HttpOnly; SameSite=Lax/);
  const me = await ana('GET', '/api/v1/auth/me');
  assert.deepEqual([me.json.role, me.json.user.email, me.json.workspace.id], ['analyst', email('ana'), ws.id]);
  assert.equal((await ana('GET', '/api/v1/segments')).status, 200, 'an analyst reads');
  assert.equal((await ana('POST', '/api/v1/segments', { key: 'x' })).status, 403, 'and changes nothing');
  assert.equal((await ana('GET', '/api/v1/audit')).status, 403);

  // A write carrying the cookie from a page of another origin is refused.
  const admin2 = await callApi(base, 'POST', '/api/v1/users', admin, { email: email('boss'), name: '管理员', role: 'admin', password: 'another horse 2' });
  assert.equal(admin2.status, 201);
  const boss = browser();
  await boss('POST', '/api/v1/auth/login', { email: email('boss'), password: 'another horse 2' });
  const forged = await boss('PATCH', `/api/v1/users/${created.json.user.id}`, { role: 'operator' }, { origin: 'https://evil.example' });
  assert.equal(forged.status, 403);
  assert.match(forged.json.error.message, /must come from this origin/);

  // The admin makes the analyst an operator: the analyst's session ends.
  const promoted = await boss('PATCH', `/api/v1/users/${created.json.user.id}`, { role: 'operator' });
  assert.equal(promoted.status, 200);
  assert.equal((await ana('GET', '/api/v1/auth/me')).status, 401, 'a role change ends the sessions');
  await ana('POST', '/api/v1/auth/login', { email: email('ana'), password: 'correct horse 1' });
  assert.equal((await ana('GET', '/api/v1/auth/me')).json.role, 'operator');

  // Password change: the current one is asked, the other sessions end, the new one works.
  const second = browser();
  await second('POST', '/api/v1/auth/login', { email: email('ana'), password: 'correct horse 1' });
  assert.equal((await ana('POST', '/api/v1/auth/password', { currentPassword: 'nope', newPassword: 'brand new horse 3' })).status, 403);
  assert.equal((await ana('POST', '/api/v1/auth/password', { currentPassword: 'correct horse 1', newPassword: 'brand new horse 3' })).status, 204);
  assert.equal((await ana('GET', '/api/v1/auth/me')).status, 200, 'this session goes on');
  assert.equal((await second('GET', '/api/v1/auth/me')).status, 401, 'the other one ended');
  assert.equal((await ana('POST', '/api/v1/auth/logout')).status, 204);
  assert.equal((await ana('GET', '/api/v1/auth/me')).status, 401);

  // Five wrong passwords from one address slow that address down, even for the right one (other
  // addresses are not held: test/security/login.test.ts).
  for (let i = 0; i < 5; i++) await ana('POST', '/api/v1/auth/login', { email: email('ana'), password: `wrong ${i} password` });
  const locked = await ana('POST', '/api/v1/auth/login', { email: email('ana'), password: 'brand new horse 3' });
  assert.equal(locked.status, 429);
  assert.match(locked.json.error.message, /too many failed logins from this address: try again in \d+ s/);

  // The audit log: users, role changes, keys, exports.
  await callApi(base, 'POST', '/api/v1/api-keys', admin, { name: 'erp', role: 'operator' });
  await fetch(`${base}/api/v1/identities/export`, { headers: { authorization: `Bearer ${admin}` } }).then((r) => r.text());
  const audit = await boss('GET', '/api/v1/audit');
  const actions = audit.json.entries.map((e: { action: string }) => e.action);
  for (const action of ['user.create', 'user.update', 'user.password', 'apikey.create', 'export.identities']) assert.ok(actions.includes(action), `${action} in ${actions}`);
  const update = audit.json.entries.find((e: { action: string }) => e.action === 'user.update');
  assert.deepEqual(update.details, {
    from: { role: 'analyst', disabled: false, teamId: null, staffUserId: null },
    to: { role: 'operator', disabled: false, teamId: null, staffUserId: null },
  });
});

test('siyu users create / list / set and siyu audit', async () => {
  const dir = tempDir();
  const env = { SIYU_DATA_DIR: dir, SIYU_DEMO_PEOPLE: '0' };
  const slug = uniqueSlug('users-cli');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'u'], env)).code, 0);
  const team = await runCli(['teams', 'create', '企微团队', '--sources', 'wecom,store', '-w', slug], env);
  assert.equal(team.code, 0, team.stderr);
  assert.match(team.stdout, /team 企微团队 \(team_\w+\): sees store, wecom/);
  const created = await runCli(
    ['users', 'create', '--email', `guide-${slug}@brand.example`, '--name', '导购小王', '--role', 'staff', '--team', '企微团队', '--staff-userid', 'guide001', '-w', slug],
    { ...env, SIYU_NEW_PASSWORD: 'a long enough pass' },
  );
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /: staff, team 企微团队, id usr_/);
  const disabled = await runCli(['users', 'set', `guide-${slug}@brand.example`, '--disable', '-w', slug], env);
  assert.match(disabled.stdout, /staff, disabled/);
  const listed = await runCli(['users', 'list', '-w', slug], env);
  assert.match(listed.stdout, /导购小王\s+staff\s+企微团队\s+guide001\s+yes/);
  const busy = await runCli(['teams', 'delete', '企微团队', '-w', slug], env);
  assert.notEqual(busy.code, 0);
  assert.match(busy.stderr, /has 1 member\(s\)/);
  assert.equal((await runCli(['users', 'set', `guide-${slug}@brand.example`, '--team', 'none', '-w', slug], env)).code, 0);
  assert.equal((await runCli(['teams', 'delete', '企微团队', '-w', slug], env)).code, 0);
  const audit = await runCli(['audit', '-w', slug], env);
  assert.match(audit.stdout, /cli:\S*\s+user\.update/);
  assert.match(audit.stdout, /cli:\S*\s+user\.create/);
});
