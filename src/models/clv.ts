/**
 * Buy-till-you-die models of repeat purchasing, fitted by maximum likelihood:
 * - BG/NBD (Fader, Hardie & Lee 2005): parameters r, alpha (purchase rate), a, b (dropout).
 * - Pareto/NBD (Schmittlein, Morrison & Colombo 1987): r, alpha, s, beta.
 * - Gamma-Gamma spend (Fader & Hardie 2013): p, q, gamma, on customers with repeat purchases.
 * A customer is summarised as x (repeat purchases), t_x (time of the last, from the first), T (time
 * observed since the first) and, for spend, m (average value of the repeat purchases).
 */
import gammaln from '@stdlib/math-base-special-gammaln';
import hyp2f1 from '@stdlib/math-base-special-hyp2f1';
import { minimiseWithRestarts, standardErrors } from './optimize.ts';

export type ModelName = 'bgnbd' | 'paretonbd' | 'gammagamma';

export interface Summary {
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  /** Average value of the repeat purchases (Gamma-Gamma only). */
  m?: Float64Array;
  /** How many customers each row stands for (customers with the same summary, fitted as one row); 1 when absent. */
  w?: Float64Array;
}

export interface FittedModel {
  model: ModelName;
  params: Record<string, number>;
  logLikelihood: number;
  n: number;
  standardErrors: Record<string, number>;
}

const PARAMETER_NAMES: Record<ModelName, string[]> = {
  bgnbd: ['r', 'alpha', 'a', 'b'],
  paretonbd: ['r', 'alpha', 's', 'beta'],
  gammagamma: ['p', 'q', 'gamma'],
};

function logSumExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

function logDiffExp(a: number, b: number): number {
  // log(e^a − e^b) for a > b
  return a + Math.log1p(-Math.exp(b - a));
}

/**
 * What the likelihoods reuse across evaluations: the largest x (x is a whole count, so terms in x
 * alone are tabled once per evaluation instead of computed per customer) and log m, log x.
 */
interface Prepared {
  maxX: number;
  integerX: boolean;
  customers: number;
  logM?: Float64Array;
  logX: Float64Array;
}
const PREPARED = new WeakMap<Summary, Prepared>();
function prepared(data: Summary): Prepared {
  let p = PREPARED.get(data);
  if (!p) {
    let maxX = 0;
    let integerX = true;
    const logX = new Float64Array(data.x.length);
    for (let i = 0; i < data.x.length; i++) {
      maxX = Math.max(maxX, data.x[i]);
      if (!Number.isInteger(data.x[i])) integerX = false;
      logX[i] = Math.log(data.x[i]);
    }
    p = { maxX, integerX, logX, logM: data.m?.map(Math.log), customers: data.w ? data.w.reduce((sum, w) => sum + w, 0) : data.x.length };
    PREPARED.set(data, p);
  }
  return p;
}

function customers(data: Summary): number {
  return prepared(data).customers;
}

/** f(x) for x = 0…maxX when x is whole, else undefined (the caller computes per row). */
function tableByX(p: Prepared, f: (x: number) => number): Float64Array | undefined {
  if (!p.integerX || p.maxX > 100_000) return undefined;
  const table = new Float64Array(p.maxX + 1);
  for (let x = 0; x <= p.maxX; x++) table[x] = f(x);
  return table;
}

function bgnbdLogLikelihood([r, alpha, a, b]: number[], data: Summary): number {
  let total = 0;
  const common = r * Math.log(alpha) - gammaln(r) + gammaln(a + b) - gammaln(b);
  const prep = prepared(data);
  const termA1 = (x: number) => gammaln(r + x) + gammaln(b + x) - gammaln(a + b + x);
  const termA4 = (x: number) => (x > 0 ? Math.log(a) - Math.log(b + x - 1) : -Infinity);
  const a1Table = tableByX(prep, termA1);
  const a4Table = tableByX(prep, termA4);
  for (let i = 0; i < data.x.length; i++) {
    const x = data.x[i];
    const a1 = a1Table ? a1Table[x] : termA1(x);
    const a3 = -(r + x) * Math.log(alpha + data.T[i]);
    const a4 = x > 0 ? (a4Table ? a4Table[x] : termA4(x)) - (r + x) * Math.log(alpha + data.tx[i]) : -Infinity;
    total += (data.w ? data.w[i] : 1) * (a1 + logSumExp(a3, a4));
  }
  return total + customers(data) * common;
}

function paretoNbdLogLikelihood([r, alpha, s, beta]: number[], data: Summary): number {
  let total = 0;
  const common = r * Math.log(alpha) + s * Math.log(beta) - gammaln(r);
  const maxab = Math.max(alpha, beta);
  const absab = Math.abs(alpha - beta);
  for (let i = 0; i < data.x.length; i++) {
    const x = data.x[i];
    const tx = data.tx[i];
    const T = data.T[i];
    const rsx = r + s + x;
    const param2 = alpha >= beta ? s + 1 : r + x;
    // log of 2F1(r+s+x, param2; r+s+x+1; z) / (maxab + t)^(r+s+x) at t = t_x and t = T
    const logF = (t: number) => (absab === 0 ? 0 : Math.log(hyp2f1(rsx, param2, rsx + 1, absab / (maxab + t)))) - rsx * Math.log(maxab + t);
    const logA0 = logDiffExp(logF(tx), logF(T));
    const part2 = -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T);
    total += (data.w ? data.w[i] : 1) * (gammaln(r + x) + logSumExp(part2, Math.log(s / rsx) + logA0));
  }
  return total + customers(data) * common;
}

function gammaGammaLogLikelihood([p, q, gamma]: number[], data: Summary): number {
  let total = 0;
  const m = data.m!;
  const prep = prepared(data);
  const logM = prep.logM!;
  const termX = (x: number) => gammaln(p * x + q) - gammaln(p * x) - gammaln(q);
  const table = tableByX(prep, termX);
  const logGamma = Math.log(gamma);
  for (let i = 0; i < data.x.length; i++) {
    const x = data.x[i];
    if (x <= 0) continue;
    const px = p * x;
    total += (data.w ? data.w[i] : 1) * ((table ? table[x] : termX(x)) + q * logGamma + (px - 1) * logM[i] + px * prep.logX[i] - (px + q) * Math.log(gamma + m[i] * x));
  }
  return total;
}

const LIKELIHOODS: Record<ModelName, (params: number[], data: Summary) => number> = {
  bgnbd: bgnbdLogLikelihood,
  paretonbd: paretoNbdLogLikelihood,
  gammagamma: gammaGammaLogLikelihood,
};

const STARTS: Record<ModelName, number[][]> = {
  bgnbd: [
    [1, 3, 1, 3],
    [0.5, 1, 0.5, 1],
  ],
  paretonbd: [
    [0.5, 1, 0.5, 1],
    [1, 5, 1, 5],
  ],
  gammagamma: [
    [1, 1, 1],
    [5, 5, 10],
  ],
};

/** Fits a model by maximum likelihood, in log-parameters, from a few starting points. */
export function fitModel(model: ModelName, data: Summary): FittedModel {
  if (model === 'gammagamma') {
    if (!data.m) throw new Error('the Gamma-Gamma model needs m, the average value of repeat purchases');
    for (let i = 0; i < data.x.length; i++) {
      if (data.x[i] > 0 && !(data.m[i] > 0)) throw new Error(`row ${i + 1}: m must be above 0 for a customer with repeat purchases (got ${data.m[i]})`);
    }
  }
  for (let i = 0; i < data.x.length; i++) {
    const [x, tx, T] = [data.x[i], data.tx[i], data.T[i]];
    if (!(x >= 0) || !(tx >= 0) || !(T >= tx)) throw new Error(`row ${i + 1}: expected x ≥ 0 and 0 ≤ t_x ≤ T (got x=${x}, t_x=${tx}, T=${T})`);
  }
  const logLikelihood = LIKELIHOODS[model];
  // Parameters stay within e^±12: beyond, the likelihood is flat (no dropout: a, b → ∞) and the
  // optimiser would crawl along it for nothing.
  const negative = (logParams: number[]) => (logParams.some((v) => Math.abs(v) > 12) ? Infinity : -logLikelihood(logParams.map(Math.exp), data));
  let best: ReturnType<typeof minimiseWithRestarts> | undefined;
  for (const start of STARTS[model]) {
    const result = minimiseWithRestarts(negative, start.map(Math.log));
    if (!best || result.value < best.value) best = result;
  }
  const params = best!.x.map(Math.exp);
  const errors = standardErrors((p) => -logLikelihood(p, data), params);
  const names = PARAMETER_NAMES[model];
  const weight = (i: number) => (data.w ? data.w[i] : 1);
  const n = model === 'gammagamma' ? data.x.reduce((sum, x, i) => sum + (x > 0 ? weight(i) : 0), 0) : customers(data);
  return {
    model,
    params: Object.fromEntries(names.map((name, i) => [name, params[i]])),
    logLikelihood: -best!.value,
    n,
    standardErrors: Object.fromEntries(names.map((name, i) => [name, errors[i]])),
  };
}

/** BG/NBD: expected purchases of a new customer in a period of length t. */
export function bgnbdExpectedPurchases({ r, alpha, a, b }: Record<string, number>, t: number): number {
  return ((a + b - 1) / (a - 1)) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)));
}

/** BG/NBD: expected purchases in the next t, given a customer's x, t_x and T. */
export function bgnbdConditionalPurchases({ r, alpha, a, b }: Record<string, number>, x: number, tx: number, T: number, t: number): number {
  const head = ((a + b + x - 1) / (a - 1)) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)));
  return head / (1 + (x > 0 ? (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x) : 0));
}

/** BG/NBD: the probability that a customer with this history is still active. */
export function bgnbdProbabilityAlive({ r, alpha, a, b }: Record<string, number>, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  return 1 / (1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x));
}

/** Gamma-Gamma: expected average value of a customer's future purchases. */
export function gammaGammaExpectedSpend({ p, q, gamma }: Record<string, number>, x: number, m: number): number {
  const population = (p * gamma) / (q - 1);
  if (x === 0) return population;
  const weight = (p * x) / (p * x + q - 1);
  return (1 - weight) * population + weight * m;
}
