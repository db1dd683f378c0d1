/**
 * Upload a file (POST /api/v1/imports: the file is the body, kind/source/preset in the query), then
 * follow its run until it completes and show the summary; the recent runs below (GET /api/v1/imports).
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, query, useAction, useApi } from '../../api.ts';
import { useT, type Key } from '../../i18n.ts';
import type { ImportRun } from '../../../../src/contract/imports.ts';
import { Field, SubmitButton } from '../../components/Form.tsx';
import { Badge, Card } from '../../components/Page.tsx';
import { Pairs, Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const KINDS = ['orders', 'refunds', 'members', 'contacts', 'events', 'records', 'products'] as const;
const PRESETS = ['', 'tmall', 'jd', 'douyin', 'miniprogram', 'pos', 'wecom'] as const;

export function ImportPanel({ canImport, onQuarantine }: { canImport: boolean; onQuarantine: (run: string) => void }) {
  const i18n = useT();
  const { t } = i18n;
  const [kind, setKind] = useState<(typeof KINDS)[number]>('orders');
  const [source, setSource] = useState('');
  const [preset, setPreset] = useState<(typeof PRESETS)[number]>('');
  const [file, setFile] = useState<File | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const recent = useApi<{ runs: ImportRun[] }>('/api/v1/imports?limit=20');

  const upload = useAction(async () => {
    if (!file) return;
    const { run } = await api<{ run: string; resumed: boolean }>(
      `/api/v1/imports${query({ kind, source: source.trim(), preset, filename: file.name.replace(/[/\\]/g, '_').slice(0, 200) })}`,
      { method: 'POST', raw: file },
    );
    setRunId(run);
    recent.reload();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void upload.run();
  };
  const needsSource = preset === '' && kind !== 'records' && kind !== 'events';

  return (
    <div className="stack">
      {canImport ? (
        <Card title={t('import.title')}>
          <form className="form-grid" onSubmit={submit}>
            <Field label={t('import.kind')}>
              <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
                {KINDS.map((k) => (
                  <option key={k} value={k}>
                    {t(`import.kind.${k}` as Key)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t('import.preset')} hint={t('import.presetHint')}>
              <select value={preset} onChange={(e) => setPreset(e.target.value as typeof preset)}>
                {PRESETS.map((p) => (
                  <option key={p} value={p}>
                    {p === '' ? t('import.canonical') : p}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t('import.source')} hint={needsSource ? t('import.sourceNeeded') : t('import.sourceOptional')}>
              <input value={source} required={needsSource} placeholder="erp" onChange={(e) => setSource(e.target.value)} />
            </Field>
            <Field label={t('import.file')} hint={t('import.fileHint')}>
              <input type="file" required accept=".csv,.tsv,.txt,.xlsx,.jsonl,.json,.ndjson,.gz" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            </Field>
            <div className="form-actions span-all">
              <SubmitButton busy={upload.busy} disabled={!file}>
                {upload.busy ? t('import.uploading') : t('import.submit')}
              </SubmitButton>
            </div>
          </form>
          <ErrorBox error={upload.error} title={t('import.refused')} />
        </Card>
      ) : (
        <div className="notice">{t('import.readOnly')}</div>
      )}
      {runId && <RunProgress key={runId} runId={runId} onQuarantine={onQuarantine} onDone={recent.reload} />}
      <Card title={t('import.recent')}>
        {recent.error ? (
          <ErrorBox error={recent.error} onRetry={recent.reload} />
        ) : !recent.data ? (
          <Loading />
        ) : (
          <Table
            rows={recent.data.runs}
            rowKey={(r) => r.id}
            empty={<Empty title={t('import.noRecent')} hint={canImport ? t('import.noRecentHint') : undefined} />}
            columns={[
              { key: 'at', header: t('import.startedAt'), render: (r) => i18n.dateTime(r.startedAt) },
              { key: 'kind', header: t('import.kind'), render: (r) => i18n.tx(`import.kind.${r.kind}`, r.kind) },
              { key: 'source', header: t('import.source'), render: (r) => `${r.source}${r.preset ? ` · ${r.preset}` : ''}` },
              { key: 'status', header: t('common.status'), render: (r) => <Badge>{r.status}</Badge> },
              { key: 'read', header: t('import.read'), align: 'right', render: (r) => i18n.num(r.rowsRead) },
              { key: 'landed', header: t('import.landed'), align: 'right', render: (r) => i18n.num(r.landed) },
              { key: 'quarantined', header: t('import.quarantined'), align: 'right', render: (r) => i18n.num(r.quarantined) },
              {
                key: 'open',
                header: '',
                align: 'right',
                render: (r) => (
                  <button type="button" className="btn btn-small" onClick={() => setRunId(r.id)}>
                    {t('import.show')}
                  </button>
                ),
              },
            ]}
          />
        )}
      </Card>
    </div>
  );
}

/** Follows a run every second while it runs; then its summary. */
function RunProgress({ runId, onQuarantine, onDone }: { runId: string; onQuarantine: (run: string) => void; onDone: () => void }) {
  const i18n = useT();
  const { t, num } = i18n;
  const [run, setRun] = useState<ImportRun | null>(null);
  const [error, setError] = useState<Error | undefined>();
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const next = await api<ImportRun>(`/api/v1/imports/${encodeURIComponent(runId)}`);
        if (stopped) return;
        setRun(next);
        setError(undefined);
        if (next.status === 'running') timer = setTimeout(poll, 1000);
        else onDone();
      } catch (e) {
        if (stopped) return;
        setError(e as Error);
        timer = setTimeout(poll, 3000);
      }
    };
    void poll();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [runId]);

  const seconds = run?.finishedAt ? (new Date(run.finishedAt).getTime() - new Date(run.startedAt).getTime()) / 1000 : null;
  return (
    <Card title={t('import.runTitle', { id: runId })} actions={run && <Badge>{run.status}</Badge>} id="import-run">
      <ErrorBox error={error} />
      {!run ? (
        <div className="progress indeterminate" role="progressbar" aria-label={t('import.waiting')} />
      ) : (
        <>
          {run.status === 'running' && (
            <div className="progress-row">
              <div className="progress indeterminate" role="progressbar" aria-label={t('import.running')} />
              <span>{t('import.progress', { rows: num(run.rowsRead) })}</span>
            </div>
          )}
          {run.status === 'failed' && <ErrorBox error={new Error(run.error ?? t('import.failed'))} title={t('import.failed')} />}
          {run.status !== 'running' && (
            <div className="summary" data-testid="import-summary">
              <Pairs
                items={[
                  [t('import.read'), num(run.rowsRead)],
                  [t('import.landed'), num(run.landed)],
                  [t('import.updated'), num(run.updated)],
                  [t('import.unchanged'), num(run.unchanged)],
                  [t('import.quarantined'), num(run.quarantined)],
                  [t('import.dropped'), num(run.valuesDropped)],
                  [t('import.seconds'), seconds === null ? '—' : num(seconds, 1)],
                ]}
              />
              {run.quarantined > 0 && (
                <button type="button" className="btn" onClick={() => onQuarantine(run.id)}>
                  {t('import.viewQuarantine', { n: num(run.quarantined) })}
                </button>
              )}
            </div>
          )}
          <p className="muted small">
            {t('import.meta', {
              kind: i18n.tx(`import.kind.${run.kind}`, run.kind),
              source: run.source,
              preset: run.preset ?? t('import.canonical'),
              at: i18n.dateTime(run.startedAt),
            })}
          </p>
        </>
      )}
    </Card>
  );
}
