import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../../test/fuzz-seed.ts';
import { parse } from 'csv-parse/sync';
import { csvRows, neutraliseCell } from './csv.ts';

test('neutraliseCell: formulas get a leading quote; numbers and phones stay', () => {
  for (const formula of ['=1+1', '@SUM(1)', '+cmd|x', '-2+3', '\tx', '\rx', '-', '+', '=']) assert.equal(neutraliseCell(formula), `'${formula}`, formula);
  for (const plain of ['-12.5', '+8613812345678', '+86 138 1234 5678', '12', '1,234.50', '-1,000', 'Wang', "'=already", '']) assert.equal(neutraliseCell(plain), plain, plain);
});

test('csvRows: any cells come back from a CSV parser as written, and none starts a formula', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', '"', ',', '1', '.', ' ', 'a', '|') }), { minLength: 2, maxLength: 4 }), {
        minLength: 1,
        maxLength: 5,
      }),
      (rows) => {
        const width = rows[0].length;
        const table = rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ''));
        const back = parse(csvRows(table), { relax_column_count: true }) as string[][];
        assert.deepEqual(
          back,
          table.map((r) => r.map(neutraliseCell)),
        );
        for (const cell of back.flat()) {
          if (/^[=@\t\r]/.test(cell)) assert.fail(`a formula cell: ${JSON.stringify(cell)}`);
          if (/^[+-]/.test(cell)) assert.match(cell, /^[+-]?[\d,]+(\.\d+)?$|^\+\d[\d ]*\d$/);
        }
      },
    ),
  );
});
