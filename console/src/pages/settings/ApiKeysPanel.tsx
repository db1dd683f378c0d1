/**
 * API keys (admins): the list (GET /api/v1/api-keys, never a secret), a new key whose token is shown
 * once (POST), revoking one by id (DELETE /api/v1/api-keys/:id) after a confirm, and a tracker key's
 * allowed page origins (PATCH). Below them, the identity sign keys (SignKeysPanel).
 */
import { useRef, useState, type FormEvent } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT, type Key } from '../../i18n.ts';
import { useSession } from '../../session.tsx';
import type { ApiKey, Role } from '../../../../src/contract/access.ts';
import { Field, SubmitButton } from '../../components/Form.tsx';
import { Badge, Card } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { SignKeysPanel } from './SignKeysPanel.tsx';

const ROLES: Role[] = ['admin', 'operator', 'analyst', 'staff', 'tracker'];

export function ApiKeysPanel() {
  const { t, dateTime } = useT();
  const { me } = useSession();
  const keys = useApi<{ keys: ApiKey[] }>('/api/v1/api-keys');
  const [created, setCreated] = useState<{ key: ApiKey; token: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [editing, setEditing] = useState<ApiKey | null>(null);
  const revoke = useAction(async (key: ApiKey) => {
    if (!window.confirm(t('apiKeys.confirmRevoke', { name: key.name, prefix: key.prefix }))) return;
    setBusyId(key.id);
    setNotice(null);
    try {
      await api(`/api/v1/api-keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' });
      setNotice(t('apiKeys.revokedNotice', { name: key.name }));
      keys.reload();
    } finally {
      setBusyId(null);
    }
  });
  // Active keys first, newest first.
  const rows = [...(keys.data?.keys ?? [])].sort((a, b) => Number(a.revokedAt !== null) - Number(b.revokedAt !== null) || b.createdAt.localeCompare(a.createdAt));
  return (
    <div className="stack">
      {created && <NewToken created={created} onClose={() => setCreated(null)} />}
      <Card title={t('settings.apiKeys')}>
        <p className="muted small">{t('apiKeys.note')}</p>
        <ErrorBox error={revoke.error} />
        {notice && (
          <div className="notice success" role="status">
            {notice}
          </div>
        )}
        {keys.error ? (
          <ErrorBox error={keys.error} onRetry={keys.reload} />
        ) : !keys.data ? (
          <Loading />
        ) : (
          <Table
            rows={rows}
            rowKey={(k) => k.id}
            caption={t('settings.apiKeys')}
            empty={<Empty title={t('apiKeys.empty')} hint={t('apiKeys.emptyHint')} />}
            columns={[
              {
                key: 'name',
                header: t('apiKeys.name'),
                render: (k) => (
                  <span>
                    {k.name}
                    {k.id === me?.apiKey ? <span className="muted small"> ({t('apiKeys.current')})</span> : null}
                  </span>
                ),
              },
              { key: 'prefix', header: t('apiKeys.prefix'), render: (k) => <code>{k.prefix}</code> },
              { key: 'role', header: t('apiKeys.role'), render: (k) => t(`role.${k.role}` as Key) },
              { key: 'created', header: t('apiKeys.created'), render: (k) => dateTime(k.createdAt) },
              {
                key: 'origins',
                header: t('apiKeys.origins'),
                render: (k) =>
                  k.role !== 'tracker' ? null : k.allowedOrigins && k.allowedOrigins.length > 0 ? (
                    <span className="small">{k.allowedOrigins.join(', ')}</span>
                  ) : (
                    <span className="muted small">{t('apiKeys.originsAny')}</span>
                  ),
              },
              { key: 'used', header: t('apiKeys.lastUsed'), render: (k) => (k.lastUsedAt ? dateTime(k.lastUsedAt) : <span className="muted">{t('apiKeys.neverUsed')}</span>) },
              {
                key: 'status',
                header: t('common.status'),
                render: (k) =>
                  k.revokedAt ? (
                    <span title={t('apiKeys.revokedAt', { at: dateTime(k.revokedAt) })}>
                      <Badge tone="red">{t('apiKeys.revoked')}</Badge> <span className="muted small">{dateTime(k.revokedAt)}</span>
                    </span>
                  ) : (
                    <Badge tone="green">{t('apiKeys.active')}</Badge>
                  ),
              },
              {
                key: 'actions',
                header: '',
                align: 'right',
                render: (k) =>
                  !k.revokedAt && (
                    <span className="row-actions">
                      {k.role === 'tracker' && (
                        <button type="button" className="btn btn-small" aria-label={t('apiKeys.editOriginsOf', { name: k.name })} onClick={() => setEditing(k)}>
                          {t('apiKeys.editOrigins')}
                        </button>
                      )}{' '}
                      <button
                        type="button"
                        className="btn btn-small btn-danger"
                        aria-label={t('apiKeys.revokeOf', { name: k.name })}
                        disabled={busyId !== null}
                        onClick={() => void revoke.run(k)}
                      >
                        {busyId === k.id ? t('common.working') : t('apiKeys.revoke')}
                      </button>
                    </span>
                  ),
              },
            ]}
          />
        )}
      </Card>
      {editing && (
        <EditOrigins
          apiKey={editing}
          onDone={(saved) => {
            setEditing(null);
            if (saved) {
              setNotice(t('apiKeys.originsSaved', { name: saved.name }));
              keys.reload();
            }
          }}
        />
      )}
      <CreateKey
        onCreated={(answer) => {
          setNotice(null);
          setCreated(answer);
          keys.reload();
        }}
      />
      <SignKeysPanel />
    </div>
  );
}

/** The new key's token, shown this once: a read-only box to copy from, and what to do with it. */
function NewToken({ created, onClose }: { created: { key: ApiKey; token: string }; onClose: () => void }) {
  const { t } = useT();
  const box = useRef<HTMLInputElement>(null);
  const [copy, setCopy] = useState<'copied' | 'failed' | null>(null);
  const copyToken = async () => {
    try {
      await navigator.clipboard.writeText(created.token);
      setCopy('copied');
    } catch {
      box.current?.focus();
      box.current?.select();
      setCopy('failed');
    }
  };
  return (
    <Card title={t('apiKeys.tokenTitle', { name: created.key.name })} className="token-card" id="new-api-key">
      <div className="notice warning" role="note">
        {t('apiKeys.tokenNote')}
      </div>
      <div className="token-row">
        <Field label={t('apiKeys.tokenLabel')} className="token-field">
          <input ref={box} className="code" readOnly value={created.token} data-testid="new-api-key-token" onFocus={(e) => e.target.select()} />
        </Field>
        <button type="button" className="btn btn-primary" onClick={() => void copyToken()}>
          {t('apiKeys.copy')}
        </button>
      </div>
      {copy && (
        <p className={copy === 'copied' ? 'small success-text' : 'small field-error'} role="status">
          {copy === 'copied' ? t('apiKeys.copied') : t('apiKeys.copyFailed')}
        </p>
      )}
      <p className="muted small">
        <code>{t('apiKeys.usage')}</code>
      </p>
      <div className="form-actions">
        <button type="button" className="btn" onClick={onClose}>
          {t('apiKeys.done')}
        </button>
      </div>
    </Card>
  );
}

/** Origins as typed, one a line (commas and spaces also separate them). */
const originLines = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((o) => o.trim())
    .filter(Boolean);

/** A tracker key's allowed origins: a box with one origin a line, checked by the server. */
function EditOrigins({ apiKey, onDone }: { apiKey: ApiKey; onDone: (saved: ApiKey | null) => void }) {
  const { t } = useT();
  const [text, setText] = useState((apiKey.allowedOrigins ?? []).join('\n'));
  const save = useAction(async () => {
    const origins = originLines(text);
    const answer = await api<{ key: ApiKey }>(`/api/v1/api-keys/${encodeURIComponent(apiKey.id)}`, {
      method: 'PATCH',
      json: { allowedOrigins: origins.length > 0 ? origins : null },
    });
    onDone(answer.key);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };
  return (
    <Card title={t('apiKeys.editOriginsOf', { name: apiKey.name })} id="edit-origins">
      <form className="form-grid" onSubmit={submit}>
        <Field label={t('apiKeys.origins')} hint={t('apiKeys.originsHint')} className="span-all">
          <textarea rows={4} className="code" value={text} onChange={(e) => setText(e.target.value)} placeholder="https://shop.example.com" />
        </Field>
        <div className="form-actions span-all">
          <SubmitButton busy={save.busy}>{t('apiKeys.saveOrigins')}</SubmitButton>
          <button type="button" className="btn" onClick={() => onDone(null)}>
            {t('apiKeys.cancel')}
          </button>
        </div>
      </form>
      <ErrorBox error={save.error} />
    </Card>
  );
}

function CreateKey({ onCreated }: { onCreated: (created: { key: ApiKey; token: string }) => void }) {
  const { t } = useT();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const [origins, setOrigins] = useState('');
  const create = useAction(async () => {
    const allowedOrigins = role === 'tracker' && originLines(origins).length > 0 ? originLines(origins) : undefined;
    const answer = await api<{ key: ApiKey; token: string }>('/api/v1/api-keys', { json: { name: name.trim(), role, ...(allowedOrigins ? { allowedOrigins } : {}) } });
    setName('');
    setOrigins('');
    onCreated(answer);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void create.run();
  };
  return (
    <Card title={t('apiKeys.create')}>
      <form className="form-grid" onSubmit={submit}>
        <Field label={t('apiKeys.name')} hint={t('apiKeys.nameHint')}>
          <input required maxLength={200} autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label={t('apiKeys.role')} hint={t('apiKeys.roleHint')}>
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}` as Key)}
              </option>
            ))}
          </select>
        </Field>
        {role === 'tracker' && (
          <Field label={t('apiKeys.origins')} hint={t('apiKeys.originsHint')} className="span-all">
            <textarea rows={3} className="code" value={origins} onChange={(e) => setOrigins(e.target.value)} placeholder="https://shop.example.com" />
          </Field>
        )}
        <div className="form-actions span-all">
          <SubmitButton busy={create.busy} disabled={!name.trim()}>
            {t('apiKeys.createSubmit')}
          </SubmitButton>
        </div>
      </form>
      <ErrorBox error={create.error} />
    </Card>
  );
}
