/**
 * A channel as a workspace configures it: its kind, the identifier it reaches people by, consent
 * rule, cost and pace. Secrets are never stored in the definition: it names a secret of the
 * workspace's secret store (`siyu secrets set`, the console's channel form) for each credential.
 * Naming a server environment variable instead (the older `…Env` fields) works only for names the
 * server operator allow-lists in SIYU_CHANNEL_SECRET_ENV_ALLOW.
 */
import { secretSlotsOf, type Channel, type ChannelKind } from '../contract/channels.ts';

/** The identifier each kind reaches a person by, unless the channel says otherwise. */
const DEFAULT_ADDRESS: Record<ChannelKind, string | null> = {
  webhook: null,
  email: 'email',
  sms: 'phone',
  wecom: 'wecom_external_userid',
  miniprogram: 'openid',
  official_account: 'openid',
};

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

/** The identifier type this channel addresses people by (null: none needed). */
export function addressTypeOf(channel: Channel): string | null {
  return channel.address === undefined ? DEFAULT_ADDRESS[channel.kind] : channel.address;
}
