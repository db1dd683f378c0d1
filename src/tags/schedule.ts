/**
 * Scheduled tag runs: one cron schedule per workspace, read in the workspace's time zone, that runs
 * all its tags with yesterday (in that zone) as the base date. Each due slot is claimed with one
 * conditional UPDATE (its old next_at must still be there), so two servers, or a server that
 * restarts, never run the same slot twice; a server that was down runs a missed slot once on return.
 */
import { Cron } from 'croner';
import { InputError, NotFoundError } from '../kernel/errors.ts';
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { runTags, type TagRunResult } from './engine.ts';
import { dateInZone, isoTime, isoTimeOrNull } from '../kernel/time.ts';

/** What `daily` means: 03:00 in the workspace's time zone. */
const DAILY_CRON = '0 3 * * *';

export class CronError extends InputError {
  override name = 'CronError';
}

export interface TagSchedule {
  workspaceId: string;
  cron: string;
  /** The workspace's zone, in which the cron is read. */
  timeZone: string;
  enabled: boolean;
  /** ISO instant (UTC) of the next run. */
  nextAt: string;
  lastStartedAt: string | null;
  /** The base date of the last scheduled run that finished (YYYY-MM-DD). */
  lastBaseDate: string | null;
  updatedAt: string | null;
}

export interface ScheduledRun {
  workspaceId: string;
  /** The slot that was due (ISO). */
  slot: string;
  baseDate: string;
  /** The slot after this one (ISO). */
  nextAt: string;
  runs: TagRunResult[];
  /** Set when the run could not start at all (the tags' own failures are in `runs`). */
  error?: string;
}

/** `daily` → the default cron; anything else is trimmed, its fields separated by single spaces. */
function normalizeCron(expression: string): string {
  const text = expression.trim();
  return text.toLowerCase() === 'daily' ? DAILY_CRON : text.split(/\s+/).join(' ');
}

/** A cron pattern of 5 fields (minute hour day-of-month month day-of-week), read in a time zone. */
export function parseCron(expression: string, timeZone: string): Cron {
  const cron = normalizeCron(expression);
  const fields = cron === '' ? 0 : cron.split(' ').length;
  const shape = 'minute hour day-of-month month day-of-week, e.g. "0 3 * * *" for 03:00 every day';
  if (fields !== 5) throw new CronError(`cron "${expression}": expected 5 fields (${shape}), got ${fields}`);
  let pattern: Cron;
  try {
    pattern = new Cron(cron, { timezone: timeZone, mode: '5-part' });
  } catch (error) {
    const reason = (error as Error).message.replace(/^CronPattern:\s*/, '');
    throw new CronError(`cron "${expression}": ${reason} (expected ${shape})`, { cause: error });
  }
  if (!pattern.nextRun()) throw new CronError(`cron "${expression}": never runs (no date matches it)`);
  return pattern;
}

/** The first slot of a cron strictly after `after`. */
export function nextSlot(cron: string, timeZone: string, after: Date): Date {
  const next = parseCron(cron, timeZone).nextRun(after);
  if (!next) throw new CronError(`cron "${cron}": no run after ${after.toISOString()}`);
  return next;
}

/** The workspace's schedule, or undefined when its tags run only manually and after imports. */
export async function getSchedule(stores: Stores, workspaceId: string): Promise<TagSchedule | undefined> {
  const row = await stores.state.db
    .selectFrom('tag_schedules')
    .innerJoin('workspaces', 'workspaces.id', 'tag_schedules.workspace_id')
    .select(['tag_schedules.workspace_id', 'cron', 'enabled', 'next_at', 'last_started_at', 'updated_at', 'workspaces.time_zone'])
    // A date column as text: no time zone can move it.
    .select(sql<string | null>`to_char(last_base_date, 'YYYY-MM-DD')`.as('last_base_date'))
    .where('tag_schedules.workspace_id', '=', workspaceId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    workspaceId: row.workspace_id,
    cron: row.cron,
    timeZone: row.time_zone,
    enabled: row.enabled,
    nextAt: isoTime(row.next_at),
    lastStartedAt: isoTimeOrNull(row.last_started_at),
    lastBaseDate: row.last_base_date,
    updatedAt: isoTimeOrNull(row.updated_at),
  };
}

/** Sets (or replaces) the workspace's schedule; `daily` is 03:00 in the workspace's zone. */
export async function setSchedule(stores: Stores, workspaceId: string, cron: string, now = new Date()): Promise<TagSchedule> {
  const workspace = await new WorkspaceService(stores.state).get(workspaceId);
  const normalized = normalizeCron(cron);
  const nextAt = nextSlot(normalized, workspace.timeZone, now);
  await stores.state.db
    .insertInto('tag_schedules')
    .values({ workspace_id: workspace.id, cron: normalized, enabled: true, next_at: nextAt, updated_at: now })
    .onConflict((oc) => oc.column('workspace_id').doUpdateSet({ cron: normalized, enabled: true, next_at: nextAt, updated_at: now }))
    .execute();
  return (await getSchedule(stores, workspace.id))!;
}

/** After the workspace moves to another time zone: the next run is the cron's next slot in the new zone. */
export async function rescheduleTags(stores: Stores, workspaceId: string, now = new Date()): Promise<void> {
  const schedule = await getSchedule(stores, workspaceId);
  if (schedule?.enabled) await setSchedule(stores, workspaceId, schedule.cron, now);
}

/** Removes the workspace's schedule; false when it had none. */
export async function removeSchedule(stores: Stores, workspaceId: string): Promise<boolean> {
  const result = await stores.state.db.deleteFrom('tag_schedules').where('workspace_id', '=', workspaceId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * Runs every enabled schedule whose next run is due: claims the slot (moves next_at past `now`, if
 * nobody else did first), then computes all the workspace's tags for yesterday in its time zone.
 * With a signal, stops between workspaces once it is aborted.
 */
export async function runDueSchedules(stores: Stores, now = new Date(), options: { signal?: AbortSignal } = {}): Promise<ScheduledRun[]> {
  const db = stores.state.db;
  const due = await db
    .selectFrom('tag_schedules')
    .innerJoin('workspaces', 'workspaces.id', 'tag_schedules.workspace_id')
    .select(['tag_schedules.workspace_id', 'cron', 'next_at', 'workspaces.time_zone'])
    .where('enabled', '=', true)
    .where('next_at', '<=', now)
    .orderBy('next_at')
    .execute();
  const ran: ScheduledRun[] = [];
  for (const schedule of due) {
    if (options.signal?.aborted) break;
    const slot = new Date(schedule.next_at);
    let next: Date;
    try {
      next = nextSlot(schedule.cron, schedule.time_zone, now);
    } catch (error) {
      // A pattern that no longer parses (it was checked when set): leave it, say why.
      ran.push({ workspaceId: schedule.workspace_id, slot: slot.toISOString(), baseDate: '', nextAt: slot.toISOString(), runs: [], error: (error as Error).message });
      continue;
    }
    const claimed = await db
      .updateTable('tag_schedules')
      .set({ next_at: next, last_started_at: now })
      .where('workspace_id', '=', schedule.workspace_id)
      .where('next_at', '=', slot)
      .where('enabled', '=', true)
      .returning('workspace_id')
      .execute();
    if (claimed.length !== 1) continue; // another server (or tick) has it
    const baseDate = dateInZone(schedule.time_zone, 1, now.getTime());
    const entry: ScheduledRun = { workspaceId: schedule.workspace_id, slot: slot.toISOString(), baseDate, nextAt: next.toISOString(), runs: [] };
    try {
      entry.runs = await runTags(stores, { workspaceId: schedule.workspace_id, baseDate, trigger: 'schedule' });
      await db.updateTable('tag_schedules').set({ last_base_date: baseDate }).where('workspace_id', '=', schedule.workspace_id).execute();
    } catch (error) {
      if (error instanceof NotFoundError) continue; // the workspace was deleted meanwhile
      entry.error = (error as Error).message;
    }
    ran.push(entry);
  }
  return ran;
}

export interface Scheduler {
  /** Stops the loop; waits for a tick in progress (which stops before its next workspace). */
  stop(): Promise<void>;
}

/** Checks for due schedules every `intervalMs` (never two ticks at once; does not keep the process alive). */
export function startScheduler(stores: Stores, options: { intervalMs?: number; log?: (message: string) => void } = {}): Scheduler {
  const log = options.log ?? (() => undefined);
  const abort = new AbortController();
  let tick: Promise<void> | undefined;
  const run = async () => {
    try {
      for (const entry of await runDueSchedules(stores, new Date(), { signal: abort.signal })) {
        if (entry.error) {
          log(`scheduled tag run for workspace ${entry.workspaceId} failed: ${entry.error}`);
          continue;
        }
        const failed = entry.runs.filter((r) => r.status === 'failed');
        log(
          `scheduled tag run for workspace ${entry.workspaceId}, base date ${entry.baseDate}: ${entry.runs.length} tag${entry.runs.length === 1 ? '' : 's'}` +
            (failed.length > 0 ? `, ${failed.length} failed (${failed.map((f) => f.key).join(', ')})` : '') +
            `; next ${entry.nextAt}`,
        );
      }
    } catch (error) {
      log(`scheduled tag runs: ${(error as Error).message}`);
    }
  };
  const timer = setInterval(() => {
    if (tick || abort.signal.aborted) return;
    tick = run().finally(() => {
      tick = undefined;
    });
  }, options.intervalMs ?? 30_000);
  timer.unref();
  return {
    async stop() {
      abort.abort();
      clearInterval(timer);
      await tick;
    },
  };
}
