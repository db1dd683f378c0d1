/**
 * What a command prints, shared by direct mode (commands/*.ts) and remote mode (remote.ts), so a command
 * answers the same text on this machine and against SIYU_URL. Light on purpose: types from the contract and
 * the output helpers only (remote mode must not load the stores or the domains).
 */
import type { Explanation, ResolveSummary } from '../contract/identity.ts';
import type { PlanReport } from '../contract/plans.ts';
import { printTable } from './output.ts';

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '' : `${(100 * x).toFixed(2)}%`);
const n = (x: number) => x.toLocaleString('en-US');

/** The counts an import ends with, per file (direct) or per uploaded file (remote). */
export interface ImportCounts {
  rowsRead: number;
  landed: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  valuesDropped: number;
}

/** The closing line(s) of an import: what landed, what was refused and where to look. */
export function importSummaryText(runId: string, resumed: boolean, counts: ImportCounts, seconds: number): string {
  return (
    `\nrun ${runId}${resumed ? ' (resumed)' : ''}: ${n(counts.rowsRead)} rows read, ` +
    `${n(counts.landed)} landed, ${n(counts.updated)} updated, ` +
    `${n(counts.unchanged)} unchanged, ${n(counts.quarantined)} quarantined` +
    `${counts.valuesDropped ? `, ${n(counts.valuesDropped)} values dropped` : ''} in ${seconds.toFixed(1)} s` +
    `${counts.quarantined + counts.valuesDropped > 0 ? `\nsee: siyu import quarantine --run ${runId}` : ''}`
  );
}

/** `siyu resolve`: the summary line, then the steps that took time. */
export function printResolveSummary(
  s: Pick<ResolveSummary, 'records' | 'people' | 'newPeople' | 'merges' | 'splits' | 'hubs' | 'conflicts' | 'reassigned' | 'seconds' | 'steps'>,
): void {
  console.log(
    `resolved ${n(s.records)} records → ${n(s.people)} people ` +
      `(${s.newPeople} new, ${s.merges} merges, ${s.splits} splits, ${s.hubs} hub values, ${s.conflicts} conflicts, ` +
      `${s.reassigned} records moved) in ${s.seconds.toFixed(1)} s`,
  );
  const steps = Object.entries(s.steps).filter(([, seconds]) => seconds >= 0.05);
  if (steps.length > 0) console.log(`steps: ${steps.map(([name, seconds]) => `${name} ${seconds.toFixed(1)} s`).join(', ')}`);
}

/** `siyu identities explain`: a person's records, what joined them, and their history. */
export function printExplanation(personId: number, e: Pick<Explanation, 'records' | 'links' | 'history'>): void {
  if (e.records.length === 0) throw new Error(`no person ${personId} in this workspace`);
  console.log(`person ${personId}: ${e.records.length} records`);
  printTable(
    e.records.map((r) => ({ source: r.source, kind: r.kind, record: r.record_id, name: r.name, identifiers: r.identifiers.map((i) => `${i.type}=${i.value}`).join(' ') })),
  );
  console.log('\njoined by:');
  printTable(e.links.map((l) => ({ type: l.type, value: l.value, records: l.records.join(' ') })));
  if (e.history.length > 0) {
    console.log('\nhistory:');
    printTable(e.history.map((h) => ({ at: h.at, kind: h.kind, details: JSON.stringify(h.details) })));
  }
}

/** `siyu plans report`: the runs, then one row per variant and control, then what policy stopped. */
export function printPlanReport(report: PlanReport, json?: boolean): void {
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`plan ${report.plan}: ${report.status}; goal: ${report.goal ?? '(none)'}; runs: ${report.runs.map((r) => `${r.slot} ${r.status}`).join(', ') || '(none)'}`);
  printTable(
    report.groups.map((g) => ({
      group: g.group,
      audience: g.audience,
      stopped: g.stopped,
      sent: g.sent,
      delivered: g.delivered,
      failed: g.failed,
      clicked: g.clicked,
      converted: g.converted,
      revenue: g.revenue,
      rate: pct(g.conversionRate),
      lift: g.lift
        ? `${g.lift.absolute >= 0 ? '+' : ''}${(100 * g.lift.absolute).toFixed(2)} pt [${(100 * g.lift.absoluteCi.low).toFixed(2)}, ${(100 * g.lift.absoluteCi.high).toFixed(2)}]`
        : '',
      cost: g.cost,
      per_conversion: g.costPerConversion,
    })),
  );
  if (report.stoppedBy.length > 0) {
    console.log('\nstopped by policy:');
    printTable(report.stoppedBy);
  }
}

/** `siyu plans list`. */
export function printPlanList(
  plans: ReadonlyArray<{ plan: { key: string; name: string; schedule: { kind: string }; channel: string }; status: string; nextRunAt: string | null }>,
): void {
  printTable(plans.map((p) => ({ key: p.plan.key, name: p.plan.name, status: p.status, schedule: p.plan.schedule.kind, next_run: p.nextRunAt ?? '', channel: p.plan.channel })));
}

/** `siyu segments count`: the estimate line and the exact line. */
export function estimateLine(e: { estimate: number; low: number; high: number; seconds: number }): string {
  return `estimate: ${n(e.estimate)} (95%: ${n(e.low)}–${n(e.high)}) in ${(e.seconds * 1000).toFixed(0)} ms`;
}
export function exactLine(e: { people: number; seconds: number }): string {
  return `exact: ${n(e.people)} people in ${(e.seconds * 1000).toFixed(0)} ms`;
}

/** `siyu segments list`: each segment with its last snapshot. */
export function segmentListRow(s: { key: string; name: { zh: string }; conditions: readonly unknown[] }, last: { takenAt: string; people: number } | null | undefined) {
  return { key: s.key, name: s.name.zh, conditions: s.conditions.length, 'last snapshot': last ? `${last.takenAt.slice(0, 16).replace('T', ' ')} ${last.people}` : '' };
}

/** `siyu users list`. */
export function printUsers(
  users: ReadonlyArray<{ id: string; email: string; name: string; role: string; teamId: string | null; staffUserId: string | null; disabled: boolean }>,
  teamNames: ReadonlyMap<string, string>,
): void {
  printTable(
    users.map((u) => ({
      id: u.id,
      email: u.email,
      name: u.name,
      role: u.role,
      team: u.teamId ? (teamNames.get(u.teamId) ?? u.teamId) : '',
      staff_userid: u.staffUserId ?? '',
      disabled: u.disabled ? 'yes' : '',
    })),
  );
}

/** `siyu import runs` and `siyu import quarantine`. */
export function importRunRow(r: {
  id: string;
  kind: string;
  source: string;
  status: string;
  rowsRead: number;
  landed: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  startedAt: string;
}) {
  return {
    run: r.id,
    kind: r.kind,
    source: r.source,
    status: r.status,
    read: r.rowsRead,
    landed: r.landed,
    updated: r.updated,
    unchanged: r.unchanged,
    quarantined: r.quarantined,
    started: r.startedAt,
  };
}
