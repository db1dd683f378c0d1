/**
 * Uploads are bounded and private: a body past its kind's limit is refused with 413 while it is still
 * arriving, an upload cut off leaves no partial file, and what waits on disk is 0600 in a 0700
 * directory of the data directory (not /tmp).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openTestStores, startTestServer, workspaceWithKeys } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import type { SiyuConfig } from '../../src/config/config.ts';

const MB = 1024 * 1024;
let stores: Stores;
let app: FastifyInstance;
let base: string;
let operator: string;
let uploadsDir: string;
const saved = { table: process.env.SIYU_UPLOAD_MAX_MB, xlsx: process.env.SIYU_UPLOAD_XLSX_MAX_MB };

before(async () => {
  process.env.SIYU_UPLOAD_MAX_MB = '2';
  process.env.SIYU_UPLOAD_XLSX_MAX_MB = '1';
  let config: SiyuConfig;
  ({ stores, config } = await openTestStores());
  uploadsDir = path.join(config.dataDir, 'uploads');
  ({ operator } = await workspaceWithKeys(stores, 'uploads'));
  ({ app, base } = await startTestServer(stores));
});
after(async () => {
  process.env.SIYU_UPLOAD_MAX_MB = saved.table;
  process.env.SIYU_UPLOAD_XLSX_MAX_MB = saved.xlsx;
  if (saved.table === undefined) delete process.env.SIYU_UPLOAD_MAX_MB;
  if (saved.xlsx === undefined) delete process.env.SIYU_UPLOAD_XLSX_MAX_MB;
  await app.close();
  await stores.close();
});

interface Upload {
  request: http.ClientRequest;
  /** The answer, whenever it comes (possibly before the body is sent). */
  answer: Promise<{ status: number; body: string }>;
}

/** A chunked import upload (no Content-Length), written piece by piece by the test. */
function startUpload(route = '/api/v1/imports?kind=orders&source=erp&filename=big.csv', headers: Record<string, string> = {}): Upload {
  const url = new URL(route, base);
  const request = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'text/csv', ...headers } });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('response', (response) => {
      let body = '';
      response.on('data', (d) => (body += d));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
  return { request, answer };
}

/** Writes a chunk; settles when it is flushed, or when the request is closed first (the server answered and hung up), so a test never waits on a write the socket will never take. */
function write(request: http.ClientRequest, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (request.destroyed) return reject(new Error('the request is closed'));
    const closed = () => reject(new Error('the request closed before the chunk was written'));
    request.once('close', closed);
    request.write(chunk, (error) => {
      request.off('close', closed);
      if (error) reject(error);
      else resolve();
    });
  });
}

const filesIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(condition(), what);
}

test('a CSV upload past SIYU_UPLOAD_MAX_MB is refused with 413 before the client has finished sending, and nothing is left on disk', async () => {
  const row = Buffer.from('order_id,ordered_at,amount\n' + 'a1,2026-06-18 10:00,99.00\n'.repeat(40_000));
  // The server answers and hangs up while the client is still sending; on a busy machine the client's
  // socket can be reset before it reads that answer. Such a lost answer is tried again (at most 5 times).
  let answered: { status: number; body: string } | undefined;
  let upload: Upload | undefined;
  for (let attempt = 0; attempt < 5 && !answered; attempt++) {
    upload = startUpload();
    let lost = false;
    upload.answer.then(
      (a) => (answered = a),
      () => (lost = true),
    );
    let sent = 0;
    // Never ended: an answer can only come from the limit, not from the end of the body.
    while (!answered && !lost && sent < 64 * MB) {
      await write(upload.request, row).catch(() => undefined);
      sent += row.length;
    }
    await until(() => answered !== undefined || lost, 'an answer (or a reset) came while the body was still being sent');
    if (!answered) upload.request.destroy();
  }
  assert.ok(answered && upload, 'an answer came while the body was still being sent');
  assert.equal(upload.request.writableEnded, false);
  assert.equal(answered.status, 413);
  const error = JSON.parse(answered.body).error;
  assert.equal(error.code, 'upload_too_large');
  assert.match(error.message, /larger than the 2 MB allowed for CSV/);
  upload.request.destroy();
  await until(() => filesIn(uploadsDir).length === 0, 'the partial upload is removed');
});

test('an XLSX (a zip, whatever its name) has its own, smaller limit', async () => {
  const upload = startUpload('/api/v1/imports?kind=orders&source=erp&filename=orders.csv');
  const zipHead = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(256 * 1024)]);
  await write(upload.request, zipHead);
  for (let i = 0; i < 8; i++) await write(upload.request, Buffer.alloc(256 * 1024)).catch(() => undefined);
  upload.request.end();
  const answer = await upload.answer;
  assert.equal(answer.status, 413);
  assert.match(JSON.parse(answer.body).error.message, /1 MB allowed for XLSX/);
  await until(() => filesIn(uploadsDir).length === 0, 'the partial upload is removed');
});

test('a Content-Length past every limit is refused at once', async () => {
  const upload = startUpload(undefined, { 'content-length': String(64 * MB) });
  await write(upload.request, Buffer.from('order_id,ordered_at,amount\n')).catch(() => undefined);
  const answer = await upload.answer;
  assert.equal(answer.status, 413);
  upload.request.destroy();
});

test('an upload cut off mid-stream leaves no partial file; while it arrives it is 0600 in a 0700 directory of the data directory', async () => {
  const upload = startUpload();
  upload.answer.catch(() => undefined);
  await write(upload.request, Buffer.from('order_id,ordered_at,amount\n' + 'a1,2026-06-18 10:00,99.00\n'.repeat(2000)));
  await until(() => filesIn(uploadsDir).length === 1, 'the upload is being written into <data>/uploads');
  const [name] = filesIn(uploadsDir);
  assert.equal(fs.statSync(uploadsDir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(uploadsDir, name)).mode & 0o777, 0o600);
  upload.request.destroy(); // the client goes away
  await until(() => filesIn(uploadsDir).length === 0, 'the partial upload is removed after the abort');
});

test('tag files and segment lists are bounded the same way', async () => {
  const upload = startUpload('/api/v1/tags/anything/file');
  const chunk = Buffer.from('phone,value\n' + '13800000000,a\n'.repeat(20_000));
  for (let i = 0; i < 12; i++) await write(upload.request, chunk).catch(() => undefined);
  upload.request.end();
  const answer = await upload.answer;
  assert.equal(answer.status, 413);
  await until(() => filesIn(uploadsDir).length === 0, 'nothing is left in the uploads directory');
});

test('a gzip bomb posted as an order file fails its run with the bound named (ClickHouse never unpacks it whole), and its upload is removed', async () => {
  const zlib = await import('node:zlib');
  const bomb = zlib.gzipSync('order_id,ordered_at,amount\n' + 'a1,2026-06-18 10:00,99.00\n'.repeat(200_000)); // ~5 MB unpacked, ~20 KB packed
  const previous = process.env.SIYU_UNPACKED_MAX_MB;
  process.env.SIYU_UNPACKED_MAX_MB = '1';
  try {
    const posted = await fetch(`${base}/api/v1/imports?kind=orders&source=erp&filename=orders.csv.gz`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/gzip' },
      body: bomb,
    });
    assert.equal(posted.status, 202);
    const { run } = (await posted.json()) as { run: string };
    let state: { status: string; error: string | null } = { status: 'running', error: null };
    for (let i = 0; i < 200 && state.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = (await (await fetch(`${base}/api/v1/imports/${run}`, { headers: { authorization: `Bearer ${operator}` } })).json()) as typeof state;
    }
    assert.equal(state.status, 'failed');
    assert.match(state.error ?? '', /orders\.csv\.gz: unpacks to more than 1 MB \(SIYU_UNPACKED_MAX_MB\)/);
  } finally {
    if (previous === undefined) delete process.env.SIYU_UNPACKED_MAX_MB;
    else process.env.SIYU_UNPACKED_MAX_MB = previous;
  }
  await until(() => filesIn(uploadsDir).length === 0, 'the upload is removed after the run');
});
