import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../kernel/errors.ts';
import type { ApiKeyService, AuthenticatedKey, Role } from './keys.ts';
import { scopeOf } from './scope.ts';

export interface RouteEntry {
  method: string;
  url: string;
  public: boolean;
  roles?: readonly Role[];
  /** A changing route that keeps to the caller's data scope (others refuse scoped callers). */
  scoped?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as registered, with its access rule: tests walk it to prove nothing is left open. */
    routeTable: RouteEntry[];
  }
  interface FastifyRequest {
    /** Set by the auth hook on every /api/v1 route: who is calling and for which workspace. */
    caller?: AuthenticatedKey;
  }
  interface FastifyContextConfig {
    /** A route that needs no credentials (health, OpenAPI). Everything else under /api is authenticated. */
    public?: boolean;
    /** Roles allowed to call the route; any authenticated role when absent ('tracker' only where listed). */
    roles?: readonly Role[];
    /**
     * A changing route (POST, PUT, PATCH, DELETE) that keeps to the caller's data scope: a user in a
     * team or a staff member may call it. Changing routes without it change workspace-wide things
     * (definitions, sends, resolution) and need a caller who sees the whole workspace.
     */
    scoped?: boolean;
    /** Open to a session whose generated first password is not changed yet (who am I, change it). */
    beforePasswordChange?: boolean;
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
export const SESSION_COOKIE = 'siyu_session';

/** The host of an Origin header; none for "null" (sandboxed frames) or anything unparsable. */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

export function installAuth(
  app: FastifyInstance,
  apiKeys: ApiKeyService,
  sessions: (token: string) => Promise<(AuthenticatedKey & { mustChangePassword?: boolean }) | undefined>,
): void {
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { public?: boolean; roles?: readonly Role[]; scoped?: boolean; beforePasswordChange?: boolean };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method !== 'HEAD') table.push({ method, url: route.url, public: !route.url.startsWith('/api/') || config.public === true, roles: config.roles, scoped: config.scoped });
    }
    if (!route.url.startsWith('/api/')) return;
    if (config.public) return;
    // onRequest: credentials are checked before the body is parsed or validated.
    const existing = route.onRequest ? (Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]) : [];
    route.onRequest = [
      async (request: FastifyRequest) => {
        const header = request.headers.authorization;
        const session = (request.cookies as Record<string, string | undefined> | undefined)?.[SESSION_COOKIE];
        let caller: (AuthenticatedKey & { mustChangePassword?: boolean }) | undefined;
        if (header) {
          const match = /^Bearer\s+(\S+)$/i.exec(header);
          if (!match) throw new ApiError(401, 'unauthorized', 'the Authorization header must be "Bearer <API key>"');
          caller = await apiKeys.authenticate(match[1]);
          if (!caller) throw new ApiError(401, 'unauthorized', 'the API key is unknown or revoked');
        } else if (session) {
          caller = await sessions(session);
          if (!caller) throw new ApiError(401, 'unauthorized', 'the session has ended; log in again');
          // A generated first password (printed in a log) opens nothing but the page that replaces it.
          if (caller.mustChangePassword && !config.beforePasswordChange) {
            throw new ApiError(403, 'password_change_required', 'choose your own password first (POST /api/v1/auth/password)');
          }
          // The cookie is SameSite=Lax; a changing request from a page of another origin is refused too.
          const origin = request.headers.origin;
          if (request.method !== 'GET' && request.method !== 'HEAD' && origin && originHost(origin) !== request.headers.host) {
            throw new ApiError(403, 'forbidden', 'a request with a session cookie must come from this origin');
          }
        } else {
          throw new ApiError(401, 'unauthorized', 'missing credentials: send "Authorization: Bearer <API key>", or log in (POST /api/v1/auth/login)');
        }
        if (config.roles && !config.roles.includes(caller.role)) {
          throw new ApiError(403, 'forbidden', `this needs one of the roles ${config.roles.join(', ')}; the key has ${caller.role}`);
        }
        // A tracker key sits in public web pages: it sends events and reads nothing.
        if (caller.role === 'tracker' && !config.roles?.includes('tracker')) throw new ApiError(403, 'forbidden', 'a tracker key only sends events');
        if (request.method !== 'GET' && request.method !== 'HEAD' && !config.scoped && scopeOf(caller)) {
          throw new ApiError(403, 'forbidden', 'this changes what the whole workspace shares (definitions, sends, resolution): it needs a user without a team or staff scope');
        }
        const { mustChangePassword: _, ...authenticated } = caller;
        request.caller = authenticated;
      },
      ...existing,
    ];
  });
}
