/**
 * "Send a test to …": one message through a channel as configured, to an address typed by the
 * operator or to a person's address, outside plans and the ledger. The answer says what happened
 * (reasons are the client's, with the channel's own secrets blanked out).
 */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';
import { InputError } from '../kernel/errors.ts';
import { addressTypeOf } from './definition.ts';
import { clientFor, getChannel } from './store.ts';
import { ledgerReason } from './channel.ts';
import type { TestSendRequest, TestSendResult } from '../contract/channels.ts';

const DEFAULT_CONTENT: Record<string, string> = {
  subject: 'Siyu 测试消息 / test message',
  text: '这是一条来自 Siyu 的测试消息。This is a test message from Siyu.',
};

async function addressOfPerson(stores: Stores, workspaceId: string, type: string, personId: number): Promise<string | undefined> {
  const rows = await stores.facts.query<{ address: string }>(
    `SELECT argMax(value, records) AS address FROM person_identities FINAL
     WHERE workspace_id = {ws:String} AND type = {type:String} AND person_id = {person:UInt64} GROUP BY person_id`,
    { ws: workspaceId, type, person: personId },
  );
  return rows[0]?.address;
}

export async function sendTestMessage(stores: Stores, workspaceId: string, key: string, request: TestSendRequest, env: NodeJS.ProcessEnv = process.env): Promise<TestSendResult> {
  const channel = await getChannel(stores, workspaceId, key);
  const addressType = addressTypeOf(channel);
  let address: string | null = request.address ?? null;
  if (request.address && request.personId) throw new InputError('address, personId: give one of them, not both');
  if (request.personId !== undefined) {
    if (!addressType) throw new InputError(`personId: channel "${key}" addresses nobody (it is a ${channel.kind}); leave both out`);
    address = (await addressOfPerson(stores, workspaceId, addressType, request.personId)) ?? null;
    if (!address) throw new InputError(`personId: person ${request.personId} has no ${addressType}, which channel "${key}" sends to`);
  } else if (addressType && !address) {
    throw new InputError(`address: channel "${key}" sends to a ${addressType}; type one or pick a person`);
  }
  const client = await clientFor(stores, workspaceId, channel, env);
  try {
    const message = {
      deliveryId: `test_${crypto.randomBytes(8).toString('hex')}`,
      workspaceId,
      personId: String(request.personId ?? 0),
      address,
      content: { ...DEFAULT_CONTENT, ...request.content },
      plan: { key: 'channel-test', runId: 'test', variant: 'test', step: 'test' },
    };
    const [result] = client.sendBatch ? await client.sendBatch([message]) : [await client.send(message)];
    return {
      channel: key,
      address,
      outcome: result.outcome,
      // As the ledger keeps it: the code and a short redacted excerpt of what the platform answered.
      ...('reason' in result ? { reason: ledgerReason(result.reason) } : {}),
      ...('providerId' in result && result.providerId ? { providerId: result.providerId } : {}),
    };
  } finally {
    await client.close?.();
  }
}
