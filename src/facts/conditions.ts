/**
 * The comparison at the leaves of both condition trees (segments and rule tags): a value the
 * facts store holds — a tag's value, a profile field, a statistic — compared with the condition's
 * value by an operator. Presence (exists / missing) is the caller's: each tree knows where its
 * operand comes from. Every value is a bound parameter; the column is the caller's fixed SQL.
 */
import { InputError } from '../kernel/errors.ts';
import type { ValueType } from './tag-values.ts';

/** Binds a value as a parameter of a ClickHouse type and returns its placeholder (`{p0:Float64}`). */
export type Bind = (value: unknown, type: string) => string;

const OPERATORS = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** A value compared with numbers: a finite number that a parameter holds exactly, or refused by name. */
function number(value: unknown): number {
  const n = typeof value === 'string' && value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER)
    throw new InputError(`value: ${JSON.stringify(value).slice(0, 60)} is compared with numbers, and is not a number`);
  return n;
}

/**
 * `column` (of `type`) compared with a condition's value by `op` (eq, ne, gt, gte, lt, lte, in,
 * between). A number column takes numbers, or text that reads as one; a boolean true, 'true' or 1;
 * a date column must already be text (YYYY-MM-DD) and compares as text. A list column holds when it
 * has any of the values (ne: none of them).
 */
export function compareValue(column: string, type: ValueType, op: string, value: unknown, bind: Bind): string {
  const sqlType = type === 'number' ? 'Float64' : type === 'boolean' ? 'UInt8' : 'String';
  const cast = (v: unknown) => (type === 'number' ? number(v) : type === 'boolean' ? (v === true || v === 'true' || v === 1 ? 1 : 0) : String(v));
  if (type === 'string_list') {
    const values = (Array.isArray(value) ? value : [value]).map(String);
    const any = `hasAny(${column}, ${bind(values, 'Array(String)')})`;
    return op === 'ne' ? `NOT ${any}` : any;
  }
  switch (op) {
    case 'in':
      return `${column} IN ${bind((value as unknown[]).map(cast), `Array(${sqlType})`)}`;
    case 'between': {
      const [low, high] = value as unknown[];
      return `${column} BETWEEN ${bind(cast(low), sqlType)} AND ${bind(cast(high), sqlType)}`;
    }
    default:
      if (!Object.hasOwn(OPERATORS, op)) throw new InputError(`op: ${op} compares nothing (${[...Object.keys(OPERATORS), 'in', 'between'].join(', ')})`);
      return `${column} ${OPERATORS[op as keyof typeof OPERATORS]} ${bind(cast(value), sqlType)}`;
  }
}
