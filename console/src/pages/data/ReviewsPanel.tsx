/** Probable matches waiting for a person's decision: accept links the two records, reject keeps them apart. */
import { useState } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import type { Review } from '../../../../src/contract/identity.ts';
import { Field } from '../../components/Form.tsx';
import { Badge, Card, Chips } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const STATUSES = ['pending', 'accepted', 'rejected'] as const;

function patternItems(pattern: unknown): string[] {
  if (!pattern || typeof pattern !== 'object') return pattern === undefined || pattern === null ? [] : [String(pattern)];
  return Object.entries(pattern as Record<string, unknown>).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
}

export function ReviewsPanel({ canDecide }: { canDecide: boolean }) {
  const { t, pct, dateTime } = useT();
  const [status, setStatus] = useState<(typeof STATUSES)[number]>('pending');
  const reviews = useApi<{ reviews: Review[] }>(`/api/v1/identities/reviews?status=${status}&limit=200`);
  const [deciding, setDeciding] = useState<number | null>(null);
  const decide = useAction(async (id: number, decision: 'accept' | 'reject') => {
    setDeciding(id);
    try {
      await api(`/api/v1/identities/reviews/${id}`, { json: { decision } });
      reviews.reload();
    } finally {
      setDeciding(null);
    }
  });
  return (
    <Card
      title={t('reviews.title')}
      actions={
        <Field label={t('reviews.status')} className="field-inline">
          <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`reviews.${s}`)}
              </option>
            ))}
          </select>
        </Field>
      }
    >
      <p className="muted">{t('reviews.explain')}</p>
      <ErrorBox error={decide.error} />
      {reviews.error ? (
        <ErrorBox error={reviews.error} onRetry={reviews.reload} />
      ) : !reviews.data ? (
        <Loading />
      ) : (
        <Table
          rows={reviews.data.reviews}
          rowKey={(r) => r.id}
          empty={<Empty title={status === 'pending' ? t('reviews.none') : t('reviews.noneDecided')} hint={status === 'pending' ? t('reviews.noneHint') : undefined} />}
          columns={[
            { key: 'a', header: t('reviews.recordA'), render: (r) => <code>{r.recordA}</code> },
            { key: 'b', header: t('reviews.recordB'), render: (r) => <code>{r.recordB}</code> },
            { key: 'p', header: t('reviews.probability'), align: 'right', render: (r) => pct(r.probability) },
            { key: 'pattern', header: t('reviews.pattern'), render: (r) => <Chips items={patternItems(r.pattern)} /> },
            {
              key: 'decision',
              header: status === 'pending' ? '' : t('reviews.decided'),
              align: 'right',
              render: (r) =>
                r.status === 'pending' ? (
                  canDecide ? (
                    <span className="row-actions">
                      <button type="button" className="btn btn-small btn-primary" disabled={deciding !== null} onClick={() => void decide.run(r.id, 'accept')}>
                        {t('reviews.accept')}
                      </button>
                      <button type="button" className="btn btn-small" disabled={deciding !== null} onClick={() => void decide.run(r.id, 'reject')}>
                        {t('reviews.reject')}
                      </button>
                    </span>
                  ) : (
                    <Badge>pending</Badge>
                  )
                ) : (
                  <span>
                    <Badge>{r.status}</Badge> {r.decidedBy ?? ''} {dateTime(r.decidedAt)}
                  </span>
                ),
            },
          ]}
        />
      )}
    </Card>
  );
}
