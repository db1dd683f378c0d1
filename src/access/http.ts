/**
 * Accounts over HTTP: log in (a session cookie: HttpOnly, SameSite=Lax, Secure behind https), log
 * out, who am I, change my password; admins manage users and read the audit log.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, SESSION_COOKIE } from './auth.ts';
import { ApiError } from '../kernel/errors.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from './workspaces.ts';
import { listAudit, recordAudit } from './audit.ts';
import { createTeam, deleteTeam, getTeam, listTeams, updateTeam } from './teams.ts';
import { scopeOf } from './scope.ts';
import { seesPersonalData } from './masking.ts';
import { noContentSchema } from '../contract/common.ts';
import {
  auditQuerySchema,
  auditResponseSchema,
  loginInputSchema,
  loginResponseSchema,
  meSchema,
  newUserSchema,
  passwordChangeSchema,
  teamInputSchema,
  teamResponseSchema,
  teamsResponseSchema,
  userChangeSchema,
  userResponseSchema,
  usersResponseSchema,
} from '../contract/access.ts';
import { changePassword, type UserChange, createUser, getUser, listUsers, login, LoginError, logout, SESSION_DAYS, updateUser } from './users.ts';

const admins = { roles: ['admin'] as const };

function secure(request: FastifyRequest): boolean {
  return request.protocol === 'https' || (process.env.SIYU_PUBLIC_URL ?? '').startsWith('https:');
}

export function accessRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const tags = ['access'];

  api.post(
    '/api/v1/auth/login',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Log in with email and password: sets the session cookie. Failed tries slow that account from that address (429 with Retry-After), never the account everywhere',
        body: loginInputSchema,
        response: { 200: loginResponseSchema },
      },
    },
    async (request, reply) => {
      try {
        const { token, user, expiresAt } = await login(stores, request.body.email, request.body.password, { ip: request.ip });
        reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: secure(request), path: '/', maxAge: SESSION_DAYS * 86_400 });
        return { user, expiresAt: expiresAt.toISOString(), workspace: await new WorkspaceService(stores.state).get(user.workspaceId) };
      } catch (error) {
        if (error instanceof LoginError && error.retryAfterSeconds) {
          reply.header('retry-after', String(error.retryAfterSeconds));
          throw new ApiError(429, 'throttled', error.message, { retryAfterSeconds: error.retryAfterSeconds });
        }
        if (error instanceof LoginError) throw new ApiError(401, 'unauthorized', error.message);
        throw error;
      }
    },
  );
  api.post('/api/v1/auth/logout', { config: { public: true }, schema: { tags, summary: 'End the session', response: { 204: noContentSchema } } }, async (request, reply) => {
    const token = request.cookies[SESSION_COOKIE];
    if (token) await logout(stores, token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });
  api.get(
    '/api/v1/auth/me',
    { config: { beforePasswordChange: true }, schema: { tags, summary: 'Who is calling: the user (or API key), role and workspace', security, response: { 200: meSchema } } },
    async (request) => {
      const caller = callerOf(request);
      const user = caller.keyId.startsWith('usr_') ? await getUser(stores, caller.workspaceId, caller.keyId) : null;
      const scope = scopeOf(caller);
      return {
        role: caller.role,
        user,
        apiKey: user ? null : caller.keyId,
        workspace: await new WorkspaceService(stores.state).get(caller.workspaceId),
        scope: { team: scope?.team ?? null, staffUserId: scope?.staff ? (scope.staffUserId ?? null) : null },
        // workspaceChanges: definitions, sends and resolution are for callers who see the whole workspace.
        permissions: { personalData: seesPersonalData(caller.role), workspaceChanges: !scope },
      };
    },
  );
  api.post(
    '/api/v1/auth/password',
    {
      config: { scoped: true, beforePasswordChange: true },
      schema: {
        tags,
        summary: 'Change my password (other sessions end); the one thing a session with a generated first password may do',
        security,
        body: passwordChangeSchema,
        response: { 204: noContentSchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      if (!caller.keyId.startsWith('usr_')) throw new ApiError(400, 'invalid_request', 'an API key has no password: log in as a user');
      try {
        await changePassword(stores, caller.keyId, request.body.currentPassword, request.body.newPassword, request.cookies[SESSION_COOKIE]);
      } catch (error) {
        if (error instanceof LoginError) throw new ApiError(403, 'forbidden', error.message);
        throw error;
      }
      await recordAudit(stores, caller.workspaceId, caller.keyId, 'user.password', caller.keyId);
      return reply.code(204).send();
    },
  );

  api.get('/api/v1/users', { config: admins, schema: { tags, summary: 'The workspace users', security, response: { 200: usersResponseSchema } } }, async (request) => ({
    users: await listUsers(stores, callerOf(request).workspaceId),
  }));
  api.post(
    '/api/v1/users',
    { config: admins, schema: { tags, summary: 'Create a user with a first password', security, body: newUserSchema, response: { 201: userResponseSchema } } },
    async (request, reply) => {
      const caller = callerOf(request);
      const user = await createUser(stores, caller.workspaceId, request.body);
      await recordAudit(stores, caller.workspaceId, caller.keyId, 'user.create', user.id, {
        email: user.email,
        role: user.role,
        teamId: user.teamId,
        staffUserId: user.staffUserId,
      });
      return reply.code(201).send({ user });
    },
  );
  api.patch(
    '/api/v1/users/:id',
    {
      config: admins,
      schema: {
        tags,
        summary: "Change a user's role, or disable them (their sessions end)",
        security,
        params: z.object({ id: z.string() }),
        body: userChangeSchema,
        response: { 200: userResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const before = await getUser(stores, caller.workspaceId, request.params.id);
      const user = await updateUser(stores, caller.workspaceId, request.params.id, request.body as UserChange);
      const seen = (u: typeof user) => ({ role: u.role, disabled: u.disabled, teamId: u.teamId, staffUserId: u.staffUserId });
      await recordAudit(stores, caller.workspaceId, caller.keyId, 'user.update', user.id, { from: seen(before), to: seen(user) });
      return { user };
    },
  );

  const teamParams = z.object({ id: z.string() });
  api.get(
    '/api/v1/teams',
    { config: admins, schema: { tags, summary: 'Teams and the sources whose data each sees', security, response: { 200: teamsResponseSchema } } },
    async (request) => ({ teams: await listTeams(stores, callerOf(request).workspaceId) }),
  );
  api.post(
    '/api/v1/teams',
    { config: admins, schema: { tags, summary: 'Create a team bound to sources', security, body: teamInputSchema, response: { 201: teamResponseSchema } } },
    async (request, reply) => {
      const caller = callerOf(request);
      const team = await createTeam(stores, caller.workspaceId, request.body);
      await recordAudit(stores, caller.workspaceId, caller.keyId, 'team.create', team.id, { name: team.name, sources: team.sources });
      return reply.code(201).send({ team });
    },
  );
  api.put(
    '/api/v1/teams/:id',
    {
      config: admins,
      schema: {
        tags,
        summary: "Rename a team or change its sources (its members' scope changes at once)",
        security,
        params: teamParams,
        body: teamInputSchema,
        response: { 200: teamResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const before = await getTeam(stores, caller.workspaceId, request.params.id);
      const team = await updateTeam(stores, caller.workspaceId, request.params.id, request.body);
      await recordAudit(stores, caller.workspaceId, caller.keyId, 'team.update', team.id, {
        from: { name: before.name, sources: before.sources },
        to: { name: team.name, sources: team.sources },
      });
      return { team };
    },
  );
  api.delete(
    '/api/v1/teams/:id',
    { config: admins, schema: { tags, summary: 'Delete a team without members', security, params: teamParams, response: { 204: noContentSchema } } },
    async (request, reply) => {
      const caller = callerOf(request);
      await deleteTeam(stores, caller.workspaceId, request.params.id);
      await recordAudit(stores, caller.workspaceId, caller.keyId, 'team.delete', request.params.id);
      return reply.code(204).send();
    },
  );
  api.get(
    '/api/v1/audit',
    {
      config: admins,
      schema: {
        tags,
        summary: 'The audit log: exports, keys, users and role changes, newest first',
        security,
        querystring: auditQuerySchema,
        response: { 200: auditResponseSchema },
      },
    },
    async (request) => ({ entries: await listAudit(stores, callerOf(request).workspaceId, request.query) }),
  );
}
