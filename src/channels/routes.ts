/** Channel routes the console's channel settings need beyond the definitions (in plans/http.ts): delete, and send a test. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf } from '../access/auth.ts';
import type { Stores } from '../stores/stores.ts';
import { recordAudit } from '../access/audit.ts';
import { assertPersonInScope } from '../access/scope.ts';
import { deleteChannel } from './store.ts';
import { sendTestMessage } from './test-send.ts';
import { testSendResultSchema, testSendSchema } from '../contract/channels.ts';
import { noContentSchema } from '../contract/common.ts';
import { keyParamsSchema } from '../contract/plans.ts';

const admins = { roles: ['admin'] as const };

export function channelRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const tags = ['channels'];
  const params = keyParamsSchema;

  api.delete(
    '/api/v1/channels/:key',
    { config: admins, schema: { tags, summary: 'Delete a channel no plan uses (its secrets stay, for another channel)', security, params, response: { 204: noContentSchema } } },
    async (request, reply) => {
      const caller = callerOf(request);
      await deleteChannel(stores, caller.workspaceId, request.params.key);
      await recordAudit(stores, caller.workspaceId, caller.keyId, 'channel.delete', request.params.key);
      return reply.code(204).send();
    },
  );
  api.post(
    '/api/v1/channels/:key/test',
    {
      config: admins,
      schema: {
        tags,
        summary: 'Send one test message through the channel to an address or a person, and say what happened',
        security,
        params,
        body: testSendSchema,
        response: { 200: testSendResultSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      if (request.body.personId !== undefined) await assertPersonInScope(stores, caller, request.body.personId);
      const result = await sendTestMessage(stores, caller.workspaceId, request.params.key, request.body);
      await recordAudit(stores, caller.workspaceId, caller.keyId, 'channel.test', request.params.key, { outcome: result.outcome, personId: request.body.personId ?? null });
      return result;
    },
  );
}
