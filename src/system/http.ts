import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { healthSchema } from '../contract/system.ts';
import type { Stores } from '../stores/stores.ts';

async function probe(store: string, check: () => Promise<unknown>, log: FastifyBaseLogger): Promise<{ ok: boolean; status: 'ok' | 'unavailable' }> {
  try {
    await check();
    return { ok: true, status: 'ok' };
  } catch (error) {
    log.error({ err: error, store }, 'health check: the store did not answer');
    return { ok: false, status: 'unavailable' };
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
    async (request, reply) => {
      const [facts, state] = await Promise.all([
        probe('facts', () => stores.facts.query('SELECT 1 AS ok'), request.log),
        probe('state', () => sql`SELECT 1`.execute(stores.state.db), request.log),
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
