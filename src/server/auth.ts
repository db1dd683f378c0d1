import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';
import { ApiKeyService, type AuthenticatedKey, type Role } from '../workspaces/workspaces.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every /api/v1 route: who is calling and for which workspace. */
    caller?: AuthenticatedKey;
  }
  interface FastifyContextConfig {
    /** A route that needs no credentials (health, OpenAPI). Everything else under /api is authenticated. */
    public?: boolean;
    /** Roles allowed to call the route; any authenticated role when absent. */
    roles?: readonly Role[];
  }
}

export function callerOf(request: FastifyRequest): AuthenticatedKey {
  if (!request.caller) throw new ApiError(401, 'unauthorized', 'authentication required');
  return request.caller;
}

/**
 * Authentication is attached to routes as they are registered, so a route added later is
 * protected unless it says `config: { public: true }`.
 */
export function installAuth(app: FastifyInstance, apiKeys: ApiKeyService): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    const config = (route.config ?? {}) as { public?: boolean; roles?: readonly Role[] };
    if (config.public) return;
    const existing = route.preHandler ? (Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]) : [];
    route.preHandler = [
      async (request: FastifyRequest) => {
        const header = request.headers.authorization;
        if (!header) {
          throw new ApiError(401, 'unauthorized', 'missing Authorization header; send "Authorization: Bearer <API key>"');
        }
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        if (!match) throw new ApiError(401, 'unauthorized', 'the Authorization header must be "Bearer <API key>"');
        const caller = await apiKeys.authenticate(match[1]);
        if (!caller) throw new ApiError(401, 'unauthorized', 'the API key is unknown or revoked');
        if (config.roles && !config.roles.includes(caller.role)) {
          throw new ApiError(403, 'forbidden', `this needs one of the roles ${config.roles.join(', ')}; the key has ${caller.role}`);
        }
        request.caller = caller;
      },
      ...existing,
    ];
  });
}
