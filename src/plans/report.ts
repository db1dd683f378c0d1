/**
 * A plan's report: per variant and the control group — audience, stopped by policy, sent, delivered,
 * failed, clicked, converted, revenue, conversion rate, lift over control with a 95% confidence
 * interval, cost and cost per conversion (费效比). A person converts when the goal happens within the
 * window after their send (after entry for the control and for treated people whose send failed:
 * the comparison is by assignment, so failures count against the variant, as they should).
 */
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { getPlan } from './plans.ts';
import { conversionsSql } from './goal.ts';
import type { Goal, GroupReport, Interval, PlanReport } from '../contract/plans.ts';

const Z95 = 1.959963984540054;

/** Difference of two proportions (Wald) and the ratio's interval on the log scale. */
function liftOf(converted: number, n: number, controlConverted: number, controlN: number): GroupReport['lift'] {
  if (n === 0 || controlN === 0) return null;
  const p = converted / n;
  const q = controlConverted / controlN;
  const se = Math.sqrt((p * (1 - p)) / n + (q * (1 - q)) / controlN);
  const absolute = p - q;
  let relative: number | null = null;
  let relativeCi: Interval | null = null;
  if (q > 0 && p > 0) {
    relative = p / q - 1;
    const seLog = Math.sqrt((1 - p) / (p * n) + (1 - q) / (q * controlN));
    relativeCi = { low: Math.exp(Math.log(p / q) - Z95 * seLog) - 1, high: Math.exp(Math.log(p / q) + Z95 * seLog) - 1 };
  } else if (q > 0) {
    relative = -1;
  }
  return { absolute, absoluteCi: { low: absolute - Z95 * se, high: absolute + Z95 * se }, relative, relativeCi };
}

export async function planReport(stores: Stores, workspaceId: string, key: string, options: { runId?: string } = {}): Promise<PlanReport> {
  const { plan, status } = await getPlan(stores, workspaceId, key);
  return reportOf(stores, workspaceId, key, status, plan.goal, options);
}

/**
 * The report of a plan or a journey (its key in the ledger and message events). A journey's groups
 * are its steps: who reached each, and for send steps what was sent and what it did.
 */
export async function reportOf(stores: Stores, workspaceId: string, key: string, status: string, goal: Goal | undefined, options: { runId?: string } = {}): Promise<PlanReport> {
  const plan = { goal };
  const workspace = await new WorkspaceService(stores.state).get(workspaceId);
  // Test sends (to the whitelist) are left out of the figures.
  const testRuns = (
    await stores.state.db.selectFrom('plan_runs').select('id').where('workspace_id', '=', workspaceId).where('plan_key', '=', key).where('slot', 'like', 'test:%').execute()
  ).map((r) => r.id);
  const params: Record<string, unknown> = { ws: workspaceId, tz: workspace.timeZone, plan: key, run: options.runId ?? '', window: plan.goal?.windowDays ?? 0, test_runs: testRuns };
  // Each person's outcome in each run: what happened to the message and when they entered.
  const outcomes = `
    SELECT person_id, run_id, variant,
      -- stopped: every message of the person in this group was stopped (one stopped repeat of a
      -- trigger does not hide the one that went)
      (max(event = 'stopped') AND NOT max(event IN ('queued', 'control', 'step'))) AS stopped, max(event = 'sent') AS sent, max(event = 'delivered') AS delivered,
      max(event IN ('failed', 'parked')) AS failed, max(event = 'clicked') AS clicked, maxIf(cost, event = 'sent') AS cost,
      if(max(event = 'sent'), minIf(at, event = 'sent'), minIf(at, event IN ('queued', 'control', 'step'))) AS entered
    FROM message_events
    WHERE workspace_id = {ws:String} AND plan = {plan:String} AND ({run:String} = '' OR run_id = {run:String}) AND run_id NOT IN {test_runs:Array(String)}
    GROUP BY person_id, run_id, variant`;
  let joined = `SELECT m.*, 0 AS converted, toFloat64(0) AS revenue FROM (${outcomes}) AS m`;
  if (plan.goal) {
    // Each outcome with the goal's events joined once: converted when one falls in the window
    // after entry (unmatched rows carry the epoch, which never does).
    const goal = conversionsSql(plan.goal);
    Object.assign(params, goal.params);
    const inWindow = 'm.stopped = 0 AND c.at >= m.entered AND c.at < m.entered + toIntervalDay({window:UInt32})';
    joined = `
      SELECT m.person_id AS person_id, m.run_id AS run_id, m.variant AS variant, any(m.stopped) AS stopped, any(m.sent) AS sent,
             any(m.delivered) AS delivered, any(m.failed) AS failed, any(m.clicked) AS clicked, any(m.cost) AS cost,
             countIf(${inWindow}) > 0 AS converted, sumIf(c.revenue, ${inWindow}) AS revenue
      FROM (${outcomes}) AS m
      LEFT JOIN (SELECT person_id, at, revenue FROM (${goal.sql})
                 WHERE person_id IN (SELECT person_id FROM message_events WHERE workspace_id = {ws:String} AND plan = {plan:String})) AS c
        ON c.person_id = m.person_id
      GROUP BY m.person_id, m.run_id, m.variant`;
  }
  const rows = await stores.facts.query<Record<string, string | number>>(
    `SELECT variant AS grp, count() AS n_audience, countIf(stopped = 1) AS n_stopped, countIf(sent = 1) AS n_sent, countIf(delivered = 1) AS n_delivered,
            countIf(failed = 1 AND sent = 0) AS n_failed, countIf(clicked = 1) AS n_clicked, countIf(converted = 1 AND stopped = 0) AS n_converted,
            sumIf(revenue, stopped = 0) AS n_revenue, sum(cost) AS n_cost
     FROM (${joined}) GROUP BY grp ORDER BY grp = 'control', grp`,
    params,
  );
  const groups = rows.map((r) => {
    const audience = Number(r.n_audience);
    const stopped = Number(r.n_stopped);
    const converted = Number(r.n_converted);
    const eligible = audience - stopped;
    return {
      group: String(r.grp),
      audience,
      stopped,
      eligible,
      sent: Number(r.n_sent),
      delivered: Number(r.n_delivered),
      failed: Number(r.n_failed),
      clicked: Number(r.n_clicked),
      converted,
      revenue: Math.round(Number(r.n_revenue) * 100) / 100,
      conversionRate: eligible > 0 ? converted / eligible : null,
      lift: null as GroupReport['lift'],
      cost: Math.round(Number(r.n_cost) * 10_000) / 10_000,
      costPerConversion: r.grp !== 'control' && converted > 0 ? Number(r.n_cost) / converted : null,
      costPerIncrementalConversion: null as number | null,
    };
  });
  const control = groups.find((g) => g.group === 'control');
  if (control && plan.goal) {
    for (const g of groups) {
      if (g === control) continue;
      g.lift = liftOf(g.converted, g.eligible, control.converted, control.eligible);
      const incremental = g.converted - (control.conversionRate ?? 0) * g.eligible;
      g.costPerIncrementalConversion = incremental > 0 ? g.cost / incremental : null;
    }
  }
  const runs = await stores.state.db
    .selectFrom('plan_runs')
    .select(['id', 'slot', 'status', 'audience', 'started_at', 'finished_at', 'error'])
    .where('workspace_id', '=', workspaceId)
    .where('plan_key', '=', key)
    .orderBy('started_at')
    .execute();
  const runFilter = options.runId ? sql`AND run_id = ${options.runId}` : testRuns.length > 0 ? sql`AND NOT (run_id = ANY(${testRuns}::text[]))` : sql``;
  const stoppedBy = await sql<{ reason: string; people: number }>`
    SELECT reason, count(*)::int AS people FROM deliveries
    WHERE workspace_id = ${workspaceId} AND plan_key = ${key} AND status = 'stopped' ${runFilter}
    GROUP BY reason ORDER BY people DESC, reason`.execute(stores.state.db);
  const ledger = await sql<{ status: string; n: number }>`
    SELECT status, count(*)::int AS n FROM deliveries WHERE workspace_id = ${workspaceId} AND plan_key = ${key} ${runFilter} GROUP BY status`.execute(stores.state.db);
  return {
    plan: key,
    status,
    goal: plan.goal
      ? `${plan.goal.kind === 'event' ? `event ${plan.goal.event}` : 'order'}${plan.goal.skus ? ` of ${plan.goal.skus.join(',')}` : ''} within ${plan.goal.windowDays} days`
      : null,
    runs: runs.map((r) => ({
      id: r.id,
      slot: r.slot,
      status: r.status,
      audience: r.audience === null ? null : Number(r.audience),
      startedAt: new Date(r.started_at).toISOString(),
      finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
      error: r.error,
    })),
    groups,
    stoppedBy: stoppedBy.rows.map((r) => ({ reason: r.reason, people: Number(r.people) })),
    ledger: Object.fromEntries(ledger.rows.map((r) => [r.status, Number(r.n)])),
  };
}
