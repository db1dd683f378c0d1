/**
 * Backups: taken through the route while the server serves, restored by `siyu restore` into a fresh
 * data directory; every table of both stores has the same rows, a sample of rows is equal, and a server
 * on the restored directory answers a people search and a segment count as the first one did. A backup
 * that was edited, or a data directory that is not empty, is refused naming the file or the directory.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { callApi, openTestStores, ROOT, runCli, startTestServer, tempDir, testConfig, uniqueSlug } from './helpers.ts';
import { openStores, type Stores } from '../src/stores/stores.ts';
import { loadConfig } from '../src/config/config.ts';
import { ensureFirstWorkspace } from '../src/app/bootstrap.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { generateDemoBrand } from '../src/demo/demo-brand.ts';
import { loadDemoBrand } from '../src/demo/load.ts';
import { installPack } from '../src/tags/packs/packs.ts';
import { runTags } from '../src/tags/engine.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { saveChannel } from '../src/channels/store.ts';
import { savePlan } from '../src/plans/plans.ts';
import { factsCounts } from '../src/backup/facts.ts';
import { stateCounts } from '../src/backup/state.ts';
import { MANIFEST_FILE, type BackupManifest } from '../src/backup/manifest.ts';
import { restoreBackup, takeBackup } from '../src/backup/backup.ts';
import { migrateFacts } from '../src/stores/facts/migrations.ts';
import { migrateStateTo, STATE_MIGRATION_NAMES } from '../src/stores/state/migrations.ts';

// The backup covers the embedded stores; on a PostgreSQL server the route refuses (tested below).
const embedded = !process.env.DATABASE_URL && !process.env.SIYU_CLICKHOUSE_URL;
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'BACKUP_TEST_SECRET';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let admin: string;
let operator: string;
let tenantAdmin: string;
let dataDir: string;
let closed = false;
/** The backup the first test took: the second damages copies of it. */
let backupDir: string;
const search = '/api/v1/people?q=1&limit=20';
const vip = { conditions: [{ type: 'tag', tag: 'spend_total', op: 'gt', value: 0 }] };

before(async () => {
  ({
    stores,
    config: { dataDir },
  } = await openTestStores());
  if (!embedded) {
    // A shared server database: only the refusal is tested, with a workspace of this suite's own.
    const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('backup'), name: 'backup' });
    admin = (await new ApiKeyService(stores.state).create(ws.id, 'root', 'admin')).token;
    ({ app, base } = await startTestServer(stores));
    return;
  }
  const boot = await ensureFirstWorkspace(stores, { ...process.env, SIYU_ADMIN_PASSWORD: 'a-long-enough-password-1' });
  admin = boot.adminToken!;
  const keys = new ApiKeyService(stores.state);
  operator = (await keys.create(boot.workspace.id, 'ops', 'operator')).token;
  const tenant = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('tenant'), name: 'tenant' });
  tenantAdmin = (await keys.create(tenant.id, 'root', 'admin')).token;
  const demo = path.join(tempDir(), 'demo');
  await generateDemoBrand({ people: 300, seed: 3, endDate: '2026-10-31', out: demo });
  await loadDemoBrand(stores, boot.workspace, demo);
  await installPack(stores, boot.workspace.id, 'retail');
  await runTags(stores, { workspaceId: boot.workspace.id, baseDate: '2026-10-31' });
  await saveSegment(stores, boot.workspace.id, { key: 'vip', name: { zh: '高消费', en: 'VIP' }, ...vip });
  await saveChannel(stores, boot.workspace.id, { key: 'hook', kind: 'webhook', config: { url: 'https://hooks.example.com/siyu', secretEnv: 'BACKUP_TEST_SECRET' } });
  await savePlan(stores, boot.workspace.id, {
    key: 'welcome',
    name: '欢迎',
    audience: { segment: 'vip' },
    channel: 'hook',
    variants: [{ key: 'A', template: { text: '{{ person.name }} 你好' } }],
  });
  ({ app, base } = await startTestServer(stores));
});
after(async () => {
  if (closed) return;
  await app?.close();
  await stores?.close();
});

async function allCounts(s: Stores) {
  return { facts: await factsCounts(s.facts), state: await stateCounts(s.state.db as unknown as Kysely<unknown>) };
}

/** A sample of rows that must come back equal: state rows as JSON, facts rows as ClickHouse reads them. */
async function sample(s: Stores) {
  const state: string[] = [];
  for (const table of ['workspaces', 'segments', 'plans', 'channels'] as const) {
    const { rows } = await sql<{ j: string }>`SELECT row_to_json(t)::text AS j FROM ${sql.table(table)} t ORDER BY 1`.execute(s.state.db);
    state.push(...rows.map((row) => row.j));
  }
  // Keys without last_used_at: the calls between this sample and the backup move it.
  const { rows: keys } = await sql<{
    j: string;
  }>`SELECT row_to_json(t)::text AS j FROM (SELECT id, seq, workspace_id, name, prefix, secret_hash, role, created_at, revoked_at FROM api_keys) t ORDER BY 1`.execute(s.state.db);
  state.push(...keys.map((row) => row.j));
  const orders = await s.facts.query(`SELECT * FROM orders FINAL ORDER BY workspace_id, person_id, source, order_id LIMIT 50`);
  const lines = await s.facts.query(`SELECT * FROM order_lines FINAL ORDER BY cityHash64(order_id, line_no) LIMIT 50`);
  const tags = await s.facts.query(`SELECT * FROM tag_values ORDER BY workspace_id, tag, run_id, person_id LIMIT 50`);
  return { state, orders, lines, tags };
}

test('a backup through the route while the server serves, restored into a fresh directory, serves the same', { skip: !embedded }, async () => {
  const before = {
    search: await callApi(base, 'GET', search, admin),
    count: await callApi(base, 'POST', '/api/v1/segments/count', admin, vip),
    counts: await allCounts(stores),
    sample: await sample(stores),
  };
  assert.equal(before.search.status, 200);
  assert.ok(before.search.json.people.length > 0, 'the search finds people');
  assert.ok(before.count.json.exact.people > 0, `the segment has members: ${before.count.text}`);
  assert.ok(before.counts.state.find((t) => t.table === 'plans')!.rows > 0 && before.counts.facts.find((t) => t.table === 'tag_values')!.rows > 0);

  // Only admins of the first workspace: a backup holds every workspace.
  assert.equal((await callApi(base, 'POST', '/api/v1/admin/backups', operator)).status, 403);
  const tenant = await callApi(base, 'POST', '/api/v1/admin/backups', tenantAdmin);
  assert.equal(tenant.status, 403);
  assert.match(tenant.json.error.message, /first workspace/);

  // The server keeps answering while the backup is taken.
  const [taken, during] = await Promise.all([callApi(base, 'POST', '/api/v1/admin/backups', admin), callApi(base, 'GET', search, admin)]);
  assert.equal(taken.status, 200, taken.text);
  assert.equal(during.status, 200);
  const backup = taken.json.directory as string;
  backupDir = backup;
  assert.ok(backup.startsWith(path.join(dataDir, 'backups') + path.sep));
  const manifest = JSON.parse(fs.readFileSync(path.join(backup, MANIFEST_FILE), 'utf8')) as BackupManifest;
  assert.deepEqual(manifest.tables, before.counts, 'the manifest counts every table of both stores');
  assert.deepEqual(taken.json.tables, before.counts);
  assert.equal(fs.statSync(path.join(backup, MANIFEST_FILE)).mode & 0o077, 0, 'owner-only');

  // Restore needs an empty directory: the server's own is refused, naming it.
  const busy = await runCli(['restore', backup, '--data', dataDir]);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, new RegExp(`data directory ${dataDir} is not empty`));

  const restoredDir = path.join(tempDir(), 'restored');
  const restore = await runCli(['restore', backup, '--data', restoredDir]);
  assert.equal(restore.code, 0, restore.stderr);
  assert.match(restore.stdout, /restored the backup of .* checked/);

  // One chDB data directory per process: the first server and its stores close before the restored ones open.
  await app.close();
  await stores.close();
  closed = true;
  const restored = await openStores(testConfig(restoredDir));
  try {
    assert.deepEqual(await allCounts(restored), before.counts, 'every table of both stores has its rows');
    assert.deepEqual(await sample(restored), before.sample, 'sampled rows are equal');
    const server = await startTestServer(restored);
    try {
      const after = { search: await callApi(server.base, 'GET', search, admin), count: await callApi(server.base, 'POST', '/api/v1/segments/count', admin, vip) };
      assert.equal(after.search.status, 200, 'the restored server knows the admin key');
      assert.deepEqual(after.search.json, before.search.json);
      assert.equal(after.count.json.exact.people, before.count.json.exact.people);
      assert.equal(after.count.json.estimate.estimate, before.count.json.estimate.estimate);
    } finally {
      await server.app.close();
    }
  } finally {
    await restored.close();
  }
});

function copyBackup(from: string): string {
  const to = path.join(tempDir(), 'copy');
  fs.cpSync(from, to, { recursive: true });
  return to;
}

test('an edited or incomplete backup is refused naming the file, before anything is written', { skip: !embedded }, async () => {
  const directory = backupDir;
  assert.ok(directory, 'the first test took a backup');
  const manifest = JSON.parse(fs.readFileSync(path.join(directory, MANIFEST_FILE), 'utf8')) as BackupManifest;
  const stateFile = manifest.files.find((file) => file.path === 'state/workspaces.jsonl')!;
  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    ['a state file edited', (dir) => fs.appendFileSync(path.join(dir, stateFile.path), '{"id":"x"}\n'), /backup file state\/workspaces\.jsonl has \d+ bytes, manifest\.json says/],
    [
      'a facts file changed, same size',
      (dir) => {
        const part = manifest.files.find((file) => file.path.startsWith('facts/data/') && file.bytes > 8)!;
        const bytes = fs.readFileSync(path.join(dir, part.path));
        bytes[0] ^= 0xff;
        fs.writeFileSync(path.join(dir, part.path), bytes);
      },
      /backup file facts\/data\/.* does not match its checksum in manifest\.json/,
    ],
    ['a file missing', (dir) => fs.rmSync(path.join(dir, stateFile.path)), /backup file state\/workspaces\.jsonl is missing/],
    ['a file added', (dir) => fs.writeFileSync(path.join(dir, 'state/extra.jsonl'), '{}\n'), /backup file state\/extra\.jsonl is not in manifest\.json/],
    [
      'the manifest edited',
      (dir) => fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify({ ...manifest, migrations: { ...manifest.migrations, facts: ['one'] } })),
      /backup file manifest\.json: migrations\.facts\.0: /,
    ],
    [
      'a newer version',
      (dir) =>
        fs.writeFileSync(
          path.join(dir, MANIFEST_FILE),
          JSON.stringify({ ...manifest, migrations: { ...manifest.migrations, state: [...manifest.migrations.state, '9999_future'] } }),
        ),
      /taken by a newer Siyu .*state 9999_future/,
    ],
  ];
  for (const [what, damage, message] of cases) {
    const copy = copyBackup(directory);
    damage(copy);
    const target = path.join(tempDir(), 'target');
    const result = await runCli(['restore', copy, '--data', target]);
    assert.equal(result.code, 1, what);
    assert.match(result.stderr, message, what);
    assert.ok(!fs.existsSync(target) || fs.readdirSync(target).length === 0, `${what}: nothing written`);
  }
  // The same damage to a restored directory's source was refused; the untouched backup restored in the first test.
});

test('a backup taken at an older state migration is restored at it, then migrated forward', { skip: !embedded }, async () => {
  assert.ok(closed, 'the first test closed its stores (one chDB directory per process)');
  const older = STATE_MIGRATION_NAMES.at(-2)!;
  const latest = STATE_MIGRATION_NAMES.at(-1)!;
  const config = testConfig(tempDir());
  const old = await openStores(config, { migrate: false });
  let directory: string;
  try {
    await migrateFacts(old.facts);
    await migrateStateTo(old.state.db as unknown as Kysely<unknown>, older);
    await new WorkspaceService(old.state).create({ slug: 'older', name: 'older' });
    ({ directory } = await takeBackup(old));
  } finally {
    await old.close();
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(directory, MANIFEST_FILE), 'utf8')) as BackupManifest;
  assert.equal(manifest.migrations.state.at(-1), older);
  // Not testConfig: it seeds state/ with an empty cluster, and a restore needs an empty directory.
  const target = loadConfig({ dataDir: path.join(tempDir(), 'newer') }, { ...process.env, SIYU_DEMO_PEOPLE: '0' });
  const result = await restoreBackup(target, directory);
  assert.deepEqual(result.migrated, { facts: [], state: [latest] });
  const restored = await openStores(target, { migrate: false });
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1`.execute(restored.state.db);
    assert.equal(rows[0]?.name, latest);
    assert.deepEqual(
      (await new WorkspaceService(restored.state).list()).map((w) => w.slug),
      ['older'],
    );
  } finally {
    await restored.close();
  }
});

/** `siyu start` as a user runs it, with no demo brand; resolves once it serves. */
async function startServer(dataDir: string) {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, SIYU_DATA_DIR: dataDir, SIYU_PORT: '0', SIYU_DEMO_PEOPLE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 120 s: ${output}`)), 120_000);
    child.stdout.on('data', (d) => {
      output += d;
      if (/Siyu is running/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`start exited ${code}: ${output}`)));
  });
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
}

test('siyu backup beside a running siyu start runs inside the server; siyu restore is refused there', { skip: !embedded }, async () => {
  const dataDir = tempDir();
  const stop = await startServer(dataDir);
  const out = path.join(tempDir(), 'beside');
  try {
    const taken = await runCli(['backup', '--out', out, '--data', dataDir]);
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stdout, /backup of Siyu .* → /);
    assert.ok(fs.existsSync(path.join(out, MANIFEST_FILE)));
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'backups')), [], "moved out of the server's data directory");
    const again = await runCli(['backup', '--out', out, '--data', dataDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /the backup target .* is not empty/);
    const restore = await runCli(['restore', out, '--data', dataDir]);
    assert.equal(restore.code, 1);
    assert.match(restore.stderr, /restore/);
  } finally {
    await stop();
  }
  const restored = await runCli(['restore', out, '--data', path.join(tempDir(), 'from-beside')]);
  assert.equal(restored.code, 0, restored.stderr);
});

test('on a PostgreSQL or ClickHouse server the route refuses and points at the README', { skip: embedded }, async () => {
  const refused = await callApi(base, 'POST', '/api/v1/admin/backups', admin);
  assert.equal(refused.status, 400);
  assert.match(refused.json.error.message, /its own tools .*README, section "Backups"/);
});
