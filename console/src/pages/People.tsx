/** Find a person by any identifier, name or person id (GET /api/v1/people?q=). */
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { query, useApi } from '../api.ts';
import { useT } from '../i18n.ts';
import type { PersonHit } from '../../../src/contract/people.ts';
import { Field } from '../components/Form.tsx';
import { Card, Chips, PageHeader } from '../components/Page.tsx';
import { Table } from '../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { useSession } from '../session.tsx';

export function People() {
  const { t } = useT();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const reason = params.get('reason') ?? '';
  const [text, setText] = useState(q);
  const [why, setWhy] = useState(reason);
  // A role that sees phones masked looks up a full phone or email only with a reason (recorded, limited per hour).
  const { me } = useSession();
  const masked = me?.permissions?.personalData === false;
  const results = useApi<{ people: PersonHit[] }>(q ? `/api/v1/people${query({ q, limit: 20, ...(reason ? { reason } : {}) })}` : null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const value = text.trim();
    const given = why.trim();
    setParams(value ? { q: value, ...(masked && given ? { reason: given } : {}) } : {});
  };
  return (
    <>
      <PageHeader title={t('nav.people')} subtitle={t('people.subtitle')} />
      <Card>
        <form className="search-form" role="search" onSubmit={submit}>
          <Field label={t('people.search')} hint={t('people.searchHint')}>
            <input type="search" value={text} autoFocus placeholder={t('people.placeholder')} onChange={(e) => setText(e.target.value)} />
          </Field>
          {masked && (
            <Field label={t('people.reason')} hint={t('people.reasonHint')}>
              <input type="text" value={why} maxLength={500} placeholder={t('people.reasonPlaceholder')} onChange={(e) => setWhy(e.target.value)} />
            </Field>
          )}
          <button type="submit" className="btn btn-primary">
            {t('people.searchButton')}
          </button>
        </form>
      </Card>
      <Card title={q ? t('people.results', { q }) : undefined}>
        {!q ? (
          <Empty title={t('people.start')} hint={t('people.startHint')} />
        ) : results.error ? (
          <ErrorBox error={results.error} onRetry={results.reload} />
        ) : !results.data || results.loading ? (
          <Loading />
        ) : (
          <Table
            rows={results.data.people}
            rowKey={(p) => p.personId}
            empty={<Empty title={t('people.none')} hint={t('people.noneHint')} />}
            columns={[
              { key: 'id', header: t('people.id'), render: (p) => <Link to={`/people/${p.personId}`}>#{p.personId}</Link> },
              {
                key: 'name',
                header: t('people.name'),
                render: (p) => (
                  <button type="button" className="link-button" onClick={() => navigate(`/people/${p.personId}`)}>
                    {p.name || t('people.noName')}
                  </button>
                ),
              },
              { key: 'ids', header: t('people.identifiers'), render: (p) => <Chips items={p.identifiers.map((i) => `${i.type}: ${i.value}`)} /> },
              { key: 'sources', header: t('people.sources'), render: (p) => <Chips items={p.sources} /> },
            ]}
          />
        )}
      </Card>
    </>
  );
}
