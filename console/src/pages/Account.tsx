/**
 * My account: who I am, and a new password (POST /api/v1/auth/password). The server ends my other
 * sessions and keeps this one; a wrong current password is a 403 with the server's message.
 */
import { useState, type FormEvent } from 'react';
import { api, ApiError, useAction } from '../api.ts';
import { useT, type Key } from '../i18n.ts';
import { useSession } from '../session.tsx';
import { Field, SubmitButton } from '../components/Form.tsx';
import { Card, PageHeader } from '../components/Page.tsx';
import { Pairs } from '../components/Table.tsx';
import { ErrorBox, Loading } from '../components/States.tsx';

const MIN_LENGTH = 10;

export function Account() {
  const { t } = useT();
  const { me } = useSession();
  if (!me) return <Loading />;
  return (
    <>
      <PageHeader title={t('account.title')} subtitle={t('account.subtitle')} />
      <div className="grid-2">
        <Card title={t('account.info')}>
          <Pairs
            items={[
              [t('account.name'), me.user?.name ?? me.apiKey ?? '—'],
              [t('account.email'), me.user?.email ?? '—'],
              [t('account.role'), t(`role.${me.role}` as Key)],
            ]}
          />
        </Card>
        {me.user ? (
          <PasswordForm />
        ) : (
          <Card title={t('account.password')}>
            <p className="muted">{t('account.apiKey')}</p>
          </Card>
        )}
      </div>
    </>
  );
}

/** The password form; `first`: the forced change at a first login (no other page opens before it). */
export function PasswordForm({ first = false, onChanged }: { first?: boolean; onChanged?: () => void }) {
  const { t } = useT();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const change = useAction(async () => {
    await api('/api/v1/auth/password', { json: { currentPassword: current, newPassword: next } });
    setCurrent('');
    setNext('');
    setConfirm('');
    setDone(true);
    onChanged?.();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    if (next.length < MIN_LENGTH) return setProblem(t('account.tooShort'));
    if (next !== confirm) return setProblem(t('account.mismatch'));
    setProblem(null);
    void change.run();
  };
  const wrongCurrent = change.error instanceof ApiError && change.error.status === 403;
  return (
    <Card title={t(first ? 'account.firstTitle' : 'account.password')}>
      <form className="stack" onSubmit={submit} noValidate>
        <p className="muted small">{t(first ? 'account.firstNote' : 'account.passwordNote')}</p>
        <Field label={t('account.current')}>
          <input type="password" required autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
        </Field>
        <Field label={t('account.new')} hint={t('account.newHint')}>
          <input
            type="password"
            required
            minLength={MIN_LENGTH}
            autoComplete="new-password"
            value={next}
            aria-invalid={problem === t('account.tooShort') || undefined}
            onChange={(e) => setNext(e.target.value)}
          />
        </Field>
        <Field label={t('account.confirm')}>
          <input
            type="password"
            required
            autoComplete="new-password"
            value={confirm}
            aria-invalid={problem === t('account.mismatch') || undefined}
            onChange={(e) => setConfirm(e.target.value)}
          />
        </Field>
        {problem && (
          <p className="field-error" role="alert">
            {problem}
          </p>
        )}
        <ErrorBox error={change.error} plain title={wrongCurrent ? t('account.wrongCurrent') : t('account.failed')} />
        {done && (
          <div className="notice success" role="status">
            {t('account.changed')}
          </div>
        )}
        <div className="form-actions">
          <SubmitButton busy={change.busy} disabled={!current || !next || !confirm}>
            {t('account.submit')}
          </SubmitButton>
        </div>
      </form>
    </Card>
  );
}
