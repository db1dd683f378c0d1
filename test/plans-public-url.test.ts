/**
 * Links in a test send and a preview point at the server's public URL (SIYU_PUBLIC_URL), or, when
 * none is set, at the address the server listens on — never at a made-up 127.0.0.1:8080.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, tempDir, workspaceWithKeys } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import type { Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { buildServer } from '../src/app/server.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { savePolicy } from '../src/policy/policy.ts';

// The channel's URL is a loopback address nobody calls here (nothing is dispatched), allowed as in the plan suites.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'PUBLIC_URL_TEST_SECRET';
process.env.PUBLIC_URL_TEST_SECRET = 'whsec_public_url';
delete process.env.SIYU_PUBLIC_URL;

let stores: Stores;
let ws: Workspace;
let admin: string;
let tester: number;

async function serve(publicUrl?: string): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildServer({ config: { logLevel: 'error', publicUrl }, stores, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

before(async () => {
  ({ stores } = await openTestStores());
  ({ ws } = await workspaceWithKeys(stores, 'public-url'));
  admin = (await new ApiKeyService(stores.state).create(ws.id, 'root', 'admin')).token;
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, 'member_no,phone,name\nP1,13700000011,王小明\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
  await saveSegment(stores, ws.id, { key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
  const [row] = await stores.facts.query<{ person_id: string }>(
    `SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = 'P1'`,
    { ws: ws.id },
  );
  tester = Number(row.person_id);
  await savePolicy(stores, ws.id, { quietHours: null, testWhitelist: [tester] });
});
after(async () => {
  await stores.close();
});

test('a test send and a preview link to SIYU_PUBLIC_URL, or to the address the server listens on', async () => {
  for (const configured of ['https://crm.brand.example/', undefined]) {
    const { app, base } = await serve(configured);
    const expected = configured ? 'https://crm.brand.example' : base;
    const call = (method: string, route: string, body?: unknown) => callApi(base, method, route, admin, body);
    try {
      if (configured) {
        assert.equal(
          (await call('POST', '/api/v1/channels', { key: 'hook', kind: 'webhook', config: { url: 'http://127.0.0.1:9/hook', secretEnv: 'PUBLIC_URL_TEST_SECRET' } })).status,
          201,
        );
        const plan = {
          key: 'hello',
          name: '你好',
          audience: { segment: 'members' },
          channel: 'hook',
          variants: [{ key: 'A', template: { text: '新品 {{ "https://shop.example.com/new" | track }} 退订 {{ unsubscribe_url }}' } }],
        };
        const saved = await call('POST', '/api/v1/plans', plan);
        assert.equal(saved.status, 201, saved.text);
      }
      const sent = await call('POST', '/api/v1/plans/hello/test');
      assert.equal(sent.status, 200, sent.text);
      const [delivery] = await stores.state.db.selectFrom('deliveries').select('content').where('run_id', '=', sent.json.runId).execute();
      const links = JSON.stringify(delivery.content).match(/https?:\/\/[^\s"\\]+/g) ?? [];
      const ours = links.filter((l) => !l.startsWith('https://shop.example.com'));
      assert.equal(ours.length, 2, `a tracked link and an unsubscribe link: ${links.join(' ')}`);
      for (const link of ours) assert.ok(link.startsWith(`${expected}/`), `${link} starts with ${expected}/`);

      const preview = await call('GET', `/api/v1/plans/hello/preview?person=${tester}`);
      assert.equal(preview.status, 200, preview.text);
      const previewLinks = (preview.text.match(/https?:\/\/[^\s"\\]+/g) ?? []).filter((l) => !l.startsWith('https://shop.example.com'));
      assert.ok(previewLinks.length > 0, preview.text);
      for (const link of previewLinks) assert.ok(link.startsWith(`${expected}/`), `preview: ${link} starts with ${expected}/`);
    } finally {
      await app.close();
    }
  }
});
