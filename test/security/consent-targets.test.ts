/**
 * Consent is kept for a person and a channel that exist: PUT /api/v1/people/:id/consents/:channel
 * for an unknown person or channel is a 404 naming which ('*', every channel, is allowed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, tempDir, uniqueSlug } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { WorkspaceService } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';
import { runImport } from '../../src/ingest/importer.ts';
import { saveChannel } from '../../src/channels/store.ts';
import { writeSecret } from '../../src/secrets/secrets.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let admin: string;
let person: number;

before(async () => {
  ({ stores } = await openTestStores());
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('consent'), name: 'consent' });
  admin = (await new ApiKeyService(stores.state).create(ws.id, 'ops', 'admin')).token;
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, 'member_no,phone,name\nM-1,13811110001,甲\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
  const [row] = await stores.facts.query<{ person_id: string }>(`SELECT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0 LIMIT 1`, {
    ws: ws.id,
  });
  person = Number(row.person_id);
  await writeSecret(stores, ws.id, 'sms_secret', 'whsec-consent-test');
  await saveChannel(stores, ws.id, { key: 'sms', name: 'SMS', kind: 'webhook', address: 'phone', config: { url: 'https://sms.example/hook', secret: 'sms_secret' } });
  ({ app, base } = await startTestServer(stores));
});
after(async () => {
  await app.close();
  await stores.close();
});

test('consent for an unknown person or channel is a 404 naming which; a known one, or *, is kept', async () => {
  const nobody = await callApi(base, 'PUT', '/api/v1/people/999999/consents/sms', admin, { status: 'granted' });
  assert.equal(nobody.status, 404, nobody.text);
  assert.match(nobody.json.error.message, /no person 999999/);
  const noChannel = await callApi(base, 'PUT', `/api/v1/people/${person}/consents/nochan`, admin, { status: 'granted' });
  assert.equal(noChannel.status, 404, noChannel.text);
  assert.match(noChannel.json.error.message, /no channel "nochan"/);
  const both = await callApi(base, 'PUT', '/api/v1/people/999999/consents/nochan', admin, { status: 'granted' });
  assert.equal(both.status, 404, both.text);
  assert.equal((await callApi(base, 'PUT', `/api/v1/people/${person}/consents/sms`, admin, { status: 'revoked' })).status, 200);
  const all = await callApi(base, 'PUT', `/api/v1/people/${person}/consents/*`, admin, { status: 'revoked' });
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(
    all.json.consents.map((c: { channel: string; status: string }) => [c.channel, c.status]),
    [
      ['*', 'revoked'],
      ['sms', 'revoked'],
    ],
  );
  const kept = await stores.state.db.selectFrom('consents').select('person_id').where('person_id', '=', 999999).execute();
  assert.equal(kept.length, 0, 'nothing kept for the unknown person');
});
