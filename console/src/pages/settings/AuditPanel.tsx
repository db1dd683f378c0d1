/** The audit log, newest first: exports, keys, users and role changes. */
import { useState } from 'react';
import { query, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import type { AuditEntry } from '../../../../src/contract/access.ts';
import { Field } from '../../components/Form.tsx';
import { Card } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const ACTIONS = ['user.create', 'user.update', 'user.password', 'apikey.create', 'apikey.revoke', 'export.identities', 'export.records', 'export.segment'];

export function AuditPanel() {
  const { t, dateTime } = useT();
  const [action, setAction] = useState('');
  const entries = useApi<{ entries: AuditEntry[] }>(`/api/v1/audit${query({ limit: 200, action })}`);
  return (
    <Card
      title={t('settings.audit')}
      actions={
        <Field label={t('audit.action')} className="field-inline">
          <select value={action} onChange={(e) => setAction(e.target.value)}>
            <option value="">{t('common.all')}</option>
            {ACTIONS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </Field>
      }
    >
      {entries.error ? (
        <ErrorBox error={entries.error} onRetry={entries.reload} />
      ) : !entries.data ? (
        <Loading />
      ) : (
        <Table
          rows={entries.data.entries}
          rowKey={(e) => e.id}
          empty={<Empty title={t('audit.empty')} hint={t('audit.emptyHint')} />}
          columns={[
            { key: 'at', header: t('audit.at'), render: (e) => dateTime(e.at) },
            { key: 'actor', header: t('audit.actor'), render: (e) => <code>{e.actor}</code> },
            { key: 'action', header: t('audit.action'), render: (e) => e.action },
            { key: 'target', header: t('audit.target'), render: (e) => <code>{e.target}</code> },
            { key: 'details', header: t('audit.details'), render: (e) => <code className="props">{typeof e.details === 'string' ? e.details : JSON.stringify(e.details)}</code> },
          ]}
        />
      )}
    </Card>
  );
}
