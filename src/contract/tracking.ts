/**
 * The tracking API in the Segment spec's shape (POST /api/v1/track, /identify, /page, /alias, /batch):
 * what SDKs such as Segment's analytics-node send, and the answer they read. The answer's bytes are
 * part of the contract with those SDKs: keep its fields and their order.
 */
import { z } from 'zod';

/** Segment's bound on a batch. */
export const MAX_BATCH = 1000;

export const trackedEventSchema = z
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
  .describe(
    'A Segment-spec event; `identities` maps declared identifier types to values. With a tracker key, identifiers other than anonymousId are ' +
      "claims unless `context.signedIdentity` carries a JWT signed with one of the workspace's sign keys naming them.",
  );

/** POST /api/v1/batch: events of any type, and a context each event without its own takes. */
export const batchSchema = z.object({ batch: z.array(trackedEventSchema).min(1).max(MAX_BATCH), context: z.record(z.string(), z.unknown()).optional() });

export const trackingQuerySchema = z.object({ writeKey: z.string().max(200).optional().describe('a tracker key, for navigator.sendBeacon (which cannot set headers)') });

/** The answer once the events are durable. */
export const trackingAcceptedSchema = z.object({
  success: z.literal(true),
  accepted: z.number().int(),
  unverified: z.number().int().optional().describe('events whose signed identity was not accepted (their identifiers were kept as claims)'),
});
