/**
 * Segments (人群圈选): who matches a tree of conditions. The root says whether `all` or `any` of its
 * conditions must hold; a condition is a nested group, a negation, or a leaf over tags, profile
 * fields, identifiers, events, event sequences, orders, another segment or a random share. Each
 * node has a `type`, so a validation error names its node by path (`conditions[2].window.days`).
 */
import { z } from 'zod';
import { calendarDate } from './dates.ts';
import { checkTreeSize, comparedScalar, conditionTreeSchema, profileLeafSchema, tagLeafSchema, type ConditionTree, type ProfileLeaf, type TagLeaf } from './conditions.ts';

export const SEGMENT_KEY = /^[a-z][a-z0-9_]{1,62}$/;
const segmentKey = z.string().regex(SEGMENT_KEY, 'lower-case letters, digits and _, starting with a letter (2–63 characters)');
const date = calendarDate;
// Numbers are bound as parameters, which hold whole numbers only up to 2^53: larger ones are refused here, by name, not by the engine.
const SAFE = Number.MAX_SAFE_INTEGER;
const bounded = z.number({ error: 'must be a number' }).min(-SAFE, `must be between -${SAFE} and ${SAFE}`).max(SAFE, `must be between -${SAFE} and ${SAFE}`);
const positiveInteger = z.number({ error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer').max(SAFE, `at most ${SAFE}`);
const count = z
  .number({ error: 'must be a whole number, 0 or more' })
  .int('must be a whole number, 0 or more')
  .min(0, 'must be a whole number, 0 or more')
  .max(SAFE, `at most ${SAFE}`);
/** A window or a wait longer than this says nothing more (and would overflow the engine's date arithmetic). */
const MAX_DAYS = 36_500;

/** The last N days up to the evaluation day, or the days from … to (inclusive), in the workspace's zone. */
export const windowSchema = z.union([
  z.object({ days: positiveInteger.max(MAX_DAYS, `at most ${MAX_DAYS} days`) }).strict(),
  z
    .object({ from: date, to: date })
    .strict()
    .refine((w) => w.from <= w.to, { message: 'from must be on or before to', path: ['to'] }),
]);
export type Window = z.infer<typeof windowSchema>;

/** A filter on an event property (properties JSON): text compares as text, numbers as numbers. */
const propertyFilter = z
  .object({
    property: z.string().min(1).max(200),
    op: z.enum(['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists']),
    value: z.union([comparedScalar, z.array(comparedScalar)]).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.op === 'exists') return;
    if (f.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `${f.op} needs a value` });
    if (f.op === 'in' && !Array.isArray(f.value)) ctx.addIssue({ code: 'custom', path: ['value'], message: 'in needs a list of values' });
    if (['gt', 'gte', 'lt', 'lte'].includes(f.op) && typeof f.value !== 'number') ctx.addIssue({ code: 'custom', path: ['value'], message: `${f.op} needs a number` });
  });
export type PropertyFilter = z.infer<typeof propertyFilter>;

const eventSpec = z.object({ event: z.string().min(1).max(200), where: z.array(propertyFilter).default([]) }).strict();
export type EventSpec = z.infer<typeof eventSpec>;

const duration = z
  .object({
    minutes: positiveInteger.max(MAX_DAYS * 1440, `at most ${MAX_DAYS * 1440} minutes`).optional(),
    hours: positiveInteger.max(MAX_DAYS * 24, `at most ${MAX_DAYS * 24} hours`).optional(),
    days: positiveInteger.max(MAX_DAYS, `at most ${MAX_DAYS} days`).optional(),
  })
  .strict()
  .refine((d) => d.minutes !== undefined || d.hours !== undefined || d.days !== undefined, 'give minutes, hours or days');

export function durationSeconds(d: z.infer<typeof duration>): number {
  return (d.minutes ?? 0) * 60 + (d.hours ?? 0) * 3600 + (d.days ?? 0) * 86400;
}

const range = (what: string) =>
  z
    .object({ min: bounded.min(0).optional(), max: bounded.min(0).optional() })
    .strict()
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: `${what}: min must not exceed max`, path: ['max'] });

const countRange = z
  .object({ min: count.optional(), max: count.optional() })
  .strict()
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'min must not exceed max', path: ['max'] });

/** A segment's leaves: the tree around them is the one rule tags use too (src/contract/conditions.ts). */
export type SegmentLeaf =
  | (TagLeaf & { asOf?: string })
  | ProfileLeaf
  | { type: 'identifier'; identifierType: string }
  | { type: 'event'; event: string; where: PropertyFilter[]; count: { min?: number; max?: number }; window: Window }
  | { type: 'sequence'; first: EventSpec; then: EventSpec; within: { minutes?: number; hours?: number; days?: number }; absent: boolean; window: Window }
  | { type: 'orders'; skus?: string[]; categories?: string[]; sources?: string[]; count: { min?: number; max?: number }; amount?: { min?: number; max?: number }; window?: Window }
  | { type: 'segment'; segment: string }
  | { type: 'sample'; percent: number; salt: string }
  | { type: 'list'; list: string };
export type Condition = ConditionTree<SegmentLeaf>;

export const conditionSchema = conditionTreeSchema<SegmentLeaf>([
  tagLeafSchema({ asOf: date.optional() }),
  profileLeafSchema,
  z.object({ type: z.literal('identifier'), identifierType: z.string().regex(/^[a-z][a-z0-9_]{1,40}$/, 'an identifier type like phone or unionid') }).strict(),
  z.object({ type: z.literal('event'), ...eventSpec.shape, count: countRange.default({ min: 1 }), window: windowSchema }).strict(),
  z.object({ type: z.literal('sequence'), first: eventSpec, then: eventSpec, within: duration, absent: z.boolean().default(false), window: windowSchema }).strict(),
  z
    .object({
      type: z.literal('orders'),
      skus: z.array(z.string().min(1)).min(1).optional(),
      categories: z.array(z.string().min(1)).min(1).optional(),
      sources: z.array(z.string().min(1)).min(1).optional(),
      count: countRange.default({ min: 1 }),
      amount: range('amount').optional(),
      window: windowSchema.optional(),
    })
    .strict(),
  z.object({ type: z.literal('segment'), segment: segmentKey }).strict(),
  z.object({ type: z.literal('sample'), percent: z.number().gt(0).max(100), salt: z.string().max(100).default('') }).strict(),
  // The people of an imported file of identifiers (`siyu segments import`), matched through OneID when counted.
  z.object({ type: z.literal('list'), list: segmentKey }).strict(),
]);

/** The root's conditions, with the tree's depth and size checked. */
const conditionList = z.array(conditionSchema).min(1, 'a segment needs at least one condition').superRefine(checkTreeSize);

export const segmentSchema = z
  .object({
    key: segmentKey,
    name: z.object({ zh: z.string().min(1), en: z.string().min(1) }),
    description: z.string().max(2000).optional(),
    match: z.enum(['all', 'any']).default('all'),
    conditions: conditionList,
    /** Snapshots: taken after every tag run (so daily with a daily tag schedule) when asked; the last `keep` are kept. */
    snapshots: z
      .object({ afterTagRuns: z.boolean().default(false), keep: z.number().int().min(1).max(100).default(10) })
      .strict()
      .default({ afterTagRuns: false, keep: 10 }),
  })
  .strict();
export type Segment = z.infer<typeof segmentSchema>;

/** A tree on its own (being edited, or counted from a file): what to match, and as of which day. */
export const treeSchema = z
  .object({
    match: z.enum(['all', 'any']).default('all'),
    conditions: conditionList,
    today: date.optional(),
  })
  .strict();
/** A tree being edited, as a client sends it to be counted. */
export type Tree = z.infer<typeof treeSchema>;

// ——— What the segment routes answer ———

const namedSchema = z.object({ zh: z.string(), en: z.string() });

export const snapshotSchema = z.object({ id: z.string(), segment: z.string(), trigger: z.string(), people: z.number(), evaluatedFor: z.string(), takenAt: z.string() });
export type Snapshot = z.infer<typeof snapshotSchema>;

export const segmentListSchema = z.object({ segments: z.array(segmentSchema.extend({ lastSnapshot: snapshotSchema.nullable() })) });
export const segmentReplySchema = z.object({ segment: segmentSchema });
export const segmentDetailSchema = z.object({ segment: segmentSchema, snapshots: z.array(snapshotSchema) });
export const snapshotReplySchema = z.object({ snapshot: snapshotSchema });
export const snapshotListSchema = z.object({ snapshots: z.array(snapshotSchema) });

/** Who joined and who left between two snapshots: how many, and a sample of their person ids. */
const movedSchema = z.object({ people: z.number(), sample: z.array(z.number()) });
export const snapshotDiffSchema = z.object({ segment: z.string(), from: z.string(), to: z.string(), joined: movedSchema, left: movedSchema });

/** An estimate on a hash slice of the people (1 in `slice`; exact when slice is 1), with its 95% interval. */
const segmentEstimateSchema = z.object({ estimate: z.number(), low: z.number(), high: z.number(), slice: z.number(), seconds: z.number() });
const segmentExactSchema = z.object({ people: z.number(), seconds: z.number(), method: z.enum(['bitmaps', 'scan']) });
/** POST /api/v1/segments/count: the estimate, and the exact count unless only the estimate was asked. */
export const treeCountSchema = z.object({ estimate: segmentEstimateSchema, exact: segmentExactSchema.nullable() });
export type SegmentCount = z.infer<typeof treeCountSchema>;
/** GET /api/v1/segments/:key/count: one of the two, as asked. */
export const segmentCountSchema = z.object({ estimate: segmentEstimateSchema.optional(), exact: segmentExactSchema.optional() });

export const segmentSampleSchema = z.object({
  people: z.array(z.object({ personId: z.number(), identifiers: z.array(z.object({ type: z.string(), value: z.string() })) })),
});

/** Distributions of tags inside a segment against the whole base: a number tag's summary, another tag's top values. */
export const insightsSchema = z.object({
  people: z.number(),
  base: z.number(),
  share: z.number(),
  tags: z.array(
    z.object({
      key: z.string(),
      name: namedSchema,
      type: z.string(),
      baseDate: z.string(),
      summary: z.record(z.string(), z.number().nullable()).optional().describe('a number tag: people, average and median inside and in the base (null where no one has a value)'),
      values: z
        .array(z.object({ value: z.string(), inside: z.number(), shareInside: z.number(), base: z.number(), shareBase: z.number(), lift: z.number().nullable() }))
        .optional(),
    }),
  ),
});
export type Insights = z.infer<typeof insightsSchema>;

/** People per pair of values of two tags. */
export const crossMatrixSchema = z.object({
  row: z.object({ key: z.string(), name: namedSchema }),
  column: z.object({ key: z.string(), name: namedSchema }),
  columns: z.array(z.string()),
  rows: z.array(z.object({ value: z.string(), cells: z.array(z.number()) })),
});

/** A build of the behaviour index (event counts per person, week and type). */
export const behaviourBuildSchema = z.object({
  workspaceId: z.string(),
  watermark: z.string().describe('changes logged at or after this moment (UTC) are not in the index'),
  builtAt: z.string(),
  timeZone: z.string(),
  weeks: z.array(z.string()).describe('the weeks (their Mondays) the build rebuilt'),
  seconds: z.number(),
  bits: z.record(z.string(), z.number()),
});
export type BehaviourBuild = z.infer<typeof behaviourBuildSchema>;
export const behaviourIndexStatusSchema = z.object({ build: behaviourBuildSchema.nullable(), changedPeople: z.number().nullable() });
export const behaviourIndexBuildSchema = z.object({ build: behaviourBuildSchema });

/** A file of identifiers imported as a list segment: what was read, accepted, refused and matched. */
export const listImportReportSchema = z.object({
  segment: z.string(),
  rowsRead: z.number(),
  accepted: z.number(),
  rejected: z.array(z.object({ row: z.number(), value: z.string(), expected: z.string() })),
  rejectedCount: z.number(),
  /** Accepted identifiers that belong to no one yet (they count once OneID knows them). */
  unmatched: z.number(),
  people: z.number(),
});
export type ListImportReport = z.infer<typeof listImportReportSchema>;

// ——— What the segment routes take besides a definition ———

/** The path of a segment route. */
export const segmentKeyParamsSchema = z.object({ key: z.string() });
/** An identifier type's name, as files and exports name it. */
const identifierTypeName = z.string().regex(/^[a-z][a-z0-9_]{1,40}$/);
/** POST /api/v1/segments/count: a tree, and whether only the quick estimate is wanted. */
export const treeCountRequestSchema = treeSchema.extend({ estimateOnly: z.boolean().default(false) });
export const crossQuerySchema = z.object({ rows: z.string(), columns: z.string(), segment: z.string().optional(), top: z.coerce.number().int().min(1).max(100).default(12) });
export const segmentCountQuerySchema = z.object({ estimate: z.coerce.boolean().default(false), today: date.optional() });
export const segmentSampleQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(20) });
export const insightsQuerySchema = z.object({ tags: z.string().min(1).describe('comma-separated tag keys'), top: z.coerce.number().int().min(1).max(100).default(10) });
export const snapshotDiffQuerySchema = z.object({ from: z.string().optional(), to: z.string().optional() });
export const segmentExportQuerySchema = z.object({ type: identifierTypeName });
/** POST /api/v1/segments/:key/list: the file is the body; the identifier type and the names come in the query. */
export const listImportQuerySchema = z.object({ type: identifierTypeName, zh: z.string().min(1).optional(), en: z.string().min(1).optional() });
