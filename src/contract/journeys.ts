/**
 * A journey (流程画布): a graph of steps people move through one at a time — entry (a segment, or an
 * event), then send, wait (a duration, or until a time of day), branch (on a condition tree), A/B
 * split, add or remove a tag, create a staff task, exit. Each person's position is kept in the
 * state store, so a journey survives restarts.
 */
import { z } from 'zod';
import { SEGMENT_KEY, conditionSchema } from './segments.ts';
import { goalSchema } from './plans.ts';
import { nextSteps } from './journey-graph.ts';

const key = z.string().regex(SEGMENT_KEY, 'lowercase letters, digits and _, starting with a letter (2–63 characters)');
const stepKey = z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'a step name: lowercase letters, digits and _');
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day like 10:00');

export const stepSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('send'),
      channel: key,
      purpose: z.enum(['marketing', 'transactional']).default('marketing'),
      template: z.record(z.string().regex(/^[a-z][a-z0-9_.]*$/), z.string()).refine((t) => Object.keys(t).length > 0, 'at least one field'),
      next: stepKey.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('wait'),
      minutes: z.number().int().min(0).optional(),
      hours: z.number().int().min(0).optional(),
      days: z.number().int().min(0).optional(),
      /** Then on to the next occurrence of this time of day in the workspace zone. */
      untilTime: clock.optional(),
      /**
       * Until a date of the person's (a date tag, or the birthday or registration date), moved by
       * offsetDays, at untilTime (default 00:00); `annual`: its next anniversary (a birthday). No date,
       * or a date already past: on at once.
       */
      untilDate: z
        .object({
          tag: key.optional(),
          profile: z.enum(['birthday', 'registered_at']).optional(),
          annual: z.boolean().default(false),
          offsetDays: z.number().int().min(-365).max(365).default(0),
        })
        .strict()
        .refine((d) => (d.tag ? 1 : 0) + (d.profile ? 1 : 0) === 1, 'either tag or profile')
        .optional(),
      next: stepKey.optional(),
    })
    .strict()
    .refine((w) => (w.minutes ?? 0) + (w.hours ?? 0) + (w.days ?? 0) > 0 || w.untilTime || w.untilDate, 'a wait needs a duration, untilTime or untilDate'),
  z.object({ type: z.literal('branch'), match: z.enum(['all', 'any']).default('all'), conditions: z.array(conditionSchema).min(1), yes: stepKey, no: stepKey }).strict(),
  z
    .object({
      type: z.literal('split'),
      branches: z
        .array(z.object({ weight: z.number().positive(), next: stepKey }).strict())
        .min(2)
        .max(10),
    })
    .strict(),
  z.object({ type: z.literal('tag'), tag: key, value: z.unknown().optional(), remove: z.boolean().default(false), next: stepKey.optional() }).strict(),
  z.object({ type: z.literal('task'), title: z.string().min(1).max(500), next: stepKey.optional() }).strict(),
  z.object({ type: z.literal('exit') }).strict(),
]);

export type Step = z.infer<typeof stepSchema>;

export const journeySchema = z
  .object({
    key,
    name: z.string().min(1).max(200),
    entry: z.union([z.object({ segment: key }).strict(), z.object({ event: z.string().min(1) }).strict()]),
    first: stepKey,
    steps: z.record(stepKey, stepSchema),
    /** Share of entrants held out: they enter and leave at once, measured like the others. */
    controlPercent: z.number().min(0).max(90).default(0),
    goal: goalSchema.optional(),
  })
  .strict()
  .superRefine((journey, ctx) => {
    if (!journey.steps[journey.first]) ctx.addIssue({ code: 'custom', path: ['first'], message: `no step "${journey.first}"` });
    for (const [name, step] of Object.entries(journey.steps)) {
      for (const target of nextSteps(step)) {
        if (!journey.steps[target]) ctx.addIssue({ code: 'custom', path: ['steps', name], message: `leads to "${target}", which is not a step` });
      }
    }
    // A loop must pass through a wait, or one person could go round it for ever in one instant.
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: string[]): void => {
      const step = journey.steps[name];
      if (!step || state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') {
        const loop = path.slice(path.indexOf(name));
        if (!loop.some((s) => journey.steps[s]?.type === 'wait'))
          ctx.addIssue({ code: 'custom', path: ['steps', name], message: `the loop ${[...loop, name].join(' → ')} has no wait` });
        return;
      }
      state.set(name, 'visiting');
      for (const target of nextSteps(step)) visit(target, [...path, name]);
      state.set(name, 'done');
    };
    visit(journey.first, []);
  });

export type Journey = z.infer<typeof journeySchema>;
/** A journey as a client writes it (fields with defaults may be left out). */
export type JourneyInput = z.input<typeof journeySchema>;
export type StepInput = z.input<typeof stepSchema>;

const journeyStatusSchema = z.enum(['draft', 'running', 'paused']);

/** A journey as the API answers it: its definition, where it stands and its current run. */
export const journeyInfoSchema = z.object({ journey: journeySchema, status: journeyStatusSchema, runId: z.string().nullable() });
export type JourneyInfo = z.infer<typeof journeyInfoSchema>;
export const journeyListSchema = z.object({ journeys: z.array(journeyInfoSchema) });

/** GET /api/v1/journeys/:key: the journey and how many people are at each step (active) or ended there (done). */
export const journeyDetailSchema = journeyInfoSchema.extend({
  positions: z.array(z.object({ step: z.string(), status: z.string().describe('active, or done'), people: z.number() })),
});
export type JourneyDetail = z.infer<typeof journeyDetailSchema>;
