/**
 * Tracked events in the Segment spec's shape (track, identify, page, alias), each optionally with
 * `identities: { phone: …, unionid: … }` as in Sensors IDM 3.0. Shared by the events importer and
 * the tracking API.
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import { normalise, type IdentifierType } from '../identity/identifier-types.ts';
import { clickhouseTime } from './values.ts';
import { RowRejected as EventRejected, stableHash, type Entity, type FieldProblem } from './entities.ts';

const jsonObject = z.record(z.string(), z.unknown());

const common = {
  messageId: z.string().min(1).max(200).optional(),
  anonymousId: z.string().min(1).max(200).optional(),
  userId: z.string().min(1).max(200).optional(),
  timestamp: z.string().datetime({ offset: true }).optional(),
  context: jsonObject.optional(),
  identities: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
};

export const trackEventSchema = z.object({ type: z.literal('track'), event: z.string().min(1).max(200), properties: jsonObject.optional(), ...common });
export const pageEventSchema = z.object({ type: z.literal('page'), name: z.string().max(200).optional(), properties: jsonObject.optional(), ...common });
export const identifyEventSchema = z.object({ type: z.literal('identify'), traits: jsonObject.optional(), ...common });
export const aliasEventSchema = z.object({ type: z.literal('alias'), previousId: z.string().min(1).max(200), ...common });

export const eventSchema = z.discriminatedUnion('type', [trackEventSchema, pageEventSchema, identifyEventSchema, aliasEventSchema]);
export type TrackedEvent = z.infer<typeof eventSchema>;

/** An event that cannot land is a rejected row like any other. */
export { RowRejected as EventRejected } from './entities.ts';

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

/** Validates an event and turns it into a source record plus an events row. */
export function eventEntity(input: unknown, identifierTypes: Map<string, IdentifierType>, receivedAt = Date.now(), receivedAtText = clickhouseTime(receivedAt)): Entity {
  const parsed = eventSchema.safeParse(input);
  if (!parsed.success) {
    throw new EventRejected(
      parsed.error.issues.map((issue) => ({
        field: issuePath(issue.path) || 'event',
        value: '',
        reason: issue.message,
        action: 'row_rejected',
      })),
    );
  }
  const event = parsed.data;
  if (!event.anonymousId && !event.userId && !event.identities) {
    throw new EventRejected([{ field: 'userId', value: '', reason: 'an event needs userId, anonymousId or identities', action: 'row_rejected' }]);
  }
  const identifiers: Array<[string, string]> = [];
  const problems: FieldProblem[] = [];
  for (const [typeName, raw] of Object.entries(event.identities ?? {})) {
    const type = identifierTypes.get(typeName);
    if (!type) {
      problems.push({
        field: `identities.${typeName}`,
        value: String(raw),
        reason: `identifier type "${typeName}" is not declared in this workspace (declared: ${[...identifierTypes.keys()].join(', ')})`,
        action: 'row_rejected',
      });
      continue;
    }
    try {
      identifiers.push([typeName, normalise(type, String(raw))]);
    } catch (error) {
      problems.push({ field: `identities.${typeName}`, value: String(raw), reason: (error as Error).message, action: 'row_rejected' });
    }
  }
  if (problems.length > 0) throw new EventRejected(problems);
  if (event.userId && identifierTypes.has('user_id')) identifiers.push(['user_id', event.userId]);
  if (event.anonymousId && identifierTypes.has('device_id')) identifiers.push(['device_id', event.anonymousId]);
  if (event.type === 'alias' && identifierTypes.has('user_id')) identifiers.push(['user_id', event.previousId]);

  const timestamp = event.timestamp ? Date.parse(event.timestamp) : receivedAt;
  // Without a messageId, a hash of the content keeps a retried send from landing twice.
  const messageId = event.messageId ?? `h-${crypto.hash('sha1', JSON.stringify(event)).slice(0, 24)}`;
  const name = event.type === 'track' ? event.event : event.type === 'page' ? event.name ?? 'page' : event.type;
  const properties = event.type === 'track' || event.type === 'page' ? event.properties ?? {} : event.type === 'identify' ? event.traits ?? {} : {};
  const traits = event.type === 'identify' ? event.traits ?? {} : {};
  const profile = {
    name: typeof traits.name === 'string' ? traits.name : '',
    address: typeof traits.address === 'string' ? traits.address : '',
    birthday: typeof traits.birthday === 'string' ? traits.birthday : '',
  };
  // Events are facts of an identity record: one per distinct set of identifiers (and profile traits),
  // not one per event, so a visitor's thousand events are one record for OneID to resolve.
  identifiers.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1));
  const identityHash = stableHash([identifiers, event.anonymousId ?? '', event.userId ?? '', profile]);
  const identityKey = `i${identityHash}`;
  const owner = { source: 'sdk', kind: 'identity' as const, record_id: identityKey };
  const row = {
    message_id: messageId,
    identity_key: identityKey,
    type: event.type,
    event: name,
    anonymous_id: event.anonymousId ?? '',
    user_id: event.userId ?? '',
    timestamp: event.timestamp ? clickhouseTime(timestamp) : receivedAtText,
    received_at: receivedAtText,
    properties: JSON.stringify(properties),
    context: JSON.stringify(event.context ?? {}),
    source: 'sdk',
  };
  const identity: Entity = {
    record: { ...owner, identifiers, ...profile, masked_phone: '', attributes: {}, seen_at: row.timestamp },
    facts: [],
    // When it was first seen is not part of what it is: later events leave the record unchanged.
    hash: identityHash,
    rows: 0,
  };
  return {
    facts: [{ table: 'events', key: messageId, owner, row }],
    // A retry without a timestamp is stamped anew on arrival: it is the same event all the same.
    hash: stableHash({ ...row, received_at: '', timestamp: event.timestamp ? row.timestamp : '' }),
    companions: [identity],
  };
}
