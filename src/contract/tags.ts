/**
 * Tags over the API: definitions (one shape per kind, kept open here: the kinds' request schema is
 * src/tags/definition.ts, which checks SQL and dates with domain code), runs, coverage, packs, the
 * schedule and a person's tags (routes in src/tags/http.ts).
 */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';
import { personTagSchema } from './people.ts';
import { calendarDate } from './dates.ts';

const named = z.object({ zh: z.string(), en: z.string() });

/** A stored tag definition: the fields every kind has, and its kind's own (passed through as they are). */
export const storedTagSchema = z.looseObject({
  key: z.string(),
  name: named,
  kind: z.string(),
  description: z.string().optional(),
  dependsOn: z.array(z.string()).optional(),
});
export type TagDefinition = z.infer<typeof storedTagSchema>;

const tagRunSchema = z.object({
  id: z.string(),
  baseDate: z.string(),
  trigger: z.string(),
  status: z.string(),
  people: z.number(),
  error: z.string().nullable(),
  startedAt: isoTimeSchema,
  seconds: z.number().nullable(),
});

const withValueType = storedTagSchema.extend({ valueType: z.string() });
export const tagListItemSchema = withValueType.extend({ lastRun: tagRunSchema.nullable() });
export type TagListItem = z.infer<typeof tagListItemSchema>;
export const tagsResponseSchema = z.object({ tags: z.array(tagListItemSchema) });
export const tagResponseSchema = z.object({ tag: withValueType });

/** GET /api/v1/tags/:key: the definition, people per value (within the caller's scope) and recent runs. */
export const tagDetailSchema = z.object({
  tag: withValueType,
  coverage: z.object({ baseDate: z.string().nullable(), people: z.number(), values: z.array(z.object({ value: z.string(), people: z.number() })) }),
  runs: z.array(tagRunSchema),
});
export type TagDetail = z.infer<typeof tagDetailSchema>;

/** One tag's outcome of a run. */
const tagRunResultSchema = z.object({ key: z.string(), runId: z.string(), status: z.string(), people: z.number(), seconds: z.number(), error: z.string().optional() });
export const tagRunsResponseSchema = z.object({ runs: z.array(tagRunResultSchema) });

const tagImportReportSchema = z.object({
  tag: z.string(),
  batch: z.number(),
  rowsRead: z.number(),
  accepted: z.number(),
  rejected: z.number(),
  rejections: z.array(z.object({ row: z.number(), field: z.string(), value: z.string(), expected: z.string() })),
});
export const tagFileResponseSchema = z.object({ import: tagImportReportSchema, run: tagRunResultSchema.optional() });

export const tagPacksResponseSchema = z.object({
  packs: z.array(z.object({ name: z.string(), description: z.string(), tags: z.array(z.object({ key: z.string(), name: named, kind: z.string() })) })),
});
export const packInstallSchema = z.object({ pack: z.string(), installed: z.array(z.string()), kept: z.array(z.string()), replaced: z.array(z.string()) });

/** The workspace's tag schedule, times as ISO and as the zone's wall clock. */
export const tagScheduleSchema = z.object({
  workspaceId: z.string(),
  cron: z.string(),
  timeZone: z.string(),
  enabled: z.boolean(),
  nextAt: isoTimeSchema,
  nextAtLocal: z.string(),
  lastStartedAt: isoTimeSchema.nullable(),
  lastStartedAtLocal: z.string().nullable(),
  lastBaseDate: z.string().nullable(),
  updatedAt: isoTimeSchema.nullable(),
});
export type TagSchedule = z.infer<typeof tagScheduleSchema>;
export const tagScheduleResponseSchema = z.object({ schedule: tagScheduleSchema.nullable() });
export const tagScheduleRemovedSchema = z.object({ removed: z.boolean() });

const fitSchema = z.object({
  unit: z.string(),
  buyers: z.number(),
  bgnbd: z.record(z.string(), z.number()),
  logLikelihood: z.number(),
  gammagamma: z.record(z.string(), z.number()).optional(),
  summaryRows: z.number().optional(),
  spendFittedOn: z.number().optional(),
  model: z.string(),
});
/** Why a person has their value of a model tag: x, t_x, T (and m) and the fitted parameters. */
export const modelTagExplanationSchema = z.object({
  tag: z.string(),
  baseDate: z.string(),
  personId: z.number(),
  bought: z.boolean(),
  fit: fitSchema,
  unit: z.string().optional(),
  x: z.number().optional(),
  t_x: z.number().optional(),
  T: z.number().optional(),
  m: z.number().optional(),
  value: z.number().optional(),
});

export const personTagsResponseSchema = z.object({
  personId: z.number(),
  tags: z.array(personTagSchema.omit({ computedAt: true, setByName: true }).extend({ baseDate: z.string(), runId: z.string() })),
});
export const manualTagSetSchema = z.object({ personId: z.number(), key: z.string(), value: z.unknown() });
export const manualTagRemovedSchema = z.object({ personId: z.number(), key: z.string(), removed: z.boolean() });

export const packInstallInputSchema = z.object({ replace: z.boolean().default(false) }).default({ replace: false });
export const tagDetailQuerySchema = z.object({ asOf: calendarDate.optional(), top: z.coerce.number().int().min(1).max(1000).default(20) });
export const asOfQuerySchema = z.object({ asOf: calendarDate.optional() });
export const tagRunInputSchema = z.object({ keys: z.array(z.string()).optional(), baseDate: calendarDate.optional() }).default({});
export const manualTagInputSchema = z.object({ value: z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]) });
