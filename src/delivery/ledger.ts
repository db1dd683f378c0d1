/**
 * The send ledger and its history, in one place. `deliveries` (state store) holds one row per
 * (run, person, step) — the idempotency key every retry relies on — and `message_events` (facts
 * store) holds what happened to each message, for reports. Plans, journeys, the dispatcher, WeCom
 * confirmations and tracked clicks all ask this module to write; none builds these rows itself.
 */
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import type { DeliveryStatus } from '../stores/state/schema.ts';
import { clickhouseTime } from '../kernel/time.ts';

/**
 * What a message event says: a ledger status the message reached (queued, control, stopped when it
 * was written; sent, delivered, failed, parked when it was settled), a click on a tracked link, or
 * (journeys) a person reaching a step.
 */
type MessageEventKind = DeliveryStatus | 'clicked' | 'step';

export interface MessageEvent {
  workspaceId: string;
  /** The plan's or journey's key. */
  plan: string;
  runId: string;
  personId: number;
  step: string;
  variant: string;
  /** The channel's key ('' for what no channel carries: a journey's control group or step). */
  channel: string;
  event: MessageEventKind;
  /** Why (a policy rule, the platform's error) or, for a click, the URL; '' if nothing to say. */
  reason?: string;
  /** What the message cost (sent events). */
  cost?: number;
  at: Date;
}

/** One row of the message_events table, as the facts store takes it. */
function messageEventRow(event: MessageEvent): Record<string, unknown> {
  return {
    workspace_id: event.workspaceId,
    plan: event.plan,
    run_id: event.runId,
    person_id: event.personId,
    step: event.step,
    variant: event.variant,
    channel: event.channel,
    event: event.event,
    reason: event.reason ?? '',
    cost: event.cost ?? 0,
    at: clickhouseTime(event.at.getTime()),
  };
}

/** Writes message events (a repeat of the same event collapses in the table's ReplacingMergeTree). */
export async function recordMessageEvents(stores: Pick<Stores, 'facts'>, events: readonly MessageEvent[]): Promise<void> {
  if (events.length === 0) return;
  await stores.facts.insertRows('message_events', events.map(messageEventRow));
}

/** A new row of the send ledger. */
export interface LedgerEntry {
  workspaceId: string;
  planKey: string;
  runId: string;
  personId: number;
  step: string;
  variant: string;
  channel: string;
  purpose: 'marketing' | 'transactional';
  status: Extract<DeliveryStatus, 'queued' | 'control' | 'stopped'>;
  reason: string | null;
  address: string | null;
  /** The rendered message, as JSON (queued rows). */
  content: string | null;
  enteredAt: Date;
  /** When to send (queued rows). */
  nextAttemptAt: Date | null;
}

/** The event a new ledger row is recorded with: its status, when it entered the ledger. */
function enteredEvent(entry: LedgerEntry): MessageEvent {
  const { workspaceId, planKey, runId, personId, step, variant, channel, status, reason, enteredAt } = entry;
  return { workspaceId, plan: planKey, runId, personId, step, variant, channel, event: status, reason: reason ?? '', at: enteredAt };
}

/**
 * Writes new ledger rows with their events; a row whose (run, person, step) is already there is
 * left as it is, so a repeated pass writes nothing twice. Returns how many rows are new.
 */
export async function enqueueDeliveries(stores: Pick<Stores, 'facts' | 'state'>, entries: readonly LedgerEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  // Facts first: a crash between the two repeats events (which collapse), never loses them.
  await recordMessageEvents(stores, entries.map(enteredEvent));
  // One array per column: a 5,000-row insert is one statement with 14 parameters, not 70,000.
  const column = <T>(pick: (entry: LedgerEntry) => T) => entries.map(pick);
  const inserted = await sql`
    INSERT INTO deliveries (workspace_id, plan_key, run_id, person_id, step, variant, channel, purpose, status, reason, address, content, entered_at, next_attempt_at)
    SELECT * FROM unnest(${column((e) => e.workspaceId)}::text[], ${column((e) => e.planKey)}::text[], ${column((e) => e.runId)}::text[],
      ${column((e) => e.personId)}::bigint[], ${column((e) => e.step)}::text[], ${column((e) => e.variant)}::text[], ${column((e) => e.channel)}::text[],
      ${column((e) => e.purpose)}::text[], ${column((e) => e.status)}::text[], ${column((e) => e.reason)}::text[], ${column((e) => e.address)}::text[],
      ${column((e) => e.content)}::jsonb[], ${column((e) => e.enteredAt.toISOString())}::timestamptz[], ${column((e) => e.nextAttemptAt?.toISOString() ?? null)}::timestamptz[])
    ON CONFLICT (run_id, person_id, step) DO NOTHING
    RETURNING id`.execute(stores.state.db);
  return inserted.rows.length;
}
