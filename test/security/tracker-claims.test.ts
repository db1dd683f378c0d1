/**
 * Issue 19 item 4: a public tracker key is untrusted. Replays the takeover found in the review (an
 * identify with a known customer's phone and the attacker's email, sent with the key from the
 * brand's web page) and checks what the fix promises: claims link nothing, change no profile and
 * become no channel address; a signed identity from the brand's server does link; a bad token is a claim.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, runCli, startTestServer, tempDir, uniqueSlug } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';
import { resolveSerially } from '../../src/identity/resolve-queue.ts';
import { runImport } from '../../src/ingest/importer.ts';
import { exportIdentities } from '../../src/identity/exports.ts';
import { addressesOf } from '../../src/plans/run.ts';
import { signIdentity } from '../../src/tracking/signed-identity.ts';
import { SignJWT, jwtVerify } from 'jose';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let other: Workspace;
let admin: string;
let tracker: string;
let victim: number;

const VICTIM_PHONE = '13800138000';
const VICTIM_EMAIL = 'wang.fang@example.com';
const ATTACKER_EMAIL = 'attacker@evil.example';

before(async () => {
  ({ stores } = await openTestStores());
  const workspaces = new WorkspaceService(stores.state);
  ws = await workspaces.create({ slug: uniqueSlug('claims'), name: 'claims' });
  other = await workspaces.create({ slug: uniqueSlug('claims-other'), name: 'other' });
  const keys = new ApiKeyService(stores.state);
  admin = (await keys.create(ws.id, 'admin', 'admin')).token;
  tracker = (await keys.create(ws.id, 'web', 'tracker')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, `record_id,source,phone,email,name,address\nmem-1,crm,${VICTIM_PHONE},${VICTIM_EMAIL},王芳,上海市徐汇区\n`);
  await runImport(stores, { workspace: ws, kind: 'records', files: [file] });
  await resolveSerially(stores, { workspaceId: ws.id });
  victim = await personOfRecord('mem-1');
  assert.ok(victim > 0);
});
after(async () => {
  await app.close();
  await stores.close();
});

async function personOfRecord(recordId: string): Promise<number> {
  const [row] = await stores.facts.query<{ person_id: string }>(`SELECT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND record_id = {r:String}`, {
    ws: ws.id,
    r: recordId,
  });
  return Number(row.person_id);
}

async function personOfDevice(device: string): Promise<number> {
  const [row] = await stores.facts.query<{ person_id: string }>(
    `SELECT any(person_id) AS person_id FROM events FINAL WHERE workspace_id = {ws:String} AND anonymous_id = {d:String}`,
    { ws: ws.id, d: device },
  );
  return Number(row.person_id);
}

async function identitiesOf(person: number): Promise<string[]> {
  const rows = await stores.facts.query<{ type: string; value: string }>(
    `SELECT type, value FROM person_identities FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ORDER BY type, value`,
    { ws: ws.id, p: person },
  );
  return rows.map((r) => `${r.type}=${r.value}`);
}

async function contextOf(messageId: string): Promise<Record<string, any>> {
  const [row] = await stores.facts.query<{ context: string }>(`SELECT context FROM events FINAL WHERE workspace_id = {ws:String} AND message_id = {m:String}`, {
    ws: ws.id,
    m: messageId,
  });
  return JSON.parse(row.context);
}

async function track(route: string, body: unknown, key = tracker) {
  return callApi(base, 'POST', `/api/v1/${route}`, key, body);
}

async function newSignKey(name = 'mini-program backend'): Promise<{ id: string; secret: string }> {
  const created = await callApi(base, 'POST', '/api/v1/identity/sign-keys', admin, { name });
  assert.equal(created.status, 201, created.text);
  return { id: created.json.key.id, secret: created.json.secret };
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

test("a tracker key's identify with a known customer's phone leaves the customer's identifiers, profile and email address alone", async () => {
  const before = await identitiesOf(victim);
  const sent = await track('identify', {
    messageId: 'takeover-1',
    anonymousId: 'attacker-device',
    userId: 'attacker-login',
    identities: { phone: VICTIM_PHONE, email: ATTACKER_EMAIL },
    traits: { name: 'Mallory', address: '攻击者地址', email: ATTACKER_EMAIL },
  });
  assert.equal(sent.status, 200, 'the event itself lands');
  await resolveSerially(stores, { workspaceId: ws.id });

  assert.deepEqual(await identitiesOf(victim), before, "the customer's identifiers are unchanged");
  assert.ok(!(await identitiesOf(victim)).some((i) => i.includes('attacker')), 'no attacker device, login or email on the customer');
  const addresses = await addressesOf(stores, ws.id, 'email', [victim]);
  assert.equal(addresses.get(victim), VICTIM_EMAIL, 'email plans still reach the customer');
  const view = await callApi(base, 'GET', `/api/v1/people/${victim}`, admin);
  assert.equal(view.status, 200, view.text);
  assert.equal(view.json.profile.name, '王芳');
  assert.equal(view.json.profile.address, '上海市徐汇区');

  const device = await personOfDevice('attacker-device');
  assert.ok(device > 0 && device !== victim, 'the event belongs to the device’s own person');
  assert.deepEqual(await identitiesOf(device), ['device_id=attacker-device'], 'claims never enter the identifier graph');
});

test('what a tracker key claims is kept on the event, and nowhere a person is read from', async () => {
  const context = await contextOf('takeover-1');
  assert.deepEqual(context.siyuClaims.identifiers, { 'identities.phone': `+86${VICTIM_PHONE}`, 'identities.email': ATTACKER_EMAIL, userId: 'attacker-login' });
  assert.deepEqual(context.siyuClaims.profile, { name: 'Mallory', address: '攻击者地址' });
  const out = path.join(tempDir(), 'identities.csv');
  await exportIdentities(stores, ws.id, out);
  const exported = fs.readFileSync(out, 'utf8');
  assert.ok(!exported.includes(ATTACKER_EMAIL) && !exported.includes('attacker-login'), 'siyu identities export holds no claim');
  const [record] = await stores.facts.query<{ name: string; identifiers: Array<[string, string]> }>(
    `SELECT name, identifiers FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64}`,
    { ws: ws.id, p: await personOfDevice('attacker-device') },
  );
  assert.equal(record.name, '', 'a claimed name is no profile');
  // A sender cannot plant claims (or a verdict) of its own: what it sends under siyuClaims is replaced.
  assert.equal(
    (await track('track', { event: 'x', messageId: 'planted-1', anonymousId: 'd-planted', context: { siyuClaims: { verified: true }, page: { path: '/' } } })).status,
    200,
  );
  assert.deepEqual(await contextOf('planted-1'), { page: { path: '/' } });
});

test('a tracker event needs a device id: identifiers alone are claims that would attach to nobody', async () => {
  const sent = await track('track', { event: 'x', identities: { phone: VICTIM_PHONE } });
  assert.equal(sent.status, 400);
  assert.match(sent.json.error.message, /^body\.anonymousId: an event sent with a tracker key needs anonymousId/);
});

test('a server key still says who a customer is (the import path of the brand’s own back end)', async () => {
  const operator = (await new ApiKeyService(stores.state).create(ws.id, 'backend', 'operator')).token;
  assert.equal((await track('identify', { messageId: 'server-1', anonymousId: 'server-device', identities: { phone: VICTIM_PHONE } }, operator)).status, 200);
  await resolveSerially(stores, { workspaceId: ws.id });
  assert.equal(await personOfDevice('server-device'), victim);
});

test('a valid signed identity links the device to the customer it names, and only through what it names', async () => {
  const key = await newSignKey();
  const token = signIdentity(key.secret, { iss: key.id, ws: ws.slug, ids: { phone: VICTIM_PHONE }, exp: inAnHour(), iat: Math.floor(Date.now() / 1000) });
  const sent = await track('identify', {
    messageId: 'signed-1',
    anonymousId: 'customer-phone',
    identities: { email: 'second@example.com' },
    traits: { name: '王芳' },
    context: { signedIdentity: token },
  });
  assert.equal(sent.status, 200, sent.text);
  assert.equal(sent.json.unverified, undefined);
  await resolveSerially(stores, { workspaceId: ws.id });
  assert.equal(await personOfDevice('customer-phone'), victim, 'linked through the signed phone');
  const ids = await identitiesOf(victim);
  assert.ok(ids.includes('device_id=customer-phone'));
  assert.ok(!ids.includes('email=second@example.com'), 'an identifier the token does not name stays a claim');
  const context = await contextOf('signed-1');
  assert.equal(context.signedIdentity, undefined, 'the token is not stored');
  assert.deepEqual(context.siyuClaims, { identifiers: { 'identities.email': 'second@example.com' } });
});

test('a token that is expired, tampered, signed with another or a revoked key, for another workspace, or alg "none" is a claim', async () => {
  const key = await newSignKey('to check');
  const revoked = await newSignKey('to revoke');
  assert.equal((await callApi(base, 'DELETE', `/api/v1/identity/sign-keys/${revoked.id}`, admin)).status, 200);
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: key.id, ws: ws.slug, ids: { phone: VICTIM_PHONE }, exp: now + 3600 };
  const good = signIdentity(key.secret, claims);
  const [h, , s] = good.split('.');
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const cases: Array<[string, string, RegExp]> = [
    ['expired', signIdentity(key.secret, { ...claims, exp: now - 600 }), /^expired$/],
    ['too long-lived', signIdentity(key.secret, { ...claims, exp: now + 30 * 86_400 }), /more than 7 days ahead/],
    ['tampered', `${h}.${part({ ...claims, ids: { phone: '13900139000' } })}.${s}`, /signature does not match/],
    ['wrong secret', signIdentity('not-the-secret', claims), /signature does not match/],
    ['revoked key', signIdentity(revoked.secret, { ...claims, iss: revoked.id }), /unknown or revoked sign key/],
    ['other workspace', signIdentity(key.secret, { ...claims, ws: other.slug }), /another workspace/],
    ['alg none', `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`, /alg must be HS256/],
    ['no exp', signIdentity(key.secret, { ...claims, exp: undefined as unknown as number }), /exp/],
    ['garbage', 'not.a.jwt', /malformed/],
  ];
  for (const [label, token, reason] of cases) {
    const device = `bad-token-${label.replace(/\W/g, '-')}`;
    const sent = await track('identify', { messageId: device, anonymousId: device, context: { signedIdentity: token } });
    assert.equal(sent.status, 200, `${label}: the event still lands`);
    assert.equal(sent.json.unverified, 1, `${label}: the answer says the identity was not believed`);
    assert.match((await contextOf(device)).siyuClaims.signedIdentityRefused, reason, label);
  }
  await resolveSerially(stores, { workspaceId: ws.id });
  for (const [label] of cases) assert.notEqual(await personOfDevice(`bad-token-${label.replace(/\W/g, '-')}`), victim, `${label}: nothing linked`);
});

test('a server that cannot open its sign keys (a sealed value it cannot open) takes the events as claims, not a 500', async () => {
  const key = await newSignKey('sealed away');
  const token = signIdentity(key.secret, { iss: key.id, ws: ws.slug, ids: { phone: VICTIM_PHONE }, exp: inAnHour() });
  // What a lost or wrong master key looks like to the reader: a sealed value that does not open.
  await stores.state.db
    .updateTable('secrets')
    .set({ ciphertext: Buffer.alloc(48, 7).toString('base64') })
    .where('workspace_id', '=', ws.id)
    .where('name', '=', `signkey.${key.id}`)
    .execute();
  try {
    const sent = await track('identify', { messageId: 'no-master-key', anonymousId: 'no-master-key', context: { signedIdentity: token } });
    assert.equal(sent.status, 200, sent.text);
    assert.equal(sent.json.unverified, 1);
    assert.match((await contextOf('no-master-key')).siyuClaims.signedIdentityRefused, /cannot read its sign keys/);
  } finally {
    assert.equal((await callApi(base, 'DELETE', `/api/v1/identity/sign-keys/${key.id}`, admin)).status, 200);
  }
});

test('sign keys: admins only, the secret shown once, listed without it, the CLI the same', async () => {
  const operator = (await new ApiKeyService(stores.state).create(ws.id, 'ops', 'operator')).token;
  assert.equal((await callApi(base, 'POST', '/api/v1/identity/sign-keys', operator, { name: 'x' })).status, 403);
  assert.equal((await callApi(base, 'GET', '/api/v1/identity/sign-keys', tracker)).status, 403);
  const bad = await callApi(base, 'POST', '/api/v1/identity/sign-keys', admin, { name: '' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^body\.name:/);
  const key = await newSignKey('listed');
  const listed = await callApi(base, 'GET', '/api/v1/identity/sign-keys', admin);
  assert.ok(listed.json.keys.some((k: { id: string }) => k.id === key.id));
  assert.ok(!listed.text.includes(key.secret), 'never the secret');
  const [stored] = await stores.state.db.selectFrom('secrets').select('ciphertext').where('workspace_id', '=', ws.id).where('name', '=', `signkey.${key.id}`).execute();
  assert.ok(stored && !stored.ciphertext.includes(key.secret), 'sealed at rest');
  assert.equal((await callApi(base, 'DELETE', '/api/v1/identity/sign-keys/sik_nope', admin)).status, 404);
});

test('siyu identities sign-key create, list and revoke', async () => {
  // The CLI opens the stores itself: a data directory of its own (embedded stores are one process's).
  const env = { SIYU_DATA_DIR: tempDir(), SIYU_DEMO_PEOPLE: '0' };
  const slug = uniqueSlug('cli-sign');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'cli'], env)).code, 0);
  const created = await runCli(['identities', 'sign-key', 'create', '--name', 'cli key', '-w', slug], env);
  assert.equal(created.code, 0, created.stderr);
  const id = /sign key (sik_[0-9a-f]+)/.exec(created.stdout)?.[1];
  assert.ok(id, created.stdout);
  const listed = await runCli(['identities', 'sign-key', 'list', '-w', slug], env);
  assert.match(listed.stdout, new RegExp(`${id}\\s+cli key`));
  assert.match(created.stdout, /secret \(shown once/);
  const revoked = await runCli(['identities', 'sign-key', 'revoke', id, '-w', slug], env);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, /revoked/);
});

test('signed identities are plain HS256 JWTs: a token minted by jose (a JWT library from npm, as a brand’s back end would use) links, and ours verifies in jose', async () => {
  // By the customer's email: earlier tests in this file have linked so many devices through the phone
  // that it now counts as shared (a hub) and links no more.
  const key = await newSignKey('jose back end');
  const secret = new TextEncoder().encode(key.secret);
  const minted = await new SignJWT({ ws: ws.slug, ids: { email: VICTIM_EMAIL } })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(key.id)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(secret);
  const sent = await track('identify', { messageId: 'jose-1', anonymousId: 'jose-device', context: { signedIdentity: minted } });
  assert.equal(sent.status, 200, sent.text);
  assert.equal(sent.json.unverified, undefined, 'the jose token verified');
  await resolveSerially(stores, { workspaceId: ws.id });
  assert.equal(await personOfDevice('jose-device'), victim);
  const ours = signIdentity(key.secret, { iss: key.id, ws: ws.slug, ids: { email: VICTIM_EMAIL }, exp: inAnHour() });
  const { payload, protectedHeader } = await jwtVerify(ours, secret, { issuer: key.id, algorithms: ['HS256'] });
  assert.equal(protectedHeader.alg, 'HS256');
  assert.deepEqual(payload.ids, { email: VICTIM_EMAIL });
  // The same library with the wrong secret: refused by both sides.
  const forged = await new SignJWT({ ws: ws.slug, ids: { email: VICTIM_EMAIL } })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(key.id)
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode('guessed'));
  const refused = await track('identify', { messageId: 'jose-2', anonymousId: 'jose-forged', context: { signedIdentity: forged } });
  assert.equal(refused.json.unverified, 1);
});
