/**
 * Journeys in the state store and the engine that moves people through them. Each tick: new
 * entrants (the segment's members not yet in, looked for every minute; or people who did the entry
 * event), then every position that is due — claimed under a lease with SKIP LOCKED, handled a step
 * at a time in batches, and moved on in one UPDATE. A send step goes through the same policy,
 * templates and ledger as plans (the ledger key is the journey's run, the person and the step, so a
 * repeated tick never sends twice). A killed process leaves leases that expire; nothing is lost.
 */
import { zonedInstant } from '../kernel/time.ts';
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { ConflictError, NotFoundError, InputError } from '../kernel/errors.ts';
import { compileFor, getSegment, membersSql } from '../segments/segments.ts';
import { sql as factsSql } from '../facts/sql.ts';
import { checkChannelReady, getChannel } from '../channels/store.ts';
import { addressTypeOf } from '../channels/definition.ts';
import { listTags, manualValue, setManualValue, valueRun } from '../tags/store.ts';
import { runTags } from '../tags/engine.ts';
import { checkTemplate } from '../templates/templates.ts';
import { localMinutes } from '../policy/policy.ts';
import type { Plan } from '../contract/plans.ts';
import { addressesOf, hashUnit, enqueueCandidates, enqueueContext, type EnqueueContext, type RunOptions } from '../plans/run.ts';
import { TRIGGER_GRACE_MS } from '../plans/triggers.ts';
import { enqueueDeliveries, recordMessageEvents, type LedgerEntry } from '../delivery/ledger.ts';
import { journeySchema, type Journey, type JourneyInfo, type Step } from '../contract/journeys.ts';
import { memberProfile } from '../facts/member-profile.ts';

/** How often a segment entry looks for new members. */
const SEGMENT_ENTRY_EVERY_MS = 60_000;
const BATCH = 1000;

export async function saveJourney(stores: Stores, workspaceId: string, input: unknown, options: { replace?: boolean } = {}): Promise<JourneyInfo> {
  const journey = journeySchema.parse(input);
  // Plans and journeys share the ledger and its reports, keyed by their key.
  const plan = await stores.state.db.selectFrom('plans').select('key').where('workspace_id', '=', workspaceId).where('key', '=', journey.key).executeTakeFirst();
  if (plan) throw new ConflictError(`"${journey.key}" is a plan's key: a journey needs another`);
  await checkJourney(stores, workspaceId, journey);
  const definition = JSON.stringify(journey);
  if (options.replace) {
    const existing = await stores.state.db.selectFrom('journeys').select('status').where('workspace_id', '=', workspaceId).where('key', '=', journey.key).executeTakeFirst();
    if (existing?.status === 'running') throw new ConflictError(`journey "${journey.key}" is running: pause it before changing it`);
    await stores.state.db
      .insertInto('journeys')
      .values({ workspace_id: workspaceId, key: journey.key, definition })
      .onConflict((c) => c.columns(['workspace_id', 'key']).doUpdateSet({ definition, updated_at: new Date() }))
      .execute();
  } else {
    const inserted = await stores.state.db
      .insertInto('journeys')
      .values({ workspace_id: workspaceId, key: journey.key, definition })
      .onConflict((c) => c.doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!inserted) throw new ConflictError(`journey "${journey.key}" exists (replace it to change it)`);
  }
  return getJourney(stores, workspaceId, journey.key);
}

/** Every template parses and reads known fields; every tag step names a manual tag. */
async function checkJourney(stores: Stores, workspaceId: string, journey: Journey): Promise<void> {
  const tags = await listTags(stores, workspaceId);
  const known = new Set(tags.map((t) => t.key));
  for (const [name, step] of Object.entries(journey.steps)) {
    if (step.type === 'send') checkTemplate(step.template, known, `steps.${name}.template`);
    if (step.type === 'tag') {
      const tag = tags.find((t) => t.key === step.tag);
      if (!tag) throw new NotFoundError(`steps.${name}.tag: no tag "${step.tag}"`);
      if (tag.kind !== 'manual') throw new ConflictError(`steps.${name}.tag: "${step.tag}" is computed (${tag.kind}); a journey sets manual tags`);
      if (!step.remove) {
        if (step.value === undefined) throw new InputError(`steps.${name}.value: the value to set (or "remove": true)`);
        try {
          manualValue(tag, step.value);
        } catch (error) {
          throw new InputError(`steps.${name}.value: ${(error as Error).message}`);
        }
      }
    }
  }
}

export async function getJourney(stores: Stores, workspaceId: string, key: string): Promise<JourneyInfo> {
  const row = await stores.state.db
    .selectFrom('journeys')
    .select(['definition', 'status', 'run_id'])
    .where('workspace_id', '=', workspaceId)
    .where('key', '=', key)
    .executeTakeFirst();
  if (!row) throw new NotFoundError(`no journey "${key}" in this workspace`);
  return { journey: journeySchema.parse(row.definition), status: row.status, runId: row.run_id };
}

export async function listJourneys(stores: Stores, workspaceId: string): Promise<JourneyInfo[]> {
  const rows = await stores.state.db.selectFrom('journeys').select(['definition', 'status', 'run_id']).where('workspace_id', '=', workspaceId).orderBy('key').execute();
  return rows.map((row) => ({ journey: journeySchema.parse(row.definition), status: row.status, runId: row.run_id }));
}

/** Starts (or resumes) a journey after checking its segments, channels and templates. */
export async function startJourney(stores: Stores, workspaceId: string, key: string, env: NodeJS.ProcessEnv = process.env): Promise<JourneyInfo> {
  const { journey, runId } = await getJourney(stores, workspaceId, key);
  if ('segment' in journey.entry) await getSegment(stores, workspaceId, journey.entry.segment);
  for (const step of Object.values(journey.steps)) if (step.type === 'send') await checkChannelReady(stores, workspaceId, await getChannel(stores, workspaceId, step.channel), env);
  await checkJourney(stores, workspaceId, journey);
  let run = runId;
  if (!run) {
    run = `run_${crypto.randomBytes(8).toString('hex')}`;
    await stores.state.db
      .insertInto('plan_runs')
      .values({ id: run, workspace_id: workspaceId, plan_key: key, slot: 'journey', status: 'dispatching', error: null })
      .onConflict((c) => c.columns(['workspace_id', 'plan_key', 'slot']).doNothing())
      .execute();
    run = (
      await stores.state.db
        .selectFrom('plan_runs')
        .select('id')
        .where('workspace_id', '=', workspaceId)
        .where('plan_key', '=', key)
        .where('slot', '=', 'journey')
        .executeTakeFirstOrThrow()
    ).id;
  }
  // Event entry counts events from now on; a segment entry looks at once.
  const entryCheckedAt = 'event' in journey.entry ? new Date() : null;
  await stores.state.db
    .updateTable('journeys')
    .set({ status: 'running', run_id: run, entry_checked_at: entryCheckedAt, updated_at: new Date() })
    .where('workspace_id', '=', workspaceId)
    .where('key', '=', key)
    .execute();
  return getJourney(stores, workspaceId, key);
}

/** Pauses a journey: nobody enters or moves (positions wait where they are). */
export async function pauseJourney(stores: Stores, workspaceId: string, key: string): Promise<JourneyInfo> {
  await getJourney(stores, workspaceId, key);
  await stores.state.db.updateTable('journeys').set({ status: 'paused', updated_at: new Date() }).where('workspace_id', '=', workspaceId).where('key', '=', key).execute();
  return getJourney(stores, workspaceId, key);
}

/** How many people are at each step (active) and how many have finished. */
export async function journeyPositions(stores: Stores, workspaceId: string, key: string) {
  const { rows } = await sql<{ step: string; status: string; people: number }>`
    SELECT step, status, count(*)::int AS people FROM journey_positions WHERE workspace_id = ${workspaceId} AND journey_key = ${key}
    GROUP BY step, status ORDER BY status, step`.execute(stores.state.db);
  return rows.map((r) => ({ step: r.step, status: r.status, people: Number(r.people) }));
}

/** The next occurrence of HH:MM in a time zone at or after an instant. */
function nextTimeOfDay(after: Date, clock: string, timeZone: string): Date {
  const [h, m] = clock.split(':').map(Number);
  const wait = (h * 60 + m - localMinutes(after, timeZone) + 1440) % 1440;
  const at = new Date(after.getTime() + wait * 60_000);
  at.setUTCSeconds(0, 0);
  return at;
}

/** When a person arriving at a step now is due there: a wait's end, or now. */
function dueAt(step: Step, now: Date, timeZone: string): Date {
  if (step.type !== 'wait') return now;
  let at = new Date(now.getTime() + ((step.minutes ?? 0) * 60 + (step.hours ?? 0) * 3600 + (step.days ?? 0) * 86_400) * 1000);
  if (step.untilTime) at = nextTimeOfDay(at, step.untilTime, timeZone);
  return at;
}

/**
 * When people arriving now at a wait on a date of theirs are due: that date (or its next
 * anniversary), moved by offsetDays, at untilTime in the workspace zone; now when they have no such
 * date or it has passed.
 */
async function dateDues(stores: Stores, j: Running, step: Extract<Step, { type: 'wait' }>, people: number[], now: Date): Promise<Map<number, Date>> {
  const spec = step.untilDate!;
  const dates = new Map<number, string>();
  if (spec.tag) {
    const run = await valueRun(stores, j.workspaceId, spec.tag);
    if (run) {
      const rows = await stores.facts.query<{ person_id: string; d: string }>(
        `SELECT person_id, toString(v_date) AS d FROM tag_values WHERE workspace_id = {ws:String} AND tag = {tag:String} AND run_id = {run:String} AND person_id IN {people:Array(UInt64)} AND v_date > '1970-01-01'`,
        { ws: j.workspaceId, tag: spec.tag, run: run.runId, people },
      );
      for (const r of rows) dates.set(Number(r.person_id), r.d);
    }
  } else {
    const field = spec.profile === 'birthday' ? 'birthday' : 'registered_at';
    const profile = memberProfile({ fields: [field], peopleParam: 'people' });
    const rows = await stores.facts.query<{ person_id: string; d: string }>(`SELECT person_id, pf_${field} AS d FROM ${profile} WHERE d IS NOT NULL`, {
      ws: j.workspaceId,
      people,
    });
    for (const r of rows) dates.set(Number(r.person_id), r.d);
  }
  const clock = step.untilTime ?? '00:00';
  const dues = new Map<number, Date>();
  for (const p of people) {
    const date = dates.get(p);
    if (!date) {
      dues.set(p, now);
      continue;
    }
    const shifted = (d: string) => new Date(zonedInstant(d, clock, j.timeZone).getTime() + spec.offsetDays * 86_400_000);
    let at = shifted(date);
    if (spec.annual) {
      const year = Number(new Intl.DateTimeFormat('en-CA', { timeZone: j.timeZone, year: 'numeric' }).format(now));
      for (const y of [year, year + 1]) {
        at = shifted(`${y}${date.slice(4)}`);
        if (at >= now) break;
      }
    }
    dues.set(p, at < now ? now : at);
  }
  return dues;
}

/** Due times of people arriving at a step now (a wait on a date looks the dates up). */
async function arrivals(stores: Stores, j: Running, stepName: string, people: number[], now: Date): Promise<Map<number, Date> | Date> {
  const step = j.journey.steps[stepName];
  if (step?.type === 'wait' && step.untilDate) return dateDues(stores, j, step, people, now);
  return step ? dueAt(step, now, j.timeZone) : now;
}

interface Running {
  workspaceId: string;
  timeZone: string;
  journey: Journey;
  runId: string;
  entryCheckedAt: Date | null;
}

/** Writes 'step' events (who reached which step, when) for the report's funnel. */
async function stepEvents(stores: Stores, j: Running, arrivals: Array<{ personId: number; step: string }>, now: Date): Promise<void> {
  if (arrivals.length === 0) return;
  await recordMessageEvents(
    stores,
    arrivals.map((a) => ({
      workspaceId: j.workspaceId,
      plan: j.journey.key,
      runId: j.runId,
      personId: a.personId,
      step: a.step,
      variant: a.step,
      channel: '',
      event: 'step',
      at: now,
    })),
  );
}

/** New entrants: inserted at the first step (or, for the control group, recorded and finished). */
async function enter(stores: Stores, j: Running, now: Date): Promise<number> {
  const { journey } = j;
  let people: number[];
  if ('segment' in journey.entry) {
    if (j.entryCheckedAt && now.getTime() - j.entryCheckedAt.getTime() < SEGMENT_ENTRY_EVERY_MS) return 0;
    const members = await compileFor(stores, j.workspaceId, await getSegment(stores, j.workspaceId, journey.entry.segment));
    const rows = await stores.facts.query<{ person_id: string }>(`SELECT person_id FROM (${members.sql}) ORDER BY person_id`, members.params);
    people = rows.map((r) => Number(r.person_id));
  } else {
    const since = (j.entryCheckedAt ?? now).getTime() - TRIGGER_GRACE_MS;
    const rows = await stores.facts.query<{ person_id: string }>(
      `SELECT DISTINCT person_id FROM events FINAL WHERE workspace_id = {ws:String} AND person_id > 0 AND event = {event:String}
         AND timestamp > fromUnixTimestamp64Milli({since:Int64}) AND timestamp <= fromUnixTimestamp64Milli({until:Int64}) ORDER BY person_id`,
      { ws: j.workspaceId, event: journey.entry.event, since, until: now.getTime() },
    );
    people = rows.map((r) => Number(r.person_id));
  }
  let entered = 0;
  for (let i = 0; i < people.length; i += 5000) {
    const chunk = people.slice(i, i + 5000);
    const control = chunk.map((p) => hashUnit(`${journey.key}:${p}`) < journey.controlPercent / 100);
    const due = await arrivals(stores, j, journey.first, chunk, now);
    const dues = chunk.map((p) => (due instanceof Date ? due : (due.get(p) ?? now)).toISOString());
    const inserted = await sql<{ person_id: number; step: string }>`
      INSERT INTO journey_positions (workspace_id, journey_key, person_id, step, status, due_at, entered_at)
      SELECT ${j.workspaceId}, ${journey.key}, p, CASE WHEN c THEN 'control' ELSE ${journey.first} END, CASE WHEN c THEN 'done' ELSE 'active' END,
             d, ${now.toISOString()}::timestamptz
      FROM unnest(${chunk}::bigint[], ${control}::boolean[], ${dues}::timestamptz[]) AS t(p, c, d)
      ON CONFLICT (workspace_id, journey_key, person_id) DO NOTHING
      RETURNING person_id, step`.execute(stores.state.db);
    const rows = inserted.rows.map((r) => ({ personId: Number(r.person_id), step: r.step }));
    entered += rows.length;
    const held = rows.filter((r) => r.step === 'control');
    // The control group is measured like everyone: a ledger row and a 'control' event at entry.
    if (held.length > 0) {
      const entries = held.map(
        (h): LedgerEntry => ({
          workspaceId: j.workspaceId,
          planKey: journey.key,
          runId: j.runId,
          personId: h.personId,
          step: 'entry',
          variant: 'control',
          channel: '',
          purpose: 'marketing',
          status: 'control',
          reason: null,
          address: null,
          content: null,
          enteredAt: now,
          nextAttemptAt: null,
        }),
      );
      await enqueueDeliveries(stores, entries);
    }
    await stepEvents(
      stores,
      j,
      rows.filter((r) => r.step !== 'control'),
      now,
    );
  }
  await stores.state.db.updateTable('journeys').set({ entry_checked_at: now }).where('workspace_id', '=', j.workspaceId).where('key', '=', journey.key).execute();
  return entered;
}

interface Move {
  personId: number;
  step: string;
  status: 'active' | 'done';
  dueAt: Date;
}

/** Handles one step for a batch of people who are due there; returns where each goes next. */
async function handle(
  stores: Stores,
  j: Running,
  stepName: string,
  people: number[],
  now: Date,
  options: RunOptions,
  contexts: Map<string, EnqueueContext>,
  tagsToPublish: Set<string>,
): Promise<Move[]> {
  const step = j.journey.steps[stepName];
  const go = (personId: number, target: string | undefined): Move => {
    if (!target) return { personId, step: stepName, status: 'done', dueAt: now };
    const next = j.journey.steps[target];
    return next.type === 'exit' ? { personId, step: target, status: 'done', dueAt: now } : { personId, step: target, status: 'active', dueAt: dueAt(next, now, j.timeZone) };
  };
  if (!step) return people.map((p) => ({ personId: p, step: stepName, status: 'done', dueAt: now }));
  switch (step.type) {
    case 'send': {
      const key = `${j.workspaceId}:${j.journey.key}:${stepName}`;
      let ctx = contexts.get(key);
      if (!ctx) {
        const asPlan: Plan = {
          key: j.journey.key,
          name: j.journey.name,
          audience: { exclude: [] },
          channel: step.channel,
          purpose: step.purpose,
          variants: [{ key: stepName, weight: 1, template: step.template }],
          controlPercent: 0,
          schedule: { kind: 'once' },
        };
        ctx = await enqueueContext(stores, j.workspaceId, asPlan, j.runId, { ...options, now: () => now });
        contexts.set(key, ctx);
      }
      const addresses = await addressesOf(stores, j.workspaceId, addressTypeOf(ctx.channel), people);
      await enqueueCandidates(
        ctx,
        people.map((p) => ({ personId: p, excluded: '', address: addresses.get(p) ?? '', step: stepName })),
      );
      return people.map((p) => go(p, step.next));
    }
    case 'wait':
      return people.map((p) => go(p, step.next));
    case 'branch': {
      const tree = await membersSql(stores, j.workspaceId, { match: step.match, conditions: step.conditions });
      const branch = factsSql`SELECT person_id FROM (${tree}) WHERE person_id IN ${factsSql.param(people, 'Array(UInt64)')}`.toQuery();
      const rows = await stores.facts.query<{ person_id: string }>(branch.query, branch.params);
      const yes = new Set(rows.map((r) => Number(r.person_id)));
      return people.map((p) => go(p, yes.has(p) ? step.yes : step.no));
    }
    case 'split': {
      const total = step.branches.reduce((s, b) => s + b.weight, 0);
      return people.map((p) => {
        const unit = hashUnit(`${j.journey.key}:${stepName}:${p}`);
        let edge = 0;
        const branch = step.branches.find((b) => (edge += b.weight / total) > unit) ?? step.branches[step.branches.length - 1];
        return go(p, branch.next);
      });
    }
    case 'tag': {
      for (const p of people) await setManualValue(stores, j.workspaceId, step.tag, p, step.remove ? undefined : step.value, `journey:${j.journey.key}`);
      tagsToPublish.add(`${j.workspaceId}\u0000${step.tag}`);
      return people.map((p) => go(p, step.next));
    }
    case 'task': {
      await sql`
        INSERT INTO staff_tasks (workspace_id, person_id, source, title)
        SELECT ${j.workspaceId}, p, ${`journey:${j.journey.key}:${stepName}`}, ${step.title} FROM unnest(${people}::bigint[]) AS p
        ON CONFLICT (workspace_id, source, person_id) DO NOTHING`.execute(stores.state.db);
      return people.map((p) => go(p, step.next));
    }
    case 'exit':
      return people.map((p) => ({ personId: p, step: stepName, status: 'done', dueAt: now }));
  }
}

export interface JourneyTick {
  entered: number;
  moved: number;
}

/** One tick over every running journey: entrants, then due positions until none is due. */
export async function advanceJourneys(stores: Stores, options: RunOptions & { leaseSeconds?: number } = {}): Promise<JourneyTick> {
  const now = (options.now ?? (() => new Date()))();
  const rows = await stores.state.db.selectFrom('journeys').select(['workspace_id', 'key', 'definition', 'run_id', 'entry_checked_at']).where('status', '=', 'running').execute();
  const running = new Map<string, Running>();
  const zones = new Map<string, string>();
  let entered = 0;
  for (const row of rows) {
    if (!zones.has(row.workspace_id)) zones.set(row.workspace_id, (await new WorkspaceService(stores.state).get(row.workspace_id)).timeZone);
    const j: Running = {
      workspaceId: row.workspace_id,
      timeZone: zones.get(row.workspace_id)!,
      journey: journeySchema.parse(row.definition),
      runId: row.run_id!,
      entryCheckedAt: row.entry_checked_at ? new Date(row.entry_checked_at) : null,
    };
    running.set(`${row.workspace_id}\u0000${row.key}`, j);
    try {
      entered += await enter(stores, j, now);
    } catch (error) {
      options.log?.(`journey ${row.key}: entry failed: ${(error as Error).message}`);
    }
  }
  if (running.size === 0) return { entered, moved: 0 };
  const contexts = new Map<string, EnqueueContext>();
  const tagsToPublish = new Set<string>();
  let moved = 0;
  for (let round = 0; round < 100; round++) {
    const { rows: due } = await sql<{ workspace_id: string; journey_key: string; person_id: number; step: string }>`
      UPDATE journey_positions AS p SET lease_until = now() + make_interval(secs => ${options.leaseSeconds ?? 120})
      WHERE (p.workspace_id, p.journey_key, p.person_id) IN (
        SELECT q.workspace_id, q.journey_key, q.person_id FROM journey_positions q
        WHERE q.status = 'active' AND q.due_at <= ${now.toISOString()}::timestamptz AND (q.lease_until IS NULL OR q.lease_until < now())
          AND EXISTS (SELECT 1 FROM journeys j WHERE j.workspace_id = q.workspace_id AND j.key = q.journey_key AND j.status = 'running')
        ORDER BY q.due_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
      RETURNING p.workspace_id, p.journey_key, p.person_id, p.step`.execute(stores.state.db);
    if (due.length === 0) break;
    const groups = new Map<string, { j: Running; step: string; people: number[] }>();
    for (const d of due) {
      const j = running.get(`${d.workspace_id}\u0000${d.journey_key}`);
      if (!j) continue;
      const key = `${d.workspace_id}\u0000${d.journey_key}\u0000${d.step}`;
      const group = groups.get(key) ?? { j, step: d.step, people: [] };
      group.people.push(Number(d.person_id));
      groups.set(key, group);
    }
    for (const { j, step, people } of groups.values()) {
      let moves: Move[];
      try {
        moves = await handle(stores, j, step, people, now, options, contexts, tagsToPublish);
      } catch (error) {
        // The leases run out and the step is tried again on a later tick.
        options.log?.(`journey ${j.journey.key}: step ${step} failed: ${(error as Error).message}`);
        continue;
      }
      // Arrivals at a wait on a date of theirs: look the dates up.
      const targets = new Set(moves.filter((m) => m.status === 'active').map((m) => m.step));
      for (const target of targets) {
        const waiting = j.journey.steps[target];
        if (waiting?.type !== 'wait' || !waiting.untilDate) continue;
        const arriving = moves.filter((m) => m.status === 'active' && m.step === target);
        const dues = (await arrivals(
          stores,
          j,
          target,
          arriving.map((m) => m.personId),
          now,
        )) as Map<number, Date>;
        for (const m of arriving) m.dueAt = dues.get(m.personId) ?? now;
      }
      await stepEvents(
        stores,
        j,
        moves.filter((m) => m.step !== step).map((m) => ({ personId: m.personId, step: m.step })),
        now,
      );
      await sql`
        UPDATE journey_positions AS p SET step = v.step, status = v.status, due_at = v.due_at, lease_until = NULL, updated_at = now()
        FROM (SELECT unnest(${moves.map((m) => m.personId)}::bigint[]) AS person_id, unnest(${moves.map((m) => m.step)}::text[]) AS step,
                     unnest(${moves.map((m) => m.status)}::text[]) AS status, unnest(${moves.map((m) => m.dueAt.toISOString())}::timestamptz[]) AS due_at) AS v
        WHERE p.workspace_id = ${j.workspaceId} AND p.journey_key = ${j.journey.key} AND p.person_id = v.person_id`.execute(stores.state.db);
      moved += moves.length;
    }
  }
  // Manual tags set by journeys are published once per tick, not once per person.
  for (const entry of tagsToPublish) {
    const [workspaceId, tag] = entry.split('\u0000');
    await runTags(stores, { workspaceId, keys: [tag], trigger: 'manual' });
  }
  return { entered, moved };
}
