import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { openTestStores, startTestServer, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { ApiKeyService } from '../access/keys.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let adminToken: string;
let otherToken: string;
let workspaceId: string;

before(async () => {
  ({ stores } = await openTestStores());
  const workspaces = new WorkspaceService(stores.state);
  const keys = new ApiKeyService(stores.state);
  const ws = await workspaces.create({ slug: uniqueSlug('srv'), name: 'Server test' });
  workspaceId = ws.id;
  adminToken = (await keys.create(ws.id, 'admin', 'admin')).token;
  const other = await workspaces.create({ slug: uniqueSlug('other'), name: 'Another brand' });
  otherToken = (await keys.create(other.id, 'admin', 'admin')).token;
  ({ app, base } = await startTestServer(stores));
});
after(async () => {
  await app.close();
  await stores.close();
});

async function call(method: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

test('healthz answers without credentials and reports both stores', async () => {
  const { status, json } = await call('GET', '/healthz');
  assert.equal(status, 200);
  assert.equal(json.status, 'ok');
  assert.equal(json.facts.ok, true);
  assert.equal(json.state.ok, true);
  assert.equal(json.state.engine, process.env.DATABASE_URL ? 'postgres' : 'pglite');
});

test('the console (or, before it is built, a page that says how to build it) is served at /', async () => {
  const { status, text, headers } = await call('GET', '/');
  assert.equal(status, 200);
  assert.match(headers.get('content-type') ?? '', /text\/html/);
  assert.match(text, /Siyu 私域/);
});

test('every /api/v1 route refuses requests without credentials or with a bad key', async () => {
  const apiRoutes = app.routeTable.filter((r) => r.url.startsWith('/api/'));
  const open = apiRoutes.filter((r) => r.public).map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(
    open.sort(),
    ['GET /api/openapi.json', 'POST /api/v1/auth/login', 'POST /api/v1/auth/logout'],
    'only the OpenAPI document, login and logout are public under /api',
  );
  const guarded = apiRoutes.filter((r) => !r.public);
  assert.ok(guarded.length >= 4, `walked ${guarded.length} routes`);
  for (const route of guarded) {
    const concrete = route.url.replace(/:[A-Za-z]+/g, 'x');
    for (const token of [undefined, 'siyu_aaaaaaaaaaaa_' + 'A'.repeat(43), 'not-a-key']) {
      const { status, json } = await call(route.method, concrete, token, route.method === 'POST' ? {} : undefined);
      assert.equal(status, 401, `${route.method} ${route.url} with ${token ? 'a bad key' : 'no key'} gave ${status}`);
      assert.equal(json.error.code, 'unauthorized');
    }
    // A made-up session cookie is no better.
    const forged = await fetch(`${base}${concrete}`, { method: route.method, headers: { cookie: `siyu_session=${'B'.repeat(43)}` } });
    assert.equal(forged.status, 401, `${route.method} ${route.url} with a made-up session gave ${forged.status}`);
  }
});

test('a key sees its own workspace only', async () => {
  const mine = await call('GET', '/api/v1/workspace', adminToken);
  assert.equal(mine.status, 200);
  assert.equal(mine.json.id, workspaceId);
  const theirs = await call('GET', '/api/v1/workspace', otherToken);
  assert.notEqual(theirs.json.id, workspaceId);
  const theirKeys = await call('GET', '/api/v1/api-keys', otherToken);
  assert.ok(theirKeys.json.keys.every((k: { workspaceId: string }) => k.workspaceId !== workspaceId));
});

test('API keys: create, use, list without secrets, revoke', async () => {
  const created = await call('POST', '/api/v1/api-keys', adminToken, { name: 'ERP sync', role: 'analyst' });
  assert.equal(created.status, 201);
  const token: string = created.json.token;
  assert.match(token, /^siyu_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
  assert.equal((await call('GET', '/api/v1/workspace', token)).status, 200);

  // An analyst may read, but may not manage keys.
  const forbidden = await call('GET', '/api/v1/api-keys', token);
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.json.error.code, 'forbidden');

  const list = await call('GET', '/api/v1/api-keys', adminToken);
  assert.equal(list.status, 200);
  assert.ok(list.text.includes(created.json.key.prefix));
  assert.ok(!list.text.includes(token.split('_').slice(2).join('_')), 'the secret never appears in a listing');

  const revoked = await call('DELETE', `/api/v1/api-keys/${created.json.key.prefix}`, adminToken);
  assert.equal(revoked.status, 200);
  assert.ok(revoked.json.key.revokedAt);
  const after = await call('GET', '/api/v1/workspace', token);
  assert.equal(after.status, 401);

  const stored = await stores.state.db.selectFrom('api_keys').select('secret_hash').where('id', '=', created.json.key.id).executeTakeFirstOrThrow();
  assert.ok(!stored.secret_hash.includes(token.split('_').slice(2).join('_')), 'only a hash is stored');
});

test('bad input gets a validation error naming the field', async () => {
  const { status, json } = await call('POST', '/api/v1/api-keys', adminToken, { name: 'x', role: 'boss' });
  assert.equal(status, 400);
  assert.equal(json.error.code, 'validation_failed');
  assert.match(json.error.message, /^body\.role: /);
  assert.equal(json.error.details.issues[0].path, 'body.role');
});

test('malformed JSON and unknown routes get the same error shape', async () => {
  const response = await fetch(base + '/api/v1/api-keys', {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: '{"name":',
  });
  assert.equal(response.status, 400);
  const body = (await response.json()) as { error: { code: string; message: string } };
  assert.equal(typeof body.error.code, 'string');
  assert.equal(typeof body.error.message, 'string');
  const missing = await call('GET', '/api/v1/nothing-here', adminToken);
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error.code, 'not_found');
});

test('a body with a prototype key is refused as JSON, saying so (fuzzing found the message only spoke of broken JSON)', async () => {
  for (const body of ['{"name":', '[{"__proto__":""}]', '{"constructor":{"prototype":{"x":1}}}']) {
    const response = await fetch(base + '/api/v1/api-keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body,
    });
    assert.equal(response.status, 400, body);
    const answer = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(answer.error.code, 'invalid_json', body);
    assert.match(answer.error.message, /__proto__/);
  }
});

test('revoking an unknown key is a 404 with the standard error', async () => {
  const { status, json } = await call('DELETE', '/api/v1/api-keys/doesnotexist', adminToken);
  assert.equal(status, 404);
  assert.equal(json.error.code, 'not_found');
});

test('the OpenAPI document is generated from the route schemas', async () => {
  const { status, json } = await call('GET', '/api/openapi.json');
  assert.equal(status, 200);
  assert.equal(json.openapi, '3.1.0');
  const post = json.paths['/api/v1/api-keys'].post;
  assert.deepEqual(post.requestBody.content['application/json'].schema.properties.role.enum, ['admin', 'operator', 'analyst', 'staff', 'tracker']);
  assert.ok(json.components.securitySchemes.bearer);
});
