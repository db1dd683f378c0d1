/**
 * Policy over HTTP (caps, quiet hours, whitelist; consent per person and channel), and the public
 * unsubscribe link messages carry: /u/:token (a page, then a POST — mail clients prefetch GETs —
 * which also serves RFC 8058 one-click List-Unsubscribe). The tracked redirect /r/:token is delivery's.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../access/auth.ts';
import { assertPersonInScope } from '../access/scope.ts';
import type { Stores } from '../stores/stores.ts';
import { consentsOf, getPolicy, savePolicy, setConsent } from './policy.ts';
import { consentChangeSchema, consentListSchema, consentParamsSchema, personParamsSchema, policyReplySchema, policySchema, smsReplySchema } from '../contract/policy.ts';
import { readUnsubscribeToken } from './links.ts';
import crypto from 'node:crypto';
import { CHANNEL_CONFIGS } from '../contract/channels.ts';
import { channelCredential, getChannel } from '../channels/store.ts';
import { normalisePhone } from '../identity/identifier-types.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { ApiError, NotFoundError } from '../kernel/errors.ts';

/** Replies that mean "stop sending me these" (退订 conventions of Chinese SMS, and the usual English ones). */
const UNSUBSCRIBE_KEYWORDS = ['TD', 'T', 'N', '退订', '取消', 'STOP', 'UNSUBSCRIBE'];

const admins = { roles: ['admin', 'operator'] as const };

/** A small HTML page (the public unsubscribe and link pages). */
export function page(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">${body}</body></html>`,
    );
}

/** A person with a record or an identifier in the workspace, else 404 naming the person. */
async function assertPersonExists(stores: Stores, workspaceId: string, personId: number): Promise<void> {
  const [known] = await stores.facts.query<{ n: string }>(
    `SELECT (SELECT count() FROM (SELECT 1 FROM source_records WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} LIMIT 1))
          + (SELECT count() FROM (SELECT 1 FROM person_identities FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} AND is_deleted = 0 LIMIT 1)) AS n`,
    { ws: workspaceId, p: personId },
  );
  if (Number(known?.n ?? 0) === 0) throw new NotFoundError(`no person ${personId} in this workspace`);
}

export function policyRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const tags = ['policy'];

  api.get(
    '/api/v1/policy',
    {
      config: { roles: ['admin', 'operator', 'analyst'] as const },
      schema: { tags, summary: 'The workspace policy: frequency caps, quiet hours, test whitelist', security, response: { 200: policyReplySchema } },
    },
    async (request) => ({
      policy: await getPolicy(stores, callerOf(request).workspaceId),
    }),
  );
  api.put(
    '/api/v1/policy',
    { config: admins, schema: { tags, summary: 'Replace the workspace policy', security, body: policySchema, response: { 200: policyReplySchema } } },
    async (request) => ({
      policy: await savePolicy(stores, callerOf(request).workspaceId, request.body),
    }),
  );

  const person = personParamsSchema;
  api.get(
    '/api/v1/people/:personId/consents',
    {
      config: { roles: ['admin', 'operator', 'analyst', 'staff'] as const },
      schema: { tags, summary: "A person's consent per channel", security, params: person, response: { 200: consentListSchema } },
    },
    async (request) => {
      const caller = callerOf(request);
      await assertPersonInScope(stores, caller, request.params.personId);
      return { consents: await consentsOf(stores, caller.workspaceId, request.params.personId) };
    },
  );
  api.put(
    '/api/v1/people/:personId/consents/:channel',
    {
      config: { ...admins, scoped: true },
      schema: {
        tags,
        summary: "Set a person's consent for a channel ('*' for all)",
        security,
        params: consentParamsSchema,
        body: consentChangeSchema,
        response: { 200: consentListSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { workspaceId } = caller;
      await assertPersonInScope(stores, caller, request.params.personId);
      // Consent is kept for someone who exists, on a channel that exists ('*': every channel).
      await assertPersonExists(stores, workspaceId, request.params.personId);
      if (request.params.channel !== '*') await getChannel(stores, workspaceId, request.params.channel);
      await setConsent(stores, workspaceId, request.params.personId, request.params.channel, request.body.status, request.body.source);
      return { consents: await consentsOf(stores, workspaceId, request.params.personId) };
    },
  );

  const token = z.object({ token: z.string().min(10).max(100) });
  api.get('/u/:token', { schema: { hide: true, params: token } }, async (request, reply) => {
    const link = await readUnsubscribeToken(stores, request.params.token);
    if (!link) return page(reply, 404, '链接无效', '<p>此退订链接无效或已过期。<br>This unsubscribe link is not valid.</p>');
    return page(reply, 200, '退订', `<p>确认不再接收此类消息？<br>Stop receiving these messages?</p><form method="post"><button type="submit">退订 / Unsubscribe</button></form>`);
  });
  api.post('/u/:token', { schema: { hide: true, params: token } }, async (request, reply) => {
    const link = await readUnsubscribeToken(stores, request.params.token);
    if (!link) return page(reply, 404, '链接无效', '<p>此退订链接无效。<br>This unsubscribe link is not valid.</p>');
    await setConsent(stores, link.workspaceId, link.personId, link.channel, 'revoked', 'unsubscribe link');
    return page(reply, 200, '已退订', '<p>已退订，您将不再收到此类消息。<br>You are unsubscribed.</p>');
  });

  // Replies to SMS, pushed by the gateway (the neutral HTTP contract): `{ from, text }` with the
  // channel's bearer token. A reply of TD/退订/… unsubscribes everyone with that number from the channel.
  api.post(
    '/hooks/sms/:workspace/:channel',
    { schema: { hide: true, params: z.object({ workspace: z.string(), channel: z.string() }), body: smsReplySchema } },
    async (request) => {
      const workspace = await new WorkspaceService(stores.state).resolve(request.params.workspace).catch(() => undefined);
      const channel = workspace ? await getChannel(stores, workspace.id, request.params.channel).catch(() => undefined) : undefined;
      const config = channel?.kind === 'sms' ? CHANNEL_CONFIGS.sms.parse(channel.config) : undefined;
      // The gateway's token is the channel's own credential (a workspace secret, or an allow-listed variable).
      const expected = channel && config?.provider === 'http' ? await channelCredential(stores, workspace!.id, channel, 'tokenSecret').catch(() => undefined) : undefined;
      const given = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
      // Compared as digests: equal lengths whatever was sent, in constant time.
      const digest = (text: string) => crypto.createHash('sha256').update(text).digest();
      const same = expected !== undefined && crypto.timingSafeEqual(digest(given), digest(expected));
      if (!workspace || !channel || !same) throw new ApiError(401, 'unauthorized', 'unknown channel or wrong token');
      const keyword = request.body.text.trim().toUpperCase();
      if (!UNSUBSCRIBE_KEYWORDS.includes(keyword)) return { unsubscribed: 0, keyword: null };
      let phone: string;
      try {
        phone = normalisePhone(request.body.from);
      } catch (error) {
        throw new ApiError(400, 'validation_failed', `body.from: ${(error as Error).message}`);
      }
      const people = await stores.facts.query<{ person_id: string }>(
        `SELECT DISTINCT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'phone' AND value = {phone:String} AND person_id > 0`,
        { ws: workspace.id, phone },
      );
      for (const p of people) await setConsent(stores, workspace.id, Number(p.person_id), channel.key, 'revoked', `sms reply ${keyword}`);
      return { unsubscribed: people.length, keyword };
    },
  );
}
