/**
 * Tracked events in the Segment spec's shape (track, identify, page, alias), each optionally with
 * `identities: { phone: …, unionid: … }` as in Sensors IDM 3.0. Shared by the events importer and
 * the tracking API.
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import { normalise, type IdentifierType } from '../identity/identifier-types.ts';
import type { ErasedCheck } from '../identity/suppression.ts';
import { clickhouseTime } from '../kernel/time.ts';
import { RowRejected as EventRejected, stableHash, type Entity, type FieldProblem } from './entities.ts';

const jsonObject = z.record(z.string(), z.unknown());

/** Bounds on one event, so one client's payload cannot cost the server (or a shared insert) more than its share. */
export const EVENT_LIMITS = {
  /** Identifiers on one event (Sensors sends a handful). */
  identities: 20,
  /** Characters in one identifier value, id or event name. */
  idLength: 200,
  /** Bytes of properties, traits and context together, as JSON (Segment's limit is 32 KB). */
  jsonBytes: 32 * 1024,
  /** Levels of nesting in properties, traits and context. */
  depth: 10,
} as const;

const common = {
  messageId: z.string().min(1).max(EVENT_LIMITS.idLength).optional(),
  anonymousId: z.string().min(1).max(EVENT_LIMITS.idLength).optional(),
  userId: z.string().min(1).max(EVENT_LIMITS.idLength).optional(),
  timestamp: z.string().datetime({ offset: true }).optional(),
  context: jsonObject.optional(),
  identities: z
    .record(z.string().max(40), z.union([z.string().max(EVENT_LIMITS.idLength), z.number()]))
    .refine((ids) => Object.keys(ids).length <= EVENT_LIMITS.identities, `at most ${EVENT_LIMITS.identities} identifiers per event`)
    .optional(),
};

const trackEventSchema = z.object({ type: z.literal('track'), event: z.string().min(1).max(EVENT_LIMITS.idLength), properties: jsonObject.optional(), ...common });
const pageEventSchema = z.object({ type: z.literal('page'), name: z.string().max(EVENT_LIMITS.idLength).optional(), properties: jsonObject.optional(), ...common });
const identifyEventSchema = z.object({ type: z.literal('identify'), traits: jsonObject.optional(), ...common });
const aliasEventSchema = z.object({ type: z.literal('alias'), previousId: z.string().min(1).max(EVENT_LIMITS.idLength), ...common });

const eventSchema = z.discriminatedUnion('type', [trackEventSchema, pageEventSchema, identifyEventSchema, aliasEventSchema]);

/** An event that cannot land is a rejected row like any other. */
export { RowRejected as EventRejected } from './entities.ts';

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/**
 * How far an event's sender is believed. A server key or session (`server`) says who a customer is.
 * A tracker key sits in public web pages, so what its events say about identity is a claim: only
 * device ids link records, and the rest is kept on the event (context.siyuClaims) and nowhere else,
 * unless a signed identity from the brand's server vouches for it (`verified`).
 */
export interface EventTrust {
  level: 'server' | 'claims';
  /** Identifiers a verified signed identity vouches for (type → raw value). */
  verified?: Record<string, string>;
  /** Why a signed identity on the event was not believed (kept with the claims). */
  signatureProblem?: string;
}

/** Identifier types a tracker key may link by: they name a device, never a person. */
const DEVICE_IDENTIFIER_TYPES: ReadonlySet<string> = new Set(['device_id']);

export interface EventEntityOptions {
  trust?: EventTrust;
  /** Timestamps accepted, relative to arrival (tracking; imports of history leave it out). */
  window?: { maxPastMs: number; maxFutureMs: number };
  /**
   * The workspace's suppression list (PIPL erasure; absent when it is empty): an erased identifier
   * is kept nowhere — not in the identity record, the claims, the event's ids or its top-level
   * properties and traits named after an identifier type — and the event lands on what is left.
   */
  erased?: ErasedCheck;
}

/** A copy of a properties-like object without the top-level identifiers (keys named after a type) that are erased; undefined when none is. */
function withoutErased(object: Record<string, unknown>, identifierTypes: Map<string, IdentifierType>, erased: ErasedCheck): Record<string, unknown> | undefined {
  let kept: Record<string, unknown> | undefined;
  for (const [key, raw] of Object.entries(object)) {
    const type = identifierTypes.get(key);
    if (!type || (typeof raw !== 'string' && typeof raw !== 'number')) continue;
    let value: string;
    try {
      value = normalise(type, String(raw));
    } catch {
      continue;
    }
    if (!erased(key, value)) continue;
    kept ??= { ...object };
    delete kept[key];
  }
  return kept;
}

/** The deepest nesting in a JSON value, counted without recursion (a deep payload must not overflow the stack). */
export function jsonDepth(value: unknown, stopAt: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(item)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return deepest;
}

function rejected(field: string, value: string, reason: string): EventRejected {
  return new EventRejected([{ field, value: value.slice(0, 200), reason, action: 'row_rejected' }]);
}

/** Validates an event and turns it into a source record plus an events row. */
export function eventEntity(
  input: unknown,
  identifierTypes: Map<string, IdentifierType>,
  receivedAt = Date.now(),
  receivedAtText = clickhouseTime(receivedAt),
  options: EventEntityOptions = {},
): Entity {
  // Depth first: everything after (validation, hashing) walks the payload.
  if (input !== null && typeof input === 'object') {
    for (const field of ['properties', 'traits', 'context'] as const) {
      const part = (input as Record<string, unknown>)[field];
      if (jsonDepth(part, EVENT_LIMITS.depth) > EVENT_LIMITS.depth) throw rejected(field, '', `nested more than ${EVENT_LIMITS.depth} levels deep`);
    }
  }
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
  const trust = options.trust ?? { level: 'server' };
  if (!event.anonymousId && !event.userId && !event.identities) {
    throw rejected('userId', '', 'an event needs userId, anonymousId or identities');
  }
  const properties = event.type === 'track' || event.type === 'page' ? (event.properties ?? {}) : event.type === 'identify' ? (event.traits ?? {}) : {};
  let propertiesJson = JSON.stringify(properties);
  const sentContextJson = JSON.stringify(event.context ?? {});
  const payloadBytes = Buffer.byteLength(propertiesJson) + Buffer.byteLength(sentContextJson);
  if (payloadBytes > EVENT_LIMITS.jsonBytes) {
    throw rejected(
      event.type === 'identify' ? 'traits' : 'properties',
      '',
      `properties, traits and context together are ${payloadBytes} bytes as JSON; at most ${EVENT_LIMITS.jsonBytes}`,
    );
  }
  const timestamp = event.timestamp ? Date.parse(event.timestamp) : receivedAt;
  if (options.window && event.timestamp) {
    // One insert holds every concurrent request's events: a far-off time would open a partition per month.
    const { maxPastMs, maxFutureMs } = options.window;
    if (timestamp < receivedAt - maxPastMs) throw rejected('timestamp', event.timestamp, `more than ${Math.round(maxPastMs / 86_400_000)} days ago`);
    if (timestamp > receivedAt + maxFutureMs) throw rejected('timestamp', event.timestamp, `more than ${Math.round(maxFutureMs / 3_600_000)} hours ahead`);
  }

  const given: Array<[string, string, string]> = []; // [type, value, field]
  const problems: FieldProblem[] = [];
  const addIdentifier = (typeName: string, raw: string, field: string) => {
    const type = identifierTypes.get(typeName);
    if (!type) {
      problems.push({
        field,
        value: raw.slice(0, 200),
        reason: `identifier type "${typeName}" is not declared in this workspace (declared: ${[...identifierTypes.keys()].join(', ')})`,
        action: 'row_rejected',
      });
      return;
    }
    try {
      given.push([typeName, normalise(type, raw), field]);
    } catch (error) {
      problems.push({ field, value: raw.slice(0, 200), reason: (error as Error).message, action: 'row_rejected' });
    }
  };
  for (const [typeName, raw] of Object.entries(event.identities ?? {})) addIdentifier(typeName, String(raw), `identities.${typeName}`);
  if (problems.length > 0) throw new EventRejected(problems);
  if (event.userId && identifierTypes.has('user_id')) given.push(['user_id', event.userId, 'userId']);
  if (event.anonymousId && identifierTypes.has('device_id')) given.push(['device_id', event.anonymousId, 'anonymousId']);
  if (event.type === 'alias' && identifierTypes.has('user_id')) given.push(['user_id', event.previousId, 'previousId']);

  // What a signed identity vouches for, normalised like the event's own identifiers.
  const verified = new Set<string>();
  for (const [typeName, raw] of Object.entries(trust.verified ?? {})) {
    const type = identifierTypes.get(typeName);
    if (!type) continue; // a type the workspace does not declare links nothing
    try {
      const value = normalise(type, raw);
      verified.add(`${typeName}\u0000${value}`);
      if (!given.some(([t, v]) => t === typeName && v === value)) given.push([typeName, value, `signedIdentity.ids.${typeName}`]);
    } catch {
      // an unusable value in a signed token links nothing either
    }
  }
  const believed = (typeName: string, value: string) => trust.level === 'server' || DEVICE_IDENTIFIER_TYPES.has(typeName) || verified.has(`${typeName}\u0000${value}`);
  // Whether a tracker event names its device is asked of what was sent, before erased ids are withheld.
  if (trust.level === 'claims' && !given.some(([t]) => DEVICE_IDENTIFIER_TYPES.has(t)) && verified.size === 0) {
    throw rejected('anonymousId', '', 'an event sent with a tracker key needs anonymousId (its other identifiers are claims until a signed identity vouches for them)');
  }
  const erased = options.erased;
  let withheld = 0;
  const identifiers: Array<[string, string]> = [];
  const claimed: Record<string, string> = {};
  for (const [typeName, value, field] of given) {
    if (erased?.(typeName, value))
      withheld++; // never stored, not even as a claim (and the sender is not told)
    else if (believed(typeName, value)) identifiers.push([typeName, value]);
    else claimed[field] = value;
  }
  // The event's own columns do not keep an erased device or user id either.
  const anonymousId = event.anonymousId && erased?.('device_id', event.anonymousId) ? '' : (event.anonymousId ?? '');
  const userId = event.userId && erased?.('user_id', event.userId) ? '' : (event.userId ?? '');
  let contextChanged = false;
  if (erased) {
    const kept = withoutErased(properties, identifierTypes, erased);
    if (kept) propertiesJson = JSON.stringify(kept);
  }

  // Events are facts of an identity record: one per distinct set of identifiers (and profile traits),
  // not one per event, so a visitor's thousand events are one record for OneID to resolve.
  const messageId = event.messageId ?? `h-${crypto.hash('sha1', JSON.stringify(event)).slice(0, 24)}`;
  const name = event.type === 'track' ? event.event : event.type === 'page' ? (event.name ?? 'page') : event.type;
  const traits = event.type === 'identify' ? (event.traits ?? {}) : {};
  const traitProfile = {
    name: typeof traits.name === 'string' ? traits.name : '',
    address: typeof traits.address === 'string' ? traits.address : '',
    birthday: typeof traits.birthday === 'string' ? traits.birthday : '',
  };
  // Profile traits from a tracker key are claims too, unless a signed identity says who this is.
  const profileBelieved = trust.level === 'server' || verified.size > 0;
  const profile = profileBelieved ? traitProfile : { name: '', address: '', birthday: '' };
  const claimedProfile = profileBelieved ? {} : Object.fromEntries(Object.entries(traitProfile).filter(([, v]) => v));
  const hasClaims = Object.keys(claimed).length > 0 || Object.keys(claimedProfile).length > 0 || trust.signatureProblem !== undefined;
  // The sender's own context never carries claims or a token into storage: only what was decided here.
  const { siyuClaims: sentClaims, signedIdentity: token, ...context } = event.context ?? {};
  if (erased && context.traits !== null && typeof context.traits === 'object' && !Array.isArray(context.traits)) {
    const kept = withoutErased(context.traits as Record<string, unknown>, identifierTypes, erased);
    if (kept) {
      context.traits = kept;
      contextChanged = true;
    }
  }
  if (hasClaims) {
    context.siyuClaims = {
      ...(Object.keys(claimed).length > 0 ? { identifiers: claimed } : {}),
      ...(Object.keys(claimedProfile).length > 0 ? { profile: claimedProfile } : {}),
      ...(trust.signatureProblem ? { signedIdentityRefused: trust.signatureProblem } : {}),
    };
  }

  identifiers.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1));
  const identityParts: unknown[] = [identifiers, anonymousId, trust.level === 'server' ? userId : '', profile];
  // Left with nothing that identifies it once erased ids are withheld: a record of its own, not one shared by every such event.
  if (withheld > 0 && identifiers.length === 0) identityParts.push(messageId);
  const identityHash = stableHash(identityParts);
  const identityKey = `i${identityHash}`;
  const owner = { source: 'sdk', kind: 'identity' as const, record_id: identityKey };
  const row = {
    message_id: messageId,
    identity_key: identityKey,
    type: event.type,
    event: name,
    anonymous_id: anonymousId,
    user_id: userId,
    timestamp: event.timestamp ? clickhouseTime(timestamp) : receivedAtText,
    received_at: receivedAtText,
    properties: propertiesJson,
    context: hasClaims || contextChanged || sentClaims !== undefined || token !== undefined ? JSON.stringify(context) : sentContextJson,
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
