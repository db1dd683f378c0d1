/** Tags over HTTP: definitions, runs, coverage, and a person's tags. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../access/auth.ts';
import { assertPersonInScope, seesPartOf } from '../access/scope.ts';
import { maskTagValue, seesPersonalData } from '../access/masking.ts';
import type { Stores } from '../stores/stores.ts';
import { tagDefinitionSchema, valueTypeOf } from './definition.ts';
import { runTags, setManualTag } from './engine.ts';
import { getTag, listTags, personTagsWithAuthors, saveTag, tagCoverage, tagRuns } from './store.ts';
import { explainModelTag } from './model-tags.ts';
import { importTagFile } from './imported-tags.ts';
import { installPack, PACKS } from './packs/packs.ts';
import { withUploadedFile } from '../kernel/uploads.ts';
import { CronError, getSchedule, parseCron, removeSchedule, setSchedule, type TagSchedule } from './schedule.ts';
import { formatInZone } from '../kernel/time.ts';
import {
  asOfQuerySchema,
  manualTagInputSchema,
  manualTagRemovedSchema,
  manualTagSetSchema,
  modelTagExplanationSchema,
  packInstallInputSchema,
  packInstallSchema,
  personTagsResponseSchema,
  tagDetailQuerySchema,
  tagDetailSchema,
  tagFileResponseSchema,
  tagPacksResponseSchema,
  tagResponseSchema,
  tagRunInputSchema,
  tagRunsResponseSchema,
  tagScheduleRemovedSchema,
  tagScheduleResponseSchema,
  tagsResponseSchema,
} from '../contract/tags.ts';
import { errorBodySchema } from '../contract/common.ts';

export function tagRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];

  void app.register(async (scope) => {
    // The body is the file (CSV in any encoding the importers read, or XLSX), streamed to disk.
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/v1/tags/:key/file',
      {
        config: { roles: ['admin', 'operator'] },
        bodyLimit: 1 << 30,
        schema: {
          tags: ['tags'],
          summary: "An imported tag's file of identifier → value (the body; a header row, then one row per identifier). Replaces the previous file and runs the tag.",
          security,
          params: z.object({ key: z.string() }),
          response: { 200: tagFileResponseSchema },
        },
      },
      async (request) => {
        const workspaceId = callerOf(request).workspaceId;
        const report = await withUploadedFile(request.body, (file) => importTagFile(stores, workspaceId, request.params.key, file), stores.dataDir);
        const [run] = await runTags(stores, { workspaceId, keys: [request.params.key], trigger: 'import' });
        return { import: report, run };
      },
    );
  });

  api.get('/api/v1/tags/packs', { schema: { tags: ['tags'], summary: 'The ready tag packs', security, response: { 200: tagPacksResponseSchema } } }, async () => ({
    packs: Object.entries(PACKS).map(([name, pack]) => ({ name, description: pack.description, tags: pack.tags.map((t) => ({ key: t.key, name: t.name, kind: t.kind })) })),
  }));
  api.post(
    '/api/v1/tags/packs/:name',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        tags: ['tags'],
        summary: "Install a pack's tags (tags the workspace has already are kept unless replace is true)",
        security,
        params: z.object({ name: z.string() }),
        body: packInstallInputSchema,
        response: { 200: packInstallSchema },
      },
    },
    async (request) => installPack(stores, callerOf(request).workspaceId, request.params.name, { replace: request.body.replace }),
  );

  api.get(
    '/api/v1/tags',
    { schema: { tags: ['tags'], summary: 'The workspace tags, each with its value type and last run', security, response: { 200: tagsResponseSchema } } },
    async (request) => {
      const workspaceId = callerOf(request).workspaceId;
      const tags = await listTags(stores, workspaceId);
      return {
        tags: await Promise.all(tags.map(async (tag) => ({ ...tag, valueType: valueTypeOf(tag), lastRun: (await tagRuns(stores, workspaceId, tag.key, 1))[0] ?? null }))),
      };
    },
  );

  for (const [method, replace] of [
    ['post', false],
    ['put', true],
  ] as const) {
    api[method](
      replace ? '/api/v1/tags/:key' : '/api/v1/tags',
      {
        config: { roles: ['admin', 'operator'] },
        schema: {
          tags: ['tags'],
          summary: replace ? 'Replace a tag definition' : 'Create a tag',
          security,
          ...(replace ? { params: z.object({ key: z.string() }) } : {}),
          body: tagDefinitionSchema,
          response: { [replace ? 200 : 201]: tagResponseSchema, 400: errorBodySchema },
        },
      },
      async (request, reply) => {
        const body = request.body as z.infer<typeof tagDefinitionSchema>;
        const key = (request.params as { key?: string }).key;
        if (replace && key !== body.key) return reply.code(400).send({ error: { code: 'validation_failed', message: `body.key: must be "${key}", the tag being replaced` } });
        const tag = await saveTag(stores, callerOf(request).workspaceId, body, { replace });
        return reply.code(replace ? 200 : 201).send({ tag: { ...tag, valueType: valueTypeOf(tag) } });
      },
    );
  }

  // The schedule: a static path, so fastify prefers it to /api/v1/tags/:key.
  const scheduleView = (schedule: TagSchedule | undefined) =>
    schedule
      ? {
          ...schedule,
          nextAtLocal: formatInZone(schedule.nextAt, schedule.timeZone),
          lastStartedAtLocal: schedule.lastStartedAt ? formatInZone(schedule.lastStartedAt, schedule.timeZone) : null,
        }
      : null;
  const cronField = z
    .string()
    .describe('5 fields (minute hour day-of-month month day-of-week) in the workspace time zone, or "daily" (03:00)')
    .superRefine((cron, ctx) => {
      try {
        parseCron(cron, 'UTC');
      } catch (error) {
        if (!(error instanceof CronError)) throw error;
        ctx.addIssue({ code: 'custom', message: error.message });
      }
    });

  api.get(
    '/api/v1/tags/schedule',
    {
      schema: {
        tags: ['tags'],
        summary: "The workspace's tag schedule (null when tags run only manually and after imports)",
        security,
        response: { 200: tagScheduleResponseSchema },
      },
    },
    async (request) => ({ schedule: scheduleView(await getSchedule(stores, callerOf(request).workspaceId)) }),
  );

  api.put(
    '/api/v1/tags/schedule',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        tags: ['tags'],
        summary: "Run all the workspace's tags on a cron (in its time zone), for yesterday as base date",
        security,
        body: z.object({ cron: cronField }),
        response: { 200: tagScheduleResponseSchema },
      },
    },
    async (request) => ({ schedule: scheduleView(await setSchedule(stores, callerOf(request).workspaceId, request.body.cron)) }),
  );

  api.delete(
    '/api/v1/tags/schedule',
    { config: { roles: ['admin', 'operator'] }, schema: { tags: ['tags'], summary: 'Remove the tag schedule', security, response: { 200: tagScheduleRemovedSchema } } },
    async (request) => ({ removed: await removeSchedule(stores, callerOf(request).workspaceId) }),
  );

  api.get(
    '/api/v1/tags/:key',
    {
      schema: {
        tags: ['tags'],
        summary: 'A tag: definition, coverage (people per value, as of a date if given) and recent runs',
        security,
        params: z.object({ key: z.string() }),
        querystring: tagDetailQuerySchema,
        response: { 200: tagDetailSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const workspaceId = caller.workspaceId;
      const tag = await getTag(stores, workspaceId, request.params.key);
      // Counted within the caller's scope; values masked for a role that sees personal data masked.
      const coverage = await tagCoverage(stores, workspaceId, tag.key, { asOf: request.query.asOf, top: request.query.top, viewer: caller });
      const clear = seesPersonalData(caller.role);
      return {
        tag: { ...tag, valueType: valueTypeOf(tag) },
        coverage: {
          baseDate: coverage.run?.baseDate ?? null,
          people: coverage.people,
          values: clear ? coverage.values : coverage.values.map((v) => ({ ...v, value: String(maskTagValue(tag.key, v.value)) })),
        },
        runs: await tagRuns(stores, workspaceId, tag.key),
      };
    },
  );

  api.get(
    '/api/v1/tags/:key/people/:id/explain',
    {
      schema: {
        tags: ['tags'],
        summary: 'Why a person has their value of a model tag: x, t_x, T (and m) and the fitted parameters',
        security,
        params: z.object({ key: z.string(), id: z.coerce.number().int().positive() }),
        querystring: asOfQuerySchema,
        response: { 200: modelTagExplanationSchema, 400: errorBodySchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const workspaceId = caller.workspaceId;
      await assertPersonInScope(stores, caller, request.params.id);
      const tag = await getTag(stores, workspaceId, request.params.key);
      if (tag.kind !== 'model')
        return reply.code(400).send({ error: { code: 'validation_failed', message: `params.key: "${tag.key}" is a ${tag.kind} tag; explain is for model tags` } });
      return explainModelTag(stores, workspaceId, tag, request.params.id, request.query.asOf);
    },
  );

  api.post(
    '/api/v1/tags/run',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        tags: ['tags'],
        summary: 'Compute tags (all, or the keys given) for a base date; answered when done',
        security,
        body: tagRunInputSchema,
        response: { 200: tagRunsResponseSchema },
      },
    },
    async (request) => ({
      runs: await runTags(stores, { workspaceId: callerOf(request).workspaceId, keys: request.body.keys, baseDate: request.body.baseDate, trigger: 'manual' }),
    }),
  );

  api.get(
    '/api/v1/people/:id/tags',
    {
      schema: {
        tags: ['tags'],
        summary: "A person's tags with values and the base date of the run that computed them",
        security,
        params: z.object({ id: z.coerce.number().int().positive() }),
        querystring: asOfQuerySchema,
        response: { 200: personTagsResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await assertPersonInScope(stores, caller, request.params.id);
      // Tags are derived from all of a person's data: not a team's to read for another team's customer too.
      if (await seesPartOf(stores, caller, request.params.id)) return { personId: request.params.id, tags: [] };
      const tags = await personTagsWithAuthors(stores, caller.workspaceId, request.params.id, request.query.asOf);
      return { personId: request.params.id, tags: seesPersonalData(caller.role) ? tags : tags.map((t) => ({ ...t, value: maskTagValue(t.key, t.value) })) };
    },
  );

  api.put(
    '/api/v1/people/:id/tags/:key',
    {
      config: { roles: ['admin', 'operator', 'staff'], scoped: true },
      schema: {
        tags: ['tags'],
        summary: 'Set a manual tag on a person (recorded with who and when); published at once',
        security,
        params: z.object({ id: z.coerce.number().int().positive(), key: z.string() }),
        body: manualTagInputSchema,
        response: { 200: manualTagSetSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await assertPersonInScope(stores, caller, request.params.id);
      const value = await setManualTag(stores, caller.workspaceId, request.params.key, request.params.id, request.body.value, `api:${caller.keyId}`);
      return { personId: request.params.id, key: request.params.key, value };
    },
  );

  api.delete(
    '/api/v1/people/:id/tags/:key',
    {
      config: { roles: ['admin', 'operator', 'staff'], scoped: true },
      schema: {
        tags: ['tags'],
        summary: 'Remove a manual tag from a person',
        security,
        params: z.object({ id: z.coerce.number().int().positive(), key: z.string() }),
        response: { 200: manualTagRemovedSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await assertPersonInScope(stores, caller, request.params.id);
      await setManualTag(stores, caller.workspaceId, request.params.key, request.params.id, undefined, `api:${caller.keyId}`);
      return { personId: request.params.id, key: request.params.key, removed: true };
    },
  );
}
