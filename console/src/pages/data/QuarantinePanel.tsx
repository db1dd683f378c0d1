/** The rows and values an import run refused: row, field, value and why. */
import { useState, type FormEvent } from 'react';
import { useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import type { QuarantineRow } from '../../../../src/contract/imports.ts';
import { Field } from '../../components/Form.tsx';
import { Card } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

export function QuarantinePanel({ run, onRun }: { run: string; onRun: (run: string) => void }) {
  const { t } = useT();
  const [text, setText] = useState(run);
  const rows = useApi<{ rows: QuarantineRow[] }>(run ? `/api/v1/imports/${encodeURIComponent(run)}/quarantine?limit=500` : null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text.trim()) onRun(text.trim());
  };
  return (
    <Card title={t('quarantine.title')}>
      <form className="inline-form" onSubmit={submit}>
        <Field label={t('quarantine.run')}>
          <input value={text} placeholder="imp_…" required onChange={(e) => setText(e.target.value)} />
        </Field>
        <button type="submit" className="btn btn-primary">
          {t('quarantine.show')}
        </button>
      </form>
      {!run ? (
        <Empty title={t('quarantine.pick')} hint={t('quarantine.pickHint')} />
      ) : rows.error ? (
        <ErrorBox error={rows.error} onRetry={rows.reload} />
      ) : !rows.data ? (
        <Loading />
      ) : (
        <Table
          rows={rows.data.rows}
          rowKey={(_, i) => i}
          empty={<Empty title={t('quarantine.none')} hint={t('quarantine.noneHint')} />}
          columns={[
            { key: 'file', header: t('quarantine.file'), render: (r) => r.file },
            { key: 'row', header: t('quarantine.row'), align: 'right', render: (r) => r.row },
            { key: 'field', header: t('quarantine.field'), render: (r) => <code>{r.field}</code> },
            { key: 'value', header: t('quarantine.value'), render: (r) => r.value },
            { key: 'reason', header: t('quarantine.reason'), render: (r) => r.reason },
            { key: 'action', header: t('quarantine.action'), render: (r) => r.action },
          ]}
        />
      )}
    </Card>
  );
}
