/**
 * The state dump round-trips every kind of value PostgreSQL's own input functions read back (bytea,
 * arrays, jsonb, times with zones, numerics, NaN, text with line breaks, NULLs, sequences), on real
 * PGlite stores; the manifest names the file that differs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { openPgliteStateStore, type StateStore } from '../stores/state/state-store.ts';
import { migrateState } from '../stores/state/migrations.ts';
import { dumpState, loadState, stateCounts } from './state.ts';
import { BACKUP_FORMAT, describeFiles, verifyFiles, type BackupManifest } from './manifest.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-backup-unit-'));
const opened: StateStore[] = [];
after(async () => {
  for (const store of opened) await store.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function store(name: string): Promise<Kysely<unknown>> {
  const state = await openPgliteStateStore(path.join(root, name));
  opened.push(state);
  const db = state.db as unknown as Kysely<unknown>;
  await migrateState(db);
  await sql`CREATE TABLE kinds (
    id serial PRIMARY KEY, blob bytea, list text[], doc jsonb, at timestamptz, amount numeric(18,2),
    ratio double precision, note text, flag boolean, day date)`.execute(db);
  return db;
}

const rows = (db: Kysely<unknown>) => sql<{ j: string }>`SELECT row_to_json(k)::text AS j FROM kinds k ORDER BY id`.execute(db).then((r) => r.rows.map((row) => row.j));

test('every state table comes back with the same values and the sequences where they were', async () => {
  const source = await store('source');
  await sql`INSERT INTO kinds (blob, list, doc, at, amount, ratio, note, flag, day) VALUES
    ('\\x00ff10'::bytea, ARRAY['a,b', '引号"', NULL], '{"k": [1, "二", null]}', '2026-12-07 23:59:59.123456+08', 12345678.90, 'NaN', E'line\\nbreak\\ttab \\\\ back', true, '1900-01-01'),
    (NULL, '{}', 'null', NULL, -0.01, '-Infinity', '', false, NULL),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`.execute(source);
  // Rows beyond one page of the dump (2,000), and a gap in the ids.
  await sql`INSERT INTO kinds (note) SELECT 'n' || g FROM generate_series(1, 4500) g`.execute(source);
  await sql`DELETE FROM kinds WHERE id = 10`.execute(source);
  const dump = await dumpState(source, path.join(root, 'dump'));
  assert.ok(dump.migrations.length > 20 && dump.migrations.every((name, i, all) => i === 0 || all[i - 1] < name));
  assert.equal(dump.tables.find((t) => t.table === 'kinds')?.rows, 4502);

  const target = await store('target');
  await loadState(target, path.join(root, 'dump'), dump.tables);
  assert.deepEqual(await rows(target), await rows(source));
  assert.deepEqual(await stateCounts(target), await stateCounts(source));
  const next = await sql<{ id: number }>`INSERT INTO kinds (note) VALUES ('after') RETURNING id`.execute(target);
  assert.equal(next.rows[0]?.id, 4504, 'the sequence goes on where it was');
});

test('the manifest names a file that was changed, cut short, removed or added', async () => {
  const dir = path.join(root, 'files');
  fs.mkdirSync(path.join(dir, 'state'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'state/a.jsonl'), '{"a":1}\n');
  fs.writeFileSync(path.join(dir, 'state/b.jsonl'), '{"b":2}\n');
  const manifest = { format: BACKUP_FORMAT, files: await describeFiles(dir) } as BackupManifest;
  await verifyFiles(dir, manifest);
  fs.writeFileSync(path.join(dir, 'state/a.jsonl'), '{"a":9}\n');
  await assert.rejects(verifyFiles(dir, manifest), /backup file state\/a\.jsonl does not match its checksum/);
  fs.writeFileSync(path.join(dir, 'state/a.jsonl'), '{"a":1}');
  await assert.rejects(verifyFiles(dir, manifest), /backup file state\/a\.jsonl has 7 bytes, manifest\.json says 8/);
  fs.writeFileSync(path.join(dir, 'state/a.jsonl'), '{"a":1}\n');
  fs.writeFileSync(path.join(dir, 'state/c.jsonl'), '');
  await assert.rejects(verifyFiles(dir, manifest), /backup file state\/c\.jsonl is not in manifest\.json/);
  fs.rmSync(path.join(dir, 'state/c.jsonl'));
  fs.rmSync(path.join(dir, 'state/b.jsonl'));
  await assert.rejects(verifyFiles(dir, manifest), /backup file state\/b\.jsonl is missing/);
});
