/** `siyu models fit` as a user runs it: the CDNOW summary in, one JSON object out (the estimators' own tests are in src/models/). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from './helpers.ts';

const SAMPLE = path.resolve('test', 'fixtures', 'cdnow', 'BTYD_cdnowSummary_cbs.csv');

function assertWithin(actual: number, expected: number, relative: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} is not within ${relative * 100}% of ${expected}`);
}

test('siyu models fit prints one JSON object; a wrong column is named', async () => {
  const ok = await runCli(['models', 'fit', 'bgnbd', '--summary', SAMPLE, '--columns', 'x=x,t_x=t.x,T=T.cal']);
  assert.equal(ok.code, 0, ok.stderr);
  const printed = JSON.parse(ok.stdout);
  assert.deepEqual(Object.keys(printed), ['model', 'params', 'logLikelihood', 'n']);
  assert.deepEqual(Object.keys(printed.params), ['r', 'alpha', 'a', 'b']);
  assertWithin(printed.params.r, 0.243, 0.01, 'r');
  const wrong = await runCli(['models', 'fit', 'gammagamma', '--summary', SAMPLE, '--columns', 'x=x,t_x=t.x,T=T.cal,m=spend']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^siyu: .*no column "spend" for m \(the file has: cust, x, t\.x, T\.cal, x\.star, m\.x\)/);
  const transactions = await runCli(['models', 'fit', 'paretonbd', '--transactions', SAMPLE, '--customer', 'cust']);
  assert.equal(transactions.code, 1);
  assert.match(transactions.stderr, /--transactions needs --date, --calibration-end/);
});
