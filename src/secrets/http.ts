/** Secrets over HTTP: admins list them (names and hints), set and delete them; no route ever answers with a value. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../access/auth.ts';
import { ApiError } from '../kernel/errors.ts';
import type { Stores } from '../stores/stores.ts';
import { noContentSchema } from '../contract/common.ts';
import { secretResponseSchema, secretsResponseSchema } from '../contract/secrets.ts';
import { adminSecretNameSchema, listSecrets, removeSecret, secretValueSchema, setSecret } from './secrets.ts';

const admins = { roles: ['admin'] as const };

export interface SecretRouteOptions {
  /** What still uses a secret (e.g. "channel sms"), so it is not deleted from under a channel. Handed down by the server. */
  usedBy?: (workspaceId: string, name: string) => Promise<string | undefined>;
}

export function secretRoutes(app: FastifyInstance, stores: Stores, options: SecretRouteOptions = {}): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const tags = ['secrets'];
  // Siyu's own secrets (signkey.…, system.…, internal.…) are not the admins' to set or delete.
  const params = z.object({ name: adminSecretNameSchema });

  api.get(
    '/api/v1/secrets',
    {
      config: admins,
      schema: { tags, summary: 'The workspace secrets: names, hints (••••1234) and when each was set; never values', security, response: { 200: secretsResponseSchema } },
    },
    async (request) => ({ secrets: await listSecrets(stores, callerOf(request).workspaceId) }),
  );
  api.put(
    '/api/v1/secrets/:name',
    {
      config: admins,
      schema: {
        tags,
        summary: 'Set or replace a secret (write-only: the answer shows its hint, never the value)',
        security,
        params,
        body: z.object({ value: secretValueSchema.meta({ description: 'the credential; it is stored encrypted and never returned' }) }).strict(),
        response: { 200: secretResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      return { secret: await setSecret(stores, caller.workspaceId, caller.keyId, request.params.name, request.body.value) };
    },
  );
  api.delete(
    '/api/v1/secrets/:name',
    { config: admins, schema: { tags, summary: 'Delete a secret no channel uses', security, params, response: { 204: noContentSchema } } },
    async (request, reply) => {
      const caller = callerOf(request);
      const user = await options.usedBy?.(caller.workspaceId, request.params.name);
      if (user) throw new ApiError(409, 'conflict', `secret "${request.params.name}" is used by ${user}; change it first`);
      if (!(await removeSecret(stores, caller.workspaceId, caller.keyId, request.params.name))) {
        throw new ApiError(404, 'not_found', `no secret "${request.params.name}" in this workspace`);
      }
      return reply.code(204).send();
    },
  );
}
