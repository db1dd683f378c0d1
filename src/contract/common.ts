/**
 * The API's contract: request and response schemas shared by the server (validation, response
 * serialisation, OpenAPI) and the console (its types). Node-free: this floor imports only zod.
 */
import { z } from 'zod';

/** Every error leaves the API as `{ error: { code, message, details } }`. */
export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/** Times leave the API as ISO-8601 UTC strings. */
export const isoTimeSchema = z.string();

/** A 204 answers with no body (Fastify sends none; the schema documents it). */
export const noContentSchema = z.undefined().describe('no content');

/** A name in both console languages. */
export const namedSchema = z.object({ zh: z.string(), en: z.string() });
export type Named = z.infer<typeof namedSchema>;
