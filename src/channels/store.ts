/** Channels of a workspace in the state store, and the client each one sends through. */
import type { Stores } from '../stores/stores.ts';
import { ConflictError, NotFoundError, InputError } from '../kernel/errors.ts';
import type { ChannelClient, OutboundMessage, SendResult } from './channel.ts';
import { sql } from 'kysely';
import { isReservedSecretName, readSecret, RESERVED_SECRET_RULE, redactSecretValues, secretExists } from '../secrets/secrets.ts';
import { SecretIntegrityError, SecretKeyError } from '../secrets/crypto.ts';
import { secretRefsOf, type SecretRef } from './definition.ts';
import { CHANNEL_CONFIGS, channelSchema, type Channel } from '../contract/channels.ts';
import { WebhookClient } from './webhook.ts';
import { EmailClient } from './email.ts';
import { AliyunSmsClient, HttpSmsClient } from './sms.ts';
import { MiniProgramSubscribeClient } from './miniprogram.ts';
import { OfficialAccountTemplateClient } from './official-account.ts';
import { WeComCustomerContactClient } from './wecom.ts';
import { assertEgressAllowed, checkEgressUrl, egressPolicy } from '../kernel/egress.ts';
import { isIP } from 'node:net';

export interface SaveChannelOptions {
  replace?: boolean;
  /** The server's environment: its SIYU_CHANNEL_SECRET_ENV_ALLOW decides which …Env names a channel may use. */
  env?: NodeJS.ProcessEnv;
}

export async function saveChannel(stores: Stores, workspaceId: string, input: unknown, options: SaveChannelOptions = {}): Promise<Channel> {
  const channel = channelSchema.parse(input);
  await checkChannelSecrets(stores, workspaceId, channel, options.env ?? process.env);
  checkChannelEgress(channel, options.env ?? process.env);
  const values = { workspace_id: workspaceId, key: channel.key, kind: channel.kind, definition: JSON.stringify(channel) };
  if (options.replace) {
    await stores.state.db
      .insertInto('channels')
      .values(values)
      .onConflict((c) => c.columns(['workspace_id', 'key']).doUpdateSet({ kind: channel.kind, definition: values.definition, updated_at: new Date() }))
      .execute();
  } else {
    const inserted = await stores.state.db
      .insertInto('channels')
      .values(values)
      .onConflict((c) => c.doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!inserted) throw new ConflictError(`channel "${channel.key}" exists (replace it to change it)`);
  }
  return channel;
}

export async function deleteChannel(stores: Stores, workspaceId: string, key: string): Promise<void> {
  const usedBy = await stores.state.db
    .selectFrom('plans')
    .select('key')
    .where('workspace_id', '=', workspaceId)
    .where(sql<string>`definition->>'channel'`, '=', key)
    .limit(1)
    .executeTakeFirst();
  if (usedBy) throw new ConflictError(`channel "${key}" is used by plan "${usedBy.key}"; change or delete the plan first`);
  const result = await stores.state.db.deleteFrom('channels').where('workspace_id', '=', workspaceId).where('key', '=', key).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`no channel "${key}" in this workspace`);
}

export async function listChannels(stores: Stores, workspaceId: string): Promise<Channel[]> {
  const rows = await stores.state.db.selectFrom('channels').select('definition').where('workspace_id', '=', workspaceId).orderBy('key').execute();
  return rows.map((r) => channelSchema.parse(r.definition));
}

export async function getChannel(stores: Stores, workspaceId: string, key: string): Promise<Channel> {
  const row = await stores.state.db.selectFrom('channels').select('definition').where('workspace_id', '=', workspaceId).where('key', '=', key).executeTakeFirst();
  if (!row) throw new NotFoundError(`no channel "${key}" in this workspace`);
  return channelSchema.parse(row.definition);
}

export class ChannelConfigError extends InputError {
  override name = 'ChannelConfigError';
}

/**
 * An endpoint written as an address the server may not reach (loopback, metadata, private) is refused
 * when the channel is saved, naming the field; host names are checked at each send, when they resolve.
 */
function checkChannelEgress(channel: Channel, env: NodeJS.ProcessEnv): void {
  const policy = egressPolicy(env);
  const config = channel.config as Record<string, unknown>;
  const refuse = (field: string, check: () => unknown) => {
    try {
      check();
    } catch (error) {
      throw new ChannelConfigError(`config.${field}: ${(error as Error).message}`);
    }
  };
  for (const field of ['url', 'baseUrl']) {
    const url = config[field];
    if (typeof url === 'string') refuse(field, () => checkEgressUrl(url, policy));
  }
  const host = typeof config.host === 'string' ? config.host.replace(/^\[|\]$/g, '') : '';
  if (channel.kind === 'email' && isIP(host)) refuse('host', () => assertEgressAllowed(policy, host, host, typeof config.port === 'number' ? config.port : 587));
}

/** The environment variables the server operator lets channels read (SIYU_CHANNEL_SECRET_ENV_ALLOW, comma-separated). */
function allowedSecretEnv(env: NodeJS.ProcessEnv): Set<string> {
  return new Set(
    (env.SIYU_CHANNEL_SECRET_ENV_ALLOW ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );
}

function refusedEnv(channel: Channel, ref: SecretRef): ChannelConfigError {
  return new ChannelConfigError(
    `channel "${channel.key}": config.${ref.field} names the server environment variable ${ref.name}, which this server does not let channels read ` +
      `(only names in SIYU_CHANNEL_SECRET_ENV_ALLOW); store the credential as a secret of this workspace and name it in config.${ref.slot} instead`,
  );
}

/** A channel may not name one of Siyu's own secrets (a sign key would go to the channel's URL). */
function refusedReserved(channel: Channel, ref: SecretRef): ChannelConfigError {
  return new ChannelConfigError(
    `channel "${channel.key}": config.${ref.field} names "${ref.name}": ${RESERVED_SECRET_RULE}; name a secret set with "siyu secrets set <name>" instead`,
  );
}

/** Refuses, naming the field, a channel whose credentials name a missing or reserved secret, or an environment variable not allow-listed. */
async function checkChannelSecrets(stores: Stores, workspaceId: string, channel: Channel, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const allowed = allowedSecretEnv(env);
  for (const ref of secretRefsOf(channel)) {
    if (ref.source === 'secret' && isReservedSecretName(ref.name)) throw refusedReserved(channel, ref);
    if (ref.source === 'env') {
      if (!allowed.has(ref.name)) throw refusedEnv(channel, ref);
    } else if (!(await secretExists(stores, workspaceId, ref.name))) {
      throw new ChannelConfigError(
        `channel "${channel.key}": config.${ref.field} names the secret "${ref.name}", which is not set in this workspace (set it first: siyu secrets set ${ref.name}, or in the console)`,
      );
    }
  }
}

/** Reads a channel's credentials now: from the workspace's secrets, or an allow-listed environment variable. */
async function readChannelSecrets(stores: Stores, workspaceId: string, channel: Channel, env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const allowed = allowedSecretEnv(env);
  const values = new Map<string, string>();
  for (const ref of secretRefsOf(channel)) {
    let value: string | undefined;
    if (ref.source === 'env') {
      if (!allowed.has(ref.name)) throw refusedEnv(channel, ref);
      value = env[ref.name];
      if (!value) throw new ChannelConfigError(`channel "${channel.key}": environment variable ${ref.name} (its secret) is not set`);
    } else {
      // A channel stored before the rule is refused here, before the value is read.
      if (isReservedSecretName(ref.name)) throw refusedReserved(channel, ref);
      try {
        value = await readSecret(stores, workspaceId, ref.name);
      } catch (error) {
        // A missing master key or a tampered value: the channel cannot send until an admin acts.
        if (error instanceof SecretKeyError || error instanceof SecretIntegrityError) throw new ChannelConfigError(`channel "${channel.key}": ${error.message}`);
        throw error;
      }
      if (!value) throw new ChannelConfigError(`channel "${channel.key}": the secret "${ref.name}" (config.${ref.field}) is not set in this workspace`);
    }
    values.set(ref.slot, value);
  }
  return values;
}

/**
 * Keeps a channel's own credentials out of what a send reports: a provider that echoes a token in
 * an error would otherwise put it in the delivery ledger, which people read.
 */
function redacting(client: ChannelClient, secrets: string[]): ChannelClient {
  const clean = (result: SendResult): SendResult => ('reason' in result ? { ...result, reason: redactSecretValues(result.reason, secrets) } : result);
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'send') return async (message: OutboundMessage) => clean(await target.send(message));
      if (property === 'sendBatch' && target.sendBatch) return async (messages: OutboundMessage[]) => (await target.sendBatch!(messages)).map(clean);
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The client a channel sends through, with its credentials read now (a missing secret, or an
 * environment variable the server does not allow, is refused with the field it came from).
 */
export async function clientFor(stores: Stores, workspaceId: string, channel: Channel, env: NodeJS.ProcessEnv = process.env): Promise<ChannelClient> {
  const values = await readChannelSecrets(stores, workspaceId, channel, env);
  const client = buildClient(channel, values);
  return redacting(client, [...values.values()]);
}

/** Credentials arrive by slot: corpSecretEnv and corpSecret both fill "corpSecret". */
function buildClient(channel: Channel, values: Map<string, string>): ChannelClient {
  const secret = (field: string): string => {
    const value = values.get(field);
    if (value === undefined) throw new ChannelConfigError(`channel "${channel.key}": config.${field} is required`);
    return value;
  };
  switch (channel.kind) {
    case 'webhook': {
      const c = CHANNEL_CONFIGS.webhook.parse(channel.config);
      return new WebhookClient({ url: c.url, secret: secret('secret'), timeoutMs: c.timeoutMs });
    }
    case 'email': {
      const c = CHANNEL_CONFIGS.email.parse(channel.config);
      const password = values.get('passwordSecret');
      const auth = c.user && password ? { user: c.user, pass: password } : undefined;
      return new EmailClient({
        host: c.host,
        port: c.port,
        secure: c.secure,
        requireTLS: c.requireTLS,
        auth,
        from: c.from,
        messageIdDomain: c.messageIdDomain,
        timeoutMs: c.timeoutMs,
        pool: true,
      });
    }
    case 'sms': {
      const c = CHANNEL_CONFIGS.sms.parse(channel.config);
      if (c.provider === 'http') return new HttpSmsClient({ url: c.url, token: secret('tokenSecret'), timeoutMs: c.timeoutMs });
      return new AliyunSmsClient({
        accessKeyId: c.accessKeyId,
        accessKeySecret: secret('accessKeySecret'),
        signName: c.signName,
        baseUrl: c.baseUrl,
        regionId: c.regionId,
        timeoutMs: c.timeoutMs,
      });
    }
    case 'miniprogram': {
      const c = CHANNEL_CONFIGS.miniprogram.parse(channel.config);
      return new MiniProgramSubscribeClient({
        appId: c.appId,
        appSecret: secret('appSecret'),
        baseUrl: c.baseUrl,
        timeoutMs: c.timeoutMs,
        miniprogramState: c.miniprogramState,
        lang: c.lang,
      });
    }
    case 'official_account': {
      const c = CHANNEL_CONFIGS.official_account.parse(channel.config);
      return new OfficialAccountTemplateClient({ appId: c.appId, appSecret: secret('appSecret'), baseUrl: c.baseUrl, timeoutMs: c.timeoutMs });
    }
    case 'wecom': {
      const c = CHANNEL_CONFIGS.wecom.parse(channel.config);
      return new WeComCustomerContactClient({ corpId: c.corpId, corpSecret: secret('corpSecret'), baseUrl: c.baseUrl, timeoutMs: c.timeoutMs, callsPerMinute: c.callsPerMinute });
    }
  }
}

/** Checks a channel can send now (its secrets are set and allowed), before a plan that uses it starts. */
export async function checkChannelReady(stores: Stores, workspaceId: string, channel: Channel, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await readChannelSecrets(stores, workspaceId, channel, env);
}

/** One credential of a channel (by slot, e.g. "tokenSecret"), read now; refused like a send would be. */
export async function channelCredential(stores: Stores, workspaceId: string, channel: Channel, slot: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  return (await readChannelSecrets(stores, workspaceId, channel, env)).get(slot);
}

/** When any secret a channel reads last changed: a client built before then holds an old credential. */
export async function channelSecretsVersion(stores: Stores, workspaceId: string, channel: Channel): Promise<string> {
  const names = secretRefsOf(channel)
    .filter((r) => r.source === 'secret')
    .map((r) => r.name);
  if (names.length === 0) return '';
  const rows = await stores.state.db
    .selectFrom('secrets')
    .select(['name', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .where('name', 'in', names)
    .orderBy('name')
    .execute();
  return rows.map((r) => `${r.name}@${new Date(r.updated_at).toISOString()}`).join(',');
}

/** The first channel that names this secret, for refusing its deletion ("channel sms"). */
export async function channelUsingSecret(stores: Stores, workspaceId: string, name: string): Promise<string | undefined> {
  for (const channel of await listChannels(stores, workspaceId)) {
    const ref = secretRefsOf(channel).find((r) => r.source === 'secret' && r.name === name);
    if (ref) return `channel "${channel.key}" (config.${ref.field})`;
  }
  return undefined;
}
