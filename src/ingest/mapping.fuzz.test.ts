/**
 * Property-based fuzzing of the importer with fast-check, on the real stores: any mapping file is
 * either refused naming what is wrong or imports without crashing; any table of cells (quotes,
 * newlines, formulas, huge fields, odd dates and numbers, GB18030, a BOM) imports with every row
 * accounted for (read = landed + updated + unchanged + quarantined) and every refused value named by
 * row and field. Failures found are kept below as regression cases.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import '../../test/fuzz-seed.ts';
import iconv from 'iconv-lite';
import { stringify } from 'csv-stringify/sync';
import { openTestStores, tempDir, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService, type Workspace } from '../access/workspaces.ts';
import { ImportPlanError, runImport, type ImportSummary } from './importer.ts';
import { mappingFileSchema } from './layouts.ts';
import type { ImportKind } from '../contract/imports.ts';
import { FileFormatError } from './file-reader.ts';

let stores: Stores;
let workspace: Workspace;
const dir = tempDir('siyu-fuzz-');

before(async () => {
  ({ stores } = await openTestStores());
  workspace = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('fuzz'), name: 'fuzz' });
});
after(async () => stores.close());

let fileNo = 0;
function writeFile(content: Buffer | string, ext = 'csv'): string {
  const file = path.join(dir, `f${fileNo++}.${ext}`);
  fs.writeFileSync(file, content);
  return file;
}

function checkCounts(summary: ImportSummary) {
  assert.equal(
    summary.rowsRead,
    summary.landed + summary.updated + summary.unchanged + summary.quarantined,
    `read = landed + updated + unchanged + quarantined: ${JSON.stringify(summary)}`,
  );
}

async function quarantineOf(runId: string) {
  return stores.facts.query<{ row_number: string; field: string; reason: string }>(
    'SELECT row_number, field, reason FROM import_quarantine WHERE workspace_id = {ws:String} AND run_id = {run:String}',
    { ws: workspace.id, run: runId },
  );
}

// --- mapping files -----------------------------------------------------------------------------

const HEADER = ['record_id', 'phone', 'name', '状态', 'constructor', '__proto__', 'order_id', 'ordered_at', 'amount', 'member_no'];
const MAPPING_CSV = stringify([
  HEADER,
  ['r1', '13800000001', '张三', 'constructor', 'toString', '__proto__', 'o1', '2026-06-18 10:00', '99.00', 'm1'],
  ['r2', '13800000002', 'hasOwnProperty', 'valueOf', '__proto__', 'constructor', 'o2', 'not a date', '-1', 'm2'],
  ['r3', '', '', '', '', '', 'o2', '2026-06-18', '1e3', ''],
]);

/** Field names a mapping may give: real ones, and names that are properties of every object. */
const fieldName = fc.constantFrom(
  'record_id',
  'phone',
  'name',
  'order_id',
  'ordered_at',
  'amount',
  'member_no',
  'status',
  'birthday',
  'email',
  'sku',
  'quantity',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'nope',
);
const columnName = fc.oneof(fc.constantFrom(...HEADER), fc.string({ maxLength: 12 }));
const structuredMapping = fc.record(
  {
    source: fc.oneof(fc.constantFrom('crm', 'erp', '', 'a'.repeat(300)), fc.string()),
    shape: fc.constantFrom('order', 'order_line', 'item', 'shipment', 'refund', 'member', 'contact', 'record', 'product', 'nope'),
    columns: fc.dictionary(fieldName, fc.oneof(columnName, fc.array(columnName, { maxLength: 3 })), { maxKeys: 6 }),
    values: fc.dictionary(
      fieldName,
      fc.dictionary(fc.oneof(fc.constantFrom('constructor', '__proto__', 'toString', '张三', 'o1'), fc.string()), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
      { maxKeys: 3 },
    ),
  },
  { requiredKeys: ['columns'] },
);
const anyMapping = fc.oneof({ weight: 4, arbitrary: structuredMapping }, { weight: 1, arbitrary: fc.jsonValue() });

test('any mapping file is refused naming what is wrong, or imports without crashing, every row accounted for', async () => {
  const file = writeFile(MAPPING_CSV);
  await fc.assert(
    fc.asyncProperty(anyMapping, fc.constantFrom<ImportKind>('records', 'orders', 'members'), async (raw, kind) => {
      // Through JSON, as a mapping file arrives (a "__proto__" key stays an own key).
      const parsed = mappingFileSchema.safeParse(JSON.parse(JSON.stringify(raw)));
      if (!parsed.success) {
        for (const issue of parsed.error.issues) assert.ok(issue.message.length > 0);
        return;
      }
      let summary: ImportSummary;
      try {
        summary = await runImport(stores, { workspace, kind, files: [file], mapping: parsed.data, source: 'crm', resolve: false });
      } catch (error) {
        assert.ok(error instanceof ImportPlanError, `only a refusal of the plan may stop a mapping import, got ${(error as Error).stack}`);
        assert.match((error as Error).message, /\S/);
        return;
      }
      checkCounts(summary);
      assert.equal(summary.rowsRead, 3);
      for (const q of await quarantineOf(summary.runId)) {
        assert.ok(Number(q.row_number) >= 2 && Number(q.row_number) <= 4, `row ${q.row_number}`);
        assert.ok(q.field.length > 0 && q.reason.length > 0);
      }
    }),
    {
      numRuns: 60,
      interruptAfterTimeLimit: 25_000,
      examples: [
        // A values map looked up with a cell named like an Object property ("hasOwnProperty", "constructor").
        [{ source: 'crm', columns: { record_id: 'record_id', name: '状态', phone: 'phone' }, values: { name: { x: 'y' } } }, 'records'],
        [
          {
            source: 'erp',
            columns: { order_id: 'order_id', ordered_at: 'ordered_at', amount: 'amount', status: '状态', name: ['name', 'constructor'] },
            values: { status: { x: 'y' }, name: { a: 'b' } },
          },
          'orders',
        ],
        [{ source: 'crm', shape: 'member', columns: { member_no: 'member_no', name: 'name', constructor: 'constructor' }, values: { constructor: { toString: 'x' } } }, 'members'],
      ],
    },
  );
});

// --- rows ----------------------------------------------------------------------------------------

/** Cells as exports and attackers write them. */
const cell = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('=cmd|"/c calc"!A1', '+1+1', '-2', '@SUM(A1)', '"', '""', ',', '\n', '\r\n', '\t', '\u0000', '\uFEFF', '\u3000', '　张三　') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '2026-06-18 10:00',
      '2026/6/18',
      '18/06/2026',
      '2026-02-30',
      '9999-12-31 23:59:59',
      '1970-01-01',
      '0000-00-00',
      '45291',
      '2026-06-18T10:00:00+08:00',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('99.00', '-0', '1e308', 'NaN', 'Infinity', '¥1,234.50', '1,5', '0x10', '９９', '99999999999999999999999') },
  { weight: 1, arbitrary: fc.constantFrom('13800000001', '+86 138 0000 0002', '138****0003', 'a@b.co', 'ab') },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n)) },
);

const table = (width: number) => fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 12 });
const encodings = fc.constantFrom('utf-8', 'utf-8-bom', 'gb18030');

function encode(text: string, encoding: string): Buffer {
  if (encoding === 'gb18030') return iconv.encode(text, 'gb18030');
  return Buffer.concat([encoding === 'utf-8-bom' ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text, 'utf8')]);
}

const KINDS: Array<{ kind: ImportKind; header: string[] }> = [
  { kind: 'records', header: ['record_id', 'phone', 'name', 'email', 'birthday'] },
  { kind: 'orders', header: ['order_id', 'ordered_at', 'amount', 'phone', 'name'] },
  { kind: 'members', header: ['member_no', 'phone', 'name', 'points', 'registered_at'] },
];

test('any table of cells imports: no crash, every row accounted for, every refused value named by row and field, in bounded time', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...KINDS).chain((k) => fc.tuple(fc.constant(k), table(k.header.length), encodings)),
      async ([{ kind, header }, rows, encoding]) => {
        const file = writeFile(encode(stringify([header, ...rows]), encoding));
        const started = Date.now();
        let summary: ImportSummary;
        try {
          summary = await runImport(stores, { workspace, kind, files: [file], source: 'fuzz', resolve: false });
        } catch (error) {
          // A file may be refused as a whole (not readable as the table it claims), never crash.
          assert.ok(error instanceof ImportPlanError || error instanceof FileFormatError, `unexpected ${(error as Error).stack}`);
          return;
        }
        assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
        checkCounts(summary);
        assert.ok(summary.rowsRead <= rows.length, `read ${summary.rowsRead} of ${rows.length} rows`);
        // A row with a visible character in its first cell is never lost as "blank".
        const visible = rows.filter((r) => /[0-9A-Za-z]/.test(r[0])).length;
        assert.ok(summary.rowsRead >= visible, `read ${summary.rowsRead}, but ${visible} rows have a visible first cell`);
        for (const q of await quarantineOf(summary.runId)) {
          assert.ok(Number(q.row_number) >= 2, `row ${q.row_number}`);
          assert.ok(q.field.length > 0 && q.reason.length > 0, JSON.stringify(q));
        }
      },
    ),
    { numRuns: 40, interruptAfterTimeLimit: 30_000 },
  );
});
