/**
 * A tag: its coverage and runs, and its definition — a form for the common kinds (manual, rule,
 * tier, statistic) or JSON for any kind the API accepts. Validation errors come back by path.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, useAction, useApi } from '../api.ts';
import { useT } from '../i18n.ts';
import { useSession } from '../session.tsx';
import type { TagDefinition, TagDetail, TagListItem } from '../../../src/contract/tags.ts';
import { SubmitButton } from '../components/Form.tsx';
import { Badge, Card, PageHeader, Tabs } from '../components/Page.tsx';
import { Table } from '../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { JsonEditor, parseJson } from '../components/JsonEditor.tsx';
import { Chart, type ChartOption } from '../components/Chart.tsx';
import { TagForm, formSupports, FORM_KINDS } from './tags/TagForm.tsx';

const NEW_TAG: TagDefinition = { key: '', name: { zh: '', en: '' }, kind: 'manual', valueType: 'string' };

export function TagEdit() {
  const { key } = useParams();
  const i18n = useT();
  const { t } = i18n;
  const { can } = useSession();
  const detail = useApi<TagDetail>(key ? `/api/v1/tags/${encodeURIComponent(key)}` : null);
  const catalog = useApi<{ tags: TagListItem[] }>('/api/v1/tags');

  if (key && detail.error) {
    return (
      <>
        <PageHeader title={key} actions={<Link to="/tags">{t('tags.back')}</Link>} />
        <ErrorBox error={detail.error} onRetry={detail.reload} />
      </>
    );
  }
  if (key && !detail.data) return <Loading />;
  const tag = detail.data?.tag;
  return (
    <>
      <PageHeader
        title={tag ? i18n.named(tag.name) : t('tags.new')}
        subtitle={tag ? `${tag.key} · ${i18n.tx(`tagKind.${tag.kind}`, tag.kind)} · ${tag.valueType}` : t('tags.newSubtitle')}
        actions={
          <Link className="btn" to="/tags">
            {t('tags.back')}
          </Link>
        }
      />
      {detail.data && <TagStatus detail={detail.data} onRan={detail.reload} canRun={can('build')} />}
      {can('build') ? (
        <TagEditor key={tag?.key ?? 'new'} initial={tag ?? NEW_TAG} isNew={!tag} tags={catalog.data?.tags ?? []} onSaved={detail.reload} />
      ) : (
        tag && (
          <Card title={t('tags.definition')}>
            <pre className="code-block">{JSON.stringify(stripComputed(tag), null, 2)}</pre>
          </Card>
        )
      )}
    </>
  );
}

function stripComputed(tag: TagDefinition & { valueType?: string }): TagDefinition {
  // valueType is computed for most kinds; only some kinds take it as input.
  const { valueType, ...rest } = tag;
  return ['manual', 'rule', 'sql', 'imported'].includes(tag.kind) ? { ...rest, valueType } : rest;
}

function TagStatus({ detail, onRan, canRun }: { detail: TagDetail; onRan: () => void; canRun: boolean }) {
  const i18n = useT();
  const { t } = i18n;
  const run = useAction(async () => {
    await api('/api/v1/tags/run', { json: { keys: [detail.tag.key] } });
    onRan();
  });
  const type = detail.tag.valueType;
  const chart = useMemo<ChartOption>(() => {
    // Booleans are stored as 1 and 0.
    const label = (v: string) => (type === 'boolean' ? (v === '1' || v === 'true' ? t('common.yes') : t('common.no')) : v);
    const values = [...detail.coverage.values].reverse();
    return {
      tooltip: { trigger: 'axis' },
      grid: { left: 120, right: 24, top: 8, bottom: 24 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: values.map((v) => label(v.value)), axisLabel: { width: 110, overflow: 'truncate' } },
      series: [{ type: 'bar', data: values.map((v) => v.people), barMaxWidth: 18 }],
    };
  }, [detail.coverage.values, type, t]);
  return (
    <div className="grid-2">
      <Card
        title={t('tags.coverageTitle', { n: i18n.num(detail.coverage.people) })}
        actions={
          canRun && (
            <button type="button" className="btn btn-small" disabled={run.busy} onClick={() => void run.run()}>
              {run.busy ? t('tags.running') : t('tags.run')}
            </button>
          )
        }
      >
        <ErrorBox error={run.error} />
        {detail.coverage.values.length === 0 ? (
          <Empty title={t('tags.noValues')} hint={canRun ? t('tags.noValuesHint') : undefined} />
        ) : type === 'number' ? (
          <>
            <p className="muted small">{t('tags.baseDate', { date: detail.coverage.baseDate ?? '—' })}</p>
            <p className="muted">{t('tags.numberCoverage')}</p>
          </>
        ) : (
          <>
            <p className="muted small">{t('tags.baseDate', { date: detail.coverage.baseDate ?? '—' })}</p>
            <Chart option={chart} height={Math.max(160, detail.coverage.values.length * 26)} label={t('tags.coverage')} />
          </>
        )}
      </Card>
      <Card title={t('tags.runs')}>
        <Table
          rows={detail.runs}
          rowKey={(r) => r.id}
          empty={<Empty title={t('tags.neverRun')} />}
          columns={[
            { key: 'base', header: t('tags.baseDateShort'), render: (r) => r.baseDate },
            {
              key: 'status',
              header: t('common.status'),
              render: (r) => (
                <span title={r.error ?? undefined}>
                  <Badge>{r.status}</Badge>
                </span>
              ),
            },
            { key: 'people', header: t('tags.coverage'), align: 'right', render: (r) => i18n.num(r.people) },
            { key: 'trigger', header: t('tags.trigger'), render: (r) => <Badge tone="grey">{r.trigger}</Badge> },
            { key: 'seconds', header: t('tags.seconds'), align: 'right', render: (r) => (r.seconds === null ? '—' : i18n.num(r.seconds, 2)) },
          ]}
        />
      </Card>
    </div>
  );
}

type Mode = 'form' | 'json';

function TagEditor({ initial, isNew, tags, onSaved }: { initial: TagDefinition; isNew: boolean; tags: TagListItem[]; onSaved: () => void }) {
  const { t } = useT();
  const navigate = useNavigate();
  const start = stripComputed(initial);
  const [def, setDef] = useState<TagDefinition>(start);
  const [mode, setMode] = useState<Mode>(formSupports(start) ? 'form' : 'json');
  const [json, setJson] = useState(() => JSON.stringify(start, null, 2));
  const [saved, setSaved] = useState(false);
  useEffect(() => setSaved(false), [def, json]);

  const switchTo = (next: Mode) => {
    if (next === mode) return;
    if (next === 'json') setJson(JSON.stringify(def, null, 2));
    else {
      const parsed = parseJson(json);
      if (parsed.error || !formSupports(parsed.value as TagDefinition)) return;
      setDef(parsed.value as TagDefinition);
    }
    setMode(next);
  };
  const parsedJson = mode === 'json' ? parseJson(json) : undefined;
  const formAvailable = mode === 'form' || (parsedJson?.value !== undefined && formSupports(parsedJson.value as TagDefinition));

  const save = useAction(async () => {
    const body = mode === 'json' ? (parseJson(json).value as TagDefinition) : def;
    if (isNew) {
      const { tag } = await api<{ tag: TagDefinition }>('/api/v1/tags', { json: body });
      navigate(`/tags/${tag.key}`);
    } else {
      await api(`/api/v1/tags/${encodeURIComponent(initial.key)}`, { method: 'PUT', json: body });
      setSaved(true);
      onSaved();
    }
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };

  return (
    <Card
      title={t('tags.definition')}
      actions={
        <Tabs
          label={t('tags.definition')}
          active={mode}
          onChange={switchTo}
          tabs={[
            { key: 'form', label: formAvailable ? t('tags.formMode') : t('tags.formModeUnavailable') },
            { key: 'json', label: 'JSON' },
          ]}
        />
      }
    >
      <form onSubmit={submit}>
        {mode === 'form' ? (
          <TagForm def={def} onChange={setDef} tags={tags} isNew={isNew} />
        ) : (
          <>
            <p className="muted small">{t('tags.jsonHint', { kinds: FORM_KINDS.join(', ') })}</p>
            <JsonEditor label={t('tags.json')} value={json} onChange={setJson} rows={18} />
          </>
        )}
        <ErrorBox error={save.error} title={t('tags.saveFailed')} />
        {saved && (
          <div className="notice success" role="status">
            {t('tags.saved')}
          </div>
        )}
        <div className="form-actions">
          <SubmitButton busy={save.busy} disabled={mode === 'json' && parsedJson?.error !== undefined}>
            {isNew ? t('tags.create') : t('common.save')}
          </SubmitButton>
        </div>
      </form>
    </Card>
  );
}
