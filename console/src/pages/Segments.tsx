/** The segments: name, conditions and last snapshot; a new one opens the builder. */
import { Link } from 'react-router';
import { useApi } from '../api.ts';
import { useT } from '../i18n.ts';
import { useSession } from '../session.tsx';
import type { Segment, Snapshot } from '../../../src/contract/segments.ts';
import { Card, PageHeader } from '../components/Page.tsx';
import { Table } from '../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';

export function Segments() {
  const i18n = useT();
  const { t } = i18n;
  const { can } = useSession();
  const segments = useApi<{ segments: Array<Segment & { lastSnapshot: Snapshot | null }> }>('/api/v1/segments');
  return (
    <>
      <PageHeader
        title={t('nav.segments')}
        subtitle={t('segments.subtitle')}
        actions={
          can('build') && (
            <Link className="btn btn-primary" to="/segments/new">
              {t('segments.new')}
            </Link>
          )
        }
      />
      <Card>
        {segments.error ? (
          <ErrorBox error={segments.error} onRetry={segments.reload} />
        ) : !segments.data ? (
          <Loading />
        ) : (
          <Table
            rows={segments.data.segments}
            rowKey={(s) => s.key}
            empty={
              <Empty
                title={t('segments.empty')}
                hint={can('build') ? t('segments.emptyHint') : t('segments.emptyReadOnly')}
                action={
                  can('build') && (
                    <Link className="btn btn-primary" to="/segments/new">
                      {t('segments.new')}
                    </Link>
                  )
                }
              />
            }
            columns={[
              { key: 'name', header: t('segments.name'), render: (s) => <Link to={`/segments/${s.key}`}>{i18n.named(s.name)}</Link> },
              { key: 'key', header: t('segments.key'), render: (s) => <code>{s.key}</code> },
              {
                key: 'conditions',
                header: t('segments.conditions'),
                render: (s) => t('segments.conditionCount', { n: s.conditions.length, match: t(s.match === 'all' ? 'builder.all' : 'builder.any') }),
              },
              {
                key: 'snapshot',
                header: t('segments.lastSnapshot'),
                align: 'right',
                render: (s) => (s.lastSnapshot ? `${i18n.num(s.lastSnapshot.people)} · ${i18n.date(s.lastSnapshot.takenAt)}` : '—'),
              },
              { key: 'description', header: t('segments.description'), render: (s) => <span className="muted">{s.description ?? ''}</span> },
            ]}
          />
        )}
      </Card>
    </>
  );
}
