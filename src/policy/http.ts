/**
 * Policy over HTTP (caps, quiet hours, whitelist; consent per person and channel), and the two public
 * links messages carry: /u/:token to unsubscribe (a page, then a POST — mail clients prefetch GETs —
 * which also serves RFC 8058 one-click List-Unsubscribe) and /r/:token, a tracked redirect.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../server/auth.ts';
import type { Stores } from '../stores/stores.ts';
import { consentsOf, getPolicy, policySchema, savePolicy, setConsent } from './policy.ts';
import { readClickToken, readUnsubscribeToken } from './links.ts';

const admins = { roles: ['admin', 'operator'] as const };

function page(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(`<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">${body}</body></html>`);
}

export function policyRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const tags = ['policy'];

  api.get('/api/v1/policy', { schema: { tags, summary: 'The workspace policy: frequency caps, quiet hours, test whitelist', security } }, async (request) => ({
    policy: await getPolicy(stores, callerOf(request).workspaceId),
  }));
  api.put('/api/v1/policy', { config: admins, schema: { tags, summary: 'Replace the workspace policy', security, body: policySchema } }, async (request) => ({
    policy: await savePolicy(stores, callerOf(request).workspaceId, request.body),
  }));

  const person = z.object({ personId: z.coerce.number().int().positive() });
  api.get('/api/v1/people/:personId/consents', { schema: { tags, summary: "A person's consent per channel", security, params: person } }, async (request) => ({
    consents: await consentsOf(stores, callerOf(request).workspaceId, request.params.personId),
  }));
  api.put(
    '/api/v1/people/:personId/consents/:channel',
    {
      config: admins,
      schema: { tags, summary: "Set a person's consent for a channel ('*' for all)", security, params: person.extend({ channel: z.string().min(1) }), body: z.object({ status: z.enum(['granted', 'revoked']), source: z.string().min(1).default('api') }) },
    },
    async (request) => {
      const { workspaceId } = callerOf(request);
      await setConsent(stores, workspaceId, request.params.personId, request.params.channel, request.body.status, request.body.source);
      return { consents: await consentsOf(stores, workspaceId, request.params.personId) };
    },
  );

  const token = z.object({ token: z.string().min(10).max(100) });
  api.get('/u/:token', { schema: { hide: true, params: token } }, async (request, reply) => {
    const link = await readUnsubscribeToken(stores, request.params.token);
    if (!link) return page(reply, 404, '链接无效', '<p>此退订链接无效或已过期。<br>This unsubscribe link is not valid.</p>');
    return page(
      reply,
      200,
      '退订',
      `<p>确认不再接收此类消息？<br>Stop receiving these messages?</p><form method="post"><button type="submit">退订 / Unsubscribe</button></form>`,
    );
  });
  api.post('/u/:token', { schema: { hide: true, params: token } }, async (request, reply) => {
    const link = await readUnsubscribeToken(stores, request.params.token);
    if (!link) return page(reply, 404, '链接无效', '<p>此退订链接无效。<br>This unsubscribe link is not valid.</p>');
    await setConsent(stores, link.workspaceId, link.personId, link.channel, 'revoked', 'unsubscribe link');
    return page(reply, 200, '已退订', '<p>已退订，您将不再收到此类消息。<br>You are unsubscribed.</p>');
  });

  api.get('/r/:token', { schema: { hide: true, params: token } }, async (request, reply) => {
    const link = await readClickToken(stores, request.params.token);
    if (!link || !/^https?:\/\//i.test(link.url)) return page(reply, 404, '链接无效', '<p>This link is not valid.</p>');
    await stores.facts.insertRows('message_events', [
      {
        workspace_id: link.workspaceId,
        plan: link.plan,
        run_id: link.runId,
        person_id: link.personId,
        step: 'send',
        variant: link.variant,
        channel: link.channel,
        event: 'clicked',
        reason: link.url.slice(0, 500),
        at: new Date().toISOString().replace('T', ' ').replace('Z', ''),
      },
    ]);
    return reply.redirect(link.url, 302);
  });
}
