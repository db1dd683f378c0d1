/**
 * The segment builder (#/segments/new, #/segments/:key): name, the condition tree (rows or JSON),
 * the live size of the tree as it is edited, save; on a saved segment its sample, insights,
 * snapshots and export.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, useAction, useApi } from '../api.ts';
import { useT } from '../i18n.ts';
import { useSession } from '../session.tsx';
import type { IdentifierType } from '../../../src/contract/identity.ts';
import type { TagListItem } from '../../../src/contract/tags.ts';
import type { Segment, Snapshot, Tree } from '../../../src/contract/segments.ts';
import { Check, Field, SubmitButton } from '../components/Form.tsx';
import { Card, PageHeader, Tabs } from '../components/Page.tsx';
import { ErrorBox, Loading } from '../components/States.tsx';
import { JsonEditor, parseJson } from '../components/JsonEditor.tsx';
import { BuilderContext, ConditionList, MatchSelect, incomplete, type BuilderData } from './segments/ConditionEditor.tsx';
import { LiveSize } from './segments/LiveSize.tsx';
import { SegmentTools } from './segments/SegmentTools.tsx';

const EMPTY: Segment = { key: '', name: { zh: '', en: '' }, match: 'all', conditions: [], snapshots: { afterTagRuns: false, keep: 10 } };

export function SegmentBuilder() {
  const { key } = useParams();
  const { t } = useT();
  const loaded = useApi<{ segment: Segment; snapshots: Snapshot[] }>(key ? `/api/v1/segments/${encodeURIComponent(key)}` : null);
  const tags = useApi<{ tags: TagListItem[] }>('/api/v1/tags');
  const segments = useApi<{ segments: Segment[] }>('/api/v1/segments');
  const types = useApi<{ types: IdentifierType[] }>('/api/v1/identifier-types');
  const data = useMemo<BuilderData>(
    () => ({ tags: tags.data?.tags ?? [], segments: segments.data?.segments ?? [], identifierTypes: types.data?.types ?? [], self: key }),
    [tags.data, segments.data, types.data, key],
  );
  if (key && loaded.error) {
    return (
      <>
        <PageHeader title={key} actions={<Link to="/segments">{t('segments.back')}</Link>} />
        <ErrorBox error={loaded.error} onRetry={loaded.reload} />
      </>
    );
  }
  if (key && !loaded.data) return <Loading />;
  return (
    <BuilderContext.Provider value={data}>
      <Builder key={key ?? 'new'} initial={loaded.data?.segment ?? EMPTY} isNew={!key} onSaved={loaded.reload} snapshots={loaded.data?.snapshots ?? []} />
    </BuilderContext.Provider>
  );
}

type Mode = 'rows' | 'json';

function Builder({ initial, isNew, onSaved, snapshots }: { initial: Segment; isNew: boolean; onSaved: () => void; snapshots: Snapshot[] }) {
  const i18n = useT();
  const { t } = i18n;
  const { can } = useSession();
  const navigate = useNavigate();
  const writer = can('build');
  const [segment, setSegment] = useState<Segment>(initial);
  const [mode, setMode] = useState<Mode>('rows');
  const [json, setJson] = useState('');
  const [saved, setSaved] = useState(false);
  const tree: Tree = { match: segment.match, conditions: segment.conditions };
  const treeKey = JSON.stringify(tree);
  const dirty = treeKey !== JSON.stringify({ match: initial.match, conditions: initial.conditions });
  useEffect(() => setSaved(false), [treeKey, segment.name]);

  const setTree = (next: Tree) => setSegment((s) => ({ ...s, match: next.match, conditions: next.conditions }));
  const switchTo = (next: Mode) => {
    if (next === 'json') setJson(JSON.stringify(tree, null, 2));
    setMode(next);
  };
  const onJson = (text: string) => {
    setJson(text);
    const parsed = parseJson(text).value as Partial<Tree> | undefined;
    if (parsed && typeof parsed === 'object' && Array.isArray(parsed.conditions)) setTree({ match: parsed.match === 'any' ? 'any' : 'all', conditions: parsed.conditions });
  };

  const save = useAction(async () => {
    const body: Segment = {
      key: segment.key.trim(),
      name: { zh: segment.name.zh.trim(), en: segment.name.en.trim() },
      ...(segment.description ? { description: segment.description } : {}),
      match: segment.match,
      conditions: segment.conditions,
      snapshots: segment.snapshots,
    };
    if (isNew) {
      await api('/api/v1/segments', { json: body });
      navigate(`/segments/${body.key}`);
    } else {
      await api(`/api/v1/segments/${encodeURIComponent(initial.key)}`, { method: 'PUT', json: body });
      setSaved(true);
      onSaved();
    }
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };
  const missing = incomplete(segment.conditions);

  return (
    <>
      <PageHeader
        title={isNew ? t('segments.new') : i18n.named(initial.name)}
        subtitle={isNew ? t('segments.newSubtitle') : initial.key}
        actions={
          <Link className="btn" to="/segments">
            {t('segments.back')}
          </Link>
        }
      />
      <div className="builder">
        <form id="segment-form" className="builder-main" onSubmit={submit}>
          <Card title={t('segments.about')}>
            <div className="form-grid">
              <Field label={t('segments.key')} hint={t('segments.keyHint')}>
                <input
                  value={segment.key}
                  required
                  disabled={!isNew || !writer}
                  pattern="[a-z][a-z0-9_]{1,62}"
                  placeholder="repeat_buyers"
                  onChange={(e) => setSegment({ ...segment, key: e.target.value })}
                />
              </Field>
              <Field label={t('segments.nameZh')}>
                <input value={segment.name.zh} required disabled={!writer} onChange={(e) => setSegment({ ...segment, name: { ...segment.name, zh: e.target.value } })} />
              </Field>
              <Field label={t('segments.nameEn')}>
                <input value={segment.name.en} required disabled={!writer} onChange={(e) => setSegment({ ...segment, name: { ...segment.name, en: e.target.value } })} />
              </Field>
              <Field label={t('segments.description')}>
                <input value={segment.description ?? ''} disabled={!writer} onChange={(e) => setSegment({ ...segment, description: e.target.value || undefined })} />
              </Field>
            </div>
          </Card>
          <Card
            title={t('segments.conditions')}
            actions={
              <Tabs
                label={t('segments.conditions')}
                active={mode}
                onChange={switchTo}
                tabs={[
                  { key: 'rows', label: t('segments.rows') },
                  { key: 'json', label: 'JSON' },
                ]}
              />
            }
          >
            <fieldset disabled={!writer} className="plain">
              {mode === 'rows' ? (
                <>
                  <MatchSelect label={t('builder.rootMatch')} value={segment.match} onChange={(match) => setTree({ ...tree, match })} />
                  <ConditionList conditions={segment.conditions} onChange={(conditions) => setTree({ ...tree, conditions })} />
                </>
              ) : (
                <>
                  <p className="muted small">{t('segments.jsonHint')}</p>
                  <JsonEditor label={t('segments.treeJson')} value={json} onChange={onJson} rows={18} />
                </>
              )}
            </fieldset>
          </Card>
          {writer && (
            <Card title={t('segments.snapshotsSettings')}>
              <div className="form-grid">
                <Check
                  label={t('segments.afterTagRuns')}
                  checked={segment.snapshots?.afterTagRuns ?? false}
                  onChange={(afterTagRuns) => setSegment({ ...segment, snapshots: { keep: segment.snapshots?.keep ?? 10, afterTagRuns } })}
                />
                <Field label={t('segments.keep')}>
                  <input
                    type="number"
                    min={1}
                    max={100}
                    value={segment.snapshots?.keep ?? 10}
                    onChange={(e) => setSegment({ ...segment, snapshots: { afterTagRuns: segment.snapshots?.afterTagRuns ?? false, keep: Number(e.target.value) || 10 } })}
                  />
                </Field>
              </div>
            </Card>
          )}
          <ErrorBox error={save.error} title={t('segments.saveFailed')} />
          {saved && (
            <div className="notice success" role="status">
              {t('segments.saved')}
            </div>
          )}
        </form>
        <aside className="builder-side">
          <LiveSize tree={tree} treeKey={treeKey} missing={missing} />
          {writer && (
            <SubmitButton form="segment-form" busy={save.busy} className="btn-block">
              {isNew ? t('segments.create') : t('common.save')}
            </SubmitButton>
          )}
          {!isNew && dirty && <p className="notice small">{t('segments.unsaved')}</p>}
        </aside>
      </div>
      {!isNew && <SegmentTools segmentKey={initial.key} initialSnapshots={snapshots} />}
    </>
  );
}
