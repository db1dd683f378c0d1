/**
 * An import file cannot stall the server: a record (JSON line, CSV/TSV record) has a bounded length
 * (SIYU_IMPORT_MAX_RECORD_KB), reading it is linear and lets the API answer meanwhile, an import
 * interrupted SIYU_IMPORT_MAX_ATTEMPTS times is not resumed again, and uploads nothing will read
 * are deleted at start.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { openTestStores, startTestServer, uniqueSlug } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { WorkspaceService } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';
import { resumeInterruptedUploads } from '../../src/ingest/http.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let operator: string;
let workspaceId: string;

before(async () => {
  ({ stores } = await openTestStores());
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('implim'), name: 'import limits' });
  workspaceId = ws.id;
  operator = (await new ApiKeyService(stores.state).create(ws.id, 'erp', 'operator')).token;
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
});
after(async () => {
  await app.close();
  await stores.close();
});

function upload(query: string, body: Buffer | string) {
  return fetch(`${base}/api/v1/imports?${query}`, { method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/octet-stream' }, body });
}

async function run(id: string) {
  const response = await fetch(`${base}/api/v1/imports/${id}`, { headers: { authorization: `Bearer ${operator}` } });
  return (await response.json()) as { status: string; rowsRead: number; landed: number; quarantined: number; error: string | null };
}

/** Waits for the run to end, timing /healthz meanwhile: the run and the slowest answer. */
async function finish(id: string, withinMs: number) {
  const started = Date.now();
  let slowest = 0;
  while (Date.now() - started < withinMs) {
    const t = Date.now();
    await fetch(`${base}/healthz`);
    slowest = Math.max(slowest, Date.now() - t);
    const r = await run(id);
    if (r.status !== 'running') return { run: r, slowest };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`import ${id} still running after ${withinMs} ms`);
}

async function quarantine(id: string) {
  const response = await fetch(`${base}/api/v1/imports/${id}/quarantine`, { headers: { authorization: `Bearer ${operator}` } });
  return ((await response.json()) as { rows: Array<{ row: number; field: string; reason: string }> }).rows;
}

const event = (n: number) => JSON.stringify({ type: 'track', event: 'view', anonymousId: `lim-${n}`, timestamp: '2026-06-18T10:00:00Z' });

test('a gzip holding one huge JSON line: the line is quarantined naming the bound, the rest lands, the API answers meanwhile', async () => {
  // 64 MB in one line, a few hundred KB gzipped (the red team's was 300 MB).
  const huge = Buffer.concat([Buffer.from('{"type":"track","event":"'), Buffer.alloc(64 * 1024 * 1024, 'a'), Buffer.from('"}\n')]);
  const body = zlib.gzipSync(Buffer.concat([Buffer.from(`${event(1)}\n`), huge, Buffer.from(`${event(2)}\n${event(3)}`)]), { level: 1 });
  const response = await upload('kind=events&filename=line.jsonl.gz', body);
  assert.equal(response.status, 202);
  const { run: id } = (await response.json()) as { run: string };
  const { run: done, slowest } = await finish(id, 15_000);
  assert.equal(done.status, 'completed', String(done.error));
  assert.equal(done.rowsRead, 4);
  assert.equal(done.quarantined, 1);
  assert.equal(done.landed, 3);
  assert.ok(slowest < 2000, `/healthz took ${slowest} ms during the import`);
  const rows = await quarantine(id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].row, 2);
  assert.equal(rows[0].field, 'line');
  assert.match(rows[0].reason, /67,108,8\d\d characters, longer than the 1024 KB a record may be \(SIYU_IMPORT_MAX_RECORD_KB\)/);
});

test('a TSV record with a huge field stops the file at that row, naming the row and the bound', async () => {
  process.env.SIYU_IMPORT_MAX_RECORD_KB = '64';
  try {
    const tsv = `order_id\tordered_at\tamount\tphone\nt1\t2026-06-18 10:00\t9.00\t13800000021\nt2\t2026-06-18 10:00\t${'9'.repeat(200_000)}\t13800000022\nt3\t2026-06-18 10:00\t9.00\t13800000023\n`;
    // The layout is chosen from the first rows, so this file is refused at once (400, nothing written).
    const response = await upload('kind=orders&source=erp&filename=orders.tsv', tsv);
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(body.error.code, 'import_refused');
    assert.match(body.error.message, /^orders\.tsv: row 3: a record longer than the 64 KB a record may be \(SIYU_IMPORT_MAX_RECORD_KB/);
  } finally {
    delete process.env.SIYU_IMPORT_MAX_RECORD_KB;
  }
});

test('an order CSV read inside the engine (ClickHouse) with a huge field deep in the file is refused naming the line (past the rows read to plan it)', async () => {
  process.env.SIYU_IMPORT_MAX_RECORD_KB = '64';
  try {
    const rows = Array.from({ length: 60_000 }, (_, i) => `c${i},2026-06-18 10:00,9.00,139${String(i).padStart(8, '0')}`);
    const csv = `order_id,ordered_at,amount,phone\n${rows.join('\n')}\ncx,2026-06-18 10:00,${'9'.repeat(200_000)},13900099999\ncy,2026-06-18 10:00,9.00,13900099998\n`;
    const response = await upload('kind=orders&source=erp&filename=deep.csv', csv);
    const body = (await response.json()) as { run?: string; error?: { message: string } };
    const message = body.run ? (await finish(body.run, 15_000)).run.error : body.error?.message;
    assert.match(String(message), /deep\.csv: line 60002: longer than the 64 KB a record may be \(SIYU_IMPORT_MAX_RECORD_KB\)/);
  } finally {
    delete process.env.SIYU_IMPORT_MAX_RECORD_KB;
  }
});

async function insertRun(id: string, status: string, attempts: number, files: string[]) {
  await stores.state.db
    .insertInto('import_runs')
    .values({
      id,
      workspace_id: workspaceId,
      kind: 'events',
      source: 'sdk',
      preset: null,
      fingerprint: `fp-${id}`,
      files: JSON.stringify(files.map((f) => ({ path: f, detected: 'JSONL', layout: 'events' }))),
      status,
      pid: null,
      error: null,
      finished_at: null,
      attempts,
      request: JSON.stringify({ preset: null, source: null, mapping: null }),
    } as never)
    .execute();
}

test('an upload interrupted SIYU_IMPORT_MAX_ATTEMPTS times is marked failed at start, not resumed again', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-uploads-'));
  const file = path.join(dir, 'aaaaaa-stuck.jsonl');
  fs.writeFileSync(file, `${event(9)}\n`);
  const old = new Date(Date.now() - 3600_000 - process.uptime() * 1000); // left by an earlier server
  fs.utimesSync(file, old, old);
  const id = `imp_stuck_${process.pid}`;
  await insertRun(id, 'running', 3, [file]);
  const log: string[] = [];
  const resumed = await resumeInterruptedUploads(
    stores,
    dir,
    (m) => log.push(m),
    async () => undefined,
  );
  assert.ok(!resumed.includes(id), 'resumed a fourth time');
  const [row] = await stores.state.db.selectFrom('import_runs').select(['status', 'error']).where('id', '=', id).execute();
  assert.equal(row.status, 'failed');
  assert.match(String(row.error), /interrupted 3 times .*SIYU_IMPORT_MAX_ATTEMPTS=3/);
  assert.equal(fs.existsSync(file), false, 'its upload is deleted');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('uploads no import will read (run finished, or none) are deleted at start', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-uploads-'));
  const old = new Date(Date.now() - 3600_000 - process.uptime() * 1000);
  const finished = path.join(dir, 'bbbbbb-jdpull.csv');
  const orphan = path.join(dir, 'upload-0123456789abcdef');
  for (const f of [finished, orphan]) {
    fs.writeFileSync(f, 'x\n');
    fs.utimesSync(f, old, old);
  }
  const fresh = path.join(dir, 'dddddd-arriving.csv'); // written by this process: an upload arriving now
  fs.writeFileSync(fresh, 'x\n');
  await insertRun(`imp_done_${process.pid}`, 'completed', 1, [finished]);
  await resumeInterruptedUploads(
    stores,
    dir,
    () => undefined,
    async () => undefined,
  );
  assert.deepEqual(fs.readdirSync(dir), ['dddddd-arriving.csv']);
  fs.rmSync(dir, { recursive: true, force: true });
});
