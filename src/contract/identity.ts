/** OneID over the API: identifier types, reviews, settings, explanations, sign keys (routes in src/identity/http.ts, src/tracking/sign-keys-http.ts). */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';

/** A key the brand's server signs customers' identities with (never its secret). */
export const signKeySchema = z.object({
  id: z.string().describe('the key id: the token\'s "iss"'),
  name: z.string(),
  createdBy: z.string(),
  createdAt: isoTimeSchema,
  revokedAt: isoTimeSchema.nullable(),
});
export type SignKey = z.infer<typeof signKeySchema>;
export const signKeyInputSchema = z.object({ name: z.string().trim().min(1).max(200) });
export const signKeysResponseSchema = z.object({ keys: z.array(signKeySchema) });
export const signKeyResponseSchema = z.object({ key: signKeySchema });
export const createdSignKeySchema = z.object({ key: signKeySchema, secret: z.string().describe('shown once: the HS256 secret your server signs with; the key id is the token\'s "iss"') });
