/**
 * Channels in the API: a channel as a workspace configures it (kind, the identifier it reaches
 * people by, consent rule, cost and pace; credentials as names of workspace secrets, never values),
 * and the test send. Node-free: shared by the server and the console.
 */
import { z } from 'zod';

export const CHANNEL_KINDS = ['webhook', 'email', 'sms', 'wecom', 'miniprogram', 'official_account'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'the name of an environment variable, e.g. SIYU_WEBHOOK_SECRET');
/** The same rule as the secret store's names (src/secrets/secrets.ts). */
const secretName = z
  .string()
  .regex(
    /^[a-z][a-z0-9_.-]{0,63}$/,
    'the name of a secret of this workspace (lowercase letters, digits, "_", "." or "-"; set it with "siyu secrets set <name>" or in the console), not the secret itself',
  );

const timeoutMs = z.number().int().min(100).max(120_000).default(10_000);
const httpsUrl = (fallback: string) => z.url({ protocol: /^https?$/ }).default(fallback);

/** What each kind needs to send. Each credential is a secret's name (or, allow-listed only, an environment variable's: …Env). */
export const CHANNEL_CONFIGS = {
  webhook: z.object({ url: z.url({ protocol: /^https?$/ }), secret: secretName.optional(), secretEnv: envName.optional(), timeoutMs }).strict(),
  email: z
    .object({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(587),
      secure: z.boolean().default(false),
      requireTLS: z.boolean().default(false),
      user: z.string().min(1).optional(),
      passwordSecret: secretName.optional(),
      passwordEnv: envName.optional(),
      from: z.string().min(3),
      messageIdDomain: z.string().min(1),
      timeoutMs,
    })
    .strict(),
  sms: z.discriminatedUnion('provider', [
    z.object({ provider: z.literal('http'), url: z.url({ protocol: /^https?$/ }), tokenSecret: secretName.optional(), tokenEnv: envName.optional(), timeoutMs }).strict(),
    z
      .object({
        provider: z.literal('aliyun'),
        accessKeyId: z.string().min(1),
        accessKeySecret: secretName.optional(),
        accessKeySecretEnv: envName.optional(),
        signName: z.string().min(1),
        baseUrl: httpsUrl('https://dysmsapi.aliyuncs.com'),
        regionId: z.string().default('cn-hangzhou'),
        timeoutMs,
      })
      .strict(),
  ]),
  miniprogram: z
    .object({
      appId: z.string().min(1),
      appSecret: secretName.optional(),
      appSecretEnv: envName.optional(),
      baseUrl: httpsUrl('https://api.weixin.qq.com'),
      miniprogramState: z.enum(['developer', 'trial', 'formal']).default('formal'),
      lang: z.enum(['zh_CN', 'en_US', 'zh_HK', 'zh_TW']).default('zh_CN'),
      timeoutMs,
    })
    .strict(),
  official_account: z
    .object({ appId: z.string().min(1), appSecret: secretName.optional(), appSecretEnv: envName.optional(), baseUrl: httpsUrl('https://api.weixin.qq.com'), timeoutMs })
    .strict(),
  wecom: z
    .object({
      corpId: z.string().min(1),
      corpSecret: secretName.optional(),
      corpSecretEnv: envName.optional(),
      baseUrl: httpsUrl('https://qyapi.weixin.qq.com'),
      callsPerMinute: z.number().int().min(1).max(10_000).default(10_000),
      /** The corp's rule for mass messages per customer (群发规则): as many a month as it has days, 7 a week, or 1 a day. */
      massMessageRule: z.enum(['days-per-month', 'seven-per-week', 'one-per-day']).default('days-per-month'),
      timeoutMs,
    })
    .strict(),
} satisfies Record<ChannelKind, z.ZodType>;

/** One credential a channel needs: the field naming a stored secret, and its older environment-variable twin. */
export interface SecretSlot {
  field: string;
  envField: string;
  /** An email server may take no login; every other credential is needed to send. */
  required: boolean;
}

/** The credentials a channel of this kind (and SMS provider) needs. */
export function secretSlotsOf(kind: ChannelKind, config: Record<string, unknown>): SecretSlot[] {
  switch (kind) {
    case 'webhook':
      return [{ field: 'secret', envField: 'secretEnv', required: true }];
    case 'email':
      return [{ field: 'passwordSecret', envField: 'passwordEnv', required: false }];
    case 'sms':
      return config.provider === 'aliyun'
        ? [{ field: 'accessKeySecret', envField: 'accessKeySecretEnv', required: true }]
        : [{ field: 'tokenSecret', envField: 'tokenEnv', required: true }];
    case 'miniprogram':
    case 'official_account':
      return [{ field: 'appSecret', envField: 'appSecretEnv', required: true }];
    case 'wecom':
      return [{ field: 'corpSecret', envField: 'corpSecretEnv', required: true }];
  }
}

export const channelSchema = z
  .object({
    key: z.string().regex(/^[a-z][a-z0-9_]{1,62}$/, 'lowercase letters, digits and _, starting with a letter'),
    name: z.string().min(1).max(200).optional(),
    kind: z.enum(CHANNEL_KINDS),
    /** The identifier type a message is addressed to; null: the channel needs none (webhook). */
    address: z.string().min(1).nullable().optional(),
    /** opt_out: everyone may be reached until they unsubscribe; opt_in: only people who said yes. */
    consent: z.enum(['opt_out', 'opt_in']).default('opt_out'),
    /** What one message costs (for 费效比, cost per conversion), in the workspace currency. */
    costPerMessage: z.number().min(0).default(0),
    ratePerMinute: z.number().int().min(1).max(1_000_000).default(10_000),
    concurrency: z.number().int().min(1).max(256).default(32),
    config: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .superRefine((channel, ctx) => {
    const parsed = CHANNEL_CONFIGS[channel.kind].safeParse(channel.config);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: ['config', ...issue.path] } as never);
      return;
    }
    // Each credential comes from exactly one place.
    for (const slot of secretSlotsOf(channel.kind, channel.config)) {
      const both = channel.config[slot.field] !== undefined && channel.config[slot.envField] !== undefined;
      const neither = channel.config[slot.field] === undefined && channel.config[slot.envField] === undefined;
      if (both) ctx.addIssue({ code: 'custom', path: ['config', slot.envField], message: `name the credential once: ${slot.field} (a secret) or ${slot.envField}, not both` });
      else if (neither && slot.required) ctx.addIssue({ code: 'custom', path: ['config', slot.field], message: `required: the name of the secret that holds this credential` });
    }
  });

export type Channel = z.infer<typeof channelSchema>;

/** GET /api/v1/channels */
export const channelListSchema = z.object({ channels: z.array(channelSchema) });
/** A channel created, replaced or read. */
export const channelReplySchema = z.object({ channel: channelSchema });

/** "Send a test to …": an address typed by the operator, or a person's address of the channel's type. */
export const testSendSchema = z
  .object({
    /** The address to send to (an email, a phone, an openid, an external_userid, …). */
    address: z.string().trim().min(1).max(320).optional(),
    /** Or a person: the channel's address type is looked up for them. */
    personId: z.number().int().positive().optional(),
    /** The message fields the channel kind reads (text, subject, template_id, templateCode, sender, data.*, …); plain text values. */
    content: z.record(z.string().max(100), z.union([z.string().max(10_000), z.number(), z.record(z.string(), z.string().max(10_000))])).default({}),
  })
  .strict();
export type TestSendRequest = z.infer<typeof testSendSchema>;

/** What one send did: sent, retry (a transient failure), failed, or parked (waiting on the platform). */
const sendOutcomeSchema = z.enum(['sent', 'retry', 'failed', 'parked']);
export const testSendResultSchema = z.object({
  channel: z.string(),
  address: z.string().nullable(),
  outcome: sendOutcomeSchema,
  reason: z.string().optional(),
  providerId: z.string().optional(),
});
export type TestSendResult = z.infer<typeof testSendResultSchema>;
