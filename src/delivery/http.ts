/**
 * The public link a tracked message carries: /r/:token records the click as a message event and
 * redirects to the target (the token is signed, see policy/links.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Stores } from '../stores/stores.ts';
import { readClickToken } from '../policy/links.ts';
import { page } from '../policy/http.ts';
import { recordMessageEvents } from './ledger.ts';

export function deliveryRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const token = z.object({ token: z.string().min(10).max(100) });

  api.get('/r/:token', { schema: { hide: true, params: token } }, async (request, reply) => {
    const link = await readClickToken(stores, request.params.token);
    if (!link || !/^https?:\/\//i.test(link.url)) return page(reply, 404, '链接无效', '<p>This link is not valid.</p>');
    await recordMessageEvents(stores, [
      {
        workspaceId: link.workspaceId,
        plan: link.plan,
        runId: link.runId,
        personId: link.personId,
        step: 'send',
        variant: link.variant,
        channel: link.channel,
        event: 'clicked',
        reason: link.url.slice(0, 500),
        at: new Date(),
      },
    ]);
    return reply.redirect(link.url, 302);
  });
}
