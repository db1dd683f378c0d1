/** /api/v1/identity/sign-keys: the keys a brand's server signs customers' identities with (admins only). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../access/auth.ts';
import type { Stores } from '../stores/stores.ts';
import { createSignKey, listSignKeys, revokeSignKey } from './signed-identity.ts';
import { createdSignKeySchema, signKeyInputSchema, signKeyResponseSchema, signKeysResponseSchema } from '../contract/identity.ts';

export function signKeyRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/v1/identity/sign-keys',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['identity'], summary: 'List the identity sign keys (never their secrets)', security: [{ bearer: [] }], response: { 200: signKeysResponseSchema } },
    },
    async (request) => ({ keys: await listSignKeys(stores, callerOf(request).workspaceId) }),
  );

  api.post(
    '/api/v1/identity/sign-keys',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['identity'],
        summary: 'Create a sign key for signed identities (HS256); the secret is returned once',
        security: [{ bearer: [] }],
        body: signKeyInputSchema,
        response: { 201: createdSignKeySchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      return reply.code(201).send(await createSignKey(stores, caller.workspaceId, request.body.name, caller.keyId));
    },
  );

  api.delete(
    '/api/v1/identity/sign-keys/:id',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['identity'],
        summary: 'Revoke a sign key: identities it signed are claims from now on',
        security: [{ bearer: [] }],
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 200: signKeyResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      return { key: await revokeSignKey(stores, caller.workspaceId, request.params.id, caller.keyId) };
    },
  );
}
