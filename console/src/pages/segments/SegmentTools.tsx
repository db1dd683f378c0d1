/** A saved segment's members: a sample, tag insights against the base, snapshots and their diff, export. */
import { useContext, useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, query, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import { useSession } from '../../session.tsx';
import type { Insights, Snapshot } from '../../../../src/contract/segments.ts';
import { CheckList, Field } from '../../components/Form.tsx';
import { Badge, Card, Chips, Tabs } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { Chart, type ChartOption } from '../../components/Chart.tsx';
import { BuilderContext } from './ConditionEditor.tsx';

type Tool = 'sample' | 'insights' | 'snapshots' | 'export';

export function SegmentTools({ segmentKey, initialSnapshots }: { segmentKey: string; initialSnapshots: Snapshot[] }) {
  const { t } = useT();
  const { can } = useSession();
  const [tool, setTool] = useState<Tool>('sample');
  const tools: Array<{ key: Tool; label: string }> = [
    { key: 'sample', label: t('tools.sample') },
    { key: 'insights', label: t('tools.insights') },
    { key: 'snapshots', label: t('tools.snapshots') },
    ...(can('export') ? [{ key: 'export' as const, label: t('tools.export') }] : []),
  ];
  return (
    <Card title={t('tools.title')} actions={<Tabs label={t('tools.title')} active={tool} onChange={setTool} tabs={tools} />}>
      {tool === 'sample' && <Sample segmentKey={segmentKey} />}
      {tool === 'insights' && <InsightsTool segmentKey={segmentKey} />}
      {tool === 'snapshots' && <Snapshots segmentKey={segmentKey} initial={initialSnapshots} />}
      {tool === 'export' && <Export segmentKey={segmentKey} />}
    </Card>
  );
}

function Sample({ segmentKey }: { segmentKey: string }) {
  const { t } = useT();
  const sample = useApi<{ people: Array<{ personId: number; identifiers: Array<{ type: string; value: string }> }> }>(
    `/api/v1/segments/${encodeURIComponent(segmentKey)}/sample?limit=20`,
  );
  if (sample.error) return <ErrorBox error={sample.error} onRetry={sample.reload} />;
  if (!sample.data) return <Loading />;
  return (
    <>
      <p className="muted small">{t('tools.sampleHint')}</p>
      <Table
        rows={sample.data.people}
        rowKey={(p) => p.personId}
        empty={<Empty title={t('tools.sampleEmpty')} hint={t('tools.sampleEmptyHint')} />}
        columns={[
          { key: 'id', header: t('people.id'), render: (p) => <Link to={`/people/${p.personId}`}>#{p.personId}</Link> },
          { key: 'ids', header: t('people.identifiers'), render: (p) => <Chips items={p.identifiers.map((i) => `${i.type}: ${i.value}`)} /> },
        ]}
      />
    </>
  );
}

function InsightsTool({ segmentKey }: { segmentKey: string }) {
  const i18n = useT();
  const { t } = i18n;
  const { tags } = useContext(BuilderContext);
  const ready = tags.filter((tag) => tag.lastRun?.status === 'completed' && tag.valueType !== 'string_list');
  const [chosen, setChosen] = useState<string[]>([]);
  const [filter, setFilter] = useState('');
  const [asked, setAsked] = useState<string[]>([]);
  const insights = useApi<Insights>(asked.length ? `/api/v1/segments/${encodeURIComponent(segmentKey)}/insights${query({ tags: asked.join(','), top: 10 })}` : null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAsked(chosen);
  };
  if (ready.length === 0) return <Empty title={t('tools.noTagValues')} hint={<Link to="/tags">{t('tools.noTagValuesHint')}</Link>} />;
  return (
    <>
      <form className="stack" onSubmit={submit}>
        <Field label={t('tags.filter')} className="field-inline">
          <input type="search" value={filter} placeholder={t('tags.filterPlaceholder')} onChange={(e) => setFilter(e.target.value)} />
        </Field>
        <CheckList
          legend={t('tools.insightTags')}
          options={ready
            .filter((tag) => chosen.includes(tag.key) || !filter || `${tag.key} ${tag.name.zh} ${tag.name.en}`.toLowerCase().includes(filter.toLowerCase()))
            .map((tag) => ({ value: tag.key, label: i18n.named(tag.name) }))}
          value={chosen}
          onChange={setChosen}
          empty={t('tags.noMatch')}
        />
        <div>
          <button type="submit" className="btn btn-primary" disabled={chosen.length === 0}>
            {t('tools.compare')}
          </button>
        </div>
      </form>
      {asked.length === 0 ? null : insights.error ? (
        <ErrorBox error={insights.error} onRetry={insights.reload} />
      ) : !insights.data ? (
        <Loading />
      ) : (
        <>
          <p className="muted">{t('tools.insightSize', { people: i18n.num(insights.data.people), base: i18n.num(insights.data.base), share: i18n.pct(insights.data.share) })}</p>
          {insights.data.tags.map((tag) => (
            <InsightTag key={tag.key} tag={tag} />
          ))}
        </>
      )}
    </>
  );
}

function InsightTag({ tag }: { tag: Insights['tags'][number] }) {
  const i18n = useT();
  const { t } = i18n;
  const chart = useMemo<ChartOption | null>(() => {
    if (!tag.values?.length) return null;
    const values = [...tag.values].reverse();
    return {
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => i18n.pct(Number(v)) },
      legend: { top: 0 },
      grid: { left: 120, right: 24, top: 28, bottom: 24 },
      xAxis: { type: 'value', axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%` } },
      yAxis: { type: 'category', data: values.map((v) => v.value), axisLabel: { width: 110, overflow: 'truncate' } },
      series: [
        { type: 'bar', name: t('tools.inside'), data: values.map((v) => v.shareInside) },
        { type: 'bar', name: t('tools.base'), data: values.map((v) => v.shareBase) },
      ],
    };
  }, [tag.values, i18n, t]);
  return (
    <div className="insight">
      <h3>
        {i18n.named(tag.name)} <span className="muted small">{t('tags.baseDate', { date: tag.baseDate })}</span>
      </h3>
      {tag.summary ? (
        <Table
          rows={[
            [t('tools.average'), tag.summary.avg_inside, tag.summary.avg_base],
            [t('tools.median'), tag.summary.median_inside, tag.summary.median_base],
            [t('tools.withValue'), tag.summary.people_inside, tag.summary.people_base],
          ]}
          rowKey={(r) => String(r[0])}
          columns={[
            { key: 'm', header: '', render: (r) => r[0] },
            { key: 'in', header: t('tools.inside'), align: 'right', render: (r) => i18n.num(r[1] as number, 2) },
            { key: 'base', header: t('tools.base'), align: 'right', render: (r) => i18n.num(r[2] as number, 2) },
          ]}
        />
      ) : (
        <div className="grid-2">
          {chart && <Chart option={chart} height={Math.max(160, (tag.values?.length ?? 0) * 34)} label={i18n.named(tag.name)} />}
          <Table
            rows={tag.values ?? []}
            rowKey={(v) => v.value}
            columns={[
              { key: 'value', header: t('tools.value'), render: (v) => v.value },
              { key: 'in', header: t('tools.inside'), align: 'right', render: (v) => `${i18n.num(v.inside)} (${i18n.pct(v.shareInside)})` },
              { key: 'base', header: t('tools.base'), align: 'right', render: (v) => `${i18n.num(v.base)} (${i18n.pct(v.shareBase)})` },
              { key: 'lift', header: t('tools.lift'), align: 'right', render: (v) => (v.lift === null ? '—' : `×${i18n.num(v.lift, 2)}`) },
            ]}
          />
        </div>
      )}
    </div>
  );
}

function Snapshots({ segmentKey, initial }: { segmentKey: string; initial: Snapshot[] }) {
  const i18n = useT();
  const { t } = i18n;
  const { can } = useSession();
  const list = useApi<{ snapshots: Snapshot[] }>(`/api/v1/segments/${encodeURIComponent(segmentKey)}/snapshots`);
  const snapshots = list.data?.snapshots ?? initial;
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [diffQuery, setDiffQuery] = useState<string | null>(null);
  const diff = useApi<{ joined: { people: number; sample: number[] }; left: { people: number; sample: number[] } }>(diffQuery);
  const take = useAction(async () => {
    await api(`/api/v1/segments/${encodeURIComponent(segmentKey)}/snapshots`, { method: 'POST' });
    list.reload();
  });
  const compare = (e: FormEvent) => {
    e.preventDefault();
    setDiffQuery(`/api/v1/segments/${encodeURIComponent(segmentKey)}/snapshots/diff${query({ from: from || snapshots[1]?.id, to: to || snapshots[0]?.id })}`);
  };
  const option = (s: Snapshot) => (
    <option key={s.id} value={s.id}>
      {i18n.dateTime(s.takenAt)} · {i18n.num(s.people)}
    </option>
  );
  return (
    <div className="stack">
      <div className="toolbar">
        {can('build') && (
          <button type="button" className="btn btn-primary" disabled={take.busy} onClick={() => void take.run()}>
            {take.busy ? t('common.working') : t('tools.takeSnapshot')}
          </button>
        )}
        <span className="muted small">{t('tools.snapshotHint')}</span>
      </div>
      <ErrorBox error={take.error ?? list.error} />
      <Table
        rows={snapshots}
        rowKey={(s) => s.id}
        empty={<Empty title={t('tools.noSnapshots')} hint={can('build') ? t('tools.noSnapshotsHint') : undefined} />}
        columns={[
          { key: 'at', header: t('tools.takenAt'), render: (s) => i18n.dateTime(s.takenAt) },
          { key: 'for', header: t('tools.evaluatedFor'), render: (s) => s.evaluatedFor },
          { key: 'trigger', header: t('tags.trigger'), render: (s) => <Badge>{s.trigger}</Badge> },
          { key: 'people', header: t('size.people'), align: 'right', render: (s) => i18n.num(s.people) },
        ]}
      />
      {snapshots.length >= 2 && (
        <form className="inline-form" onSubmit={compare}>
          <Field label={t('tools.from')}>
            <select value={from || snapshots[1].id} onChange={(e) => setFrom(e.target.value)}>
              {snapshots.map(option)}
            </select>
          </Field>
          <Field label={t('tools.to')}>
            <select value={to || snapshots[0].id} onChange={(e) => setTo(e.target.value)}>
              {snapshots.map(option)}
            </select>
          </Field>
          <button type="submit" className="btn btn-primary">
            {t('tools.diff')}
          </button>
        </form>
      )}
      {diffQuery &&
        (diff.error ? (
          <ErrorBox error={diff.error} />
        ) : !diff.data ? (
          <Loading />
        ) : (
          <div className="grid-2">
            {(['joined', 'left'] as const).map((side) => (
              <div key={side} className="diff-side">
                <h3>{t(side === 'joined' ? 'tools.joined' : 'tools.left', { n: i18n.num(diff.data![side].people) })}</h3>
                <Chips
                  items={diff.data![side].sample.map((id) => (
                    <Link key={id} to={`/people/${id}`}>
                      #{id}
                    </Link>
                  ))}
                />
              </div>
            ))}
          </div>
        ))}
    </div>
  );
}

function Export({ segmentKey }: { segmentKey: string }) {
  const { t } = useT();
  const { identifierTypes } = useContext(BuilderContext);
  const [type, setType] = useState('phone');
  const href = `/api/v1/segments/${encodeURIComponent(segmentKey)}/export${query({ type })}`;
  return (
    <div className="inline-form">
      <Field label={t('tools.exportType')}>
        <select value={type} onChange={(e) => setType(e.target.value)}>
          {(identifierTypes.length ? identifierTypes.map((i) => i.name) : ['phone']).map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </Field>
      <a className="btn btn-primary" href={href} download={`${segmentKey}-${type}.csv`}>
        {t('tools.download')}
      </a>
      <span className="muted small">{t('tools.exportHint')}</span>
    </div>
  );
}
