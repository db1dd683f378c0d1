/**
 * A channel as a workspace configures it: its kind, the identifier it reaches people by, consent
 * rule, cost and pace. Secrets are never stored in the definition: it names a secret of the
 * workspace's secret store (`siyu secrets set`, the console's channel form) for each credential.
 * Naming a server environment variable instead (the older `…Env` fields) works only for names the
 * server operator allow-lists in SIYU_CHANNEL_SECRET_ENV_ALLOW.
 */
import { z } from 'zod';

export const CHANNEL_KINDS = ['webhook', 'email', 'sms', 'wecom', 'miniprogram', 'official_account'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** The identifier each kind reaches a person by, unless the channel says otherwise. */
export const DEFAULT_ADDRESS: Record<ChannelKind, string | null> = {
  webhook: null,
  email: 'email',
  sms: 'phone',
  wecom: 'wecom_external_userid',
  miniprogram: 'openid',
  official_account: 'openid',
};

const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'the name of an environment variable, e.g. SIYU_WEBHOOK_SECRET');
/** The same rule as the secret store's names (src/secrets/secrets.ts). */
const secretName = z
  .string()
  .regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'the name of a secret of this workspace (lowercase letters, digits, "_", "." or "-"; set it with "siyu secrets set <name>" or in the console), not the secret itself');

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

/**
 * Where a channel's credential comes from: a secret of the workspace, or (allow-listed) an
 * environment variable. `slot` is the secret field (corpSecret) whichever field named it (corpSecret or corpSecretEnv).
 */
export interface SecretRef {
  slot: string;
  field: string;
  source: 'secret' | 'env';
  name: string;
}

/** The credentials a (valid) channel names, in slot order; a slot left empty is absent. */
export function secretRefsOf(channel: { kind: ChannelKind; config: Record<string, unknown> }): SecretRef[] {
  const refs: SecretRef[] = [];
  for (const slot of secretSlotsOf(channel.kind, channel.config)) {
    const stored = channel.config[slot.field];
    const env = channel.config[slot.envField];
    if (typeof stored === 'string') refs.push({ slot: slot.field, field: slot.field, source: 'secret', name: stored });
    else if (typeof env === 'string') refs.push({ slot: slot.field, field: slot.envField, source: 'env', name: env });
  }
  return refs;
}

export type ChannelConfig<K extends ChannelKind> = z.infer<(typeof CHANNEL_CONFIGS)[K]>;

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

/** The identifier type this channel addresses people by (null: none needed). */
export function addressTypeOf(channel: Channel): string | null {
  return channel.address === undefined ? DEFAULT_ADDRESS[channel.kind] : channel.address;
}
