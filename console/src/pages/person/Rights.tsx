/**
 * Personal-data rights (PIPL art. 45, 47), for admins: download one person's data as JSON
 * (GET /api/v1/people/:id/export) or erase it (DELETE /api/v1/people/:id with a reason). Both are
 * recorded in the audit log.
 */
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api, useAction } from '../../api.ts';
import { useT } from '../../i18n.ts';
import { Field, SubmitButton } from '../../components/Form.tsx';
import { Card } from '../../components/Page.tsx';
import { ErrorBox } from '../../components/States.tsx';

export function RightsCard({ personId }: { personId: number }) {
  const { t } = useT();
  const navigate = useNavigate();
  const [reason, setReason] = useState('');
  const download = useAction(async () => {
    const data = await api<unknown>(`/api/v1/people/${personId}/export`);
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `person-${personId}.json`;
    link.click();
    URL.revokeObjectURL(url);
  });
  const erase = useAction(async () => {
    if (!window.confirm(t('person.eraseConfirm', { id: personId }))) return;
    await api(`/api/v1/people/${personId}`, { method: 'DELETE', json: { reason: reason.trim() } });
    navigate(`/people?erased=${personId}`);
  });
  return (
    <Card title={t('person.rights')} id="person-rights">
      <p className="hint">{t('person.rightsHint')}</p>
      <button type="button" className="btn" disabled={download.busy} onClick={() => void download.run()}>
        {t('person.exportData')}
      </button>
      <ErrorBox error={download.error} title={t('person.exportFailed')} />
      <form
        className="note-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (reason.trim().length >= 5) void erase.run();
        }}
      >
        <Field label={t('person.eraseReason')} hint={t('person.eraseReasonHint')}>
          <textarea rows={2} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
        <SubmitButton busy={erase.busy} className="btn-danger" disabled={reason.trim().length < 5}>
          {t('person.erase')}
        </SubmitButton>
      </form>
      <ErrorBox error={erase.error} title={t('person.eraseFailed')} />
    </Card>
  );
}
