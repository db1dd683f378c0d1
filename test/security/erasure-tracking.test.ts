/**
 * PIPL erasure and the tracking API: once a person is erased, an event that carries one of their
 * identifiers — sent with a server key, as a tracker key's claim, vouched for by a signed identity,
 * as the device id, or named in identify traits — still lands, but the identifier is stored nowhere
 * (not in the sdk identity record, not in context.siyuClaims, not in the event's columns or traits)
 * and links the event to no one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, findInStores, openTestStores, startTestServer, tempDir, uniqueSlug } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';
import { runImport } from '../../src/ingest/importer.ts';
import { resolveSerially } from '../../src/identity/resolve-queue.ts';
import { signIdentity } from '../../src/tracking/signed-identity.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let admin: string;
let operator: string;
let tracker: string;
let erased = 0;
let other = 0;

const PHONE = '13822223333';
const DEVICE = 'li-device-1';

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('erase-track'), name: 'erase-track' });
  const keys = new ApiKeyService(stores.state);
  admin = (await keys.create(ws.id, 'root', 'admin')).token;
  operator = (await keys.create(ws.id, 'ops', 'operator')).token;
  tracker = (await keys.create(ws.id, 'web', 'tracker')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, `record_id,source,phone,name\nmem-li,crm,${PHONE},李雷\nmem-han,crm,13900001111,韩梅梅\n`);
  await runImport(stores, { workspace: ws, kind: 'records', files: [file] });
  const seen = await callApi(base, 'POST', '/api/v1/track', operator, { event: 'Viewed', messageId: 'li-before', anonymousId: DEVICE, identities: { phone: PHONE } });
  assert.equal(seen.status, 200, seen.text);
  await resolveSerially(stores, { workspaceId: ws.id });
  erased = await personOfRecord('mem-li');
  other = await personOfRecord('mem-han');
  assert.ok(erased > 0 && other > 0 && erased !== other);
  assert.equal(await personOfEvent('li-before'), erased);
  const done = await callApi(base, 'DELETE', `/api/v1/people/${erased}`, admin, { reason: 'customer request (ticket 7)' });
  assert.equal(done.status, 200, done.text);
});
after(async () => {
  await app.close();
  await stores.close();
});

async function personOfRecord(recordId: string): Promise<number> {
  const [row] = await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM source_records FINAL WHERE workspace_id = {ws:String} AND record_id = {r:String}`, {
    ws: ws.id,
    r: recordId,
  });
  return Number(row?.p ?? 0);
}

async function personOfEvent(messageId: string): Promise<number> {
  const [row] = await stores.facts.query<{ p: string }>(`SELECT person_id AS p FROM events FINAL WHERE workspace_id = {ws:String} AND message_id = {m:String}`, {
    ws: ws.id,
    m: messageId,
  });
  return Number(row?.p ?? -1);
}

const findAnywhere = (texts: string[]) => findInStores(stores, texts);

test('a tracked event with an erased phone lands, stores the phone nowhere and links to no one', async () => {
  assert.deepEqual(await findAnywhere([PHONE, DEVICE]), [], 'the erasure itself left nothing');
  const created = await callApi(base, 'POST', '/api/v1/identity/sign-keys', admin, { name: 'backend' });
  assert.equal(created.status, 201, created.text);
  const now = Math.floor(Date.now() / 1000);
  const signed = signIdentity(created.json.secret, { iss: created.json.key.id, ws: ws.slug, ids: { phone: PHONE }, iat: now, exp: now + 3600 });

  // A server key: the phone as an identifier, in identify traits, and as the only identifier.
  const server = await callApi(base, 'POST', '/api/v1/batch', operator, {
    batch: [
      { type: 'identify', messageId: 's-identify', anonymousId: 'server-device', traits: { phone: PHONE, plan: 'gold' }, identities: { phone: PHONE } },
      {
        type: 'track',
        event: 'Order Completed',
        messageId: 's-track',
        anonymousId: 'server-device',
        properties: { revenue: 99, phone: `+86${PHONE}` },
        identities: { phone: PHONE },
      },
      { type: 'track', event: 'Viewed', messageId: 's-only-phone', identities: { phone: PHONE } },
      { type: 'track', event: 'Viewed', messageId: 's-old-device', anonymousId: DEVICE },
    ],
  });
  assert.equal(server.status, 200, server.text);
  assert.equal(server.json.accepted, 4);
  // A tracker key: the phone as a claim, vouched for by a signed identity, and the erased device itself.
  const web = await callApi(base, 'POST', '/api/v1/batch', tracker, {
    batch: [
      { type: 'track', event: 'Viewed', messageId: 't-claim', anonymousId: 'web-device', identities: { phone: PHONE } },
      { type: 'identify', messageId: 't-signed', anonymousId: 'signed-device', context: { signedIdentity: signed }, identities: { phone: PHONE } },
      { type: 'track', event: 'Viewed', messageId: 't-old-device', anonymousId: DEVICE, identities: { phone: PHONE } },
    ],
  });
  assert.equal(web.status, 200, web.text);
  assert.equal(web.json.accepted, 3);
  assert.equal(web.json.unverified, undefined, 'the token was good; what it vouched for was erased');
  await resolveSerially(stores, { workspaceId: ws.id });

  const left = await findAnywhere([PHONE, DEVICE]);
  assert.deepEqual(left, [], left.join('\n'));
  const ids = ['s-identify', 's-track', 's-only-phone', 's-old-device', 't-claim', 't-signed', 't-old-device'];
  const landed = await stores.facts.query<{ message_id: string; event: string; properties: string; context: string }>(
    `SELECT message_id, event, properties, context FROM events FINAL WHERE workspace_id = {ws:String} AND message_id IN {ids:Array(String)} ORDER BY message_id`,
    { ws: ws.id, ids },
  );
  assert.deepEqual(
    landed.map((e) => e.message_id),
    [...ids].sort(),
    'every event landed',
  );
  const byId = new Map(landed.map((e) => [e.message_id, e]));
  assert.deepEqual(JSON.parse(byId.get('s-identify')!.properties), { plan: 'gold' });
  assert.deepEqual(JSON.parse(byId.get('s-track')!.properties), { revenue: 99 });
  for (const e of landed) assert.equal(JSON.parse(e.context).siyuClaims?.identifiers?.['identities.phone'], undefined, e.message_id);
  // Not re-linked: to the erased person, nor to each other through the phone.
  const people = new Map<string, number>();
  for (const id of ids) people.set(id, await personOfEvent(id));
  for (const [id, person] of people) {
    assert.ok(person > 0, `${id} belongs to a person`);
    assert.notEqual(person, erased, `${id} is not linked to the erased person`);
    assert.notEqual(person, other, `${id} is not linked to anyone else`);
  }
  assert.equal(people.get('s-identify'), people.get('s-track'), 'the device still holds its events together');
  assert.equal(new Set([people.get('s-track'), people.get('s-only-phone'), people.get('t-claim'), people.get('t-signed'), people.get('t-old-device')]).size, 5);
  const phones = await stores.facts.query<{ n: string }>(
    `SELECT count() AS n FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'phone' AND is_deleted = 0`,
    { ws: ws.id },
  );
  assert.equal(Number(phones[0].n), 1, 'only the other person’s phone');
});
