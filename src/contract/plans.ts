/**
 * A plan (运营计划): who (a segment, minus exclusions), when (once, or on a cron), through which
 * channel, what (a template per variant), the control group, and the goal its report measures.
 */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';
import { SEGMENT_KEY } from './segments.ts';

const key = z.string().regex(SEGMENT_KEY, 'lowercase letters, digits and _, starting with a letter (2–63 characters)');

export const goalSchema = z
  .object({
    /** An order (optionally of some SKUs or categories), or a tracked event. */
    kind: z.enum(['order', 'event']),
    event: z.string().min(1).optional(),
    skus: z.array(z.string().min(1)).optional(),
    categories: z.array(z.string().min(1)).optional(),
    /** Conversions count within this many days after the send (after entry, for the control). */
    windowDays: z.number().int().min(1).max(365).default(7),
  })
  .strict()
  .superRefine((goal, ctx) => {
    if (goal.kind === 'event' && !goal.event) ctx.addIssue({ code: 'custom', path: ['event'], message: 'the event a conversion is (required when kind is "event")' });
    if (goal.kind === 'order' && goal.event) ctx.addIssue({ code: 'custom', path: ['event'], message: 'only for kind "event"' });
  });

const variantSchema = z
  .object({
    key: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ or -'),
    /** Relative share of the treated audience. */
    weight: z.number().positive().default(1),
    /** One Liquid text per content field of the channel (e.g. text; subject and html for email). */
    template: z
      .record(z.string().regex(/^[a-z][a-z0-9_.]*$/, 'a content field like text or data.thing1'), z.string())
      .refine((t) => Object.keys(t).length > 0, 'at least one field'),
  })
  .strict();

const duration = z.object({ minutes: z.number().int().min(0).optional(), hours: z.number().int().min(0).optional(), days: z.number().int().min(0).optional() }).strict();

export function seconds(d: z.infer<typeof duration>): number {
  return (d.minutes ?? 0) * 60 + (d.hours ?? 0) * 3600 + (d.days ?? 0) * 86_400;
}

const scheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('once'), at: z.iso.datetime({ offset: true }).optional() }).strict(),
  z
    .object({
      kind: z.literal('recurring'),
      /** 5 fields, read in the workspace time zone. */
      cron: z.string().min(1),
      /** A person enters at most once over all the plan's runs. */
      enterOnce: z.boolean().default(false),
      until: z.iso.datetime({ offset: true }).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('triggered'),
      /** The event that starts it (A). */
      event: z.string().min(1),
      /** How long after the event the message goes (0: at once). */
      delay: duration.default({}),
      /** "Did A but not B within the delay": no message when B followed A within it (cart, then paid). */
      unless: z
        .object({ event: z.string().min(1) })
        .strict()
        .optional(),
      /** After a message, the person is not triggered again for this many days (0: every time). */
      reenterAfterDays: z.number().int().min(0).max(365).default(1),
    })
    .strict()
    .superRefine((t, ctx) => {
      if (t.unless && seconds(t.delay) === 0) ctx.addIssue({ code: 'custom', path: ['delay'], message: '"unless" needs a delay: the time B has to follow A' });
    }),
]);

export const planSchema = z
  .object({
    key,
    name: z.string().min(1).max(200),
    audience: z
      .object({
        /** Who may receive it (for a triggered plan: optional, everyone when absent). */
        segment: key.optional(),
        exclude: z.array(key).default([]),
        /** Leave out people who reached the goal within this many days before the run. */
        excludeConvertedDays: z.number().int().min(1).max(365).optional(),
      })
      .strict(),
    channel: key,
    /** Transactional messages (order notices) skip frequency caps; marketing ones count against them. */
    purpose: z.enum(['marketing', 'transactional']).default('marketing'),
    variants: z.array(variantSchema).min(1).max(10),
    /** Share of the audience held out: tracked like everyone else, sent nothing. */
    controlPercent: z.number().min(0).max(90).default(0),
    goal: goalSchema.optional(),
    schedule: scheduleSchema.default({ kind: 'once' }),
  })
  .strict()
  .superRefine((plan, ctx) => {
    const seen = new Set<string>();
    plan.variants.forEach((v, i) => {
      if (v.key === 'control') ctx.addIssue({ code: 'custom', path: ['variants', i, 'key'], message: '"control" is the holdout group, not a variant' });
      if (seen.has(v.key)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'key'], message: `"${v.key}" is used twice` });
      seen.add(v.key);
    });
    if (!plan.audience.segment && plan.schedule.kind !== 'triggered')
      ctx.addIssue({ code: 'custom', path: ['audience', 'segment'], message: 'the segment to reach (only a triggered plan may go without one)' });
    if (plan.audience.segment && plan.audience.exclude.includes(plan.audience.segment))
      ctx.addIssue({ code: 'custom', path: ['audience', 'exclude'], message: 'excludes the audience segment itself' });
    if (plan.audience.excludeConvertedDays !== undefined && !plan.goal)
      ctx.addIssue({ code: 'custom', path: ['audience', 'excludeConvertedDays'], message: 'needs a goal (what converting means)' });
  });

export type Plan = z.infer<typeof planSchema>;
export type Goal = z.infer<typeof goalSchema>;

export const planStatusSchema = z.enum(['draft', 'scheduled', 'running', 'paused', 'completed']);
export type PlanStatus = z.infer<typeof planStatusSchema>;

/** A plan as the API answers it: its definition, where it stands and when it runs next. */
export const planInfoSchema = z.object({
  plan: planSchema,
  status: planStatusSchema,
  nextRunAt: isoTimeSchema.nullable(),
  updatedAt: isoTimeSchema,
});
export type PlanInfo = z.infer<typeof planInfoSchema>;
export const planListSchema = z.object({ plans: z.array(planInfoSchema) });

export const intervalSchema = z.object({ low: z.number(), high: z.number() });
export type Interval = z.infer<typeof intervalSchema>;

/** One variant's (or the control group's) figures in a plan or journey report. */
export const groupReportSchema = z.object({
  group: z.string(),
  audience: z.number(),
  stopped: z.number(),
  /** Audience minus stopped: the base conversion rates are measured on. */
  eligible: z.number(),
  sent: z.number(),
  delivered: z.number(),
  failed: z.number(),
  clicked: z.number(),
  converted: z.number(),
  revenue: z.number(),
  conversionRate: z.number().nullable(),
  /** Conversion-rate difference from control (percentage points as a fraction) and its 95% interval. */
  lift: z.object({ absolute: z.number(), absoluteCi: intervalSchema, relative: z.number().nullable(), relativeCi: intervalSchema.nullable() }).nullable(),
  cost: z.number(),
  costPerConversion: z.number().nullable(),
  /** Cost over conversions above what control's rate predicts. */
  costPerIncrementalConversion: z.number().nullable(),
});
export type GroupReport = z.infer<typeof groupReportSchema>;

export const planReportSchema = z.object({
  plan: z.string(),
  status: z.string(),
  goal: z.string().nullable(),
  runs: z.array(
    z.object({
      id: z.string(),
      slot: z.string(),
      status: z.string(),
      audience: z.number().nullable(),
      startedAt: isoTimeSchema,
      finishedAt: isoTimeSchema.nullable(),
      error: z.string().nullable(),
    }),
  ),
  groups: z.array(groupReportSchema),
  stoppedBy: z.array(z.object({ reason: z.string(), people: z.number() })),
  ledger: z.record(z.string(), z.number()),
});
export type PlanReport = z.infer<typeof planReportSchema>;

/** What a run (or a test send) did: who was in the audience, queued, held out, stopped. */
export const runSummarySchema = z.object({ runId: z.string(), plan: z.string(), audience: z.number(), queued: z.number(), control: z.number(), stopped: z.number() });
export type RunSummary = z.infer<typeof runSummarySchema>;

export const planPreviewSchema = z.object({
  plan: z.string(),
  person: z.number(),
  variants: z.array(
    z.object({ variant: z.string(), content: z.record(z.string(), z.unknown()).describe('the rendered fields, nested by their dots (data.thing1 → { data: { thing1 } })') }),
  ),
});

/** The path of a plan, journey or channel route. */
export const keyParamsSchema = z.object({ key: z.string() });
/** GET /api/v1/plans/:key/report: one run's figures, or (by default) all runs'. */
export const planReportQuerySchema = z.object({ run: z.string().optional() });
/** GET /api/v1/plans/:key/preview: the person to render for. */
export const planPreviewQuerySchema = z.object({ person: z.coerce.number().int().positive() });
