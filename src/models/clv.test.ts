import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bgnbdConditionalPurchases, bgnbdExpectedPurchases, bgnbdProbabilityAlive, fitModel, gammaGammaExpectedSpend, type Summary } from './clv.ts';
import { readSummary, summariseTransactions } from './summary.ts';
import { tempDir } from '../../test/helpers.ts';

// A copy of ../shared/data/cdnow (see test/fixtures/cdnow/README.md), so the tests run on any checkout.
const CDNOW = path.resolve('test', 'fixtures', 'cdnow');
const SAMPLE = path.join(CDNOW, 'BTYD_cdnowSummary_cbs.csv');
const columns = { x: 'x', t_x: 't.x', T: 'T.cal', m: 'm.x' };

/** Fader, Hardie & Lee (2005) and Fader & Hardie (2013), on the 2,357-customer CDNOW sample (../shared/data/README.md). */
const PUBLISHED = {
  bgnbd: { params: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, logLikelihood: -9582.4 },
  paretonbd: { params: { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 }, logLikelihood: -9595.0 },
  gammagamma: { params: { p: 6.25, q: 3.74, gamma: 15.44 } },
};

function assertWithin(actual: number, expected: number, relative: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} is not within ${relative * 100}% of ${expected}`);
}

let sample: Summary;
const fitted: Record<string, ReturnType<typeof fitModel>> = {};
async function fit(model: 'bgnbd' | 'paretonbd' | 'gammagamma') {
  sample ??= await readSummary(SAMPLE, columns);
  return (fitted[model] ??= fitModel(model, sample));
}

for (const model of ['bgnbd', 'paretonbd'] as const) {
  test(`${model} reproduces the published CDNOW parameters and log-likelihood`, async () => {
    const result = await fit(model);
    assert.equal(result.n, 2357);
    for (const [name, value] of Object.entries(PUBLISHED[model].params)) assertWithin(result.params[name], value, 0.01, `${model} ${name}`);
    assert.ok(Math.abs(result.logLikelihood - PUBLISHED[model].logLikelihood) <= 0.1, `log-likelihood ${result.logLikelihood}`);
    for (const [name, se] of Object.entries(result.standardErrors)) assert.ok(se > 0 && se < result.params[name] * 2, `standard error of ${name}: ${se}`);
  });
}

test('gammagamma reproduces the published CDNOW spend parameters on the 946 repeat buyers', async () => {
  const result = await fit('gammagamma');
  assert.equal(result.n, 946);
  for (const [name, value] of Object.entries(PUBLISHED.gammagamma.params)) assertWithin(result.params[name], value, 0.01, `gammagamma ${name}`);
  // A repeat buyer's expected spend lies between the population mean and their own average.
  const population = gammaGammaExpectedSpend(result.params, 0, 0);
  const own = gammaGammaExpectedSpend(result.params, 5, 60);
  assert.ok(own > population && own < 60);
});

test('BG/NBD predictions: 1.444 purchases in 52 weeks for a new customer, and the holdout table by frequency', async () => {
  const { params } = await fit('bgnbd');
  assert.ok(Math.abs(bgnbdExpectedPurchases(params, 52) - 1.444) < 0.001);
  // A customer just arrived (x = t_x = T = 0) is a new customer.
  assert.ok(Math.abs(bgnbdConditionalPurchases(params, 0, 0, 0, 39) - bgnbdExpectedPurchases(params, 39)) < 1e-9);
  assert.equal(bgnbdProbabilityAlive(params, 0, 0, 30), 1);
  assert.ok(bgnbdProbabilityAlive(params, 5, 5, 38) < bgnbdProbabilityAlive(params, 5, 37, 38), 'a long silence lowers P(alive)');

  // Weeks 40–78: actual (x.star) against the conditional expectation, by calibration frequency 0…7+.
  const rows = fs
    .readFileSync(SAMPLE, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').map(Number));
  const table = Array.from({ length: 8 }, () => ({ customers: 0, actual: 0, predicted: 0, predictedPublished: 0 }));
  for (const [, x, tx, T, xStar] of rows) {
    const bucket = table[Math.min(7, x)];
    bucket.customers++;
    bucket.actual += xStar;
    bucket.predicted += bgnbdConditionalPurchases(params, x, tx, T, 39);
    bucket.predictedPublished += bgnbdConditionalPurchases(PUBLISHED.bgnbd.params, x, tx, T, 39);
  }
  assert.equal(
    table.reduce((sum, b) => sum + b.actual, 0),
    1882,
    'actual holdout repeat purchases (published)',
  );
  assert.deepEqual(
    table.map((b) => b.customers),
    [1411, 439, 214, 100, 62, 38, 29, 64],
  );
  let previous = 0;
  for (const [frequency, b] of table.entries()) {
    const predicted = b.predicted / b.customers;
    // Our fit predicts what the published parameters predict…
    assertWithin(predicted, b.predictedPublished / b.customers, 0.01, `frequency ${frequency}`);
    // …which follows the actual holdout purchases (within 30% in every bin, as in the paper's figure).
    assertWithin(predicted, b.actual / b.customers, 0.3, `frequency ${frequency} against actual`);
    assert.ok(predicted > previous, 'more calibration purchases, more expected');
    previous = predicted;
  }
  // In total the model under-predicts this holdout (about 1,650 against 1,882), as the published
  // parameters do: the test pins the prediction, not a flattering tolerance.
  const totalPredicted = table.reduce((sum, b) => sum + b.predicted, 0);
  assertWithin(
    totalPredicted,
    table.reduce((sum, b) => sum + b.predictedPublished, 0),
    0.01,
    'total holdout purchases',
  );
});

test('a transaction log is summarised: same-day purchases merge, the holdout is left out, weeks or days', async () => {
  const file = path.join(tempDir(), 'log.csv');
  fs.writeFileSync(
    file,
    ['cust,day,amount', 'a,2026-01-01,10', 'a,2026-01-01,5', 'a,2026-01-15,20', 'a,2026-01-29,40', 'a,2026-03-01,99', 'b,2026-01-08,7', 'c,2026-02-20,1', ''].join('\n'),
  );
  const weeks = await summariseTransactions(file, { customer: 'cust', date: 'day', amount: 'amount', unit: 'week', calibrationEnd: '2026-02-12' });
  assert.deepEqual(weeks.customers, ['a', 'b'], 'c first bought after the calibration period');
  assert.deepEqual([...weeks.x], [2, 0]);
  assert.deepEqual([...weeks.tx], [4, 0]);
  assert.deepEqual([...weeks.T], [6, 5]);
  assert.deepEqual([...weeks.m!], [30, 0], 'average of the repeat purchases');
  assert.deepEqual([...weeks.holdout], [1, 0]);
  const days = await summariseTransactions(file, { customer: 'cust', date: 'day', unit: 'day', calibrationEnd: '2026-02-12' });
  assert.deepEqual([...days.tx], [28, 0]);
  assert.equal(days.m, undefined);
});

test('the full CDNOW log (space-separated) fits close to its 1/10 sample', async () => {
  const log = await summariseTransactions(path.join(CDNOW, 'CDNOW_master.txt'), {
    customer: 'customer_id',
    date: 'date',
    amount: 'dollar_value',
    unit: 'week',
    calibrationEnd: '1997-09-30',
  });
  assert.equal(log.customers.length, 23570);
  assert.ok(Math.max(...log.T) <= 39 && Math.min(...log.T) >= 26, 'everyone first bought in Q1 1997');
  const result = fitModel('bgnbd', log);
  for (const [name, value] of Object.entries(PUBLISHED.bgnbd.params)) assertWithin(result.params[name], value, 0.2, `full-data ${name}`);
});
