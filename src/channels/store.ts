/** Channels of a workspace in the state store, and the client each one sends through. */
import type { Stores } from '../stores/stores.ts';
import { ConflictError, NotFoundError } from '../workspaces/workspaces.ts';
import type { ChannelClient } from './channel.ts';
import { InputError } from '../system/validation.ts';
import { channelSchema, webhookConfigOf, type Channel } from './definition.ts';
import { WebhookClient } from './webhook.ts';

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
  switch (channel.kind) {
    case 'webhook': {
      const config = webhookConfigOf(channel);
      return new WebhookClient({ url: config.url, secret: secretFrom(env, config.secretEnv, channel), timeoutMs: config.timeoutMs });
    }
    default:
      throw new ChannelConfigError(`channel "${channel.key}": sending through ${channel.kind} is not wired into plans yet (use a webhook channel)`);
  }
}

/** Checks a channel can send now (its secrets are set), before a plan that uses it starts. */
export function checkChannelReady(channel: Channel, env: NodeJS.ProcessEnv = process.env): void {
  void clientFor(channel, env);
}
