/**
 * What a role that sees personal data masked may compare on in a segment tree it writes. A count is
 * an answer: comparing a masked value with guesses, one count at a time, recovers it (a birthday
 * shown as 1979-**-** found in 9 counts by halving `birthday lte`; a phone inside an event's
 * properties by `contains`). Such a role therefore compares only on what its views show in clear:
 *
 * - profile: gender, level, city, channel, points, registered_at as they are; birthday by whole
 *   years only (gte/lt 1 January, lte/gt 31 December, between the two, exists/missing);
 * - tags: not those whose key names personal data (exists/missing only), no value that looks like
 *   personal data, and text values by equality only (a range over text halves its way to a value);
 * - event properties (events and sequences): no key that names personal data (exists only), no value
 *   that looks like personal data (a mobile, an email, an ID number, seven digits or more, as a
 *   number too), no `contains` with a digit or an @ (a part of a number is a step towards it).
 *
 * Decided by the tree alone, never by what the data holds, so a refusal says nothing about anyone.
 * Saved segments are written by admins and operators (who see personal data); a masked role may
 * count them and refer to them.
 */
import { looksPersonal, personalKey } from '../access/masking.ts';
import type { Condition, PropertyFilter } from '../contract/segments.ts';

const YEAR_START = /^\d{4}-01-01$/;
const YEAR_END = /^\d{4}-12-31$/;
const RANGE_OPS = new Set(['gt', 'gte', 'lt', 'lte', 'between']);
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 60);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

function birthday(op: string, value: unknown): string | undefined {
  if (op === 'exists' || op === 'missing') return undefined;
  const ok =
    ((op === 'gte' || op === 'lt') && YEAR_START.test(String(value))) ||
    ((op === 'lte' || op === 'gt') && YEAR_END.test(String(value))) ||
    (op === 'between' && Array.isArray(value) && YEAR_START.test(String(value[0])) && YEAR_END.test(String(value[1])));
  return ok
    ? undefined
    : `birthday is shown to your role as its year only, so it is compared by whole years (gte/lt YYYY-01-01, lte/gt YYYY-12-31, between [YYYY-01-01, YYYY-12-31], exists, missing); ${op} ${show(value)} is not`;
}

function tag(key: string, op: string, value: unknown): string | undefined {
  if (op === 'exists' || op === 'missing') return undefined;
  if (personalKey(key)) return `tag "${key}" holds personal data your role sees masked: only exists or missing`;
  const values = list(value);
  const personal = values.find(looksPersonal);
  if (personal !== undefined) return `${show(personal)} looks like personal data (a phone, an email, an ID number or a long number), which your role sees masked`;
  if (RANGE_OPS.has(op) && values.some((v) => typeof v === 'string' && !/^\d{4}-\d{2}-\d{2}$/.test(v)))
    return `${op} on text narrows down a value your role may see masked: compare text with eq, ne or in`;
  return undefined;
}

function property(f: PropertyFilter): string | undefined {
  if (personalKey(f.property)) return f.op === 'exists' ? undefined : `property "${f.property}" holds personal data your role sees masked: only exists`;
  const values = list(f.value);
  const personal = values.find(looksPersonal);
  if (personal !== undefined) return `${show(personal)} looks like personal data (a phone, an email, an ID number or a long number), which your role sees masked`;
  if (f.op === 'contains' && values.some((v) => /[\d@]/.test(String(v))))
    return `contains with digits or @ searches inside values your role sees masked (phones, emails): search for words`;
  return undefined;
}

/** The first condition a masked role may not compare on, as `path: why`; undefined when there is none. */
export function maskedConditionProblem(conditions: Condition[]): string | undefined {
  const stack: Array<[Condition, string]> = conditions.map((c, i) => [c, `conditions[${i}]`]);
  // In document order: the first one named is the first one written.
  stack.reverse();
  while (stack.length > 0) {
    const [c, path] = stack.pop()!;
    let problem: string | undefined;
    if (c.type === 'group') stack.push(...c.conditions.map((child, i): [Condition, string] => [child, `${path}.conditions[${i}]`]).reverse());
    else if (c.type === 'not') stack.push([c.condition, `${path}.condition`]);
    else if (c.type === 'profile' && c.field === 'birthday') problem = birthday(c.op, c.value);
    else if (c.type === 'tag') problem = tag(c.tag, c.op, c.value);
    else if (c.type === 'event') {
      for (const [i, f] of c.where.entries()) {
        const p = property(f);
        if (p) return `${path}.where[${i}]: ${p}`;
      }
    } else if (c.type === 'sequence') {
      for (const side of ['first', 'then'] as const) {
        for (const [i, f] of c[side].where.entries()) {
          const p = property(f);
          if (p) return `${path}.${side}.where[${i}]: ${p}`;
        }
      }
    }
    if (problem) return `${path}: ${problem}`;
  }
  return undefined;
}
