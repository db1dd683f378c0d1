/** Journeys over HTTP: definitions, start, pause, where people are, the report. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf } from '../access/auth.ts';
import type { Stores } from '../stores/stores.ts';
import { reportOf } from '../plans/report.ts';
import { journeyDetailSchema, journeyInfoSchema, journeyListSchema, journeySchema } from '../contract/journeys.ts';
import { keyParamsSchema, planReportSchema } from '../contract/plans.ts';
import { ApiError } from '../kernel/errors.ts';
import { getJourney, journeyPositions, listJourneys, pauseJourney, saveJourney, startJourney } from './journeys.ts';

const writers = { roles: ['admin', 'operator'] as const };
const readers = { roles: ['admin', 'operator', 'analyst'] as const };

export function journeyRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const tags = ['journeys'];
  const key = keyParamsSchema;
  api.get('/api/v1/journeys', { config: readers, schema: { tags, summary: 'The workspace journeys', security, response: { 200: journeyListSchema } } }, async (request) => ({
    journeys: await listJourneys(stores, callerOf(request).workspaceId),
  }));
  api.post(
    '/api/v1/journeys',
    {
      config: writers,
      schema: { tags, summary: 'Create a journey (steps, templates and tags are checked now)', security, body: journeySchema, response: { 201: journeyInfoSchema } },
    },
    async (request, reply) => reply.code(201).send(await saveJourney(stores, callerOf(request).workspaceId, request.body)),
  );
  api.put(
    '/api/v1/journeys/:key',
    { config: writers, schema: { tags, summary: 'Replace a journey that is not running', security, params: key, body: journeySchema, response: { 200: journeyInfoSchema } } },
    async (request) => {
      if (request.body.key !== request.params.key) throw new ApiError(400, 'validation_failed', `body.key: must be "${request.params.key}", the journey being replaced`);
      return saveJourney(stores, callerOf(request).workspaceId, request.body, { replace: true });
    },
  );
  api.get(
    '/api/v1/journeys/:key',
    { config: readers, schema: { tags, summary: 'A journey and how many people are at each step', security, params: key, response: { 200: journeyDetailSchema } } },
    async (request) => {
      const workspaceId = callerOf(request).workspaceId;
      return { ...(await getJourney(stores, workspaceId, request.params.key)), positions: await journeyPositions(stores, workspaceId, request.params.key) };
    },
  );
  api.post(
    '/api/v1/journeys/:key/start',
    { config: writers, schema: { tags, summary: 'Start or resume a journey', security, params: key, response: { 200: journeyInfoSchema } } },
    async (request) => startJourney(stores, callerOf(request).workspaceId, request.params.key),
  );
  api.post(
    '/api/v1/journeys/:key/pause',
    { config: writers, schema: { tags, summary: 'Pause a journey: nobody enters or moves', security, params: key, response: { 200: journeyInfoSchema } } },
    async (request) => pauseJourney(stores, callerOf(request).workspaceId, request.params.key),
  );
  api.get(
    '/api/v1/journeys/:key/report',
    {
      config: readers,
      schema: {
        tags,
        summary: 'Per step: who reached it; for send steps sent, delivered, clicked, converted and lift over control',
        security,
        params: key,
        response: { 200: planReportSchema },
      },
    },
    async (request) => {
      const workspaceId = callerOf(request).workspaceId;
      const { journey, status } = await getJourney(stores, workspaceId, request.params.key);
      return reportOf(stores, workspaceId, journey.key, status, journey.goal);
    },
  );
}
