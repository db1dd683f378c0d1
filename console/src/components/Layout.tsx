/** The frame of every signed-in page: header (workspace, data scope, language, user) and the left nav. */
import type { ReactNode } from 'react';
import { NavLink, Navigate, Outlet, useLocation, useNavigate } from 'react-router';
import { useT, type Key } from '../i18n.ts';
import { useSession, type Capability } from '../session.tsx';
import { LangSwitch } from './LangSwitch.tsx';
import { Loading, ErrorBox } from './States.tsx';
import { PasswordForm } from '../pages/Account.tsx';

interface NavItem {
  to: string;
  label: Key;
  icon: string;
  /** Who sees it; everyone signed in when absent. */
  needs?: Capability;
  end?: boolean;
}

const NAV: NavItem[] = [
  { to: '/', label: 'nav.overview', icon: '◎', needs: 'overview', end: true },
  { to: '/data', label: 'nav.data', icon: '⇪', needs: 'data.read' },
  { to: '/people', label: 'nav.people', icon: '☺' },
  { to: '/tasks', label: 'nav.tasks', icon: '✓' },
  { to: '/tags', label: 'nav.tags', icon: '#', needs: 'data.read' },
  { to: '/segments', label: 'nav.segments', icon: '◍', needs: 'data.read' },
  { to: '/plans', label: 'nav.plans', icon: '➤', needs: 'plans.read' },
  { to: '/settings', label: 'nav.settings', icon: '⚙', needs: 'policy.read' },
];

export function Layout() {
  const { me, error, can, refresh } = useSession();
  const { t } = useT();
  const location = useLocation();
  if (me === undefined) return <Loading />;
  if (me === null) {
    if (error) return <ErrorBox error={error} onRetry={() => window.location.reload()} />;
    const next = location.pathname + location.search;
    return <Navigate to={`/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`} replace />;
  }
  // A generated first password opens nothing else (the server refuses every other call anyway).
  if (me.user?.mustChangePassword) {
    return (
      <main className="login-page">
        <div className="login-card">
          <PasswordForm first onChanged={() => void refresh()} />
          <LogoutButton />
        </div>
      </main>
    );
  }
  const team = me.scope?.team;
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            私
          </span>
          <span className="brand-name">Siyu</span>
          <span className="workspace-name" title={me.workspace.slug}>
            {me.workspace.name}
          </span>
        </div>
        <div className="topbar-right">
          {team && (
            <span className="scope-badge" title={team.sources.join(', ')}>
              {t('scope.team', { team: team.name })}
            </span>
          )}
          {me.scope?.staffUserId && <span className="scope-badge">{t('scope.staff', { staff: me.scope.staffUserId })}</span>}
          <LangSwitch />
          <NavLink
            to="/account"
            className={({ isActive }) => (isActive ? 'user user-link active' : 'user user-link')}
            title={`${t('account.open')}${me.user?.email ? ` · ${me.user.email}` : ''}`}
          >
            {me.user?.name ?? me.apiKey} · {t(`role.${me.role}` as Key)}
          </NavLink>
          <LogoutButton />
        </div>
      </header>
      <nav className="sidebar" aria-label={t('nav.label')}>
        <ul>
          {NAV.filter((item) => !item.needs || can(item.needs)).map((item) => (
            <li key={item.to}>
              <NavLink to={item.to} end={item.end} className={({ isActive }) => (isActive ? 'nav-link active' : 'nav-link')}>
                <span className="nav-icon" aria-hidden="true">
                  {item.icon}
                </span>
                {t(item.label)}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main className="content" id="main">
        <Outlet />
      </main>
    </div>
  );
}

/** A page for some roles only: others are told, not shown an error. */
/** Signs out and goes to the login page (the top bar, and the first-login password page). */
function LogoutButton() {
  const { logout } = useSession();
  const navigate = useNavigate();
  const { t } = useT();
  return (
    <button
      type="button"
      className="btn btn-ghost"
      onClick={async () => {
        await logout();
        navigate('/login');
      }}
    >
      {t('auth.logout')}
    </button>
  );
}

export function Allowed({ needs, children }: { needs: Capability; children: ReactNode }) {
  const { can } = useSession();
  const { t } = useT();
  if (!can(needs)) {
    return (
      <div className="state state-empty">
        <p className="state-title">{t('error.noAccess')}</p>
        <p className="state-hint">{t('error.noAccessHint')}</p>
      </div>
    );
  }
  return <>{children}</>;
}
