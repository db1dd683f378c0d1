/** Accounts, roles, teams, sessions and the audit log, as the API answers them (routes in src/access/http.ts). */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';
import { workspaceSchema } from './workspaces.ts';

/**
 * People's roles (admin, operator, analyst, staff) and one for machines: `tracker` may only send
 * events, so its key can sit in a web page.
 */
export const ROLES = ['admin', 'operator', 'analyst', 'staff', 'tracker'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;
/** People log in to the console; 'tracker' is for machines only. */
export const USER_ROLES = ['admin', 'operator', 'analyst', 'staff'] as const satisfies readonly Role[];
const userRoleSchema = z.enum(USER_ROLES);

export const loginInputSchema = z.object({ email: z.string().min(3).max(320), password: z.string().min(1).max(1000) }).strict();
export const passwordSchema = z.string().min(10, 'at least 10 characters').max(200);
export const passwordChangeSchema = z.object({ currentPassword: z.string().min(1), newPassword: z.string() }).strict();
export const newUserSchema = z
  .object({
    email: z.email().transform((e) => e.toLowerCase()),
    name: z.string().min(1).max(200),
    role: userRoleSchema,
    password: passwordSchema,
    teamId: z.string().min(1).nullable().optional(),
    staffUserId: z.string().min(1).max(64).nullable().optional(),
  })
  .strict();
export const userChangeSchema = z
  .object({
    role: userRoleSchema.optional(),
    disabled: z.boolean().optional(),
    teamId: z.string().min(1).nullable().optional(),
    staffUserId: z.string().min(1).max(64).nullable().optional(),
  })
  .strict();

/** A team's name and the sources (tmall, jd, wecom, …) whose data its members see. */
export const teamInputSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    sources: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a source name: lower-case letters, digits, - and _'))
      .min(1, 'at least one source')
      .max(50)
      .transform((sources) => [...new Set(sources)].sort()),
  })
  .strict();

export const auditQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), action: z.string().optional() });

export const userSchema = z.object({
  id: z.string(),
  workspaceId: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  disabled: z.boolean(),
  createdAt: isoTimeSchema,
  teamId: z.string().nullable().describe('the team whose sources bound what the user sees; null: the whole workspace'),
  staffUserId: z.string().nullable().describe("a staff user's WeCom userid: they see their own customers"),
  mustChangePassword: z.boolean().describe('a generated first password: the session may only change it'),
});
export type User = z.infer<typeof userSchema>;

export const teamSchema = z.object({
  id: z.string(),
  name: z.string(),
  sources: z.array(z.string()),
  members: z.number(),
  createdAt: isoTimeSchema,
});
export type Team = z.infer<typeof teamSchema>;

export const loginResponseSchema = z.object({ user: userSchema, expiresAt: isoTimeSchema, workspace: workspaceSchema });

/** GET /api/v1/auth/me: who is calling, as what, and what the console may show them. */
export const meSchema = z.object({
  role: roleSchema,
  user: userSchema.nullable(),
  apiKey: z.string().nullable().describe('the calling key id when the caller is not a user'),
  workspace: workspaceSchema,
  scope: z.object({
    team: z.object({ id: z.string(), name: z.string(), sources: z.array(z.string()) }).nullable(),
    staffUserId: z.string().nullable(),
  }),
  permissions: z.object({ personalData: z.boolean(), workspaceChanges: z.boolean() }),
});
export type Me = z.infer<typeof meSchema>;

export const userResponseSchema = z.object({ user: userSchema });
export const usersResponseSchema = z.object({ users: z.array(userSchema) });
export const teamResponseSchema = z.object({ team: teamSchema });
export const teamsResponseSchema = z.object({ teams: z.array(teamSchema) });

export const auditEntrySchema = z.object({
  id: z.number(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  details: z.unknown(),
  at: isoTimeSchema,
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export const auditResponseSchema = z.object({ entries: z.array(auditEntrySchema) });

/** A workspace API key as listed (never its secret). */
export const apiKeySchema = z.object({
  id: z.string(),
  workspaceId: z.string(),
  name: z.string(),
  prefix: z.string().describe('public part of the key, shown instead of the secret'),
  role: roleSchema,
  createdAt: isoTimeSchema,
  lastUsedAt: isoTimeSchema.nullable(),
  revokedAt: isoTimeSchema.nullable(),
  allowedOrigins: z.array(z.string()).nullable().describe("a tracker key's allowed page origins; null: any"),
});
export type ApiKey = z.infer<typeof apiKeySchema>;
export const apiKeysResponseSchema = z.object({ keys: z.array(apiKeySchema) });
export const apiKeyResponseSchema = z.object({ key: apiKeySchema });
export const createdApiKeySchema = z.object({ key: apiKeySchema, token: z.string().describe('shown once; store it now') });

/** At most this many origins per key: a list, not a registry. */
export const MAX_ALLOWED_ORIGINS = 50;
const allowedOrigins = z.array(z.string().max(300)).max(MAX_ALLOWED_ORIGINS);
export const apiKeyInputSchema = z.object({
  name: z.string().min(1).max(200),
  role: roleSchema.default('operator'),
  allowedOrigins: allowedOrigins.nullable().optional().describe('a tracker key only: the page origins it may send from'),
});
export const allowedOriginsChangeSchema = z.object({ allowedOrigins: allowedOrigins.nullable() }).strict();
