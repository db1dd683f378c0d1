import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from './auth.ts';
import { type WorkspaceService, workspaceChange } from './workspaces.ts';
import type { ApiKeyService } from './keys.ts';
import { workspaceSchema } from '../contract/workspaces.ts';
import { allowedOriginsChangeSchema, apiKeyInputSchema, apiKeyResponseSchema, apiKeysResponseSchema, createdApiKeySchema } from '../contract/access.ts';

/** /api/v1/workspace and /api/v1/api-keys: the caller's workspace and its machine keys. */
export function workspaceRoutes(
  app: FastifyInstance,
  services: {
    workspaces: WorkspaceService;
    apiKeys: ApiKeyService;
    audit: (workspaceId: string, actor: string, action: string, target: string, details?: Record<string, unknown>) => Promise<void>;
    /** Schedules read in the workspace's zone move with it. */
    timeZoneChanged?: (workspaceId: string) => Promise<void>;
  },
) {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/v1/workspace',
    {
      schema: {
        tags: ['workspace'],
        summary: 'The workspace of the calling key',
        security: [{ bearer: [] }],
        response: { 200: workspaceSchema },
      },
    },
    async (request) => services.workspaces.get(callerOf(request).workspaceId),
  );

  api.patch(
    '/api/v1/workspace',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['workspace'],
        summary: 'Rename the workspace or change its time zone',
        security: [{ bearer: [] }],
        body: workspaceChange,
        response: { 200: workspaceSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const before = await services.workspaces.get(caller.workspaceId);
      const after = await services.workspaces.update(caller.workspaceId, request.body);
      if (after.timeZone !== before.timeZone) await services.timeZoneChanged?.(caller.workspaceId);
      await services.audit(caller.workspaceId, caller.keyId, 'workspace.update', caller.workspaceId, {
        from: { name: before.name, timeZone: before.timeZone },
        to: { name: after.name, timeZone: after.timeZone },
      });
      return after;
    },
  );

  api.get(
    '/api/v1/api-keys',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['workspace'],
        summary: 'List the workspace API keys (never their secrets)',
        security: [{ bearer: [] }],
        response: { 200: apiKeysResponseSchema },
      },
    },
    async (request) => ({ keys: await services.apiKeys.list(callerOf(request).workspaceId) }),
  );

  api.post(
    '/api/v1/api-keys',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['workspace'],
        summary: 'Create an API key; the token is returned once',
        security: [{ bearer: [] }],
        body: apiKeyInputSchema,
        response: { 201: createdApiKeySchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const created = await services.apiKeys.create(caller.workspaceId, request.body.name, request.body.role, request.body.allowedOrigins);
      await services.audit(caller.workspaceId, caller.keyId, 'apikey.create', created.key.id, {
        name: created.key.name,
        role: created.key.role,
        allowedOrigins: created.key.allowedOrigins,
      });
      return reply.code(201).send(created);
    },
  );

  api.patch(
    '/api/v1/api-keys/:key',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['workspace'],
        summary: 'Hold a tracker key to page origins (null or []: any origin)',
        security: [{ bearer: [] }],
        params: z.object({ key: z.string().min(1) }),
        body: allowedOriginsChangeSchema,
        response: { 200: apiKeyResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const key = await services.apiKeys.setAllowedOrigins(caller.workspaceId, request.params.key, request.body.allowedOrigins);
      await services.audit(caller.workspaceId, caller.keyId, 'apikey.origins', key.id, { name: key.name, allowedOrigins: key.allowedOrigins });
      return { key };
    },
  );

  api.delete(
    '/api/v1/api-keys/:key',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['workspace'],
        summary: 'Revoke an API key by id or prefix',
        security: [{ bearer: [] }],
        params: z.object({ key: z.string().min(1) }),
        response: { 200: apiKeyResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const key = await services.apiKeys.revoke(caller.workspaceId, request.params.key);
      await services.audit(caller.workspaceId, caller.keyId, 'apikey.revoke', key.id, { name: key.name, role: key.role });
      return { key };
    },
  );
}
