/** /healthz (routes in src/system/http.ts). */
import { z } from 'zod';

/** One word per store: what went wrong stays in the server log (a store error names hosts, paths and users). */
const storeHealthSchema = z.object({ engine: z.string(), ok: z.boolean(), status: z.enum(['ok', 'unavailable']) });
export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  facts: storeHealthSchema,
  state: storeHealthSchema,
});

/** GET /api/openapi.json: the OpenAPI 3.1 document of these schemas. */
export const openApiDocumentSchema = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});
