/**
 * The comparison at the leaves of both condition trees — a segment's tag and profile conditions, a
 * rule tag's tag, profile and statistic conditions: an operator and the value it compares with. One
 * set of operators, one value shape and one check, so a condition means the same in both (and
 * src/facts/conditions.ts turns it into the same SQL).
 */
import { z } from 'zod';
import { PROFILE_FIELD_TYPES, type ProfileField } from './profile.ts';

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

// ——— The tree: one grammar for segments and rule tags ———

/** A tag key as a condition names it. */
const TAG_KEY = /^[a-z][a-z0-9_]{1,62}$/;

/**
 * A tree of conditions over some leaves: a group of which `all` or `any` must hold, a negation, or a
 * leaf. Segments and rule tags share it and differ only in their leaves.
 */
export type ConditionTree<Leaf> = { type: 'group'; match: 'all' | 'any'; conditions: ConditionTree<Leaf>[] } | { type: 'not'; condition: ConditionTree<Leaf> } | Leaf;

/** A leaf on another tag's value (a segment's may read the run of an earlier day: `asOf`). */
export type TagLeaf = { type: 'tag'; tag: string; op: ComparisonOp; value?: ComparisonValue };
/** A leaf on a member profile field. */
export type ProfileLeaf = { type: 'profile'; field: ProfileField; op: ComparisonOp; value?: ComparisonValue };

/** The tag leaf, with any fields a tree adds after the comparison (a segment's asOf). */
export function tagLeafSchema<Extra extends z.ZodRawShape>(extra: Extra) {
  return z
    .object({ type: z.literal('tag'), tag: z.string().regex(TAG_KEY, 'a tag key'), ...comparisonShape, ...extra })
    .strict()
    .superRefine((node, ctx) => checkComparison(node as { op: ComparisonOp; value?: unknown }, ctx));
}

/** The profile leaf: a number field compares with numbers (or text that reads as one). */
export const profileLeafSchema = z
  .object({ type: z.literal('profile'), field: z.enum(Object.keys(PROFILE_FIELD_TYPES) as [ProfileField, ...ProfileField[]]), ...comparisonShape })
  .strict()
  .superRefine(checkComparison)
  .superRefine((node, ctx) => {
    if (PROFILE_FIELD_TYPES[node.field] !== 'number' || node.value === undefined) return;
    const values = Array.isArray(node.value) ? node.value : [node.value];
    const wrong = values.find((v) => typeof v === 'boolean' || (typeof v === 'string' && (v.trim() === '' || !Number.isFinite(Number(v)))));
    if (wrong !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `${node.field} is a number: ${JSON.stringify(wrong).slice(0, 60)} is not one` });
  });

/**
 * The tree over `leaves` (object schemas told apart by `type`): every node has a `type`, so a
 * validation error names its node by path (`conditions[2].value`).
 */
export function conditionTreeSchema<Leaf>(leaves: readonly [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]]): z.ZodType<ConditionTree<Leaf>> {
  const tree: z.ZodType<ConditionTree<Leaf>> = z.lazy(() =>
    z.discriminatedUnion('type', [
      z.object({ type: z.literal('group'), match: z.enum(['all', 'any']), conditions: z.array(tree).min(1, 'a group needs at least one condition') }).strict(),
      z.object({ type: z.literal('not'), condition: tree }).strict(),
      ...leaves,
    ]),
  ) as z.ZodType<ConditionTree<Leaf>>;
  return tree;
}

/** Deeper or bigger trees are no one's condition and only make the SQL (and the engine's parser) work: refused. */
const MAX_TREE_DEPTH = 32;
const MAX_TREE_NODES = 500;

/** Checks the depth and size of the trees under `roots` (counted without recursion). */
export function checkTreeSize<Leaf>(roots: ConditionTree<Leaf>[], ctx: z.RefinementCtx): void {
  let size = 0;
  let depth = 0;
  const stack: Array<[ConditionTree<Leaf>, number]> = roots.map((c) => [c, 1]);
  while (stack.length > 0) {
    const [c, level] = stack.pop()!;
    size++;
    depth = Math.max(depth, level);
    const node = c as { type?: string; conditions?: ConditionTree<Leaf>[]; condition?: ConditionTree<Leaf> };
    if (node.type === 'group') for (const child of node.conditions!) stack.push([child, level + 1]);
    if (node.type === 'not') stack.push([node.condition!, level + 1]);
  }
  if (depth > MAX_TREE_DEPTH) ctx.addIssue({ code: 'custom', message: `nested ${depth} levels deep; at most ${MAX_TREE_DEPTH}` });
  if (size > MAX_TREE_NODES) ctx.addIssue({ code: 'custom', message: `${size} conditions in all; at most ${MAX_TREE_NODES}` });
}

/** Walks a tree's leaves (without recursion), in order. */
export function treeLeaves<Leaf>(root: ConditionTree<Leaf>): Leaf[] {
  const leaves: Leaf[] = [];
  const stack: ConditionTree<Leaf>[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()! as { type?: string; conditions?: ConditionTree<Leaf>[]; condition?: ConditionTree<Leaf> };
    if (node.type === 'group') stack.push(...[...node.conditions!].reverse());
    else if (node.type === 'not') stack.push(node.condition!);
    else leaves.push(node as Leaf);
  }
  return leaves;
}
