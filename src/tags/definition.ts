/**
 * Tag definitions: a named, typed value per person with a Chinese and an English name, computed by
 * one of the kinds below. Definitions live in the state store; each run's values in the facts store.
 */
import { z } from 'zod';
import { VALUE_TYPES, type ValueType } from '../facts/tag-values.ts';
import { PROFILE_FIELDS, type ProfileField } from '../facts/member-profile.ts';
import {
  checkComparison,
  checkTreeSize,
  comparisonShape,
  conditionTreeSchema,
  profileLeafSchema,
  tagLeafSchema,
  treeLeaves,
  type ComparisonOp,
  type ComparisonValue,
  type ConditionTree,
  type ProfileLeaf,
  type TagLeaf,
} from '../contract/conditions.ts';
import { ruleConditionTree } from '../stores/state/legacy-rule-conditions.ts';

export const TAG_KEY = /^[a-z][a-z0-9_]{1,62}$/;
/** Words the tag routes use for themselves (/api/v1/tags/run, /schedule, /packs). */
const RESERVED_KEYS = ['run', 'schedule', 'packs'];
const tagKey = z
  .string()
  .regex(TAG_KEY, 'lower-case letters, digits and _, starting with a letter (2–63 characters)')
  .refine((key) => !RESERVED_KEYS.includes(key), { message: `${RESERVED_KEYS.join(' and ')} are reserved words` });

/** A bucket of a numeric statistic: from ≤ value < to (either end open). */
const bucket = z.object({ label: z.string().min(1), from: z.number().optional(), to: z.number().optional() });

const common = {
  key: tagKey,
  name: z.object({ zh: z.string().min(1), en: z.string().min(1) }),
  description: z.string().max(2000).optional(),
  /** Tags whose values this one reads: a run computes them first. */
  dependsOn: z.array(tagKey).default([]),
  /** A run that finds no one: `clear` leaves the tag with no values, `keep` keeps the last run's. */
  onEmpty: z.enum(['clear', 'keep']).default('keep'),
};

/** Purchases: orders that count as a purchase (not cancelled, not unpaid, not refunded in full), net of refunds. */
export const PURCHASE_FIELDS = {
  amount: 'number',
  item_count: 'number',
  discount: 'number',
  ordered_at: 'date',
  source: 'string',
  store_id: 'string',
} as const;
export const EVENT_FIELDS = { timestamp: 'date', event: 'string' } as const;

export const statisticSchema = z
  .object({
    ...common,
    kind: z.literal('statistic'),
    of: z.enum(['purchases', 'events']),
    /** share: the fraction (0–1) of the purchases whose numeric field is above zero (e.g. discounted ones). */
    measure: z.enum(['count', 'sum', 'avg', 'min', 'max', 'first', 'last', 'share']),
    /** What is measured (not for count): a purchase field (amount is net of refunds) or an event field. */
    field: z.string().optional(),
    /** The last N days up to the base date, in the workspace's time zone; all history when absent. */
    windowDays: z.number().int().min(1).max(3650).optional(),
    /** Only these platforms (purchases) or this event name (events). */
    sources: z.array(z.string().min(1)).optional(),
    event: z.string().min(1).optional(),
    /** Numeric results become the label of the bucket they fall in. */
    buckets: z.array(bucket).min(1).optional(),
  })
  .superRefine((tag, ctx) => {
    checkStatistic(tag, ctx, []);
    if (tag.buckets && statisticValueType({ ...tag, buckets: undefined }) !== 'number') {
      ctx.addIssue({ code: 'custom', path: ['buckets'], message: 'buckets need a numeric result' });
    }
  });

function checkStatistic(tag: InlineStatistic, ctx: z.RefinementCtx, at: string[]) {
  const fields: Record<string, string> = tag.of === 'purchases' ? PURCHASE_FIELDS : EVENT_FIELDS;
  if (tag.measure === 'count') {
    if (tag.field) ctx.addIssue({ code: 'custom', path: [...at, 'field'], message: 'count takes no field' });
  } else if (!tag.field || !Object.hasOwn(fields, tag.field)) {
    // Own keys only: `in` would also accept constructor, toString, __proto__ … from Object's prototype.
    ctx.addIssue({ code: 'custom', path: [...at, 'field'], message: `${tag.measure} needs a field of ${tag.of}: ${Object.keys(fields).join(', ')}` });
  } else if ((tag.measure === 'sum' || tag.measure === 'avg' || tag.measure === 'share') && fields[tag.field] !== 'number') {
    ctx.addIssue({ code: 'custom', path: [...at, 'field'], message: `${tag.measure} needs a numeric field (${tag.field} is a ${fields[tag.field]})` });
  }
  if (tag.event && tag.of !== 'events') ctx.addIssue({ code: 'custom', path: [...at, 'event'], message: 'event filters events only' });
  if (tag.sources && tag.of !== 'purchases') ctx.addIssue({ code: 'custom', path: [...at, 'sources'], message: 'sources filter purchases only' });
}

export type StatisticTag = z.infer<typeof statisticSchema>;

/** What a preference ranks: from order lines (category, sku, product) or from purchases. */
export const PREFERENCE_DIMENSIONS = ['category', 'sku', 'product', 'source', 'store', 'day_part'] as const;

export const preferenceSchema = z.object({
  ...common,
  kind: z.literal('preference'),
  /** day_part: night (0–5), morning (6–11), afternoon (12–17), evening (18–23), in the workspace zone. */
  dimension: z.enum(PREFERENCE_DIMENSIONS),
  by: z.enum(['count', 'amount']).default('count'),
  /** 1: the favourite (a string); more: the favourites in order (a string list). */
  top: z.number().int().min(1).max(20).default(1),
  windowDays: z.number().int().min(1).max(3650).optional(),
});
export type PreferenceTag = z.infer<typeof preferenceSchema>;

/** The eight classic RFM groups, by whether recency, frequency and monetary value beat the average. */
export const RFM_GROUPS = {
  '111': '重要价值客户',
  '101': '重要发展客户',
  '011': '重要保持客户',
  '001': '重要挽留客户',
  '110': '一般价值客户',
  '100': '一般发展客户',
  '010': '一般保持客户',
  '000': '一般挽留客户',
} as const;

export const rfmSchema = z
  .object({
    ...common,
    kind: z.literal('rfm'),
    /** One of the R, F, M scores (1–bins, higher is better), their sum, or the group (重要价值客户 …). */
    output: z.enum(['r_score', 'f_score', 'm_score', 'score', 'group']),
    /** Purchases in the last N days count (default 365); recency is days since the last of them. */
    windowDays: z.number().int().min(1).max(3650).default(365),
    /**
     * Scores by quantiles among the buyers (`bins` equal groups), or by thresholds: ascending cut
     * points for days since the last purchase (fewer is better), purchases and spend.
     */
    scoring: z
      .discriminatedUnion('method', [
        z.object({ method: z.literal('quantiles'), bins: z.number().int().min(2).max(10).default(5) }),
        z.object({
          method: z.literal('thresholds'),
          recencyDays: z.array(z.number().min(0)).min(1),
          frequency: z.array(z.number().min(0)).min(1),
          monetary: z.array(z.number().min(0)).min(1),
        }),
      ])
      .default({ method: 'quantiles', bins: 5 }),
    /** The groups compare each person with the buyers' mean (the classic rule) or median. */
    groupSplit: z.enum(['mean', 'median']).default('mean'),
  })
  .superRefine((tag, ctx) => {
    if (tag.scoring.method !== 'thresholds') return;
    for (const name of ['recencyDays', 'frequency', 'monetary'] as const) {
      const cuts = tag.scoring[name];
      if (cuts.some((v, i) => i > 0 && v <= cuts[i - 1])) ctx.addIssue({ code: 'custom', path: ['scoring', name], message: 'cut points must be ascending' });
    }
  });
export type RfmTag = z.infer<typeof rfmSchema>;

export const cycleSchema = z.object({
  ...common,
  kind: z.literal('purchase_cycle'),
  /**
   * The person's median days between purchases (two purchase days or more), the day they are due
   * again, or the days since their last purchase.
   */
  output: z.enum(['cycle_days', 'next_due', 'days_since_last']),
  windowDays: z.number().int().min(1).max(3650).optional(),
});
export type CycleTag = z.infer<typeof cycleSchema>;

export const LIFECYCLE_STAGES = ['新客', '成长', '成熟', '衰退', '沉睡', '流失'] as const;

export const lifecycleSchema = z
  .object({
    ...common,
    kind: z.literal('lifecycle'),
    windowDays: z.number().int().min(1).max(3650).optional(),
    /** Purchases up to which a buyer who is not overdue is 成长 (above: 成熟). */
    growingMax: z.number().int().min(2).default(3),
    /** Overdue up to this many cycles since the last purchase: 衰退; then 沉睡 up to `churnedAfter`; then 流失. */
    dormantAfter: z.number().min(1).default(2),
    churnedAfter: z.number().min(1).default(4),
  })
  .superRefine((tag, ctx) => {
    if (tag.churnedAfter <= tag.dormantAfter) ctx.addIssue({ code: 'custom', path: ['churnedAfter'], message: 'must be more than dormantAfter' });
  });
export type LifecycleTag = z.infer<typeof lifecycleSchema>;

export const MODEL_OUTPUTS = ['p_alive', 'expected_purchases', 'repurchase_probability', 'expected_spend', 'clv'] as const;

export const modelSchema = z.object({
  ...common,
  kind: z.literal('model'),
  /** BG/NBD for purchases (with Gamma-Gamma for spend), fitted on the workspace's purchases at each run. */
  model: z.literal('bgnbd').default('bgnbd'),
  /**
   * p_alive; expected_purchases and repurchase_probability (at least one purchase) within the
   * horizon; expected_spend per purchase; clv: expected purchases within the horizon × expected spend.
   */
  output: z.enum(MODEL_OUTPUTS),
  horizonDays: z.number().int().min(1).max(3650).default(30),
  /** The time unit the model is fitted in. */
  unit: z.enum(['day', 'week']).default('week'),
});
export type ModelTag = z.infer<typeof modelSchema>;

/** A statistic computed inline for a rule (the same fields as a statistic tag, without buckets). */
const inlineStatisticShape = {
  of: z.enum(['purchases', 'events']),
  measure: z.enum(['count', 'sum', 'avg', 'min', 'max', 'first', 'last', 'share']),
  field: z.string().optional(),
  windowDays: z.number().int().min(1).max(3650).optional(),
  sources: z.array(z.string().min(1)).optional(),
  event: z.string().min(1).optional(),
};
export type InlineStatistic = { of: 'purchases' | 'events'; measure: StatisticTag['measure']; field?: string; windowDays?: number; sources?: string[]; event?: string };

/** A rule's own leaf: a statistic over the person's purchases or events, computed inline. */
export type StatisticLeaf = { type: 'statistic'; statistic: InlineStatistic; op: ComparisonOp; value?: ComparisonValue };
/** What a rule's condition compares: another tag's value, a profile field (the leaves segments use), or a statistic. */
export type RuleLeaf = TagLeaf | ProfileLeaf | StatisticLeaf;
/** A rule's condition: the tree segments use (groups of all/any, not), over the rule's leaves. */
export type Condition = ConditionTree<RuleLeaf>;

const statisticLeafSchema = z
  .object({ type: z.literal('statistic'), statistic: z.object(inlineStatisticShape).strict(), ...comparisonShape })
  .strict()
  .superRefine((c, ctx) => {
    checkComparison(c, ctx);
    checkStatistic(c.statistic, ctx, ['statistic']);
  });

export const conditionSchema = conditionTreeSchema<RuleLeaf>([tagLeafSchema({}), profileLeafSchema, statisticLeafSchema]);

/**
 * A case's condition as clients send it: the tree, or the shape rules had before it (`{ all: [...] }`,
 * `{ tag, op, value }` …), rewritten to the tree here so existing scripts and pack files keep working.
 * Typed as the tree, which is what code writes.
 */
const whenSchema = z.preprocess(
  ruleConditionTree,
  conditionSchema.superRefine((c, ctx) => checkTreeSize([c], ctx)),
) as unknown as z.ZodType<Condition>;

/** The tags a condition reads. */
export function conditionTags(condition: Condition): string[] {
  return treeLeaves(condition).flatMap((leaf) => (leaf.type === 'tag' ? [leaf.tag] : []));
}

export const ruleSchema = z
  .object({
    ...common,
    kind: z.literal('rule'),
    valueType: z.enum(['string', 'number', 'boolean']).default('string'),
    /** The first case whose condition holds gives the value; otherwise `else` (or no value). */
    cases: z.array(z.object({ when: whenSchema, value: z.union([z.string(), z.number(), z.boolean()]) })).min(1),
    else: z.union([z.string(), z.number(), z.boolean()]).optional(),
  })
  .transform((tag) => ({ ...tag, dependsOn: [...new Set([...tag.dependsOn, ...tag.cases.flatMap((c) => conditionTags(c.when))])] }))
  .superRefine((tag, ctx) => {
    const expected = tag.valueType === 'boolean' ? 'boolean' : tag.valueType === 'number' ? 'number' : 'string';
    [...tag.cases.map((c) => c.value), ...(tag.else === undefined ? [] : [tag.else])].forEach((value, i) => {
      if (typeof value !== expected)
        ctx.addIssue({ code: 'custom', path: i < tag.cases.length ? ['cases', i, 'value'] : ['else'], message: `expected a ${expected} (valueType ${tag.valueType})` });
    });
    if (tag.dependsOn.includes(tag.key)) ctx.addIssue({ code: 'custom', path: ['cases'], message: 'a rule cannot read its own tag' });
  });
export type RuleTag = z.infer<typeof ruleSchema>;

/** Set by staff on one person at a time (who and when are kept); a run publishes the values set. */
export const manualSchema = z.object({
  ...common,
  kind: z.literal('manual'),
  valueType: z.enum(VALUE_TYPES).default('string'),
  /** The values staff may choose from (none: any value of the type). */
  options: z.array(z.string().min(1)).optional(),
});
export type ManualTag = z.infer<typeof manualSchema>;

/**
 * Subscription packages (orders of weekly shipments): the person's status over their packages
 * (active while any has shipments to come and the next is not paused; paused; ended) or how many
 * shipments remain. Shipment rows tell what shipped; without them, one shipment a week is assumed.
 */
export const subscriptionSchema = z.object({
  ...common,
  kind: z.literal('subscription'),
  output: z.enum(['status', 'remaining_shipments']),
});
export type SubscriptionTag = z.infer<typeof subscriptionSchema>;

/**
 * The WeCom relationship from imported contacts: whether someone on the staff has the person as an
 * external contact (for everyone OneID knows), days since the first staff member added them, the
 * staff member who added them first, or how many staff have them.
 */
export const wecomSchema = z.object({
  ...common,
  kind: z.literal('wecom'),
  output: z.enum(['has_owner', 'days_since_added', 'owner', 'owner_count']),
});
export type WecomTag = z.infer<typeof wecomSchema>;

/**
 * Tiers over another tag's numeric values: by share of people from the highest value down (the last
 * tier takes the rest), or by minimum values from the highest tier down.
 */
export const tierSchema = z
  .object({
    ...common,
    kind: z.literal('tier'),
    of: tagKey,
    method: z.enum(['quantiles', 'thresholds']),
    /** Highest first. quantiles: `share` of the people (0–1) per tier; thresholds: `min` per tier. */
    tiers: z.array(z.object({ label: z.string().min(1), share: z.number().gt(0).max(1).optional(), min: z.number().optional() })).min(2),
  })
  .transform((tag) => ({ ...tag, dependsOn: [...new Set([...tag.dependsOn, tag.of])] }))
  .superRefine((tag, ctx) => {
    tag.tiers.forEach((tier, i) => {
      const last = i === tag.tiers.length - 1;
      if (tag.method === 'quantiles' && !last && tier.share === undefined)
        ctx.addIssue({ code: 'custom', path: ['tiers', i, 'share'], message: 'each tier but the last needs a share' });
      if (tag.method === 'thresholds' && !last && tier.min === undefined)
        ctx.addIssue({ code: 'custom', path: ['tiers', i, 'min'], message: 'each tier but the last needs a min' });
      if (tag.method === 'thresholds' && i > 0 && tier.min !== undefined && tier.min >= (tag.tiers[i - 1].min ?? Infinity))
        ctx.addIssue({ code: 'custom', path: ['tiers', i, 'min'], message: 'minimums must fall from the first tier to the last' });
    });
    const shares = tag.tiers.reduce((sum, t) => sum + (t.share ?? 0), 0);
    if (tag.method === 'quantiles' && shares > 1 + 1e-9) ctx.addIssue({ code: 'custom', path: ['tiers'], message: `shares add up to ${shares}, more than 1` });
    if (tag.of === tag.key) ctx.addIssue({ code: 'custom', path: ['of'], message: 'a tier tag cannot read its own tag' });
  });
export type TierTag = z.infer<typeof tierSchema>;

/**
 * A read-only ClickHouse query returning `person_id, value`. It sees only this workspace's rows of
 * the tables named in SQL_TABLES, and may use {base:Date} (the run's base date) and {tz:String}.
 */
export const sqlSchema = z.object({
  ...common,
  kind: z.literal('sql'),
  valueType: z.enum(VALUE_TYPES).default('string'),
  query: z.string().min(10).max(20_000),
});
export type SqlTag = z.infer<typeof sqlSchema>;

/** A profile field from member records, as it is (the latest non-empty value). */
export const profileSchema = z.object({
  ...common,
  kind: z.literal('profile'),
  field: z.enum(Object.keys(PROFILE_FIELDS) as [ProfileField, ...ProfileField[]]),
});
export type ProfileTag = z.infer<typeof profileSchema>;

/** Values from a file of identifier → value (`siyu tags import`), matched to people by OneID at each run. */
export const importedSchema = z.object({
  ...common,
  kind: z.literal('imported'),
  valueType: z.enum(VALUE_TYPES).default('string'),
  /** The identifier type of the file's first column: phone, email, unionid … */
  identifierType: z.string().regex(/^[a-z][a-z0-9_]{1,40}$/),
});
export type ImportedTag = z.infer<typeof importedSchema>;

export const tagDefinitionSchema = z.discriminatedUnion('kind', [
  statisticSchema,
  preferenceSchema,
  rfmSchema,
  cycleSchema,
  lifecycleSchema,
  modelSchema,
  ruleSchema,
  manualSchema,
  subscriptionSchema,
  wecomSchema,
  tierSchema,
  sqlSchema,
  importedSchema,
  profileSchema,
]);
export type TagDefinition = z.infer<typeof tagDefinitionSchema>;
export type TagDefinitionInput = z.input<typeof tagDefinitionSchema>;

export function statisticValueType(tag: InlineStatistic & { buckets?: unknown }): ValueType {
  if (tag.buckets) return 'string';
  if (tag.measure === 'count' || tag.measure === 'share') return 'number';
  const fields: Record<string, string> = tag.of === 'purchases' ? PURCHASE_FIELDS : EVENT_FIELDS;
  return (tag.field && Object.hasOwn(fields, tag.field) ? fields[tag.field] : 'number') as ValueType;
}

/** The type of a tag's values. */
export function valueTypeOf(tag: TagDefinition): ValueType {
  switch (tag.kind) {
    case 'statistic':
      return statisticValueType(tag);
    case 'preference':
      return tag.top === 1 ? 'string' : 'string_list';
    case 'rfm':
      return tag.output === 'group' ? 'string' : 'number';
    case 'purchase_cycle':
      return tag.output === 'next_due' ? 'date' : 'number';
    case 'lifecycle':
      return 'string';
    case 'model':
      return 'number';
    case 'rule':
      return tag.valueType;
    case 'manual':
    case 'sql':
    case 'imported':
      return tag.valueType;
    case 'subscription':
      return tag.output === 'status' ? 'string' : 'number';
    case 'wecom':
      return tag.output === 'has_owner' ? 'boolean' : tag.output === 'owner' ? 'string' : 'number';
    case 'tier':
      return 'string';
    case 'profile':
      return PROFILE_FIELDS[tag.field];
  }
}

/**
 * The order to compute tags in: every tag after the tags it depends on. A cycle is an error naming
 * it; a dependency outside `tags` is taken as already computed.
 */
export function runOrder(tags: TagDefinition[]): TagDefinition[] {
  const byKey = new Map(tags.map((t) => [t.key, t]));
  const ordered: TagDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (tag: TagDefinition, path: string[]) => {
    if (state.get(tag.key) === 'done') return;
    if (state.get(tag.key) === 'visiting') throw new Error(`tags depend on each other in a cycle: ${[...path, tag.key].join(' → ')}`);
    state.set(tag.key, 'visiting');
    for (const dependency of tag.dependsOn) {
      const other = byKey.get(dependency);
      if (other) visit(other, [...path, tag.key]);
    }
    state.set(tag.key, 'done');
    ordered.push(tag);
  };
  for (const tag of tags) visit(tag, []);
  return ordered;
}
