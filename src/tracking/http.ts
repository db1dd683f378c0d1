/**
 * The tracking API in the Segment spec's shape: POST /api/v1/track, /identify, /page, /alias and
 * /batch, each event optionally with `identities` (Sensors IDM 3.0 style). A request is answered
 * only when its events are durable in the facts store; one invalid event fails the request with the
 * failing event's path, and nothing of it lands.
 *
 * A tracker key is public (it sits in web pages), so its requests are held to the key's allowed
 * origins, rate-limited per key and per client address in events (a batch of 500 costs 500), its
 * bodies bounded as Segment's (32 KB an event, 500 KB a batch), and what its events say about identity is a
 * claim unless a signed identity (context.signedIdentity) vouches for it: see ingest/events.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf } from '../access/auth.ts';
import { ApiError } from '../kernel/errors.ts';
import type { Stores } from '../stores/stores.ts';
import { loadIdentifierTypes } from '../identity/identifier-store.ts';
import type { IdentifierType } from '../identity/identifier-types.ts';
import { ErasedIdentifierCache } from '../identity/suppression.ts';
import { eventEntity, EventRejected, type EventEntityOptions, type EventTrust } from '../ingest/events.ts';
import type { Entity } from '../ingest/entities.ts';
import type { EventBuffer } from './event-buffer.ts';
import { clickhouseTime } from '../kernel/time.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { ApiKeyService, originAllowed } from '../access/keys.ts';
import { CallRateLimiter } from '../kernel/rate-limiter.ts';
import { verifySignedIdentity } from './signed-identity.ts';
import { signKeyRoutes } from './sign-keys-http.ts';
import { batchSchema, MAX_BATCH, trackedEventSchema, trackingAcceptedSchema, trackingQuerySchema } from '../contract/tracking.ts';

/** Segment's bounds on a request: 32 KB for one event, 500 KB for a batch. */
const EVENT_BODY_BYTES = 32 * 1024;
const BATCH_BODY_BYTES = 500 * 1024;
const TYPES_TTL_MS = 30_000;
/** How long a tracker key's origins and a workspace's slug are trusted without asking again. */
const SETTINGS_TTL_MS = 5_000;
/** Client addresses with a limiter of their own; past this, the oldest are forgotten (and start afresh). */
const MAX_TRACKED_ADDRESSES = 50_000;
const TRACKING_ROUTES = ['track', 'identify', 'page', 'alias', 'batch'] as const;

/** What a server operator may tune (environment variables; see README). */
export interface TrackingSettings {
  maxPastDays: number;
  maxFutureHours: number;
  /** Events per second one tracker key may send, over all its visitors (a batch costs its events). */
  ratePerKey: number;
  /** Events per second one client address may send with a tracker key. */
  ratePerIp: number;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number, got "${raw}"`);
  return value;
}

export function trackingSettings(env: NodeJS.ProcessEnv = process.env): TrackingSettings {
  return {
    maxPastDays: positiveInteger(env, 'SIYU_TRACK_MAX_PAST_DAYS', 730),
    maxFutureHours: positiveInteger(env, 'SIYU_TRACK_MAX_FUTURE_HOURS', 24),
    ratePerKey: positiveInteger(env, 'SIYU_TRACK_RATE_PER_KEY', 5000),
    ratePerIp: positiveInteger(env, 'SIYU_TRACK_RATE_PER_IP', 500),
  };
}

/** One sliding-window limiter per key (a key or a client address), each `perSecond` events a second. */
class LimiterPerKey {
  private readonly limiters = new Map<string, CallRateLimiter>();
  private readonly perSecond: number;
  constructor(perSecond: number) {
    this.perSecond = perSecond;
  }
  /** 0 when `cost` events may go now (and they are counted); otherwise milliseconds to wait. */
  take(key: string, cost = 1): number {
    let limiter = this.limiters.get(key);
    if (!limiter) {
      if (this.limiters.size >= MAX_TRACKED_ADDRESSES) this.limiters.delete(this.limiters.keys().next().value!);
      limiter = new CallRateLimiter({ windows: [{ limit: this.perSecond, windowMs: 1000 }] });
      this.limiters.set(key, limiter);
    }
    return limiter.tryAcquire(cost);
  }
}

/** A cache of values read per id, each kept `ttlMs`. */
function cached<T>(ttlMs: number, load: (id: string) => Promise<T>): (id: string) => Promise<T> {
  const entries = new Map<string, { at: number; value: Promise<T> }>();
  return (id) => {
    const hit = entries.get(id);
    if (hit && Date.now() - hit.at < ttlMs) return hit.value;
    if (entries.size > 10_000) entries.clear();
    const value = load(id);
    entries.set(id, { at: Date.now(), value });
    value.catch(() => entries.delete(id));
    return value;
  };
}

/** The page a browser request comes from: its Origin, or the origin of its Referer. */
function requestOrigin(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  if (origin && origin !== 'null') return origin;
  const referer = request.headers.referer;
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

const isTrackingPath = (url: string) => {
  const path = url.split('?')[0];
  return TRACKING_ROUTES.some((route) => path === `/api/v1/${route}`);
};

export function trackingRoutes(app: FastifyInstance, stores: Stores, buffer: EventBuffer, settings: TrackingSettings = trackingSettings()): void {
  const typesOf = cached<Map<string, IdentifierType>>(TYPES_TTL_MS, (workspaceId) => loadIdentifierTypes(stores.state, workspaceId));
  // PIPL erasure: identifiers on the workspace's suppression list are checked in memory, not per event.
  const erasedOf = new ErasedIdentifierCache(stores, SETTINGS_TTL_MS);
  const apiKeys = new ApiKeyService(stores.state);
  const workspaces = new WorkspaceService(stores.state);
  const originsOf = cached(SETTINGS_TTL_MS, (keyId) => apiKeys.allowedOrigins(keyId));
  const workspaceOf = cached(SETTINGS_TTL_MS, (workspaceId) => workspaces.get(workspaceId));
  const perKey = new LimiterPerKey(settings.ratePerKey);
  const perIp = new LimiterPerKey(settings.ratePerIp);
  const window = { maxPastMs: settings.maxPastDays * 86_400_000, maxFutureMs: settings.maxFutureHours * 3_600_000 };

  // CORS preflight for the browser SDK. The preflight carries no credentials, so it answers for any
  // origin; a key's allowed origins are checked on the request itself.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'OPTIONS' || !isTrackingPath(request.url)) return;
    const origin = request.headers.origin;
    if (origin) reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    return reply
      .code(204)
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header('access-control-allow-headers', 'authorization, content-type')
      .header('access-control-max-age', '86400')
      .send();
  });

  // A tracker key held to origins, and its rates: checked once the caller is known, before the body is read.
  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    if (origin) reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    const caller = callerOf(request);
    if (caller.role !== 'tracker') return;
    const allowed = await originsOf(caller.keyId);
    if (allowed && allowed.length > 0) {
      const from = requestOrigin(request);
      if (!from) throw new ApiError(403, 'origin_not_allowed', 'this tracker key only takes requests from its allowed origins, and the request names none (no Origin or Referer)');
      if (!originAllowed(allowed, from))
        throw new ApiError(403, 'origin_not_allowed', `this tracker key does not take requests from ${from.slice(0, 200)} (allowed: ${allowed.join(', ')})`);
    }
    // One event's worth before the body is read (a client out of budget costs no parsing); the rest
    // of a batch is counted once it is read (charge below).
    charge(request, reply, 1);
  };

  /** Counts `events` against the tracker key's rates; past them, 429 with Retry-After. */
  const charge = (request: FastifyRequest, reply: FastifyReply, events: number) => {
    const caller = callerOf(request);
    if (caller.role !== 'tracker' || events <= 0) return;
    // The address first: a client refused for its own rate does not use up the key's allowance for everyone.
    const wait = perIp.take(`${caller.keyId} ${request.ip}`, events) || perKey.take(caller.keyId, events);
    if (wait > 0) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(wait / 1000))));
      throw new ApiError(
        429,
        'rate_limited',
        `too many events with this tracker key (at most ${settings.ratePerKey}/s per key and ${settings.ratePerIp}/s per client address; a batch counts each of its events); retry after the Retry-After seconds`,
      );
    }
  };

  /** Events from a tracker key with a signed identity: what the token vouches for, or why it was not believed. */
  async function trustOf(request: FastifyRequest, event: Record<string, unknown>): Promise<EventTrust> {
    const caller = callerOf(request);
    if (caller.role !== 'tracker') return { level: 'server' };
    const context = event.context as Record<string, unknown> | undefined;
    const token = context?.signedIdentity;
    if (token === undefined) return { level: 'claims' };
    const workspace = await workspaceOf(caller.workspaceId);
    const result = await verifySignedIdentity(stores, workspace, token);
    return 'ids' in result ? { level: 'claims', verified: result.ids } : { level: 'claims', signatureProblem: result.problem };
  }

  async function accept(request: FastifyRequest, reply: FastifyReply, events: Array<Record<string, unknown>>, prefix: (i: number) => string) {
    // The first event was counted before the body was read.
    charge(request, reply, events.length - 1);
    const workspaceId = callerOf(request).workspaceId;
    const [types, erased] = await Promise.all([typesOf(workspaceId), erasedOf.of(workspaceId)]);
    const receivedAt = Date.now();
    const receivedAtText = clickhouseTime(receivedAt);
    const entities: Entity[] = [];
    const failures: Array<{ path: string; message: string }> = [];
    let unverified = 0;
    for (const [i, event] of events.entries()) {
      const trust = await trustOf(request, event);
      if (trust.signatureProblem) unverified++;
      const options: EventEntityOptions = { trust, window, erased };
      try {
        entities.push(eventEntity(event, types, receivedAt, receivedAtText, options));
      } catch (error) {
        if (!(error instanceof EventRejected)) throw error;
        for (const p of error.problems) failures.push({ path: `${prefix(i)}${p.field}`, message: p.reason });
      }
    }
    if (failures.length > 0) {
      throw new ApiError(400, 'validation_failed', `${failures[0].path}: ${failures[0].message}`, { issues: failures.slice(0, 100) });
    }
    await buffer.add(workspaceId, entities);
    return { success: true as const, accepted: entities.length, ...(unverified > 0 ? { unverified } : {}) };
  }

  // The keys signed identities are checked with are managed beside the routes that check them.
  signKeyRoutes(app, stores);

  // Routes of their own scope: a sendBeacon body (text/plain, as browsers send it without a
  // preflight) is JSON here, and the key may come in the URL (?writeKey=), since a beacon cannot set headers.
  app.register(async (scope) => {
    scope.addContentTypeParser('text/plain', { parseAs: 'string' }, scope.getDefaultJsonParser('error', 'error'));
    scope.addHook('onRequest', async (request) => {
      const writeKey = (request.query as Record<string, unknown> | undefined)?.writeKey;
      if (typeof writeKey === 'string' && !request.headers.authorization) request.headers.authorization = `Bearer ${writeKey}`;
    });
    scope.addHook('preParsing', async (request, reply) => {
      const inUrl = typeof (request.query as Record<string, unknown> | undefined)?.writeKey === 'string';
      // A server key in a URL ends up in logs and histories: only the public tracker key may go there.
      if (inUrl && callerOf(request).role !== 'tracker')
        throw new ApiError(400, 'key_in_url', 'only a tracker key may be sent as ?writeKey=; send other keys in the Authorization header');
      await guard(request, reply);
    });
    const api = scope.withTypeProvider<ZodTypeProvider>();
    const querystring = trackingQuerySchema;

    for (const type of ['track', 'page', 'identify', 'alias'] as const) {
      api.post(
        `/api/v1/${type}`,
        {
          config: { roles: ['admin', 'operator', 'tracker'] },
          bodyLimit: EVENT_BODY_BYTES,
          schema: {
            tags: ['tracking'],
            summary: `Record one ${type} event (answered when durable; at most 32 KB)`,
            security: [{ bearer: [] }],
            querystring,
            body: trackedEventSchema,
            response: { 200: trackingAcceptedSchema },
          },
        },
        async (request, reply) => accept(request, reply, [{ ...request.body, type }], () => 'body.'),
      );
    }

    api.post(
      '/api/v1/batch',
      {
        config: { roles: ['admin', 'operator', 'tracker'] },
        bodyLimit: BATCH_BODY_BYTES,
        schema: {
          tags: ['tracking'],
          summary: `Record up to ${MAX_BATCH} events of any type (answered when durable; at most 500 KB)`,
          security: [{ bearer: [] }],
          querystring,
          body: batchSchema,
          response: { 200: trackingAcceptedSchema },
        },
      },
      async (request, reply) => {
        const shared = request.body.context;
        const events = request.body.batch.map((e) => (shared && !e.context ? { ...e, context: shared } : e));
        return accept(request, reply, events, (i) => `body.batch[${i}].`);
      },
    );
  });
}
