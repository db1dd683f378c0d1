/** Users: create, change role, team and staff id, disable (PATCH /api/v1/users/:id ends their sessions). */
import { useState, type FormEvent } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT, type Key } from '../../i18n.ts';
import { useSession } from '../../session.tsx';
import type { Team, User } from '../../../../src/contract/access.ts';
import { Field, SubmitButton } from '../../components/Form.tsx';
import { Badge, Card } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const ROLES = ['admin', 'operator', 'analyst', 'staff'] as const;

export function UsersPanel() {
  const { t, dateTime } = useT();
  const { me } = useSession();
  const users = useApi<{ users: User[] }>('/api/v1/users');
  const teams = useApi<{ teams: Team[] }>('/api/v1/teams');
  const [busyId, setBusyId] = useState<string | null>(null);
  const update = useAction(async (id: string, change: Partial<Pick<User, 'role' | 'disabled' | 'teamId' | 'staffUserId'>>) => {
    setBusyId(id);
    try {
      await api(`/api/v1/users/${encodeURIComponent(id)}`, { method: 'PATCH', json: change });
      users.reload();
    } finally {
      setBusyId(null);
    }
  });
  const teamList = teams.data?.teams ?? [];
  return (
    <div className="stack">
      <Card title={t('settings.users')}>
        <p className="muted small">{t('users.note')}</p>
        <ErrorBox error={update.error} />
        {teams.error && <p className="muted small">{t('users.teamsUnavailable', { message: teams.error.message })}</p>}
        {users.error ? (
          <ErrorBox error={users.error} onRetry={users.reload} />
        ) : !users.data ? (
          <Loading />
        ) : (
          <Table
            rows={users.data.users}
            rowKey={(u) => u.id}
            empty={<Empty title={t('users.empty')} hint={t('users.emptyHint')} />}
            columns={[
              {
                key: 'name',
                header: t('users.name'),
                render: (u) => (
                  <span>
                    {u.name}
                    {u.id === me?.user?.id ? ` (${t('users.you')})` : ''}
                  </span>
                ),
              },
              { key: 'email', header: t('users.email'), render: (u) => u.email },
              {
                key: 'role',
                header: t('users.role'),
                render: (u) => (
                  <select
                    aria-label={t('users.roleOf', { name: u.name })}
                    value={u.role}
                    disabled={busyId === u.id || u.id === me?.user?.id}
                    onChange={(e) => void update.run(u.id, { role: e.target.value as User['role'] })}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(`role.${r}` as Key)}
                      </option>
                    ))}
                  </select>
                ),
              },
              {
                key: 'team',
                header: t('users.team'),
                render: (u) => (
                  <select
                    aria-label={t('users.teamOf', { name: u.name })}
                    value={u.teamId ?? ''}
                    disabled={busyId === u.id || !teams.data}
                    onChange={(e) => void update.run(u.id, { teamId: e.target.value || null })}
                  >
                    <option value="">{t('users.allData')}</option>
                    {teamList.map((team) => (
                      <option key={team.id} value={team.id}>
                        {team.name}
                      </option>
                    ))}
                  </select>
                ),
              },
              {
                key: 'staff',
                header: t('users.staffUserId'),
                render: (u) => <StaffId user={u} disabled={busyId === u.id} onSave={(staffUserId) => void update.run(u.id, { staffUserId })} />,
              },
              {
                key: 'status',
                header: t('common.status'),
                render: (u) => (u.disabled ? <Badge tone="red">{t('users.disabled')}</Badge> : <Badge tone="green">{t('users.active')}</Badge>),
              },
              { key: 'created', header: t('users.created'), render: (u) => dateTime(u.createdAt) },
              {
                key: 'actions',
                header: '',
                align: 'right',
                render: (u) =>
                  u.id !== me?.user?.id && (
                    <button type="button" className="btn btn-small" disabled={busyId === u.id} onClick={() => void update.run(u.id, { disabled: !u.disabled })}>
                      {u.disabled ? t('users.enable') : t('users.disable')}
                    </button>
                  ),
              },
            ]}
          />
        )}
      </Card>
      <CreateUser teams={teamList} onCreated={users.reload} />
    </div>
  );
}

/** The WeCom staff id a staff user acts as (their customers only). */
function StaffId({ user, disabled, onSave }: { user: User; disabled: boolean; onSave: (id: string | null) => void }) {
  const { t } = useT();
  const [value, setValue] = useState(user.staffUserId ?? '');
  const changed = value.trim() !== (user.staffUserId ?? '');
  return (
    <form
      className="cell-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(value.trim() || null);
      }}
    >
      <input aria-label={t('users.staffOf', { name: user.name })} value={value} size={10} placeholder="—" disabled={disabled} onChange={(e) => setValue(e.target.value)} />
      {changed && (
        <button type="submit" className="btn btn-small" disabled={disabled}>
          {t('common.save')}
        </button>
      )}
    </form>
  );
}

function CreateUser({ teams, onCreated }: { teams: Team[]; onCreated: () => void }) {
  const { t } = useT();
  const empty = { email: '', name: '', role: 'analyst' as User['role'], password: '', teamId: '', staffUserId: '' };
  const [form, setForm] = useState(empty);
  const set = (patch: Partial<typeof form>) => setForm((f) => ({ ...f, ...patch }));
  const create = useAction(async () => {
    await api('/api/v1/users', {
      json: {
        email: form.email.trim(),
        name: form.name.trim(),
        role: form.role,
        password: form.password,
        teamId: form.teamId || null,
        staffUserId: form.staffUserId.trim() || null,
      },
    });
    setForm(empty);
    onCreated();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void create.run();
  };
  return (
    <Card title={t('users.create')}>
      <form className="form-grid" onSubmit={submit}>
        <Field label={t('users.email')}>
          <input type="email" required autoComplete="off" value={form.email} onChange={(e) => set({ email: e.target.value })} />
        </Field>
        <Field label={t('users.name')}>
          <input required value={form.name} onChange={(e) => set({ name: e.target.value })} />
        </Field>
        <Field label={t('users.role')}>
          <select value={form.role} onChange={(e) => set({ role: e.target.value as User['role'] })}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}` as Key)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('users.team')}>
          <select value={form.teamId} onChange={(e) => set({ teamId: e.target.value })}>
            <option value="">{t('users.allData')}</option>
            {teams.map((team) => (
              <option key={team.id} value={team.id}>
                {team.name}
              </option>
            ))}
          </select>
        </Field>
        {form.role === 'staff' && (
          <Field label={t('users.staffUserId')} hint={t('users.staffHint')}>
            <input value={form.staffUserId} maxLength={64} onChange={(e) => set({ staffUserId: e.target.value })} />
          </Field>
        )}
        <Field label={t('users.password')} hint={t('users.passwordHint')}>
          <input type="password" required minLength={10} autoComplete="new-password" value={form.password} onChange={(e) => set({ password: e.target.value })} />
        </Field>
        <div className="form-actions span-all">
          <SubmitButton busy={create.busy}>{t('users.createSubmit')}</SubmitButton>
        </div>
      </form>
      <ErrorBox error={create.error} />
    </Card>
  );
}
