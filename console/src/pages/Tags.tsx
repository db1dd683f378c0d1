/** The tag catalog: name, kind, coverage and last run, with run buttons; the ready pack when empty; the schedule. */
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api, useAction, useApi } from '../api.ts';
import { useT } from '../i18n.ts';
import { useSession } from '../session.tsx';
import type { TagListItem } from '../../../src/contract/tags.ts';
import { Field } from '../components/Form.tsx';
import { Badge, Card, PageHeader } from '../components/Page.tsx';
import { Table } from '../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { ScheduleCard } from './tags/ScheduleCard.tsx';

export function Tags() {
  const i18n = useT();
  const { t } = i18n;
  const { can } = useSession();
  const tags = useApi<{ tags: TagListItem[] }>('/api/v1/tags');
  const [filter, setFilter] = useState('');
  const [kind, setKind] = useState('');
  const [running, setRunning] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const run = useAction(async (keys: string[] | undefined) => {
    setRunning(keys ? keys[0] : '*');
    setNotice(null);
    try {
      const { runs } = await api<{ runs: Array<{ key: string; status: string; people: number; error?: string }> }>('/api/v1/tags/run', { json: keys ? { keys } : {} });
      const failed = runs.filter((r) => r.status === 'failed');
      const kept = runs.filter((r) => r.status === 'kept').length;
      setNotice(
        t('tags.runDone', { n: runs.length, kept, failed: failed.length }) +
          (failed.length ? ` ${t('tags.runFailed', { keys: failed.map((r) => `${r.key}: ${r.error ?? r.status}`).join('; ') })}` : ''),
      );
      tags.reload();
    } finally {
      setRunning(null);
    }
  });
  const install = useAction(async () => {
    await api('/api/v1/tags/packs/retail', { json: {} });
    tags.reload();
  });

  const kinds = useMemo(() => [...new Set((tags.data?.tags ?? []).map((tag) => tag.kind))].sort(), [tags.data]);
  const rows = (tags.data?.tags ?? []).filter(
    (tag) => (!kind || tag.kind === kind) && (!filter || `${tag.key} ${tag.name.zh} ${tag.name.en}`.toLowerCase().includes(filter.toLowerCase())),
  );
  const writer = can('build');
  const hasTags = (tags.data?.tags.length ?? 0) > 0;

  return (
    <>
      <PageHeader
        title={t('nav.tags')}
        subtitle={t('tags.subtitle')}
        actions={
          writer && (
            <>
              <button type="button" className="btn" disabled={running !== null || !tags.data?.tags.length} onClick={() => void run.run(undefined)}>
                {running === '*' ? t('tags.running') : t('tags.runAll')}
              </button>
              <Link className="btn btn-primary" to="/tags/new">
                {t('tags.new')}
              </Link>
            </>
          )
        }
      />
      {notice && (
        <div className="notice" role="status">
          {notice}
        </div>
      )}
      <ErrorBox error={run.error ?? install.error} />
      {/* The schedule above a catalog with tags; below the first steps of an empty one. */}
      {hasTags && <ScheduleCard canEdit={writer} />}
      <Card>
        {tags.error ? (
          <ErrorBox error={tags.error} onRetry={tags.reload} />
        ) : !tags.data ? (
          <Loading />
        ) : tags.data.tags.length === 0 ? (
          <Empty
            title={t('tags.empty')}
            hint={writer ? t('tags.emptyHint') : t('tags.emptyReadOnly')}
            action={
              writer && (
                <>
                  <button type="button" className="btn btn-primary" disabled={install.busy} onClick={() => void install.run()}>
                    {install.busy ? t('common.working') : t('tags.installPack')}
                  </button>
                  <Link className="btn" to="/tags/new">
                    {t('tags.new')}
                  </Link>
                </>
              )
            }
          />
        ) : (
          <>
            <div className="toolbar">
              <Field label={t('tags.filter')} className="field-inline">
                <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder={t('tags.filterPlaceholder')} />
              </Field>
              <Field label={t('tags.kind')} className="field-inline">
                <select value={kind} onChange={(e) => setKind(e.target.value)}>
                  <option value="">{t('common.all')}</option>
                  {kinds.map((k) => (
                    <option key={k} value={k}>
                      {i18n.tx(`tagKind.${k}`, k)}
                    </option>
                  ))}
                </select>
              </Field>
              <span className="muted">{t('tags.count', { n: rows.length })}</span>
            </div>
            <Table
              rows={rows}
              rowKey={(tag) => tag.key}
              empty={<Empty title={t('tags.noMatch')} hint={t('tags.noMatchHint')} />}
              columns={[
                { key: 'name', header: t('tags.name'), render: (tag) => <Link to={`/tags/${tag.key}`}>{i18n.named(tag.name)}</Link> },
                { key: 'key', header: t('tags.key'), render: (tag) => <code>{tag.key}</code> },
                { key: 'kind', header: t('tags.kind'), render: (tag) => i18n.tx(`tagKind.${tag.kind}`, tag.kind) },
                { key: 'type', header: t('tags.valueType'), render: (tag) => tag.valueType },
                { key: 'coverage', header: t('tags.coverage'), align: 'right', render: (tag) => (tag.lastRun ? i18n.num(tag.lastRun.people) : '—') },
                {
                  key: 'run',
                  header: t('tags.lastRun'),
                  render: (tag) =>
                    tag.lastRun ? (
                      <span title={tag.lastRun.error ?? undefined}>
                        <Badge>{tag.lastRun.status}</Badge> {tag.lastRun.baseDate}
                      </span>
                    ) : (
                      <span className="muted">{t('tags.neverRun')}</span>
                    ),
                },
                {
                  key: 'actions',
                  header: '',
                  align: 'right',
                  render: (tag) =>
                    writer && (
                      <button type="button" className="btn btn-small" disabled={running !== null} onClick={() => void run.run([tag.key])}>
                        {running === tag.key ? t('tags.running') : t('tags.run')}
                      </button>
                    ),
                },
              ]}
            />
          </>
        )}
      </Card>
      {tags.data && !hasTags && <ScheduleCard canEdit={writer} />}
    </>
  );
}
