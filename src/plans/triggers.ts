/**
 * Triggered plans: a message some time after a person does an event (A), unless they did B in
 * between ("added to cart, not paid in 24 h"). Each pass looks at the occurrences of A that fell due
 * since the last pass (with a grace period for events that arrive or resolve late) and writes one
 * ledger row per occurrence (step `send:<A's message id>`), so a pass repeated after a crash, or
 * overlapping the last one, adds nothing. Runs are per day in the workspace zone.
 */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';
import { getSegment, membersSql } from '../segments/segments.ts';
import { sql as factsSql } from '../facts/sql.ts';
import { addressTypeOf } from '../channels/definition.ts';
import { dateInZone } from '../kernel/time.ts';
import { seconds, type Plan } from '../contract/plans.ts';
import { addressesOf, enqueueCandidates, enqueueContext, exclusionConditions, type RunOptions } from './run.ts';

/** Events may land (or be given a person) this long after they happened and still trigger. */
export const TRIGGER_GRACE_MS = 10 * 60_000;

export interface TriggerPass {
  workspaceId: string;
  plan: string;
  /** The day's run (null when the pass found nothing). */
  runId: string | null;
  /** Occurrences new in this pass (a pass overlaps the last by the grace period). */
  occurrences: number;
}

async function dailyRun(stores: Stores, workspaceId: string, planKey: string, day: string): Promise<string> {
  const slot = `trigger:${day}`;
  await stores.state.db
    .insertInto('plan_runs')
    .values({ id: `run_${crypto.randomBytes(8).toString('hex')}`, workspace_id: workspaceId, plan_key: planKey, slot, status: 'dispatching', error: null })
    .onConflict((c) => c.columns(['workspace_id', 'plan_key', 'slot']).doNothing())
    .execute();
  const run = await stores.state.db
    .selectFrom('plan_runs')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('plan_key', '=', planKey)
    .where('slot', '=', slot)
    .executeTakeFirstOrThrow();
  return run.id;
}

/** One pass over a running triggered plan: the occurrences that fell due in (checked until − grace, now]. */
export async function evaluateTriggers(stores: Stores, workspaceId: string, plan: Plan, checkedUntil: Date, options: RunOptions = {}): Promise<TriggerPass> {
  if (plan.schedule.kind !== 'triggered') throw new Error(`plan "${plan.key}" is not triggered`);
  const trigger = plan.schedule;
  const now = (options.now ?? (() => new Date()))();
  const delay = seconds(trigger.delay);
  const from = checkedUntil.getTime() - TRIGGER_GRACE_MS;
  const params: Record<string, unknown> = { ws: workspaceId, a_event: trigger.event, from_ms: from - delay * 1000, to_ms: now.getTime() - delay * 1000, delay };
  const moveOn = () =>
    stores.state.db
      .updateTable('plans')
      .set({ triggers_checked_until: now })
      .where('workspace_id', '=', workspaceId)
      .where('key', '=', plan.key)
      .where('triggers_checked_until', '=', checkedUntil)
      .execute();
  // Most passes (one a second) find nothing: look for the event before preparing anything else.
  const any = await stores.facts.query(
    `SELECT 1 FROM events WHERE workspace_id = {ws:String} AND event = {a_event:String}
       AND timestamp > fromUnixTimestamp64Milli({from_ms:Int64}) AND timestamp <= fromUnixTimestamp64Milli({to_ms:Int64}) LIMIT 1`,
    params,
  );
  if (any.length === 0) {
    await moveOn();
    return { workspaceId, plan: plan.key, runId: null, occurrences: 0 };
  }
  const ctx = await enqueueContext(stores, workspaceId, plan, '', { ...options, now: () => now });
  ctx.runId = await dailyRun(stores, workspaceId, plan.key, dateInZone(ctx.timeZone, 0, now.getTime()));
  // A pass overlaps the last by the grace period, which may fall in the day before (another run).
  ctx.stepsSpanRuns = true;
  if (trigger.reenterAfterDays > 0) ctx.enteredSince = new Date(now.getTime() - trigger.reenterAfterDays * 86_400_000);

  // The pass's own values are named in its text; segments bring theirs as fragments.
  const named = factsSql.with(params);
  let filter = factsSql.empty;
  if (plan.audience.segment) {
    const audience = await membersSql(stores, workspaceId, await getSegment(stores, workspaceId, plan.audience.segment));
    filter = factsSql`AND person_id IN (${audience})`;
  }
  const reasons = await exclusionConditions(stores, workspaceId, plan.audience.exclude, factsSql.identifier('a', 'person_id'));
  let unless = factsSql.empty;
  let having = factsSql.empty;
  if (trigger.unless) {
    params.b_event = trigger.unless.event;
    unless = named`LEFT JOIN (SELECT person_id, timestamp AS bt FROM events FINAL
        WHERE workspace_id = {ws:String} AND person_id > 0 AND event = {b_event:String}
          AND timestamp > fromUnixTimestamp64Milli({from_ms:Int64}) AND timestamp <= fromUnixTimestamp64Milli({to_ms:Int64}) + toIntervalSecond({delay:UInt32})) AS b
      ON b.person_id = a.person_id`;
    having = named`HAVING countIf(b.bt > a.at AND b.bt <= a.at + toIntervalSecond({delay:UInt32})) = 0`;
  }
  const passQuery =
    named`SELECT a.person_id AS person_id, a.message_id AS message_id, any(${reasons.length ? factsSql`multiIf(${factsSql.join(reasons)}, '')` : factsSql`''`}) AS excluded
     FROM (SELECT person_id, message_id, timestamp AS at FROM events FINAL
           WHERE workspace_id = {ws:String} AND person_id > 0 AND event = {a_event:String}
             AND timestamp > fromUnixTimestamp64Milli({from_ms:Int64}) AND timestamp <= fromUnixTimestamp64Milli({to_ms:Int64}) ${filter}) AS a
     ${unless}
     GROUP BY a.person_id, a.message_id, a.at ${having}
     ORDER BY a.at, a.message_id`.toQuery();
  const rows = await stores.facts.query<{ person_id: string; message_id: string; excluded: string }>(passQuery.query, passQuery.params);
  const addresses = await addressesOf(stores, workspaceId, addressTypeOf(ctx.channel), [...new Set(rows.map((r) => Number(r.person_id)))]);
  const fresh = await enqueueCandidates(
    ctx,
    rows.map((r) => ({ personId: Number(r.person_id), excluded: r.excluded, address: addresses.get(Number(r.person_id)) ?? '', step: `send:${r.message_id}` })),
  );
  await moveOn();
  if (fresh > 0) options.log?.(`plan ${plan.key}: ${fresh} triggered`);
  return { workspaceId, plan: plan.key, runId: ctx.runId, occurrences: fresh };
}

/** Every running triggered plan, one pass each. */
export async function runTriggeredPlans(stores: Stores, options: RunOptions = {}): Promise<TriggerPass[]> {
  const plans = await stores.state.db
    .selectFrom('plans')
    .select(['workspace_id', 'key', 'definition', 'triggers_checked_until'])
    .where('status', '=', 'running')
    .where('triggers_checked_until', 'is not', null)
    .execute();
  const passes: TriggerPass[] = [];
  for (const row of plans) {
    try {
      passes.push(await evaluateTriggers(stores, row.workspace_id, row.definition as Plan, new Date(row.triggers_checked_until!), options));
    } catch (error) {
      options.log?.(`plan ${row.key}: triggers failed: ${(error as Error).message}`);
    }
  }
  return passes;
}
