/**
 * Plans in the state store: save, list, start (schedule the next run), pause and resume. Starting
 * checks everything a run will need — the segments, the channel and its secrets, every template —
 * so a plan that would fail at its first send does not start.
 */
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import { getSegment } from '../segments/segments.ts';
import { checkChannelReady, getChannel } from '../channels/store.ts';
import { listTags } from '../tags/store.ts';
import { checkTemplate, type TemplateNeeds } from '../templates/templates.ts';
import { nextSlot, parseCron } from '../tags/schedule.ts';
import { planSchema, type Plan, type PlanInfo, type PlanStatus } from '../contract/plans.ts';

function info(row: { definition: unknown; status: PlanStatus; next_run_at: Date | null; updated_at: Date }): PlanInfo {
  return {
    plan: planSchema.parse(row.definition),
    status: row.status,
    nextRunAt: row.next_run_at ? new Date(row.next_run_at).toISOString() : null,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** What a plan's templates read, checked against the workspace's tags (throws naming the field). */
export async function checkTemplates(stores: Stores, workspaceId: string, plan: Plan): Promise<TemplateNeeds> {
  const tags = new Set((await listTags(stores, workspaceId)).map((t) => t.key));
  const needs: TemplateNeeds = { personFields: new Set(), tags: new Set() };
  plan.variants.forEach((variant, i) => {
    const one = checkTemplate(variant.template, tags, `variants[${i}].template`);
    one.personFields.forEach((f) => needs.personFields.add(f));
    one.tags.forEach((t) => needs.tags.add(t));
  });
  return needs;
}

export async function savePlan(stores: Stores, workspaceId: string, input: unknown, options: { replace?: boolean } = {}): Promise<PlanInfo> {
  const plan = planSchema.parse(input);
  // Plans and journeys share the ledger and its reports, keyed by their key.
  const journey = await stores.state.db.selectFrom('journeys').select('key').where('workspace_id', '=', workspaceId).where('key', '=', plan.key).executeTakeFirst();
  if (journey) throw new ConflictError(`"${plan.key}" is a journey's key: a plan needs another`);
  await checkTemplates(stores, workspaceId, plan);
  if (plan.schedule.kind === 'recurring') parseCron(plan.schedule.cron, (await new WorkspaceService(stores.state).get(workspaceId)).timeZone);
  const definition = JSON.stringify(plan);
  if (options.replace) {
    const existing = await stores.state.db.selectFrom('plans').select('status').where('workspace_id', '=', workspaceId).where('key', '=', plan.key).executeTakeFirst();
    if (existing && (existing.status === 'scheduled' || existing.status === 'running'))
      throw new ConflictError(`plan "${plan.key}" is ${existing.status}: pause it before changing it`);
    await stores.state.db
      .insertInto('plans')
      .values({ workspace_id: workspaceId, key: plan.key, definition })
      .onConflict((c) => c.columns(['workspace_id', 'key']).doUpdateSet({ definition, updated_at: new Date() }))
      .execute();
  } else {
    const inserted = await stores.state.db
      .insertInto('plans')
      .values({ workspace_id: workspaceId, key: plan.key, definition })
      .onConflict((c) => c.doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!inserted) throw new ConflictError(`plan "${plan.key}" exists (replace it to change it)`);
  }
  return getPlan(stores, workspaceId, plan.key);
}

export async function getPlan(stores: Stores, workspaceId: string, key: string): Promise<PlanInfo> {
  const row = await stores.state.db
    .selectFrom('plans')
    .select(['definition', 'status', 'next_run_at', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .where('key', '=', key)
    .executeTakeFirst();
  if (!row) throw new NotFoundError(`no plan "${key}" in this workspace`);
  return info(row as Parameters<typeof info>[0]);
}

export async function listPlans(stores: Stores, workspaceId: string): Promise<PlanInfo[]> {
  const rows = await stores.state.db
    .selectFrom('plans')
    .select(['definition', 'status', 'next_run_at', 'updated_at'])
    .where('workspace_id', '=', workspaceId)
    .orderBy('key')
    .execute();
  return rows.map((r) => info(r as Parameters<typeof info>[0]));
}

/** After the workspace moves to another time zone: each scheduled recurring plan's next run is its cron's next slot there. */
export async function reschedulePlans(stores: Stores, workspaceId: string, now = new Date()): Promise<number> {
  const { timeZone } = await new WorkspaceService(stores.state).get(workspaceId);
  const rows = await stores.state.db.selectFrom('plans').select(['key', 'definition']).where('workspace_id', '=', workspaceId).where('status', '=', 'scheduled').execute();
  let moved = 0;
  for (const row of rows) {
    const plan = planSchema.parse(row.definition);
    if (plan.schedule.kind !== 'recurring') continue;
    await stores.state.db
      .updateTable('plans')
      .set({ next_run_at: nextSlot(plan.schedule.cron, timeZone, now), updated_at: now })
      .where('workspace_id', '=', workspaceId)
      .where('key', '=', row.key)
      .execute();
    moved++;
  }
  return moved;
}

/**
 * Starts a plan (or resumes a paused one): checks it can run, then schedules its next run — now or
 * at its time for a one-off, the next cron slot for a recurring plan. The server's plan scheduler
 * (or `siyu plans start --wait`) runs it when due.
 */
export async function startPlan(stores: Stores, workspaceId: string, key: string, env: NodeJS.ProcessEnv = process.env): Promise<PlanInfo> {
  const { plan, status } = await getPlan(stores, workspaceId, key);
  if (status === 'completed') throw new ConflictError(`plan "${key}" has completed (a one-off plan runs once; copy it to run again)`);
  if (plan.audience.segment) await getSegment(stores, workspaceId, plan.audience.segment);
  for (const other of plan.audience.exclude) await getSegment(stores, workspaceId, other);
  await checkChannelReady(stores, workspaceId, await getChannel(stores, workspaceId, plan.channel), env);
  await checkTemplates(stores, workspaceId, plan);
  if (status === 'paused') {
    // Runs already made go on; a plan that had no run yet is scheduled as below.
    const runs = await stores.state.db
      .selectFrom('plan_runs')
      .select('id')
      .where('workspace_id', '=', workspaceId)
      .where('plan_key', '=', key)
      .where('slot', '=', 'once')
      .limit(1)
      .execute();
    if (runs.length > 0 && plan.schedule.kind === 'once') {
      // A run that failed is written on from where it stopped.
      await stores.state.db
        .updateTable('plan_runs')
        .set({ status: 'enqueuing', error: null, finished_at: null, enqueue_lease_until: null })
        .where('id', '=', runs[0].id)
        .where('status', '=', 'failed')
        .execute();
      await setStatus(stores, workspaceId, key, 'running');
      return getPlan(stores, workspaceId, key);
    }
  } else if (status !== 'draft') {
    return getPlan(stores, workspaceId, key);
  }
  const now = new Date();
  if (plan.schedule.kind === 'triggered') {
    // Events from now on trigger it (a paused stretch is skipped, not caught up).
    await stores.state.db
      .updateTable('plans')
      .set({ status: 'running', next_run_at: null, triggers_checked_until: now, updated_at: now })
      .where('workspace_id', '=', workspaceId)
      .where('key', '=', key)
      .execute();
    return getPlan(stores, workspaceId, key);
  }
  let next: Date;
  if (plan.schedule.kind === 'once') next = plan.schedule.at ? new Date(plan.schedule.at) : now;
  else next = nextSlot(plan.schedule.cron, (await new WorkspaceService(stores.state).get(workspaceId)).timeZone, now);
  await stores.state.db
    .updateTable('plans')
    .set({ status: 'scheduled', next_run_at: next, updated_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('key', '=', key)
    .execute();
  return getPlan(stores, workspaceId, key);
}

/** Pauses a plan: no new run starts and no queued message of it is sent until it is started again. */
export async function pausePlan(stores: Stores, workspaceId: string, key: string): Promise<PlanInfo> {
  const { status } = await getPlan(stores, workspaceId, key);
  if (status === 'completed') throw new ConflictError(`plan "${key}" has completed`);
  await setStatus(stores, workspaceId, key, 'paused');
  return getPlan(stores, workspaceId, key);
}

async function setStatus(stores: Stores, workspaceId: string, key: string, status: PlanStatus): Promise<void> {
  await stores.state.db.updateTable('plans').set({ status, updated_at: new Date() }).where('workspace_id', '=', workspaceId).where('key', '=', key).execute();
}

export async function deletePlan(stores: Stores, workspaceId: string, key: string): Promise<void> {
  const { status } = await getPlan(stores, workspaceId, key);
  if (status === 'scheduled' || status === 'running') throw new ConflictError(`plan "${key}" is ${status}: pause it first`);
  const sent = await sql<{ n: number }>`SELECT count(*)::int AS n FROM deliveries WHERE workspace_id = ${workspaceId} AND plan_key = ${key}`.execute(stores.state.db);
  if (Number(sent.rows[0]?.n ?? 0) > 0) throw new ConflictError(`plan "${key}" has sent messages: its ledger and report are kept (pause it instead)`);
  await stores.state.db.deleteFrom('plans').where('workspace_id', '=', workspaceId).where('key', '=', key).execute();
}
