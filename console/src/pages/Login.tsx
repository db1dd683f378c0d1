/** Email and password; the server's message when it refuses. */
import { useState, type FormEvent } from 'react';
import { Navigate, useSearchParams } from 'react-router';
import { api, useAction } from '../api.ts';
import { useT } from '../i18n.ts';
import { homeOf, useSession } from '../session.tsx';
import { Field, SubmitButton } from '../components/Form.tsx';
import { ErrorBox } from '../components/States.tsx';
import { LangSwitch } from '../components/LangSwitch.tsx';

export function Login() {
  const { t } = useT();
  const { me, refresh } = useSession();
  const [params] = useSearchParams();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // Where the user was going before the login page (a path inside the console only).
  const next = params.get('next');
  const login = useAction(async () => {
    await api('/api/v1/auth/login', { json: { email: email.trim(), password } });
    await refresh();
  });
  if (me) return <Navigate to={next?.startsWith('/') && !next.startsWith('//') ? next : homeOf(me.role)} replace />;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void login.run();
  };
  return (
    <div className="login-page">
      <div className="login-lang">
        <LangSwitch />
      </div>
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand login-brand">
          <span className="brand-mark" aria-hidden="true">
            私
          </span>
          <span className="brand-name">Siyu 私域</span>
        </div>
        <h1 id="login-title">{t('login.title')}</h1>
        <p className="muted">{t('login.subtitle')}</p>
        <Field label={t('login.email')}>
          <input type="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        <Field label={t('login.password')}>
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <ErrorBox error={login.error} title={t('login.failed')} />
        <SubmitButton busy={login.busy} className="btn-block">
          {t('login.submit')}
        </SubmitButton>
        <p className="muted small">{t('login.help')}</p>
      </form>
    </div>
  );
}
