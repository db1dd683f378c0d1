/**
 * Customer summaries for the repeat-purchase models: from a file that already has one row per
 * customer (named columns), or from a transaction log (customer, date, amount), where purchases on
 * the same day are one purchase and only the calibration period counts.
 */
import { readRows, sniffFile } from '../ingest/file-reader.ts';
import { parseMoney } from '../ingest/values.ts';
import type { Summary } from './clv.ts';

export class SummaryError extends Error {
  override name = 'SummaryError';
}

async function table(file: string): Promise<{ header: Map<string, number>; rows: AsyncGenerator<{ rowNumber: number; values: string[] }> }> {
  const rows = readRows(sniffFile(file));
  const first = await rows.next();
  if (first.done) throw new SummaryError(`${file}: the file is empty (expected a header row)`);
  return { header: new Map(first.value.values.map((name, i) => [name.replace(/^\uFEFF/, '').trim(), i])), rows };
}

function columnIndex(file: string, header: Map<string, number>, column: string, role: string): number {
  const index = header.get(column);
  if (index === undefined) throw new SummaryError(`${file}: no column "${column}" for ${role} (the file has: ${[...header.keys()].join(', ')})`);
  return index;
}

/** `x=COL,t_x=COL,T=COL[,m=COL]` → the column of each field. */
export function parseColumns(spec: string): Record<'x' | 't_x' | 'T' | 'm', string | undefined> {
  const out: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const [field, column] = part.split('=').map((s) => s.trim());
    if (!['x', 't_x', 'T', 'm'].includes(field) || !column) throw new SummaryError(`--columns: expected x=COL,t_x=COL,T=COL[,m=COL], got "${part}"`);
    out[field] = column;
  }
  for (const field of ['x', 't_x', 'T']) if (!out[field]) throw new SummaryError(`--columns: ${field}=COL is required`);
  return { x: out.x, t_x: out.t_x, T: out.T, m: out.m };
}

export async function readSummary(file: string, columns: ReturnType<typeof parseColumns>): Promise<Summary> {
  const { header, rows } = await table(file);
  const fields = (['x', 't_x', 'T', 'm'] as const).filter((f) => columns[f]);
  const index = Object.fromEntries(fields.map((f) => [f, columnIndex(file, header, columns[f]!, f)]));
  const values: Record<string, number[]> = { x: [], t_x: [], T: [], m: [] };
  for await (const row of rows) {
    if (row.values.every((v) => v === '')) continue;
    for (const field of fields) {
      const raw = row.values[index[field]] ?? '';
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value) || value < 0) {
        throw new SummaryError(`${file}: row ${row.rowNumber}, column "${columns[field]}" (${field}): expected a number ≥ 0, got "${raw}"`);
      }
      values[field].push(value);
    }
  }
  return {
    x: Float64Array.from(values.x),
    tx: Float64Array.from(values.t_x),
    T: Float64Array.from(values.T),
    m: columns.m ? Float64Array.from(values.m) : undefined,
  };
}

/** Days since 1970-01-01 of a calendar date written as 19970101, 1997-01-01 or 1997/1/1 (a time after it is ignored). */
function calendarDay(raw: string): number {
  const text = raw.trim();
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text) ?? /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})/.exec(text);
  if (!match) throw new SummaryError(`expected a date like 1997-01-01 or 19970101, got "${raw}"`);
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(y, m - 1, d);
  if (new Date(ms).getUTCMonth() !== m - 1 || d < 1) throw new SummaryError(`not a real date: "${raw}"`);
  return ms / 86_400_000;
}

export interface TransactionOptions {
  customer: string;
  date: string;
  amount?: string;
  unit: 'day' | 'week';
  calibrationEnd: string;
}

export interface TransactionSummary extends Summary {
  customers: string[];
  /** Repeat purchases after the calibration period, per customer (for holdout checks). */
  holdout: Float64Array;
}

export async function summariseTransactions(file: string, options: TransactionOptions): Promise<TransactionSummary> {
  const { header, rows } = await table(file);
  const customerAt = columnIndex(file, header, options.customer, 'the customer');
  const dateAt = columnIndex(file, header, options.date, 'the date');
  const amountAt = options.amount ? columnIndex(file, header, options.amount, 'the amount') : -1;
  const end = calendarDay(options.calibrationEnd);
  // Per customer: each purchase day and what was spent that day.
  const days = new Map<string, Map<number, number>>();
  for await (const row of rows) {
    if (row.values.every((v) => v === '')) continue;
    const customer = row.values[customerAt] ?? '';
    if (!customer) throw new SummaryError(`${file}: row ${row.rowNumber}, column "${options.customer}": the customer is empty`);
    let day: number;
    try {
      day = calendarDay(row.values[dateAt] ?? '');
    } catch (error) {
      throw new SummaryError(`${file}: row ${row.rowNumber}, column "${options.date}": ${(error as Error).message}`);
    }
    let amount = 0;
    if (amountAt >= 0) {
      try {
        amount = parseMoney(row.values[amountAt] ?? '');
      } catch (error) {
        throw new SummaryError(`${file}: row ${row.rowNumber}, column "${options.amount}": ${(error as Error).message}`);
      }
    }
    let own = days.get(customer);
    if (!own) days.set(customer, (own = new Map()));
    own.set(day, (own.get(day) ?? 0) + amount);
  }
  const unit = options.unit === 'week' ? 7 : 1;
  const customers: string[] = [];
  const x: number[] = [];
  const tx: number[] = [];
  const T: number[] = [];
  const m: number[] = [];
  const holdout: number[] = [];
  for (const [customer, purchases] of days) {
    const sorted = [...purchases.keys()].sort((a, b) => a - b);
    const first = sorted[0];
    if (first > end) continue; // first bought after the calibration period: not in this cohort
    const calibration = sorted.filter((d) => d <= end);
    const repeats = calibration.slice(1);
    customers.push(customer);
    x.push(repeats.length);
    tx.push((calibration[calibration.length - 1] - first) / unit);
    T.push((end - first) / unit);
    m.push(repeats.length > 0 ? repeats.reduce((sum, d) => sum + purchases.get(d)!, 0) / repeats.length : 0);
    holdout.push(sorted.length - calibration.length);
  }
  return {
    customers,
    x: Float64Array.from(x),
    tx: Float64Array.from(tx),
    T: Float64Array.from(T),
    m: amountAt >= 0 ? Float64Array.from(m) : undefined,
    holdout: Float64Array.from(holdout),
  };
}
