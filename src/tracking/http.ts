/**
 * The tracking API in the Segment spec's shape: POST /api/v1/track, /identify, /page, /alias and
 * /batch, each event optionally with `identities` (Sensors IDM 3.0 style). A request is answered
 * only when its events are durable in the facts store; one invalid event fails the request with the
 * failing event's path, and nothing of it lands.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../server/auth.ts';
import { ApiError } from '../server/errors.ts';
import type { Stores } from '../stores/stores.ts';
import { loadIdentifierTypes } from '../identity/identifier-store.ts';
import type { IdentifierType } from '../identity/identifier-types.ts';
import { eventEntity, EventRejected } from '../ingest/events.ts';
import type { Entity } from '../ingest/entities.ts';
import { EventBuffer } from './event-buffer.ts';
import { clickhouseTime } from '../ingest/values.ts';

const MAX_BATCH = 1000;
const TYPES_TTL_MS = 30_000;

const looseEvent = z
  .object({
    type: z.enum(['track', 'page', 'identify', 'alias']).optional(),
    event: z.string().optional(),
    messageId: z.string().optional(),
    anonymousId: z.string().optional(),
    userId: z.string().optional(),
    timestamp: z.string().optional(),
    properties: z.record(z.string(), z.unknown()).optional(),
    traits: z.record(z.string(), z.unknown()).optional(),
    context: z.record(z.string(), z.unknown()).optional(),
    identities: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    previousId: z.string().optional(),
    name: z.string().optional(),
  })
  .describe('A Segment-spec event; `identities` maps declared identifier types to values');

const accepted = z.object({ success: z.literal(true), accepted: z.number().int() });

export function trackingRoutes(app: FastifyInstance, stores: Stores, buffer: EventBuffer): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const typesCache = new Map<string, { at: number; types: Map<string, IdentifierType> }>();
  const typesOf = async (workspaceId: string) => {
    const cached = typesCache.get(workspaceId);
    if (cached && Date.now() - cached.at < TYPES_TTL_MS) return cached.types;
    const types = await loadIdentifierTypes(stores.state, workspaceId);
    typesCache.set(workspaceId, { at: Date.now(), types });
    return types;
  };

  async function accept(workspaceId: string, events: Array<Record<string, unknown>>, prefix: (i: number) => string): Promise<number> {
    const types = await typesOf(workspaceId);
    const receivedAt = Date.now();
    const receivedAtText = clickhouseTime(receivedAt);
    const entities: Entity[] = [];
    const failures: Array<{ path: string; message: string }> = [];
    events.forEach((event, i) => {
      try {
        entities.push(eventEntity(event, types, receivedAt, receivedAtText));
      } catch (error) {
        if (!(error instanceof EventRejected)) throw error;
        for (const p of error.problems) failures.push({ path: `${prefix(i)}${p.field}`, message: p.reason });
      }
    });
    if (failures.length > 0) {
      throw new ApiError(400, 'validation_failed', `${failures[0].path}: ${failures[0].message}`, { issues: failures });
    }
    await buffer.add(workspaceId, entities);
    return entities.length;
  }

  for (const type of ['track', 'page', 'identify', 'alias'] as const) {
    api.post(
      `/api/v1/${type}`,
      {
        config: { roles: ['admin', 'operator', 'tracker'] },
        schema: {
          tags: ['tracking'],
          summary: `Record one ${type} event (answered when durable)`,
          security: [{ bearer: [] }],
          body: looseEvent,
          response: { 200: accepted },
        },
      },
      async (request) => {
        const count = await accept(callerOf(request).workspaceId, [{ ...request.body, type }], () => 'body.');
        return { success: true as const, accepted: count };
      },
    );
  }

  api.post(
    '/api/v1/batch',
    {
      config: { roles: ['admin', 'operator', 'tracker'] },
      schema: {
        tags: ['tracking'],
        summary: `Record up to ${MAX_BATCH} events of any type (answered when durable)`,
        security: [{ bearer: [] }],
        body: z.object({ batch: z.array(looseEvent).min(1).max(MAX_BATCH), context: z.record(z.string(), z.unknown()).optional() }),
        response: { 200: accepted },
      },
    },
    async (request) => {
      const shared = request.body.context;
      const events = request.body.batch.map((e) => (shared && !e.context ? { ...e, context: shared } : e));
      const count = await accept(callerOf(request).workspaceId, events, (i) => `body.batch[${i}].`);
      return { success: true as const, accepted: count };
    },
  );
}
