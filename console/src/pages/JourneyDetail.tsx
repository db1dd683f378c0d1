/**
 * A journey, read-only (GET /api/v1/journeys/:key): its entry and steps in the order people meet them,
 * how many people are at each step now or ended there, and per step who reached it and what its
 * sends did (GET /api/v1/journeys/:key/report). Operators and admins start or pause it.
 */
import { useEffect, useMemo } from 'react';
import { Link, useParams } from 'react-router';
import { api, useAction, useApi } from '../api.ts';
import { useT, type I18n, type Key } from '../i18n.ts';
import { useSession } from '../session.tsx';
import type { JourneyDetail as JourneyData, JourneyInfo, JourneyInput as Journey, StepInput as JourneyStep } from '../../../src/contract/journeys.ts';
import type { GroupReport, PlanReport } from '../../../src/contract/plans.ts';
import { nextSteps } from '../../../src/contract/journey-graph.ts';
import { Badge, Card, PageHeader } from '../components/Page.tsx';
import { Pairs, Table } from '../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';

/** The steps from the first on, breadth first (the order people meet them), then any not reached. */
function orderedSteps(journey: Journey): Array<{ name: string; step: JourneyStep; reachable: boolean }> {
  const seen = new Set<string>();
  const queue = [journey.first];
  const order: string[] = [];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name) || !journey.steps[name]) continue;
    seen.add(name);
    order.push(name);
    queue.push(...nextSteps(journey.steps[name]));
  }
  const rest = Object.keys(journey.steps).filter((name) => !seen.has(name));
  return [...order.map((name) => ({ name, step: journey.steps[name], reachable: true })), ...rest.map((name) => ({ name, step: journey.steps[name], reachable: false }))];
}

function detailOf(step: JourneyStep, { t }: I18n): string {
  switch (step.type) {
    case 'send': {
      const text = Object.values(step.template)[0] ?? '';
      return `${t('journey.via', { channel: step.channel })} · ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`;
    }
    case 'wait': {
      const parts: string[] = [];
      if (step.days) parts.push(t('journey.days', { n: step.days }));
      if (step.hours) parts.push(t('journey.hours', { n: step.hours }));
      if (step.minutes) parts.push(t('journey.minutes', { n: step.minutes }));
      if (step.untilDate) {
        const offset = step.untilDate.offsetDays ? `${step.untilDate.offsetDays > 0 ? '+' : ''}${step.untilDate.offsetDays}d` : '';
        parts.push(t('journey.untilDate', { field: step.untilDate.tag ?? step.untilDate.profile ?? '', offset }).trim());
      }
      if (step.untilTime) parts.push(t('journey.untilTime', { time: step.untilTime }));
      return parts.join(' · ');
    }
    case 'branch':
      return t('journey.conditions', { n: step.conditions.length, match: step.match ?? 'all' });
    case 'split':
      return step.branches.map((b) => `${b.next} ×${b.weight}`).join(' / ');
    case 'tag':
      return step.remove ? t('journey.removeTag', { tag: step.tag }) : `${step.tag} = ${step.value === undefined ? '—' : String(step.value)}`;
    case 'task':
      return step.title;
    case 'exit':
      return '—';
  }
}

function NextCell({ step }: { step: JourneyStep }) {
  const { t } = useT();
  if (step.type === 'branch') {
    return (
      <span className="journey-next">
        {t('journey.yes')} → <code>{step.yes}</code> · {t('journey.no')} → <code>{step.no}</code>
      </span>
    );
  }
  const next = nextSteps(step);
  if (next.length === 0) return <span className="muted">{t('journey.end')}</span>;
  return (
    <span className="journey-next">
      {next.map((n, i) => (
        <span key={`${n}-${i}`}>
          {i > 0 && ' / '}
          <code>{n}</code>
        </span>
      ))}
    </span>
  );
}

export function JourneyDetail() {
  const { key = '' } = useParams();
  const i18n = useT();
  const { t, num } = i18n;
  const { can } = useSession();
  const path = `/api/v1/journeys/${encodeURIComponent(key)}`;
  const info = useApi<JourneyData>(path);
  const report = useApi<PlanReport>(`${path}/report`);
  const status = info.data?.status;

  // Followed while it runs: people move every minute on the server.
  useEffect(() => {
    if (status !== 'running') return;
    const timer = setInterval(() => {
      info.reload();
      report.reload();
    }, 5000);
    return () => clearInterval(timer);
  }, [status, info.reload, report.reload]);

  const act = useAction(async (action: 'start' | 'pause') => {
    const answer = await api<JourneyInfo>(`${path}/${action}`, { method: 'POST' });
    info.setData({ ...answer, positions: info.data?.positions ?? [] });
    info.reload();
    report.reload();
  });

  const steps = useMemo(() => (info.data ? orderedSteps(info.data.journey) : []), [info.data]);
  const groups = useMemo(() => new Map((report.data?.groups ?? []).map((g) => [g.group, g])), [report.data]);

  if (info.error) {
    return (
      <>
        <PageHeader title={key} actions={<Link to="/plans">{t('journeys.back')}</Link>} />
        <ErrorBox error={info.error} onRetry={info.reload} />
      </>
    );
  }
  if (!info.data) return <Loading />;
  const { journey, positions } = info.data;
  const writer = can('build');
  const count = (step: string, state: string) => positions.filter((p) => p.step === step && p.status === state).reduce((sum, p) => sum + p.people, 0);
  const active = positions.filter((p) => p.status === 'active').reduce((sum, p) => sum + p.people, 0);
  const done = positions.filter((p) => p.status !== 'active').reduce((sum, p) => sum + p.people, 0);
  const control = groups.get('control');
  const sendFigure = (step: JourneyStep, g: GroupReport | undefined, measure: 'sent' | 'delivered' | 'clicked') =>
    step.type === 'send' ? num(g?.[measure] ?? 0) : <span className="muted">—</span>;

  return (
    <>
      <PageHeader
        title={journey.name}
        subtitle={
          <>
            <code>{journey.key}</code> · <Badge>{info.data.status}</Badge>
            <span className="sr-only" data-testid="journey-status">
              {info.data.status}
            </span>
          </>
        }
        actions={
          <>
            <Link className="btn" to="/plans">
              {t('journeys.back')}
            </Link>
            <button
              type="button"
              className="btn"
              disabled={info.loading || report.loading}
              onClick={() => {
                info.reload();
                report.reload();
              }}
            >
              {t('journey.refresh')}
            </button>
            {writer && status === 'running' && (
              <button type="button" className="btn" disabled={act.busy} onClick={() => void act.run('pause')}>
                {t('plan.pause')}
              </button>
            )}
            {writer && (status === 'draft' || status === 'paused') && (
              <button type="button" className="btn btn-primary" disabled={act.busy} onClick={() => void act.run('start')}>
                {status === 'paused' ? t('plan.resume') : t('plan.start')}
              </button>
            )}
          </>
        }
      />
      <p className="muted small">{t('journey.readOnly')}</p>
      <ErrorBox error={act.error} title={t('plan.actionFailed')} />
      <div className="grid-2">
        <Card title={t('journey.definition')}>
          <Pairs
            items={[
              [
                t('journey.entry'),
                'segment' in journey.entry ? (
                  <span key="entry">
                    {t('journey.entrySegment')} <Link to={`/segments/${journey.entry.segment}`}>{journey.entry.segment}</Link>
                  </span>
                ) : (
                  <span key="entry">
                    {t('journey.entryEvent')} <code>{journey.entry.event}</code>
                  </span>
                ),
              ],
              [t('journey.first'), <code key="first">{journey.first}</code>],
              [t('journey.control'), `${journey.controlPercent ?? 0}%`],
              [
                t('journey.goal'),
                journey.goal
                  ? `${t(journey.goal.kind === 'order' ? 'plans.goalOrder' : 'plans.goalEvent')}${journey.goal.event ? ` ${journey.goal.event}` : ''} · ${t('plan.withinDays', { n: journey.goal.windowDays ?? 7 })}`
                  : t('plans.noGoal'),
              ],
            ]}
          />
        </Card>
        <Card title={t('journey.people')}>
          <Pairs
            items={[
              [
                t('journey.active'),
                <span key="active" data-testid="journey-active">
                  {num(active)}
                </span>,
              ],
              [t('journey.done'), num(done)],
              [t('report.control'), control ? num(control.audience) : '—'],
            ]}
          />
        </Card>
      </div>
      <Card title={t('journey.steps')} id="journey-steps">
        {report.error && <ErrorBox error={report.error} onRetry={report.reload} />}
        <Table
          rows={steps}
          rowKey={(s) => s.name}
          caption={t('journey.steps')}
          columns={[
            {
              key: 'step',
              header: t('journey.step'),
              render: (s) => (
                <span>
                  <code>{s.name}</code>
                  {s.name === journey.first && (
                    <>
                      {' '}
                      <Badge tone="blue">{t('journey.first')}</Badge>
                    </>
                  )}
                  {!s.reachable && <span className="muted small"> {t('journey.unreachable')}</span>}
                </span>
              ),
            },
            { key: 'type', header: t('journey.type'), render: (s) => t(`journey.type.${s.step.type}` as Key) },
            { key: 'detail', header: t('journey.detail'), render: (s) => <span className="journey-detail">{detailOf(s.step, i18n)}</span> },
            { key: 'next', header: t('journey.next'), render: (s) => <NextCell step={s.step} /> },
            { key: 'here', header: t('journey.here'), align: 'right', render: (s) => <span data-testid={`journey-here-${s.name}`}>{num(count(s.name, 'active'))}</span> },
            { key: 'ended', header: t('journey.endedHere'), align: 'right', render: (s) => num(count(s.name, 'done')) },
            {
              key: 'reached',
              header: t('journey.reached'),
              align: 'right',
              render: (s) => <span data-testid={`journey-reached-${s.name}`}>{report.data ? num(groups.get(s.name)?.audience ?? 0) : '…'}</span>,
            },
            { key: 'sent', header: t('report.sent'), align: 'right', render: (s) => sendFigure(s.step, groups.get(s.name), 'sent') },
            { key: 'delivered', header: t('report.delivered'), align: 'right', render: (s) => sendFigure(s.step, groups.get(s.name), 'delivered') },
            { key: 'clicked', header: t('report.clicked'), align: 'right', render: (s) => sendFigure(s.step, groups.get(s.name), 'clicked') },
            {
              key: 'converted',
              header: t('report.converted'),
              align: 'right',
              render: (s) => (journey.goal ? num(groups.get(s.name)?.converted ?? 0) : <span className="muted">—</span>),
            },
          ]}
        />
      </Card>
      <JourneyReport report={report.data} journey={journey} />
    </>
  );
}

/** The report as the server gives it: one row per step reached, and the control group. */
function JourneyReport({ report, journey }: { report: PlanReport | undefined; journey: Journey }) {
  const i18n = useT();
  const { t, num, pct, money } = i18n;
  if (!report) return <Loading />;
  return (
    <Card title={t('journey.report')} id="journey-report">
      {report.groups.length === 0 ? (
        <Empty title={t('journey.noReport')} hint={t('journey.noReportHint')} />
      ) : (
        <Table
          rows={report.groups}
          rowKey={(g) => g.group}
          columns={[
            { key: 'group', header: t('journey.step'), render: (g) => (g.group === 'control' ? <Badge tone="grey">{t('report.control')}</Badge> : <code>{g.group}</code>) },
            { key: 'type', header: t('journey.type'), render: (g) => (journey.steps[g.group] ? t(`journey.type.${journey.steps[g.group].type}` as Key) : '—') },
            { key: 'audience', header: t('journey.reached'), align: 'right', render: (g) => num(g.audience) },
            { key: 'sent', header: t('report.sent'), align: 'right', render: (g) => num(g.sent) },
            { key: 'delivered', header: t('report.delivered'), align: 'right', render: (g) => num(g.delivered) },
            { key: 'failed', header: t('status.failed'), align: 'right', render: (g) => num(g.failed) },
            { key: 'clicked', header: t('report.clicked'), align: 'right', render: (g) => num(g.clicked) },
            { key: 'converted', header: t('report.converted'), align: 'right', render: (g) => num(g.converted) },
            { key: 'rate', header: t('report.rate'), align: 'right', render: (g) => pct(g.conversionRate, 2) },
            { key: 'revenue', header: t('report.revenue'), align: 'right', render: (g) => money(g.revenue) },
          ]}
        />
      )}
      {report.stoppedBy.length > 0 && (
        <>
          <h3>{t('report.stoppedBy')}</h3>
          <Table
            rows={report.stoppedBy}
            rowKey={(s) => s.reason}
            columns={[
              { key: 'reason', header: t('report.reason'), render: (s) => s.reason },
              { key: 'people', header: t('size.people'), align: 'right', render: (s) => num(s.people) },
            ]}
          />
        </>
      )}
    </Card>
  );
}
