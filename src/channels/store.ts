/** Channels of a workspace in the state store, and the client each one sends through. */
import type { Stores } from '../stores/stores.ts';
import { ConflictError, NotFoundError } from '../workspaces/workspaces.ts';
import type { ChannelClient } from './channel.ts';
import { InputError } from '../system/validation.ts';
import { CHANNEL_CONFIGS, channelSchema, type Channel } from './definition.ts';
import { WebhookClient } from './webhook.ts';
import { EmailClient } from './email.ts';
import { AliyunSmsClient, HttpSmsClient } from './sms.ts';
import { MiniProgramSubscribeClient } from './miniprogram.ts';
import { OfficialAccountTemplateClient } from './official-account.ts';
import { WeComCustomerContactClient } from './wecom.ts';

export async function saveChannel(stores: Stores, workspaceId: string, input: unknown, options: { replace?: boolean } = {}): Promise<Channel> {
  const channel = channelSchema.parse(input);
  const values = { workspace_id: workspaceId, key: channel.key, kind: channel.kind, definition: JSON.stringify(channel) };
  if (options.replace) {
    await stores.state.db
      .insertInto('channels')
      .values(values)
      .onConflict((c) => c.columns(['workspace_id', 'key']).doUpdateSet({ kind: channel.kind, definition: values.definition, updated_at: new Date() }))
      .execute();
  } else {
    const inserted = await stores.state.db.insertInto('channels').values(values).onConflict((c) => c.doNothing()).returning('key').executeTakeFirst();
    if (!inserted) throw new ConflictError(`channel "${channel.key}" exists (replace it to change it)`);
  }
  return channel;
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

function secretFrom(env: NodeJS.ProcessEnv, name: string, channel: Channel): string {
  const value = env[name];
  if (!value) throw new ChannelConfigError(`channel "${channel.key}": environment variable ${name} (its secret) is not set`);
  return value;
}

/** The client a channel sends through; its secrets are read from the environment now. */
export function clientFor(channel: Channel, env: NodeJS.ProcessEnv = process.env): ChannelClient {
  const secret = (name: string) => secretFrom(env, name, channel);
  switch (channel.kind) {
    case 'webhook': {
      const c = CHANNEL_CONFIGS.webhook.parse(channel.config);
      return new WebhookClient({ url: c.url, secret: secret(c.secretEnv), timeoutMs: c.timeoutMs });
    }
    case 'email': {
      const c = CHANNEL_CONFIGS.email.parse(channel.config);
      const auth = c.user && c.passwordEnv ? { user: c.user, pass: secret(c.passwordEnv) } : undefined;
      return new EmailClient({ host: c.host, port: c.port, secure: c.secure, requireTLS: c.requireTLS, auth, from: c.from, messageIdDomain: c.messageIdDomain, timeoutMs: c.timeoutMs, pool: true });
    }
    case 'sms': {
      const c = CHANNEL_CONFIGS.sms.parse(channel.config);
      if (c.provider === 'http') return new HttpSmsClient({ url: c.url, token: secret(c.tokenEnv), timeoutMs: c.timeoutMs });
      return new AliyunSmsClient({ accessKeyId: c.accessKeyId, accessKeySecret: secret(c.accessKeySecretEnv), signName: c.signName, baseUrl: c.baseUrl, regionId: c.regionId, timeoutMs: c.timeoutMs });
    }
    case 'miniprogram': {
      const c = CHANNEL_CONFIGS.miniprogram.parse(channel.config);
      return new MiniProgramSubscribeClient({ appId: c.appId, appSecret: secret(c.appSecretEnv), baseUrl: c.baseUrl, timeoutMs: c.timeoutMs, miniprogramState: c.miniprogramState, lang: c.lang });
    }
    case 'official_account': {
      const c = CHANNEL_CONFIGS.official_account.parse(channel.config);
      return new OfficialAccountTemplateClient({ appId: c.appId, appSecret: secret(c.appSecretEnv), baseUrl: c.baseUrl, timeoutMs: c.timeoutMs });
    }
    case 'wecom': {
      const c = CHANNEL_CONFIGS.wecom.parse(channel.config);
      return new WeComCustomerContactClient({ corpId: c.corpId, corpSecret: secret(c.corpSecretEnv), baseUrl: c.baseUrl, timeoutMs: c.timeoutMs, callsPerMinute: c.callsPerMinute });
    }
  }
}

/** Checks a channel can send now (its secrets are set), before a plan that uses it starts. */
export function checkChannelReady(channel: Channel, env: NodeJS.ProcessEnv = process.env): void {
  void clientFor(channel, env);
}
