/**
 * Rule tags over HTTP speak the tree segments use: a rule sent in the shape rules had before is
 * answered, stored and listed in the tree; the API document still describes the route.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import fs from 'node:fs';
import path from 'node:path';
import { callApi, openTestStores, runCli, startTestServer, tempDir, testConfig, uniqueSlug, workspaceWithKeys } from './helpers.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { openStateStore } from '../src/stores/stores.ts';
import type { Stores } from '../src/stores/stores.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let operator: string;

before(async () => {
  ({ stores } = await openTestStores());
  ({ operator } = await workspaceWithKeys(stores, 'rule-tree'));
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
});
after(async () => {
  await app.close();
  await stores.close();
});

const call = (method: string, route: string, body?: unknown) => callApi(base, method, route, operator, body);
const name = { zh: '规则', en: 'Rule' };

test('a rule POSTed in the old shape is answered and read back in the tree', async () => {
  assert.equal((await call('POST', '/api/v1/tags', { key: 'spend_total', name, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' })).status, 201);
  const legacy = {
    key: 'vip_rule',
    name,
    kind: 'rule',
    cases: [
      { when: { all: [{ tag: 'spend_total', op: 'gte', value: 500 }, { not: { profile: 'level', op: 'missing' } }] }, value: 'vip' },
      { when: { any: [{ statistic: { of: 'purchases', measure: 'count' }, op: 'gt', value: 3 }] }, value: 'regular' },
    ],
  };
  const tree = [
    {
      when: {
        type: 'group',
        match: 'all',
        conditions: [
          { type: 'tag', tag: 'spend_total', op: 'gte', value: 500 },
          { type: 'not', condition: { type: 'profile', field: 'level', op: 'missing' } },
        ],
      },
      value: 'vip',
    },
    { when: { type: 'group', match: 'any', conditions: [{ type: 'statistic', statistic: { of: 'purchases', measure: 'count' }, op: 'gt', value: 3 }] }, value: 'regular' },
  ];
  const created = await call('POST', '/api/v1/tags', legacy);
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.json.tag.cases, tree);
  assert.deepEqual(created.json.tag.dependsOn, ['spend_total']);
  const read = await call('GET', '/api/v1/tags/vip_rule');
  assert.equal(read.status, 200, read.text);
  assert.deepEqual(read.json.tag.cases, tree);
  // The tree itself is taken as it is (a PUT of what GET answered).
  const replaced = await call('PUT', '/api/v1/tags/vip_rule', { ...legacy, cases: tree });
  assert.equal(replaced.status, 200, replaced.text);
  assert.deepEqual(replaced.json.tag.cases, tree);
  // A wrong leaf is named by its path, in the tree's words.
  const bad = await call('POST', '/api/v1/tags', { ...legacy, key: 'bad_rule', cases: [{ when: { any: [{ tag: 'spend_total', op: 'between', value: [1] }] }, value: 'x' }] });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^body\.cases\[0\]\.when\.conditions\[0\]\.value: between needs \[low, high\]/);
});

test('the API document describes the tag routes', async () => {
  const { status, json } = await call('GET', '/api/openapi.json');
  assert.equal(status, 200);
  assert.ok(json.paths['/api/v1/tags'].post, 'POST /api/v1/tags is documented');
});

test('siyu tags define takes a file in the old shape and stores the tree', async () => {
  const dir = tempDir();
  const env = { SIYU_DATA_DIR: dir, SIYU_DEMO_PEOPLE: '0' };
  const slug = uniqueSlug('ruletree');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'x'], env)).code, 0);
  const file = path.join(dir, 'rule.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ key: 'has_level', name, kind: 'rule', valueType: 'boolean', cases: [{ when: { not: { profile: 'level', op: 'missing' } }, value: true }] }),
  );
  const defined = await runCli(['tags', 'define', file, '-w', slug], env);
  assert.equal(defined.code, 0, defined.stderr);
  // The state store only (this process holds another facts store): the stored definition is the tree.
  const state = await openStateStore(testConfig(dir, env));
  try {
    const workspace = (await new WorkspaceService(state).list()).find((w) => w.slug === slug)!;
    const row = await state.db.selectFrom('tag_definitions').select('definition').where('workspace_id', '=', workspace.id).where('key', '=', 'has_level').executeTakeFirstOrThrow();
    const stored = (typeof row.definition === 'string' ? JSON.parse(row.definition) : row.definition) as { cases: unknown };
    assert.deepEqual(stored.cases, [{ when: { type: 'not', condition: { type: 'profile', field: 'level', op: 'missing' } }, value: true }]);
  } finally {
    await state.close();
  }
});
