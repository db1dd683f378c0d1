/**
 * A plan: status with start / pause / test send, its definition, a preview for one person, and the
 * results (GET /api/v1/plans/:key/report), followed while the plan is scheduled or running.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { api, useAction, useApi } from '../api.ts';
import { useT } from '../i18n.ts';
import { useSession } from '../session.tsx';
import type { PlanInfo, PlanReport } from '../../../src/contract/plans.ts';
import { Field } from '../components/Form.tsx';
import { Badge, Card, PageHeader } from '../components/Page.tsx';
import { Pairs, Table } from '../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { Chart, type ChartOption } from '../components/Chart.tsx';
import { scheduleText } from './plans/schedule.ts';

const LIVE = ['scheduled', 'running'];

export function PlanDetail() {
  const { key = '' } = useParams();
  const i18n = useT();
  const { t } = i18n;
  const { can } = useSession();
  const info = useApi<PlanInfo>(`/api/v1/plans/${encodeURIComponent(key)}`);
  const report = useApi<PlanReport>(`/api/v1/plans/${encodeURIComponent(key)}/report`);
  const [notice, setNotice] = useState<string | null>(null);
  const status = info.data?.status;

  // Followed while it may still change: the status and the report every 3 seconds.
  useEffect(() => {
    if (!status || !LIVE.includes(status)) return;
    const timer = setInterval(() => {
      info.reload();
      report.reload();
    }, 3000);
    return () => clearInterval(timer);
  }, [status, info.reload, report.reload]);

  const act = useAction(async (action: 'start' | 'pause' | 'test') => {
    setNotice(null);
    const answer = await api<PlanInfo & { queued?: number }>(`/api/v1/plans/${encodeURIComponent(key)}/${action}`, { method: 'POST' });
    if (action === 'test') setNotice(t('plan.testQueued', { n: answer.queued ?? 0 }));
    else info.setData(answer);
    report.reload();
  });

  if (info.error) {
    return (
      <>
        <PageHeader title={key} actions={<Link to="/plans">{t('plans.back')}</Link>} />
        <ErrorBox error={info.error} onRetry={info.reload} />
      </>
    );
  }
  if (!info.data) return <Loading />;
  const { plan } = info.data;
  const writer = can('build');
  const startable = status === 'draft' || status === 'paused';
  const pausable = status === 'scheduled' || status === 'running';

  return (
    <>
      <PageHeader
        title={plan.name}
        subtitle={
          <>
            <code>{plan.key}</code> · <Badge>{info.data.status}</Badge>
            <span className="sr-only" data-testid="plan-status">
              {info.data.status}
            </span>
          </>
        }
        actions={
          <>
            <Link className="btn" to="/plans">
              {t('plans.back')}
            </Link>
            {writer && !pausable && status !== 'completed' && (
              <Link className="btn" to={`/plans/${plan.key}/edit`}>
                {t('common.edit')}
              </Link>
            )}
            {writer && (
              <button type="button" className="btn" disabled={act.busy} onClick={() => void act.run('test')}>
                {t('plan.test')}
              </button>
            )}
            {writer && pausable && (
              <button type="button" className="btn" disabled={act.busy} onClick={() => void act.run('pause')}>
                {t('plan.pause')}
              </button>
            )}
            {writer && startable && (
              <button type="button" className="btn btn-primary" disabled={act.busy} onClick={() => void act.run('start')}>
                {status === 'paused' ? t('plan.resume') : t('plan.start')}
              </button>
            )}
          </>
        }
      />
      <ErrorBox error={act.error} title={t('plan.actionFailed')} />
      {notice && (
        <div className="notice success" role="status">
          {notice}
        </div>
      )}
      <div className="grid-2">
        <Card title={t('plans.definition')}>
          <Pairs
            items={[
              [
                t('plans.audience'),
                plan.audience.segment ? (
                  <Link key="segment" to={`/segments/${plan.audience.segment}`}>
                    {plan.audience.segment}
                  </Link>
                ) : (
                  '—'
                ),
              ],
              [t('plans.exclude'), plan.audience.exclude?.length ? plan.audience.exclude.join(', ') : '—'],
              [t('plans.channel'), plan.channel],
              [t('plans.schedule'), scheduleText(plan.schedule, i18n)],
              [t('plans.nextRun'), i18n.dateTime(info.data.nextRunAt)],
              [t('plans.variants'), plan.variants.map((v) => `${v.key} ×${v.weight ?? 1}`).join(', ')],
              [t('plans.control'), `${plan.controlPercent ?? 0}%`],
              [
                t('plans.goal'),
                plan.goal
                  ? `${t(plan.goal.kind === 'order' ? 'plans.goalOrder' : 'plans.goalEvent')}${plan.goal.event ? ` ${plan.goal.event}` : ''} · ${t('plan.withinDays', { n: plan.goal.windowDays ?? 7 })}`
                  : t('plans.noGoal'),
              ],
            ]}
          />
        </Card>
        {can('plans.preview') ? (
          <Preview planKey={plan.key} />
        ) : (
          <Card title={t('plan.preview')}>
            <p className="muted">{t('plan.previewNoAccess')}</p>
          </Card>
        )}
      </div>
      <ReportCard report={report.data} error={report.error} onRetry={report.reload} />
    </>
  );
}

function Preview({ planKey }: { planKey: string }) {
  const { t } = useT();
  const [person, setPerson] = useState('');
  const [asked, setAsked] = useState<string | null>(null);
  const preview = useApi<{ variants: Array<{ variant: string; content: Record<string, unknown> }> }>(
    asked ? `/api/v1/plans/${encodeURIComponent(planKey)}/preview?person=${encodeURIComponent(asked)}` : null,
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAsked(person.trim());
  };
  return (
    <Card title={t('plan.preview')}>
      <form className="inline-form" onSubmit={submit}>
        <Field label={t('plan.previewPerson')} hint={t('plan.previewHint')}>
          <input type="number" min={1} required value={person} onChange={(e) => setPerson(e.target.value)} />
        </Field>
        <button type="submit" className="btn btn-primary">
          {t('plan.previewButton')}
        </button>
      </form>
      {asked &&
        (preview.error ? (
          <ErrorBox error={preview.error} />
        ) : !preview.data ? (
          <Loading />
        ) : (
          preview.data.variants.map((v) => (
            <div key={v.variant} className="preview">
              <h3>{t('plan.variant', { key: v.variant })}</h3>
              {Object.entries(v.content).map(([field, value]) => (
                <div key={field} className="preview-field">
                  <span className="muted small">{field}</span>
                  <div className="message">{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</div>
                </div>
              ))}
            </div>
          ))
        ))}
    </Card>
  );
}

function ReportCard({ report, error, onRetry }: { report: PlanReport | undefined; error: Error | undefined; onRetry: () => void }) {
  const i18n = useT();
  const { t, num, pct, money } = i18n;
  const chart = useMemo<ChartOption | null>(() => {
    if (!report?.groups.length) return null;
    const measures = ['sent', 'delivered', 'clicked', 'converted'] as const;
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 24 },
      xAxis: { type: 'category', data: report.groups.map((g) => (g.group === 'control' ? t('report.control') : g.group)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: measures.map((m) => ({ type: 'bar' as const, name: t(`report.${m}`), data: report.groups.map((g) => g[m]), barMaxWidth: 28 })),
    };
  }, [report, t]);
  if (error) return <ErrorBox error={error} onRetry={onRetry} />;
  if (!report) return <Loading />;
  return (
    <Card title={t('report.title')} id="plan-report">
      {report.groups.length === 0 ? (
        <Empty title={t('report.empty')} hint={t('report.emptyHint')} />
      ) : (
        <>
          {chart && <Chart option={chart} height={260} label={t('report.title')} />}
          <Table
            rows={report.groups}
            rowKey={(g) => g.group}
            columns={[
              { key: 'group', header: t('report.group'), render: (g) => (g.group === 'control' ? <Badge tone="grey">{t('report.control')}</Badge> : <strong>{g.group}</strong>) },
              { key: 'audience', header: t('report.audience'), align: 'right', render: (g) => num(g.audience) },
              { key: 'stopped', header: t('report.stopped'), align: 'right', render: (g) => num(g.stopped) },
              { key: 'sent', header: t('report.sent'), align: 'right', render: (g) => <span data-testid={`report-sent-${g.group}`}>{num(g.sent)}</span> },
              { key: 'delivered', header: t('report.delivered'), align: 'right', render: (g) => num(g.delivered) },
              { key: 'clicked', header: t('report.clicked'), align: 'right', render: (g) => num(g.clicked) },
              { key: 'converted', header: t('report.converted'), align: 'right', render: (g) => num(g.converted) },
              { key: 'revenue', header: t('report.revenue'), align: 'right', render: (g) => money(g.revenue) },
              { key: 'rate', header: t('report.rate'), align: 'right', render: (g) => pct(g.conversionRate, 2) },
              {
                key: 'lift',
                header: t('report.lift'),
                align: 'right',
                render: (g) =>
                  g.lift ? (
                    <span title={g.lift.relative !== null ? t('report.relative', { value: pct(g.lift.relative) }) : undefined}>
                      {`${g.lift.absolute >= 0 ? '+' : ''}${num(g.lift.absolute * 100, 2)}pp`}
                      <span className="muted small">
                        {' '}
                        [{num(g.lift.absoluteCi.low * 100, 2)}, {num(g.lift.absoluteCi.high * 100, 2)}]
                      </span>
                    </span>
                  ) : (
                    '—'
                  ),
              },
              { key: 'cpc', header: t('report.costPerConversion'), align: 'right', render: (g) => (g.costPerConversion === null ? '—' : money(g.costPerConversion)) },
            ]}
          />
          <p className="muted small">{t('report.note')}</p>
        </>
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
      <h3>{t('report.runs')}</h3>
      <Table
        rows={report.runs}
        rowKey={(r) => r.id}
        empty={<p className="muted">{t('report.noRuns')}</p>}
        columns={[
          { key: 'slot', header: t('report.slot'), render: (r) => <code>{r.slot}</code> },
          {
            key: 'status',
            header: t('common.status'),
            render: (r) => (
              <span title={r.error ?? undefined}>
                <Badge>{r.status}</Badge>
              </span>
            ),
          },
          { key: 'audience', header: t('report.audience'), align: 'right', render: (r) => num(r.audience) },
          { key: 'started', header: t('report.started'), render: (r) => i18n.dateTime(r.startedAt) },
          { key: 'finished', header: t('report.finished'), render: (r) => i18n.dateTime(r.finishedAt) },
        ]}
      />
    </Card>
  );
}
