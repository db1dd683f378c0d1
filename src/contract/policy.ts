/**
 * Policy in the API: one layer across every plan — frequency caps over rolling windows, quiet hours
 * (勿扰) in the workspace time zone, a test whitelist — and consent per person and channel.
 */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day like 21:00');

export const capSchema = z
  .object({
    /** Channel keys the cap counts and applies to; '*' for all. */
    channels: z.array(z.string().min(1)).min(1).default(['*']),
    windowHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 90),
    max: z.number().int().min(0),
  })
  .strict();

export const policySchema = z
  .object({
    caps: z.array(capSchema).default([
      { channels: ['*'], windowHours: 24, max: 2 },
      { channels: ['*'], windowHours: 24 * 7, max: 5 },
    ]),
    quietHours: z
      .object({ start: clock, end: clock, action: z.enum(['delay', 'drop']).default('delay') })
      .strict()
      .nullable()
      .default({ start: '21:00', end: '09:00', action: 'delay' }),
    /** People (person ids) a plan's test send goes to. */
    testWhitelist: z.array(z.number().int().positive()).default([]),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type Cap = z.infer<typeof capSchema>;

export const policyReplySchema = z.object({ policy: policySchema });

/** A person's consent on one channel ('*': every channel), and where it came from. */
export const consentSchema = z.object({ channel: z.string(), status: z.enum(['granted', 'revoked']), source: z.string(), updated_at: isoTimeSchema });
export type Consent = z.infer<typeof consentSchema>;
export const consentListSchema = z.object({ consents: z.array(consentSchema) });
export const consentChangeSchema = z.object({ status: z.enum(['granted', 'revoked']), source: z.string().min(1).default('api') });

/** A reply to an SMS pushed by the gateway: `{ from, text }` (other fields are the gateway's own). */
export const smsReplySchema = z.object({ from: z.string().min(5), text: z.string() }).passthrough();

/** The person a consent route is about, and (to set one) the channel key or '*'. */
export const personParamsSchema = z.object({ personId: z.coerce.number().int().positive() });
export const consentParamsSchema = personParamsSchema.extend({ channel: z.string().min(1) });
