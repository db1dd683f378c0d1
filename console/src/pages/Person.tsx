/**
 * A person's 360° view (GET /api/v1/people/:id): identities and where each came from, profile, tags
 * (model tags explained, manual tags set by hand with who and when), notes, orders with lines and
 * shipments, events, plans received, tasks, consents, and why OneID joined their records. Values are
 * shown as the API returns them (masked per role). Operators and admins correct OneID here: unbind
 * an identifier, undo the latest merge.
 */
import { useCallback, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, ApiError, useAction, useApi } from '../api.ts';
import { useT, type I18n } from '../i18n.ts';
import type { Explanation, ResolveSummary } from '../../../src/contract/identity.ts';
import type { Person as PersonData } from '../../../src/contract/people.ts';
import type { TagListItem } from '../../../src/contract/tags.ts';
import { Badge, Card, Chips, PageHeader } from '../components/Page.tsx';
import { Pairs, Table } from '../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { useSession } from '../session.tsx';
import { TaskTable } from './Tasks.tsx';
import { NotesCard } from './person/Notes.tsx';
import { RightsCard } from './person/Rights.tsx';
import { ManualTagForm } from './person/ManualTags.tsx';

/** A tag's value as a person reads it: numbers rounded, yes/no, lists joined. */
function valueText(value: unknown, { num, t }: I18n): string {
  if (typeof value === 'number') return num(value, 2);
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  return show(value);
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function Person() {
  const { id = '' } = useParams();
  // Another person is another page: the explanation closed, no notices from the last one.
  return <PersonView key={id} id={id} />;
}

function PersonView({ id }: { id: string }) {
  const i18n = useT();
  const { t } = i18n;
  const { can } = useSession();
  const person = useApi<PersonData>(`/api/v1/people/${encodeURIComponent(id)}`);
  const catalog = useApi<{ tags: TagListItem[] }>('/api/v1/tags');
  const [explain, setExplain] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [tagNotice, setTagNotice] = useState<string | null>(null);
  const canFix = can('identity.fix');
  const canAnnotate = can('people.annotate');

  const unbind = useAction(async (identity: { type: string; value: string }) => {
    if (!window.confirm(t('person.unbindConfirm', identity))) return;
    setNotice(null);
    const { summary } = await api<{ summary: ResolveSummary }>(`/api/v1/people/${encodeURIComponent(id)}/unbind`, { json: { type: identity.type, value: identity.value } });
    setNotice(t('person.unbound', { ...identity, records: summary.records, newPeople: summary.newPeople }));
    person.reload();
  });
  const afterUnmerge = useCallback(
    (message: string) => {
      setNotice(message);
      person.reload();
    },
    [person.reload],
  );

  const fixNotice = notice && (
    <div className="notice success" role="status">
      {notice}
    </div>
  );
  if (person.error) {
    const missing = person.error instanceof ApiError && (person.error.status === 404 || person.error.status === 400);
    return (
      <>
        <PageHeader title={t('person.title', { id })} actions={<Link to="/people">{t('person.back')}</Link>} />
        {fixNotice}
        {missing ? (
          <Empty
            title={t('person.notFound')}
            hint={t('person.notFoundHint')}
            action={
              <Link className="btn" to="/people">
                {t('person.searchAgain')}
              </Link>
            }
          />
        ) : (
          <ErrorBox error={person.error} onRetry={person.reload} />
        )}
      </>
    );
  }
  if (!person.data) return <Loading />;
  const p = person.data;
  const catalogTags = catalog.data?.tags ?? [];
  const kinds = new Map(catalogTags.map((tag) => [tag.key, tag.kind]));
  const manualTags = catalogTags.filter((tag) => tag.kind === 'manual');
  const current = new Map(p.tags.filter((tag) => kinds.get(tag.key) === 'manual').map((tag) => [tag.key, tag.value]));

  return (
    <>
      <PageHeader
        title={p.name || t('person.title', { id: p.personId })}
        subtitle={t('person.subtitle', { id: p.personId, ids: p.identities.length, records: p.records.length })}
        actions={
          <>
            <Link className="btn" to="/people">
              {t('person.back')}
            </Link>
            <button type="button" className="btn" aria-expanded={explain} onClick={() => setExplain((v) => !v)}>
              {explain ? t('person.hideExplain') : t('person.explain')}
            </button>
          </>
        }
      />
      {fixNotice}
      <ErrorBox error={unbind.error} title={t('person.fixFailed')} />
      {explain && <MergeExplanation personId={p.personId} canFix={canFix} onUnmerged={afterUnmerge} />}
      <div className="grid-2">
        <Card title={t('person.identities')}>
          <Table
            rows={p.identities}
            rowKey={(r) => `${r.type}:${r.value}`}
            empty={<Empty title={t('person.noIdentities')} />}
            columns={[
              { key: 'type', header: t('person.type'), render: (r) => <code>{r.type}</code> },
              { key: 'value', header: t('person.value'), render: (r) => r.value },
              { key: 'sources', header: t('person.from'), render: (r) => <Chips items={r.sources} /> },
              ...(canFix
                ? [
                    {
                      key: 'actions',
                      header: <span className="sr-only">{t('person.actions')}</span>,
                      align: 'right' as const,
                      render: (r: { type: string; value: string }) => (
                        // Named "解绑" within its row (type, value); the title spells out which value.
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          title={t('person.unbindOf', { type: r.type, value: r.value })}
                          disabled={unbind.busy}
                          onClick={() => void unbind.run({ type: r.type, value: r.value })}
                        >
                          {t('person.unbind')}
                        </button>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        </Card>
        <Card title={t('person.profile')}>
          {Object.keys(p.profile).length === 0 ? (
            <Empty title={t('person.noProfile')} hint={t('person.noProfileHint')} />
          ) : (
            <Pairs items={Object.entries(p.profile).map(([k, v]) => [i18n.tx(`profile.${k}`, k), v])} />
          )}
        </Card>
      </div>
      <Card title={t('person.tags')} actions={p.tags[0] && <span className="muted small">{t('tags.baseDate', { date: i18n.date(p.tags[0].computedAt) })}</span>}>
        {p.tags.length === 0 ? (
          <Empty title={t('person.noTags')} hint={t('person.noTagsHint')} />
        ) : (
          <dl className="tag-grid">
            {p.tags.map((tag) => (
              <div key={tag.key} className={tag.setBy ? 'tag-item tag-item-manual' : 'tag-item'} title={`${tag.key} · ${i18n.date(tag.computedAt)}`} data-tag={tag.key}>
                <dt>{i18n.named(tag.name) || tag.key}</dt>
                <dd className="tag-value">
                  {valueText(tag.value, i18n)}
                  {kinds.get(tag.key) === 'model' && <TagExplain tag={tag.key} personId={p.personId} />}
                </dd>
                {tag.setBy && <dd className="tag-meta">{t('person.setBy', { who: tag.setByName ?? tag.setBy, at: i18n.dateTime(tag.setAt) })}</dd>}
              </div>
            ))}
          </dl>
        )}
        {tagNotice && (
          <div className="notice success" role="status">
            {tagNotice}
          </div>
        )}
        {canAnnotate &&
          catalog.data &&
          (manualTags.length > 0 ? (
            <ManualTagForm
              personId={p.personId}
              tags={manualTags}
              current={current}
              onChanged={(message) => {
                setTagNotice(message);
                person.reload();
              }}
            />
          ) : (
            <p className="muted small">
              {t('person.manualNone')} {t('person.manualNoneHint')}
            </p>
          ))}
      </Card>
      <NotesCard personId={p.personId} notes={p.notes} canWrite={canAnnotate} onAdded={person.reload} />
      {can('admin') && <RightsCard personId={p.personId} />}
      <Card title={t('person.orders', { n: p.orders.length })}>
        {p.orders.length === 0 ? (
          <Empty title={t('person.noOrders')} />
        ) : (
          <div className="orders">
            {p.orders.map((o) => (
              <details key={`${o.source}:${o.orderId}`} className="order">
                <summary>
                  <span className="order-id">{o.orderId}</span>
                  <span>{i18n.dateTime(o.orderedAt)}</span>
                  <Chips items={[o.source]} />
                  <Badge>{o.status}</Badge>
                  {o.isPackage && <Badge tone="blue">{t('person.package')}</Badge>}
                  <span className="order-amount">{i18n.money(o.amount)}</span>
                </summary>
                <Table
                  rows={o.lines}
                  rowKey={(_, i) => i}
                  empty={<p className="muted">{t('person.noLines')}</p>}
                  columns={[
                    { key: 'sku', header: 'SKU', render: (l) => <code>{l.sku}</code> },
                    { key: 'name', header: t('person.product'), render: (l) => l.productName },
                    { key: 'category', header: t('person.category'), render: (l) => l.category },
                    { key: 'qty', header: t('person.quantity'), align: 'right', render: (l) => l.quantity },
                    { key: 'amount', header: t('person.amount'), align: 'right', render: (l) => i18n.money(l.amount) },
                  ]}
                />
                {o.shipments.length > 0 && (
                  <Table
                    rows={o.shipments}
                    rowKey={(s) => s.period}
                    columns={[
                      { key: 'period', header: t('person.period'), align: 'right', render: (s) => s.period },
                      { key: 'planned', header: t('person.planned'), render: (s) => i18n.date(s.plannedAt) },
                      { key: 'shipped', header: t('person.shipped'), render: (s) => i18n.dateTime(s.shippedAt) },
                      { key: 'status', header: t('person.status'), render: (s) => <Badge>{s.status}</Badge> },
                    ]}
                  />
                )}
              </details>
            ))}
          </div>
        )}
      </Card>
      <div className="grid-2">
        <Card title={t('person.events')}>
          {p.events.length === 0 ? (
            <Empty title={t('person.noEvents')} hint={t('person.noEventsHint')} />
          ) : (
            <ol className="timeline">
              {p.events.map((e, i) => (
                <li key={i}>
                  <time>{i18n.dateTime(e.timestamp)}</time>
                  <strong>{e.event}</strong>
                  {e.properties !== null && e.properties !== undefined && show(e.properties) !== '{}' && <code className="props">{show(e.properties)}</code>}
                </li>
              ))}
            </ol>
          )}
        </Card>
        <Card title={t('person.messages')}>
          <Table
            rows={p.messages}
            rowKey={(_, i) => i}
            empty={<Empty title={t('person.noMessages')} />}
            columns={[
              { key: 'plan', header: t('person.plan'), render: (m) => <code>{m.planKey}</code> },
              { key: 'channel', header: t('person.channel'), render: (m) => m.channel },
              { key: 'status', header: t('person.status'), render: (m) => <Badge>{m.status}</Badge> },
              { key: 'at', header: t('person.at'), render: (m) => i18n.dateTime(m.at) },
              { key: 'detail', header: t('person.detail'), render: (m) => m.detail ?? '' },
            ]}
          />
        </Card>
      </div>
      <div className="grid-2">
        <Card title={t('person.tasks')}>
          <TaskTable tasks={p.tasks} canClose={can('tasks.close')} onChanged={person.reload} empty={<Empty title={t('person.noTasks')} />} />
        </Card>
        <Card title={t('person.consents')}>
          <Table
            rows={p.consents}
            rowKey={(c) => c.channel}
            empty={<Empty title={t('person.noConsents')} hint={t('person.noConsentsHint')} />}
            columns={[
              { key: 'channel', header: t('person.channel'), render: (c) => c.channel },
              { key: 'status', header: t('person.status'), render: (c) => <Badge>{c.status}</Badge> },
              { key: 'source', header: t('person.source'), render: (c) => c.source ?? '' },
              { key: 'at', header: t('person.at'), render: (c) => i18n.dateTime(c.at) },
            ]}
          />
        </Card>
      </div>
      <Card title={t('person.records')}>
        <Table
          rows={p.records}
          rowKey={(r) => `${r.source}:${r.kind}:${r.recordId}`}
          empty={<Empty title={t('person.noRecords')} />}
          columns={[
            { key: 'source', header: t('person.source'), render: (r) => r.source },
            { key: 'kind', header: t('person.kind'), render: (r) => r.kind },
            { key: 'id', header: t('person.recordId'), render: (r) => <code>{r.recordId}</code> },
            { key: 'seen', header: t('person.seenAt'), render: (r) => i18n.dateTime(r.seenAt) },
          ]}
        />
      </Card>
    </>
  );
}

/** Why this person's records are one person: the shared identifiers, and the merge history (its latest merge undone here). */
function MergeExplanation({ personId, canFix, onUnmerged }: { personId: number; canFix: boolean; onUnmerged: (message: string) => void }) {
  const i18n = useT();
  const { t } = i18n;
  const explanation = useApi<Explanation>(`/api/v1/people/${personId}/explain`);
  const unmerge = useAction(async () => {
    if (!window.confirm(t('explain.unmergeConfirm'))) return;
    const { groups, summary } = await api<{ groups: number; summary: ResolveSummary }>(`/api/v1/people/${personId}/unmerge`, { method: 'POST' });
    explanation.reload();
    onUnmerged(t('explain.unmerged', { groups, newPeople: summary.newPeople }));
  });
  // A merge to undo: the latest merge, unless an unmerge came after it (the server would find the same one).
  const kinds = explanation.data?.history.map((h) => h.kind) ?? [];
  const merged = kinds.lastIndexOf('merge') > kinds.lastIndexOf('unmerge');
  return (
    <Card
      title={t('explain.title')}
      id="merge-explanation"
      actions={
        canFix &&
        merged && (
          <button type="button" className="btn btn-small btn-danger" disabled={unmerge.busy} onClick={() => void unmerge.run()}>
            {unmerge.busy ? t('common.working') : t('explain.unmerge')}
          </button>
        )
      }
    >
      <ErrorBox error={unmerge.error} title={t('person.fixFailed')} />
      {explanation.error ? (
        <ErrorBox error={explanation.error} onRetry={explanation.reload} />
      ) : !explanation.data ? (
        <Loading />
      ) : (
        <>
          <p className="muted">{explanation.data.masked ? t('explain.masked') : t('explain.intro', { n: explanation.data.records.length })}</p>
          <h3>{t('explain.links')}</h3>
          <Table
            rows={explanation.data.links}
            rowKey={(l) => `${l.type}:${l.value}`}
            empty={<p className="muted">{t('explain.noLinks')}</p>}
            columns={[
              { key: 'type', header: t('person.type'), render: (l) => <code>{l.type}</code> },
              { key: 'value', header: t('person.value'), render: (l) => l.value },
              { key: 'records', header: t('explain.joins'), render: (l) => <Chips items={l.records} /> },
            ]}
          />
          <h3>{t('explain.records')}</h3>
          <Table
            rows={explanation.data.records}
            rowKey={(r) => `${r.source}:${r.record_id}`}
            columns={[
              { key: 'record', header: t('person.recordId'), render: (r) => <code>{`${r.source}:${r.record_id}`}</code> },
              { key: 'kind', header: t('person.kind'), render: (r) => r.kind },
              { key: 'name', header: t('people.name'), render: (r) => r.name || '—' },
              { key: 'ids', header: t('people.identifiers'), render: (r) => <Chips items={r.identifiers.map((i) => `${i.type}: ${i.value}`)} /> },
            ]}
          />
          <h3>{t('explain.history')}</h3>
          <Table
            rows={explanation.data.history}
            rowKey={(_, i) => i}
            empty={<p className="muted">{t('explain.noHistory')}</p>}
            columns={[
              { key: 'kind', header: t('person.kind'), render: (h) => <Badge>{h.kind}</Badge> },
              { key: 'at', header: t('person.at'), render: (h) => i18n.dateTime(h.at) },
              { key: 'details', header: t('person.detail'), render: (h) => (h.details ? <code className="props">{JSON.stringify(h.details)}</code> : '—') },
            ]}
          />
        </>
      )}
    </Card>
  );
}

/** A model tag's inputs for one person (x, t_x, T, m) and the fitted parameters. */
function TagExplain({ tag, personId }: { tag: string; personId: number }) {
  const i18n = useT();
  const [open, setOpen] = useState(false);
  const explanation = useApi<Record<string, unknown>>(open ? `/api/v1/tags/${encodeURIComponent(tag)}/people/${personId}/explain` : null);
  return (
    <span className="tag-explain">
      <button type="button" className="btn btn-small" aria-expanded={open} onClick={() => setOpen((v) => !v)}>
        {i18n.t('person.explainTag')}
      </button>
      {open && (
        <div className="popover" role="dialog" aria-label={i18n.t('person.explainTag')}>
          {explanation.error ? (
            <ErrorBox error={explanation.error} />
          ) : !explanation.data ? (
            <Loading />
          ) : explanation.data.bought === false ? (
            <p>{i18n.t('person.neverBought')}</p>
          ) : (
            <Pairs
              items={(['x', 't_x', 'T', 'm', 'value', 'unit', 'baseDate'] as const)
                .filter((k) => k in explanation.data!)
                .map((k) => [k, typeof explanation.data![k] === 'number' ? i18n.num(explanation.data![k] as number, 4) : show(explanation.data![k])] as [string, string])
                .concat([[i18n.t('person.fit'), show((explanation.data.fit as { bgnbd?: unknown } | undefined)?.bgnbd ?? explanation.data.fit)]])}
            />
          )}
        </div>
      )}
    </span>
  );
}
