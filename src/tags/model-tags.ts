/**
 * Model tags: BG/NBD (and Gamma-Gamma for spend) fitted on the workspace's own purchases at the run's
 * base date, then one prediction per buyer. A run keeps the fitted parameters, so any person's value
 * can be explained by their x, t_x, T (and m) and those parameters.
 */
import type { Stores } from '../stores/stores.ts';
import { readUint32Rows } from '../stores/facts/facts-store.ts';
import { bgnbdConditionalPurchases, bgnbdProbabilityAlive, fitModel, gammaGammaExpectedSpend } from '../models/clv.ts';
import type { ModelTag } from './definition.ts';
import { PURCHASES } from '../facts/views.ts';
import { valueRun } from './store.ts';
import { WorkspaceService } from '../access/workspaces.ts';

export interface BuyerSummaries {
  person: Uint32Array;
  /** Repeat purchase days, days from the first to the last purchase, days from the first to the base date. */
  x: Uint32Array;
  txDays: Uint32Array;
  TDays: Uint32Array;
  /** Average spend of the repeat purchase days, in cents. */
  mCents: Uint32Array;
}

export interface ModelFit {
  unit: 'day' | 'week';
  buyers: number;
  bgnbd: Record<string, number>;
  logLikelihood: number;
  gammagamma?: Record<string, number>;
  /** Distinct buyer summaries (in whole units) the BG/NBD fit ran over. */
  summaryRows?: number;
  /** Repeat buyers the spend model was fitted on (an even sample beyond 200,000). */
  spendFittedOn?: number;
}

const UNIT_DAYS = { day: 1, week: 7 } as const;

/** Every buyer up to the base date, purchases on one day merged into one. */
export async function buyerSummaries(
  stores: Stores,
  workspaceId: string,
  timeZone: string,
  baseDate: string,
  personId?: number,
  runTables: { purchases?: string } = {},
): Promise<BuyerSummaries> {
  const params = { ws: workspaceId, tz: timeZone, base: baseDate, person: personId ?? 0 };
  const [person, x, txDays, TDays, mCents] = await readUint32Rows(
    stores.facts.queryRowBinary(
      `SELECT toUInt32(person_id), toUInt32(count() - 1), toUInt32(dateDiff('day', min(day), max(day))), toUInt32(dateDiff('day', min(day), {base:Date})),
              toUInt32(round(if(count() > 1, (sum(spent) - argMin(spent, day)) / (count() - 1), 0) * 100))
       FROM (SELECT person_id, day, sum(amount) AS spent FROM ${runTables.purchases ?? PURCHASES} WHERE {person:UInt64} = 0 OR person_id = {person:UInt64} GROUP BY person_id, day)
       GROUP BY person_id ORDER BY person_id`,
      params,
    ),
    5,
  );
  return { person, x, txDays, TDays, mCents };
}

/** Spend is fitted on at most this many repeat buyers (an even sample): its three parameters are long settled by then. */
const SPEND_SAMPLE = 200_000;

/**
 * Fits BG/NBD on every buyer, and Gamma-Gamma on the repeat buyers when spend is wanted. Buyers
 * with the same summary (x, t_x and T in days) are fitted as one weighted row: the same likelihood,
 * a fraction of the work over millions of buyers.
 */
export function fitBuyers(summaries: BuyerSummaries, unit: 'day' | 'week', withSpend: boolean): ModelFit {
  const days = UNIT_DAYS[unit];
  const n = summaries.person.length;
  if (n < 10) throw new Error(`too few buyers to fit a model (${n}; at least 10)`);
  const rows = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = summaries.x[i] * 2 ** 32 + summaries.txDays[i] * 2 ** 16 + summaries.TDays[i];
    rows.set(key, (rows.get(key) ?? 0) + 1);
  }
  const keys = [...rows.keys()];
  const data = {
    x: Float64Array.from(keys, (k) => Math.floor(k / 2 ** 32)),
    tx: Float64Array.from(keys, (k) => (Math.floor(k / 2 ** 16) % 2 ** 16) / days),
    T: Float64Array.from(keys, (k) => (k % 2 ** 16) / days),
    w: Float64Array.from(keys, (k) => rows.get(k)!),
  };
  const bgnbd = fitModel('bgnbd', data);
  const fit: ModelFit = { unit, buyers: n, bgnbd: bgnbd.params, logLikelihood: bgnbd.logLikelihood, summaryRows: keys.length };
  if (withSpend) {
    const repeat: number[] = [];
    for (let i = 0; i < n; i++) if (summaries.x[i] > 0 && summaries.mCents[i] > 0) repeat.push(i);
    if (repeat.length < 10) throw new Error(`too few repeat buyers to fit spend (${repeat.length}; at least 10)`);
    const stride = Math.ceil(repeat.length / SPEND_SAMPLE);
    const sample = repeat.filter((_, j) => j % stride === 0);
    const spend = fitModel('gammagamma', {
      x: Float64Array.from(sample, (i) => summaries.x[i]),
      tx: Float64Array.from(sample, (i) => summaries.txDays[i] / days),
      T: Float64Array.from(sample, (i) => summaries.TDays[i] / days),
      m: Float64Array.from(sample, (i) => summaries.mCents[i] / 100),
    });
    if (!(spend.params.q > 1)) throw new Error(`the spend model does not fit these purchases (q = ${spend.params.q.toFixed(3)}, needs > 1)`);
    fit.gammagamma = spend.params;
    fit.spendFittedOn = sample.length;
  }
  return fit;
}

export const needsSpend = (tag: ModelTag) => tag.output === 'expected_spend' || tag.output === 'clv';

/** One buyer's value of a model tag. */
export function modelValue(tag: ModelTag, fit: ModelFit, x: number, txDays: number, TDays: number, m: number): number {
  const days = UNIT_DAYS[fit.unit];
  const [tx, T, horizon] = [txDays / days, TDays / days, tag.horizonDays / days];
  const alive = bgnbdProbabilityAlive(fit.bgnbd, x, tx, T);
  switch (tag.output) {
    case 'p_alive':
      return alive;
    case 'expected_purchases':
      return bgnbdConditionalPurchases(fit.bgnbd, x, tx, T, horizon);
    case 'repurchase_probability': {
      // Alive and buying at least once in the horizon: 1 − P(none) under the Poisson-gamma rate.
      const { r, alpha } = fit.bgnbd;
      return alive * (1 - ((alpha + T) / (alpha + T + horizon)) ** (r + x));
    }
    case 'expected_spend':
      return gammaGammaExpectedSpend(fit.gammagamma!, x, m);
    case 'clv':
      return bgnbdConditionalPurchases(fit.bgnbd, x, tx, T, horizon) * gammaGammaExpectedSpend(fit.gammagamma!, x, m);
  }
}

/**
 * Why a person has their value of a model tag: their x, t_x and T (and m) at the run's base date, in
 * the model's unit, the fitted parameters, and the value itself.
 */
export async function explainModelTag(stores: Stores, workspaceId: string, tag: ModelTag, personId: number, asOf?: string) {
  const run = await valueRun(stores, workspaceId, tag.key, asOf);
  if (!run) throw new Error(`tag "${tag.key}" has no completed run${asOf ? ` on or before ${asOf}` : ''}`);
  const row = await stores.state.db.selectFrom('tag_runs').select('details').where('id', '=', run.runId).executeTakeFirstOrThrow();
  const fit = (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as ModelFit & { model: string };
  const workspace = await new WorkspaceService(stores.state).get(workspaceId);
  const buyer = await buyerSummaries(stores, workspaceId, workspace.timeZone, run.baseDate, personId);
  if (buyer.person.length === 0) return { tag: tag.key, baseDate: run.baseDate, personId, bought: false as const, fit };
  const days = UNIT_DAYS[fit.unit];
  const [x, txDays, TDays, m] = [buyer.x[0], buyer.txDays[0], buyer.TDays[0], buyer.mCents[0] / 100];
  return {
    tag: tag.key,
    baseDate: run.baseDate,
    personId,
    bought: true as const,
    unit: fit.unit,
    x,
    t_x: txDays / days,
    T: TDays / days,
    m,
    fit,
    value: modelValue(tag, fit, x, txDays, TDays, m),
  };
}
