/** Teams: a name and the data sources its members see (GET/POST/PUT/DELETE /api/v1/teams). */
import { useState, type FormEvent } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import type { Team } from '../../../../src/contract/access.ts';
import { Field, SubmitButton, splitList } from '../../components/Form.tsx';
import { Card, Chips } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const KNOWN_SOURCES = ['tmall', 'jd', 'douyin', 'miniprogram', 'pos', 'wecom', 'crm', 'erp'];

export function TeamsPanel() {
  const { t, dateTime } = useT();
  const teams = useApi<{ teams: Team[] }>('/api/v1/teams');
  const [editing, setEditing] = useState<Team | null>(null);
  const remove = useAction(async (team: Team) => {
    if (!window.confirm(t('teams.confirmDelete', { name: team.name }))) return;
    await api(`/api/v1/teams/${encodeURIComponent(team.id)}`, { method: 'DELETE' });
    teams.reload();
  });
  return (
    <div className="stack">
      <Card title={t('settings.teams')}>
        <p className="muted small">{t('teams.note')}</p>
        <ErrorBox error={remove.error} />
        {teams.error ? (
          <ErrorBox error={teams.error} onRetry={teams.reload} />
        ) : !teams.data ? (
          <Loading />
        ) : (
          <Table
            rows={teams.data.teams}
            rowKey={(team) => team.id}
            empty={<Empty title={t('teams.empty')} hint={t('teams.emptyHint')} />}
            columns={[
              { key: 'name', header: t('teams.name'), render: (team) => team.name },
              { key: 'sources', header: t('teams.sources'), render: (team) => <Chips items={team.sources} /> },
              { key: 'created', header: t('users.created'), render: (team) => dateTime(team.createdAt) },
              {
                key: 'actions',
                header: '',
                align: 'right',
                render: (team) => (
                  <span className="row-actions">
                    <button type="button" className="btn btn-small" onClick={() => setEditing(team)}>
                      {t('common.edit')}
                    </button>
                    <button type="button" className="btn btn-small btn-danger" disabled={remove.busy} onClick={() => void remove.run(team)}>
                      {t('common.delete')}
                    </button>
                  </span>
                ),
              },
            ]}
          />
        )}
      </Card>
      <TeamForm
        key={editing?.id ?? 'new'}
        team={editing}
        onDone={() => {
          setEditing(null);
          teams.reload();
        }}
      />
    </div>
  );
}

function TeamForm({ team, onDone }: { team: Team | null; onDone: () => void }) {
  const { t } = useT();
  const [name, setName] = useState(team?.name ?? '');
  const [sources, setSources] = useState((team?.sources ?? []).join(', '));
  const save = useAction(async () => {
    const body = { name: name.trim(), sources: splitList(sources) };
    if (team) await api(`/api/v1/teams/${encodeURIComponent(team.id)}`, { method: 'PUT', json: body });
    else await api('/api/v1/teams', { json: body });
    setName('');
    setSources('');
    onDone();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };
  return (
    <Card title={team ? t('teams.edit', { name: team.name }) : t('teams.create')}>
      <form className="form-grid" onSubmit={submit}>
        <Field label={t('teams.name')}>
          <input required value={name} placeholder="天猫团队" onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label={t('teams.sources')} hint={t('teams.sourcesHint', { known: KNOWN_SOURCES.join(', ') })}>
          <input required value={sources} placeholder="tmall" onChange={(e) => setSources(e.target.value)} />
        </Field>
        <div className="form-actions span-all">
          <SubmitButton busy={save.busy}>{team ? t('common.save') : t('teams.createSubmit')}</SubmitButton>
          {team && (
            <button type="button" className="btn" onClick={onDone}>
              {t('common.cancel')}
            </button>
          )}
        </div>
      </form>
      <ErrorBox error={save.error} />
    </Card>
  );
}
