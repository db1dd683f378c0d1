import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Stores } from '../stores/stores.ts';

const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  facts: z.object({ engine: z.string(), ok: z.boolean(), error: z.string().optional() }),
  state: z.object({ engine: z.string(), ok: z.boolean(), error: z.string().optional() }),
});

async function probe(check: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await check();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** /healthz: public, answers whether both stores respond (load balancers call it without a key). */
export function systemRoutes(app: FastifyInstance, stores: Stores) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/healthz',
    {
      config: { public: true },
      schema: { tags: ['system'], summary: 'Liveness and store health', response: { 200: healthSchema, 503: healthSchema } },
    },
    async (_request, reply) => {
      const [facts, state] = await Promise.all([
        probe(() => stores.facts.query('SELECT 1 AS ok')),
        probe(() => sql`SELECT 1`.execute(stores.state.db)),
      ]);
      const ok = facts.ok && state.ok;
      return reply.code(ok ? 200 : 503).send({
        status: ok ? 'ok' : 'degraded',
        facts: { engine: stores.facts.engine, ...facts },
        state: { engine: stores.state.engine, ...state },
      });
    },
  );
}
