/**
 * Workspace secrets as the API lists them: never a value (routes in src/secrets/http.ts; the request
 * schemas stay in src/secrets/secrets.ts, which measures a value's bytes with node's Buffer).
 */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';

const secretListingSchema = z.object({
  name: z.string(),
  hint: z.string().meta({ description: 'the value is never shown: "••••" and at most its last 4 characters' }),
  updatedAt: isoTimeSchema,
});
export const secretsResponseSchema = z.object({ secrets: z.array(secretListingSchema) });
export const secretResponseSchema = z.object({ secret: secretListingSchema });
