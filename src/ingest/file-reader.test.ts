/**
 * Reading is bounded: a gzip file stops at SIYU_UNPACKED_MAX_MB, an XLSX at its shared-strings and
 * unpacked bounds (declared or actual), and a broken file fails the read with an error, never the process.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import ExcelJS from 'exceljs';
import { checkUnpackedSize, FileFormatError, readJsonLines, readRows, sniffFile } from './file-reader.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-file-reader-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` with these environment variables set, then puts them back. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function drain<T>(rows: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

function gzipFile(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, zlib.gzipSync(content));
  return file;
}

/** The zip with one part's uncompressed size, as its central directory states it, changed (a lying zip). */
function withDeclaredSize(zip: Buffer, part: string, size: number): Buffer {
  const out = Buffer.from(zip);
  for (let at = 0; at < out.length - 46; at++) {
    if (out.readUInt32LE(at) !== 0x02014b50) continue;
    const nameLength = out.readUInt16LE(at + 28);
    if (out.toString('utf8', at + 46, at + 46 + nameLength) === part) {
      out.writeUInt32LE(size, at + 24);
      return out;
    }
  }
  throw new Error(`no ${part} in the zip's directory`);
}

async function xlsxFile(name: string, rows: unknown[][]): Promise<string> {
  const file = path.join(dir, name);
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('orders');
  for (const row of rows) sheet.addRow(row);
  await workbook.xlsx.writeFile(file);
  return file;
}

test('a gzip CSV that unpacks past SIYU_UNPACKED_MAX_MB stops with an error naming the bound', async () => {
  const file = gzipFile('bomb.csv.gz', 'order_id,amount\n' + 'x,1\n'.repeat(800_000)); // ~3 MB unpacked, a few KB packed
  const shape = sniffFile(file);
  assert.equal(shape.gzip, true);
  await withEnv({ SIYU_UNPACKED_MAX_MB: '1' }, async () => {
    await assert.rejects(
      drain(readRows(shape)),
      (error: Error) => error instanceof FileFormatError && /bomb\.csv\.gz: unpacks to more than 1 MB \(SIYU_UNPACKED_MAX_MB\)/.test(error.message),
    );
    await assert.rejects(checkUnpackedSize(shape), /unpacks to more than 1 MB/);
  });
  // Under the default bound the same file reads whole.
  assert.equal((await drain(readRows(shape))).length, 800_001);
});

test('gzip JSON lines are bounded the same way', async () => {
  const file = gzipFile('events.jsonl.gz', '{"event":"x"}\n'.repeat(200_000));
  await withEnv({ SIYU_UNPACKED_MAX_MB: '1' }, () => assert.rejects(drain(readJsonLines(sniffFile(file))), /unpacks to more than 1 MB/));
});

test('sniffing a gzip bomb unpacks only a bounded head', () => {
  // 256 MB of zeros packs to ~250 KB; sniffing must not unpack it all.
  const file = path.join(dir, 'zeros.csv.gz');
  const packed = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  fs.writeFileSync(file, Buffer.concat([packed, packed, packed, packed]));
  const before = process.memoryUsage().arrayBuffers;
  const started = Date.now();
  const shape = sniffFile(file);
  assert.equal(shape.gzip, true);
  assert.ok(Date.now() - started < 2000, 'sniffed in bounded time');
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'the head unpacked is bounded');
});

test('a truncated gzip file fails the read with an error (not an uncaught exception that ends the process)', async () => {
  const whole = zlib.gzipSync('order_id,amount\n' + 'x,1\n'.repeat(100_000));
  const file = path.join(dir, 'cut.csv.gz');
  fs.writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
  await assert.rejects(drain(readRows(sniffFile(file))), /unexpected end of file/);
  await assert.rejects(drain(readJsonLines({ ...sniffFile(file), format: 'jsonl' })), /unexpected end of file/);
});

test('an XLSX still reads its text (shared strings) and numbers, first sheet only', async () => {
  const file = await xlsxFile('ok.xlsx', [
    ['order_id', 'name', 'amount'],
    ['A1', '张三', 99.5],
    ['A2', '<script>', 10],
  ]);
  const rows = await drain(readRows(sniffFile(file)));
  assert.deepEqual(
    rows.map((r) => r.values),
    [
      ['order_id', 'name', 'amount'],
      ['A1', '张三', '99.5'],
      ['A2', '<script>', '10'],
    ],
  );
});

test('an XLSX whose shared strings unpack past SIYU_XLSX_SHARED_STRINGS_MAX_MB is refused before they are held in memory', async () => {
  const rows: unknown[][] = [['order_id', 'note']];
  for (let i = 0; i < 30_000; i++) rows.push([`A${i}`, `a note long enough to count, number ${i} ${'x'.repeat(40)}`]);
  const file = await xlsxFile('strings.xlsx', rows);
  await withEnv({ SIYU_XLSX_SHARED_STRINGS_MAX_MB: '1' }, () =>
    assert.rejects(
      drain(readRows(sniffFile(file))),
      (error: Error) =>
        error instanceof FileFormatError &&
        /strings\.xlsx: its shared strings unpack to \d+ MB, more than the 1 MB allowed \(SIYU_XLSX_SHARED_STRINGS_MAX_MB\)/.test(error.message),
    ),
  );
  // Counted on the bytes actually unpacked too: a zip whose directory claims 100 bytes is stopped all the same.
  const lying = path.join(dir, 'lying.xlsx');
  fs.writeFileSync(lying, withDeclaredSize(fs.readFileSync(file), 'xl/sharedStrings.xml', 100));
  await withEnv({ SIYU_XLSX_SHARED_STRINGS_MAX_MB: '1' }, () => assert.rejects(drain(readRows(sniffFile(lying))), /lying\.xlsx: its shared strings unpack to more than 1 MB/));
  // A gzip-wrapped XLSX is unpacked beside it and read the same way (and the unpacked copy removed).
  const wrapped = path.join(dir, 'strings.xlsx.gz');
  fs.writeFileSync(wrapped, zlib.gzipSync(fs.readFileSync(file)));
  await withEnv({ SIYU_XLSX_SHARED_STRINGS_MAX_MB: '1' }, () => assert.rejects(drain(readRows(sniffFile(wrapped))), /strings\.xlsx\.gz: its shared strings unpack to \d+ MB/));
  assert.equal((await drain(readRows(sniffFile(wrapped)))).length, 30_001);
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.startsWith('.')),
    [],
    'no unpacked copy left',
  );
  assert.equal((await drain(readRows(sniffFile(file)))).length, 30_001);
});

test('an XLSX whose parts unpack past SIYU_UNPACKED_MAX_MB (a zip bomb) is refused', async () => {
  const rows: unknown[][] = [['order_id', 'amount']];
  for (let i = 0; i < 60_000; i++) rows.push([i, i * 2]);
  const file = await xlsxFile('numbers.xlsx', rows);
  await withEnv({ SIYU_UNPACKED_MAX_MB: '1' }, () =>
    assert.rejects(drain(readRows(sniffFile(file))), /numbers\.xlsx: its parts unpack to \d+ MB, more than the 1 MB allowed \(SIYU_UNPACKED_MAX_MB\)/),
  );
  const wrapped = path.join(dir, 'numbers.xlsx.gz');
  fs.writeFileSync(wrapped, zlib.gzipSync(fs.readFileSync(file)));
  await withEnv({ SIYU_UNPACKED_MAX_MB: '1' }, () =>
    assert.rejects(drain(readRows(sniffFile(wrapped))), /numbers\.xlsx\.gz: its parts unpack to \d+ MB, more than the 1 MB allowed/),
  );
  // The sheet is counted as it is read, whatever the directory says.
  const lying = path.join(dir, 'lying-numbers.xlsx');
  fs.writeFileSync(lying, withDeclaredSize(fs.readFileSync(file), 'xl/worksheets/sheet1.xml', 100));
  await withEnv({ SIYU_UNPACKED_MAX_MB: '1' }, () => assert.rejects(drain(readRows(sniffFile(lying))), /lying-numbers\.xlsx: its sheet unpacks to more than 1 MB/));
});

test('a file that is not a zip but starts like one fails with a clear error', async () => {
  const file = path.join(dir, 'fake.xlsx');
  fs.writeFileSync(file, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(1000, 7)]));
  await assert.rejects(drain(readRows(sniffFile(file))), /fake\.xlsx: not a readable XLSX file/);
});

test('a malformed bound stops the start, naming the variable', async () => {
  const { loadConfig } = await import('../config/config.ts');
  assert.throws(() => loadConfig({}, { SIYU_UPLOAD_MAX_MB: 'lots' }), /SIYU_UPLOAD_MAX_MB must be a non-negative integer, got "lots"/);
  assert.throws(() => loadConfig({}, { SIYU_XLSX_SHARED_STRINGS_MAX_MB: '0' }), /SIYU_XLSX_SHARED_STRINGS_MAX_MB must be at least 1/);
  assert.doesNotThrow(() => loadConfig({}, { SIYU_UNPACKED_MAX_MB: '64' }));
});
