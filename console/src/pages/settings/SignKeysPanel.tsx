/**
 * Identity sign keys (admins): the keys a brand's server signs customers' identities with, so a
 * tracker key's events link the identifiers a token names. Listed without secrets
 * (GET /api/v1/identity/sign-keys), created with the secret shown once (POST), revoked (DELETE).
 */
import { useState, type FormEvent } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import { useSession } from '../../session.tsx';
import type { SignKey } from '../../../../src/contract/identity.ts';
import { Field, SubmitButton } from '../../components/Form.tsx';
import { Badge, Card } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

export function SignKeysPanel() {
  const { t, dateTime } = useT();
  const { me } = useSession();
  const keys = useApi<{ keys: SignKey[] }>('/api/v1/identity/sign-keys');
  const [created, setCreated] = useState<{ key: SignKey; secret: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [name, setName] = useState('');
  const create = useAction(async () => {
    const answer = await api<{ key: SignKey; secret: string }>('/api/v1/identity/sign-keys', { json: { name: name.trim() } });
    setName('');
    setNotice(null);
    setCreated(answer);
    keys.reload();
  });
  const revoke = useAction(async (key: SignKey) => {
    if (!window.confirm(t('signKeys.confirmRevoke', { name: key.name }))) return;
    await api(`/api/v1/identity/sign-keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' });
    setNotice(t('signKeys.revokedNotice', { name: key.name }));
    keys.reload();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void create.run();
  };
  return (
    <Card title={t('signKeys.title')} id="sign-keys">
      <p className="muted small">{t('signKeys.note')}</p>
      {created && (
        <div className="stack" id="new-sign-key">
          <h3>{t('signKeys.secretTitle', { name: created.key.name })}</h3>
          <div className="notice warning" role="note">
            {t('signKeys.secretNote')}
          </div>
          <Field label={t('signKeys.secretLabel')}>
            <input className="code" readOnly value={created.secret} data-testid="new-sign-key-secret" onFocus={(e) => e.target.select()} />
          </Field>
          <p className="muted small">{t('signKeys.usage', { id: created.key.id, ws: me?.workspace.slug ?? '' })}</p>
          <div className="form-actions">
            <button type="button" className="btn" onClick={() => setCreated(null)}>
              {t('apiKeys.done')}
            </button>
          </div>
        </div>
      )}
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
          rows={keys.data.keys}
          rowKey={(k) => k.id}
          caption={t('signKeys.title')}
          empty={<Empty title={t('signKeys.empty')} hint={t('signKeys.emptyHint')} />}
          columns={[
            { key: 'name', header: t('signKeys.name'), render: (k) => k.name },
            { key: 'id', header: t('signKeys.id'), render: (k) => <code>{k.id}</code> },
            { key: 'created', header: t('signKeys.created'), render: (k) => dateTime(k.createdAt) },
            {
              key: 'status',
              header: t('common.status'),
              render: (k) => (k.revokedAt ? <Badge tone="red">{t('apiKeys.revoked')}</Badge> : <Badge tone="green">{t('apiKeys.active')}</Badge>),
            },
            {
              key: 'actions',
              header: '',
              align: 'right',
              render: (k) =>
                !k.revokedAt && (
                  <button
                    type="button"
                    className="btn btn-small btn-danger"
                    aria-label={t('signKeys.revokeOf', { name: k.name })}
                    disabled={revoke.busy}
                    onClick={() => void revoke.run(k)}
                  >
                    {t('signKeys.revoke')}
                  </button>
                ),
            },
          ]}
        />
      )}
      <form className="form-grid" onSubmit={submit}>
        <Field label={t('signKeys.create')} hint={t('signKeys.nameHint')}>
          <input required maxLength={200} autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <div className="form-actions span-all">
          <SubmitButton busy={create.busy} disabled={!name.trim()}>
            {t('signKeys.createSubmit')}
          </SubmitButton>
        </div>
      </form>
      <ErrorBox error={create.error} />
    </Card>
  );
}
