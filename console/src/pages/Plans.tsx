/** Plans with their status, and the journeys (read-only; each opens on its steps and report). */
import { Link } from 'react-router';
import { useApi } from '../api.ts';
import { useT } from '../i18n.ts';
import { useSession } from '../session.tsx';
import type { JourneyInfo } from '../../../src/contract/journeys.ts';
import type { PlanInfo } from '../../../src/contract/plans.ts';
import { Badge, Card, PageHeader } from '../components/Page.tsx';
import { Table } from '../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { scheduleText } from './plans/schedule.ts';

export function Plans() {
  const i18n = useT();
  const { t } = i18n;
  const { can } = useSession();
  const plans = useApi<{ plans: PlanInfo[] }>('/api/v1/plans');
  const journeys = useApi<{ journeys: JourneyInfo[] }>('/api/v1/journeys');
  return (
    <>
      <PageHeader
        title={t('nav.plans')}
        subtitle={t('plans.subtitle')}
        actions={
          can('build') && (
            <Link className="btn btn-primary" to="/plans/new">
              {t('plans.new')}
            </Link>
          )
        }
      />
      <Card title={t('plans.title')}>
        {plans.error ? (
          <ErrorBox error={plans.error} onRetry={plans.reload} />
        ) : !plans.data ? (
          <Loading />
        ) : (
          <Table
            rows={plans.data.plans}
            rowKey={(p) => p.plan.key}
            empty={
              <Empty
                title={t('plans.empty')}
                hint={can('build') ? t('plans.emptyHint') : t('plans.emptyReadOnly')}
                action={
                  can('build') && (
                    <Link className="btn btn-primary" to="/plans/new">
                      {t('plans.new')}
                    </Link>
                  )
                }
              />
            }
            columns={[
              { key: 'name', header: t('plans.name'), render: (p) => <Link to={`/plans/${p.plan.key}`}>{p.plan.name}</Link> },
              { key: 'key', header: t('plans.key'), render: (p) => <code>{p.plan.key}</code> },
              { key: 'status', header: t('common.status'), render: (p) => <Badge>{p.status}</Badge> },
              { key: 'segment', header: t('plans.audience'), render: (p) => p.plan.audience.segment ?? '—' },
              { key: 'channel', header: t('plans.channel'), render: (p) => p.plan.channel },
              { key: 'schedule', header: t('plans.schedule'), render: (p) => scheduleText(p.plan.schedule, i18n) },
              { key: 'next', header: t('plans.nextRun'), render: (p) => i18n.dateTime(p.nextRunAt) },
            ]}
          />
        )}
      </Card>
      <Card title={t('journeys.title')}>
        <p className="muted small">{t('journeys.hint')}</p>
        {journeys.error ? (
          <ErrorBox error={journeys.error} onRetry={journeys.reload} />
        ) : !journeys.data ? (
          <Loading />
        ) : (
          <Table
            rows={journeys.data.journeys}
            rowKey={(j) => j.journey.key}
            empty={<Empty title={t('journeys.empty')} hint={t('journeys.emptyHint')} />}
            columns={[
              { key: 'name', header: t('plans.name'), render: (j) => <Link to={`/journeys/${j.journey.key}`}>{j.journey.name}</Link> },
              { key: 'key', header: t('plans.key'), render: (j) => <code>{j.journey.key}</code> },
              { key: 'status', header: t('common.status'), render: (j) => <Badge>{j.status}</Badge> },
              { key: 'steps', header: t('journeys.steps'), align: 'right', render: (j) => Object.keys(j.journey.steps).length },
            ]}
          />
        )}
      </Card>
    </>
  );
}
