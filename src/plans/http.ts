/** Plans and channels over HTTP: definitions, start, pause, report, preview; channels as configured. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf } from '../access/auth.ts';
import { assertPersonInScope } from '../access/scope.ts';
import type { Stores } from '../stores/stores.ts';
import { channelListSchema, channelReplySchema, channelSchema } from '../contract/channels.ts';
import { getChannel, listChannels, saveChannel } from '../channels/store.ts';
import {
  keyParamsSchema,
  planInfoSchema,
  planListSchema,
  planPreviewQuerySchema,
  planPreviewSchema,
  planReportQuerySchema,
  planReportSchema,
  planSchema,
  runSummarySchema,
} from '../contract/plans.ts';
import { noContentSchema } from '../contract/common.ts';
import { ApiError } from '../kernel/errors.ts';
import { deletePlan, getPlan, listPlans, pausePlan, savePlan, startPlan } from './plans.ts';
import { planReport } from './report.ts';
import { previewPlan } from './preview.ts';
import { testPlan } from './run.ts';

const writers = { roles: ['admin', 'operator'] as const };
/** Reading plans and channels is for the people who run them (not tracker keys, which sit in web pages). */
const readers = { roles: ['admin', 'operator', 'analyst'] as const };

/** `publicUrl`: the base of links in test sends and previews (the server's public URL). */
export function planRoutes(app: FastifyInstance, stores: Stores, options: { publicUrl: () => string }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const key = keyParamsSchema;

  api.get(
    '/api/v1/channels',
    {
      config: readers,
      schema: {
        tags: ['channels'],
        summary: 'The workspace channels (credentials are named secrets of the workspace, never values)',
        security,
        response: { 200: channelListSchema },
      },
    },
    async (request) => ({
      channels: await listChannels(stores, callerOf(request).workspaceId),
    }),
  );
  api.post(
    '/api/v1/channels',
    { config: { roles: ['admin'] as const }, schema: { tags: ['channels'], summary: 'Add a channel', security, body: channelSchema, response: { 201: channelReplySchema } } },
    async (request, reply) => reply.code(201).send({ channel: await saveChannel(stores, callerOf(request).workspaceId, request.body) }),
  );
  api.put(
    '/api/v1/channels/:key',
    {
      config: { roles: ['admin'] as const },
      schema: { tags: ['channels'], summary: 'Replace a channel', security, params: key, body: channelSchema, response: { 200: channelReplySchema } },
    },
    async (request) => {
      if (request.body.key !== request.params.key) throw new ApiError(400, 'validation_failed', `body.key: must be "${request.params.key}", the channel being replaced`);
      return { channel: await saveChannel(stores, callerOf(request).workspaceId, request.body, { replace: true }) };
    },
  );
  api.get(
    '/api/v1/channels/:key',
    { config: readers, schema: { tags: ['channels'], summary: 'A channel', security, params: key, response: { 200: channelReplySchema } } },
    async (request) => ({
      channel: await getChannel(stores, callerOf(request).workspaceId, request.params.key),
    }),
  );

  const tags = ['plans'];
  api.get(
    '/api/v1/plans',
    { config: readers, schema: { tags, summary: 'The workspace plans with their status', security, response: { 200: planListSchema } } },
    async (request) => ({ plans: await listPlans(stores, callerOf(request).workspaceId) }),
  );
  api.post(
    '/api/v1/plans',
    { config: writers, schema: { tags, summary: 'Create a plan (templates are checked now)', security, body: planSchema, response: { 201: planInfoSchema } } },
    async (request, reply) => reply.code(201).send(await savePlan(stores, callerOf(request).workspaceId, request.body)),
  );
  api.put(
    '/api/v1/plans/:key',
    { config: writers, schema: { tags, summary: 'Replace a plan that is not running', security, params: key, body: planSchema, response: { 200: planInfoSchema } } },
    async (request) => {
      if (request.body.key !== request.params.key) throw new ApiError(400, 'validation_failed', `body.key: must be "${request.params.key}", the plan being replaced`);
      return savePlan(stores, callerOf(request).workspaceId, request.body, { replace: true });
    },
  );
  api.get('/api/v1/plans/:key', { config: readers, schema: { tags, summary: 'A plan', security, params: key, response: { 200: planInfoSchema } } }, async (request) =>
    getPlan(stores, callerOf(request).workspaceId, request.params.key),
  );
  api.delete(
    '/api/v1/plans/:key',
    { config: writers, schema: { tags, summary: 'Delete a plan that never sent', security, params: key, response: { 204: noContentSchema } } },
    async (request, reply) => {
      await deletePlan(stores, callerOf(request).workspaceId, request.params.key);
      return reply.code(204).send();
    },
  );
  api.post(
    '/api/v1/plans/:key/start',
    { config: writers, schema: { tags, summary: 'Start (or resume) a plan: checks it, then schedules its next run', security, params: key, response: { 200: planInfoSchema } } },
    async (request) => startPlan(stores, callerOf(request).workspaceId, request.params.key),
  );
  api.post(
    '/api/v1/plans/:key/pause',
    { config: writers, schema: { tags, summary: 'Pause a plan: no new run, no queued message of it is sent', security, params: key, response: { 200: planInfoSchema } } },
    async (request) => pausePlan(stores, callerOf(request).workspaceId, request.params.key),
  );
  api.post(
    '/api/v1/plans/:key/test',
    {
      config: writers,
      schema: {
        tags,
        summary: "Send every variant now to the policy's test whitelist (no caps, no quiet hours; left out of the report)",
        security,
        params: key,
        response: { 200: runSummarySchema },
      },
    },
    async (request) => testPlan(stores, callerOf(request).workspaceId, request.params.key, { publicUrl: options.publicUrl() }),
  );
  api.get(
    '/api/v1/plans/:key/report',
    {
      config: readers,
      schema: {
        tags,
        summary: 'Per variant and control: audience, sent, delivered, failed, clicked, converted, revenue, lift with 95% CI, cost per conversion',
        security,
        params: key,
        querystring: planReportQuerySchema,
        response: { 200: planReportSchema },
      },
    },
    async (request) => planReport(stores, callerOf(request).workspaceId, request.params.key, { runId: request.query.run }),
  );
  api.get(
    '/api/v1/plans/:key/preview',
    // The preview shows a person's name and tags: for those who build plans.
    {
      config: writers,
      schema: { tags, summary: "Each variant's message rendered for one person", security, params: key, querystring: planPreviewQuerySchema, response: { 200: planPreviewSchema } },
    },
    async (request) => {
      const caller = callerOf(request);
      await assertPersonInScope(stores, caller, request.query.person);
      return previewPlan(stores, caller.workspaceId, request.params.key, request.query.person, options.publicUrl());
    },
  );
}
