/**
 * The comparison at the leaves of both condition trees — a segment's tag and profile conditions, a
 * rule tag's tag, profile and statistic conditions: an operator and the value it compares with. One
 * set of operators, one value shape and one check, so a condition means the same in both (and
 * src/facts/conditions.ts turns it into the same SQL).
 */
import { z } from 'zod';

// Numbers are bound as parameters, which hold whole numbers only up to 2^53: larger ones are refused here, by name, not by the engine.
const SAFE = Number.MAX_SAFE_INTEGER;
const bounded = z.number({ error: 'must be a number' }).min(-SAFE, `must be between -${SAFE} and ${SAFE}`).max(SAFE, `must be between -${SAFE} and ${SAFE}`);
/** One value a condition compares with. */
export const comparedScalar = z.union([z.string().max(2000), bounded, z.boolean()]);
export type ComparedScalar = z.infer<typeof comparedScalar>;

export const COMPARISON_OPS = ['eq', 'ne', 'in', 'between', 'gt', 'gte', 'lt', 'lte', 'exists', 'missing'] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];
export type ComparisonValue = string | number | boolean | Array<string | number | boolean>;

/** The operator and value fields of a leaf (spread into its object schema). */
export const comparisonShape = {
  op: z.enum(COMPARISON_OPS),
  value: z.union([comparedScalar, z.array(comparedScalar)]).optional(),
};

/** Checks an operator against its value: in takes a list, between a [low, high] pair, exists/missing nothing, the others one value. */
export function checkComparison(node: { op: ComparisonOp; value?: unknown }, ctx: z.RefinementCtx): void {
  const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['value'], message });
  if (node.op === 'exists' || node.op === 'missing') {
    if (node.value !== undefined) issue(`${node.op} takes no value`);
  } else if (node.op === 'in') {
    if (!Array.isArray(node.value) || node.value.length === 0) issue('in needs a non-empty list of values');
  } else if (node.op === 'between') {
    if (!Array.isArray(node.value) || node.value.length !== 2) issue('between needs [low, high]');
  } else if (node.value === undefined) issue(`${node.op} needs a value`);
  else if (Array.isArray(node.value)) issue(`${node.op} needs one value, not a list (in takes a list)`);
}
