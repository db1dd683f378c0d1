/** The workspace's name and time zone (PATCH /api/v1/workspace, admins). */
import { useState, type FormEvent } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import { useSession } from '../../session.tsx';
import type { Workspace } from '../../../../src/contract/workspaces.ts';
import { Field, SubmitButton } from '../../components/Form.tsx';
import { Card } from '../../components/Page.tsx';
import { Pairs } from '../../components/Table.tsx';
import { ErrorBox, Loading } from '../../components/States.tsx';

const ZONES = ['Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Taipei', 'Asia/Singapore', 'Asia/Tokyo', 'Europe/London', 'America/New_York', 'UTC'];

export function WorkspacePanel({ canEdit }: { canEdit: boolean }) {
  const { t, dateTime } = useT();
  const workspace = useApi<Workspace>('/api/v1/workspace');
  if (workspace.error) return <ErrorBox error={workspace.error} onRetry={workspace.reload} />;
  if (!workspace.data) return <Loading />;
  const ws = workspace.data;
  return (
    <div className="grid-2">
      <Card title={t('settings.workspace')}>
        <Pairs
          items={[
            [t('workspace.name'), ws.name],
            [t('workspace.slug'), <code key="slug">{ws.slug}</code>],
            [t('workspace.timezone'), ws.timeZone],
            [t('workspace.id'), <code key="id">{ws.id}</code>],
            [t('workspace.created'), dateTime(ws.createdAt)],
          ]}
        />
      </Card>
      {canEdit && <WorkspaceForm workspace={ws} onSaved={workspace.setData} />}
    </div>
  );
}

function WorkspaceForm({ workspace, onSaved }: { workspace: Workspace; onSaved: (ws: Workspace) => void }) {
  const { t } = useT();
  const { refresh } = useSession();
  const [name, setName] = useState(workspace.name);
  const [timeZone, setTimeZone] = useState(workspace.timeZone);
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    setSaved(false);
    onSaved(await api<Workspace>('/api/v1/workspace', { method: 'PATCH', json: { name: name.trim(), timeZone: timeZone.trim() } }));
    setSaved(true);
    void refresh();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };
  return (
    <Card title={t('workspace.edit')}>
      <form className="stack" onSubmit={submit}>
        <Field label={t('workspace.name')}>
          <input value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label={t('workspace.timezone')} hint={t('workspace.timezoneHint')}>
          <input value={timeZone} required list="time-zones" onChange={(e) => setTimeZone(e.target.value)} />
        </Field>
        <datalist id="time-zones">
          {ZONES.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
        <ErrorBox error={save.error} />
        {saved && (
          <div className="notice success" role="status">
            {t('common.saved')}
          </div>
        )}
        <div className="form-actions">
          <SubmitButton busy={save.busy}>{t('common.save')}</SubmitButton>
        </div>
      </form>
    </Card>
  );
}
