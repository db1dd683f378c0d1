import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openStores } from '../src/stores/stores.ts';
import { runCli, tempDir, testConfig, uniqueSlug } from './helpers.ts';

const env = (dataDir: string) => ({ SIYU_DATA_DIR: dataDir, SIYU_DEMO_PEOPLE: '0' });

test('siyu doctor lists both stores with their engines and tables', async () => {
  const dir = tempDir();
  const result = await runCli(['doctor'], env(dir));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /facts store: chdb — ClickHouse \d+/);
  assert.match(result.stdout, new RegExp(`state store: ${process.env.DATABASE_URL ? 'postgres' : 'pglite'} — PostgreSQL \\d+`));
  assert.match(result.stdout, /orders\s+0/);
  assert.match(result.stdout, /workspaces\s+\d+/);
  const json = await runCli(['--data', dir, 'doctor', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const status = JSON.parse(json.stdout);
  assert.equal(status.dataDir, dir);
  assert.ok(status.facts.tables.some((t: { table: string }) => t.table === 'events'));
});

test('workspace and API key commands: create, list, revoke', async () => {
  const dir = tempDir();
  const slug = uniqueSlug('cli');
  const created = await runCli(['workspace', 'create', '--slug', slug, '--name', '燕语'], env(dir));
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /admin API key \(shown once/);
  const key = await runCli(['apikey', 'create', '--name', 'ERP sync', '--role', 'analyst', '--workspace', slug], env(dir));
  assert.equal(key.code, 0, key.stderr);
  const prefix = /API key ([a-z0-9]{12})/.exec(key.stdout)?.[1];
  assert.ok(prefix, key.stdout);
  const listed = await runCli(['apikey', 'list', '--workspace', slug], env(dir));
  assert.match(listed.stdout, new RegExp(`${prefix}\\s+ERP sync\\s+analyst`));
  const revoked = await runCli(['apikey', 'revoke', prefix!, '--workspace', slug], env(dir));
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, /revoked at \d{4}-/);
  const bad = await runCli(['apikey', 'create', '--name', 'x', '--role', 'boss', '--workspace', slug], env(dir));
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line');
  assert.match(bad.stderr, /^siyu: --role must be one of admin, operator, analyst, staff, tracker, got "boss"/);
});

test('errors print one clear line and exit non-zero', async () => {
  const dir = tempDir();
  const missing = await runCli(['apikey', 'list', '--workspace', 'nope'], env(dir));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^siyu: no workspace "nope"/);
  const unknown = await runCli(['frobnicate'], env(dir));
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('a second process on the same data directory is told who holds it', async () => {
  const config = testConfig();
  const stores = await openStores(config);
  try {
    const result = await runCli(['doctor'], env(config.dataDir));
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`in use by process ${process.pid}`));
  } finally {
    await stores.close();
  }
});

test('siyu demo generate writes the brand and a summary', async () => {
  const out = path.join(tempDir(), 'brand');
  const result = await runCli(['demo', 'generate', '--people', '300', '--seed', '9', '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /300 people \(seed 9, history to 2026-10-31\)/);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(manifest.people, 300);
  assert.ok(fs.statSync(path.join(out, 'tmall_orders.csv')).size > 0);
  const bad = await runCli(['demo', 'generate', '--people', 'many', '--out', out]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /expected a whole number, got "many"/);
});

test('identifier types are listed and declared per workspace', async () => {
  const dir = tempDir();
  const slug = uniqueSlug('types');
  await runCli(['workspace', 'create', '--slug', slug, '--name', 'x'], env(dir));
  const listed = await runCli(['identities', 'types', '-w', slug], env(dir));
  assert.match(listed.stdout, /unionid\s+WeChat UnionID\s+100\s+yes/);
  const declared = await runCli(['identities', 'declare', 'loyalty_card', '--label', '会员卡', '--single', '--priority', '88', '-w', slug], env(dir));
  assert.equal(declared.code, 0, declared.stderr);
  const again = await runCli(['identities', 'types', '-w', slug], env(dir));
  assert.match(again.stdout, /loyalty_card\s+会员卡\s+88\s+yes/);
  assert.match(again.stdout, /phone\s+Mobile phone\s+80/, 'the defaults remain');
  const bad = await runCli(['identities', 'declare', 'Bad Name', '--label', 'x', '-w', slug], env(dir));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /name|lower-case/);
});

test('siyu resolve reports each step on stderr as it ends, then the summary on stdout', async () => {
  const dir = tempDir();
  const slug = uniqueSlug('resolve');
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', '步骤'], env(dir))).code, 0);
  const file = path.join(tempDir(), 'orders.csv');
  fs.writeFileSync(file, 'order_id,ordered_at,amount,phone\nR1,2026-05-01 10:00:00,10.00,13800000001\nR2,2026-05-02 10:00:00,20.00,13800000001\n');
  const imported = await runCli(['import', 'orders', file, '--source', 'erp', '--workspace', slug], env(dir));
  assert.equal(imported.code, 0, imported.stderr);
  const resolved = await runCli(['resolve', '--full', '--workspace', slug], env(dir));
  assert.equal(resolved.code, 0, resolved.stderr);
  assert.match(resolved.stdout, /resolved 2 records → 1 people/);
  // Steps in the order the run takes them, each when it ends.
  const steps = [...resolved.stderr.matchAll(/^resolving: ([a-z ]+) done in \d+\.\d s$/gm)].map((m) => m[1]);
  assert.deepEqual(steps.slice(0, 3), ['snapshot', 'previous people', 'group values']);
  assert.ok(steps.includes('link') && steps.at(-1) === 'count people', steps.join(', '));
});
