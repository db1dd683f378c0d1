/**
 * Policy: one layer across every plan. Frequency caps over rolling windows (per person, across plans,
 * for marketing messages), quiet hours (勿扰) in the workspace time zone, consent and unsubscribe per
 * channel, and a test whitelist. Each check returns the rule that stopped a message, which the
 * ledger keeps.
 */
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import { policySchema, type Cap, type Consent, type Policy } from '../contract/policy.ts';

export async function getPolicy(stores: Stores, workspaceId: string): Promise<Policy> {
  const row = await stores.state.db.selectFrom('policies').select('definition').where('workspace_id', '=', workspaceId).executeTakeFirst();
  return policySchema.parse(row?.definition ?? {});
}

export async function savePolicy(stores: Stores, workspaceId: string, input: unknown): Promise<Policy> {
  const policy = policySchema.parse(input);
  const definition = JSON.stringify(policy);
  await stores.state.db
    .insertInto('policies')
    .values({ workspace_id: workspaceId, definition })
    .onConflict((c) => c.column('workspace_id').doUpdateSet({ definition, updated_at: new Date() }))
    .execute();
  return policy;
}

function minutesOf(clockText: string): number {
  const [h, m] = clockText.split(':').map(Number);
  return h * 60 + m;
}

/** Minutes since local midnight of an instant in a time zone. */
export function localMinutes(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return part('hour') * 60 + part('minute');
}

export type QuietDecision = { quiet: false } | { quiet: true; action: 'drop' } | { quiet: true; action: 'delay'; until: Date };

/**
 * Whether an instant falls in quiet hours (a window that may wrap midnight), and if messages are
 * delayed, the instant the window ends. (Shifts of a daylight-saving change inside the window are
 * not corrected; China has none.)
 */
export function quietHoursAt(policy: Pick<Policy, 'quietHours'>, timeZone: string, at: Date): QuietDecision {
  const quiet = policy.quietHours;
  if (!quiet) return { quiet: false };
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return { quiet: false };
  const now = localMinutes(at, timeZone);
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inside) return { quiet: false };
  if (quiet.action === 'drop') return { quiet: true, action: 'drop' };
  const wait = (end - now + 1440) % 1440;
  const until = new Date(at.getTime() + wait * 60_000);
  until.setUTCSeconds(0, 0);
  return { quiet: true, action: 'delay', until };
}

/** The people who may not be reached on a channel: revoked consent (or, for opt-in channels, none given). */
export async function withoutConsent(stores: Stores, workspaceId: string, channelKey: string, mode: 'opt_in' | 'opt_out', people: number[]): Promise<Set<number>> {
  if (people.length === 0) return new Set();
  const rows = await stores.state.db
    .selectFrom('consents')
    .select(['person_id', 'channel', 'status'])
    .where('workspace_id', '=', workspaceId)
    .where('channel', 'in', [channelKey, '*'])
    .where('person_id', '=', sql<number>`ANY(${people}::bigint[])`)
    .execute();
  const revoked = new Set<number>();
  const granted = new Set<number>();
  for (const r of rows) (r.status === 'revoked' ? revoked : granted).add(Number(r.person_id));
  if (mode === 'opt_out') return revoked;
  return new Set(people.filter((p) => revoked.has(p) || !granted.has(p)));
}

export async function setConsent(stores: Stores, workspaceId: string, personId: number, channel: string, status: 'granted' | 'revoked', source: string): Promise<void> {
  await stores.state.db
    .insertInto('consents')
    .values({ workspace_id: workspaceId, person_id: personId, channel, status, source })
    .onConflict((c) => c.columns(['workspace_id', 'person_id', 'channel']).doUpdateSet({ status, source, updated_at: new Date() }))
    .execute();
}

/** A person's consents, as the API answers them (times as ISO strings, as JSON wrote the dates). */
export async function consentsOf(stores: Stores, workspaceId: string, personId: number): Promise<Consent[]> {
  const rows = await stores.state.db
    .selectFrom('consents')
    .select(['channel', 'status', 'source', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .where('person_id', '=', personId)
    .orderBy('channel')
    .execute();
  return rows.map((r) => ({ channel: r.channel, status: r.status, source: r.source, updated_at: new Date(r.updated_at).toISOString() }));
}

/**
 * For each person, the first cap a new marketing message on `channelKey` would break, counting the
 * marketing messages of every plan already sent or waiting in the ledger within each window.
 */
export async function capsReached(stores: Stores, workspaceId: string, caps: Cap[], channelKey: string, people: number[], now: Date): Promise<Map<number, string>> {
  const applicable = caps.filter((c) => c.channels.includes('*') || c.channels.includes(channelKey));
  const reached = new Map<number, string>();
  if (applicable.length === 0 || people.length === 0) return reached;
  const longest = Math.max(...applicable.map((c) => c.windowHours));
  const since = new Date(now.getTime() - longest * 3_600_000);
  const rows = await stores.state.db
    .selectFrom('deliveries')
    .select(['person_id', 'channel', 'entered_at', 'sent_at'])
    .where('workspace_id', '=', workspaceId)
    .where('person_id', '=', sql<number>`ANY(${people}::bigint[])`)
    .where('purpose', '=', 'marketing')
    .where('status', 'in', ['queued', 'sent', 'delivered'])
    .where('entered_at', '>=', since)
    .execute();
  const byPerson = new Map<number, Array<{ channel: string; at: number }>>();
  for (const r of rows) {
    const list = byPerson.get(Number(r.person_id)) ?? [];
    list.push({ channel: r.channel, at: new Date(r.sent_at ?? r.entered_at).getTime() });
    byPerson.set(Number(r.person_id), list);
  }
  for (const [person, sends] of byPerson) {
    for (const cap of applicable) {
      const from = now.getTime() - cap.windowHours * 3_600_000;
      const counted = sends.filter((s) => s.at >= from && (cap.channels.includes('*') || cap.channels.includes(s.channel))).length;
      if (counted >= cap.max) {
        reached.set(person, `cap: ${cap.max} per ${cap.windowHours} h on ${cap.channels.join(',')}`);
        break;
      }
    }
  }
  return reached;
}
