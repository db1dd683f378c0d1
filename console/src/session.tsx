/**
 * Who is using the console: GET /api/v1/auth/me once, then shared. The role decides what the
 * navigation shows and which write buttons exist; the server checks every call anyway.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, onUnauthorized } from './api.ts';
import type { Me, Role } from '../../src/contract/access.ts';

/** What a role may do in the console (mirrors the routes' role lists). */
export type Capability =
  | 'overview'
  | 'data.read'
  | 'data.import'
  | 'identity.admin'
  | 'reviews.decide'
  | 'build'
  | 'plans.read'
  | 'plans.preview'
  | 'export'
  | 'policy.read'
  | 'policy.write'
  | 'channels.read'
  | 'tasks.close'
  | 'people.annotate'
  | 'identity.fix'
  | 'admin';

const CAPABILITIES: Record<Capability, readonly Role[]> = {
  overview: ['admin', 'operator', 'analyst'],
  'data.read': ['admin', 'operator', 'analyst'],
  'data.import': ['admin', 'operator'],
  'identity.admin': ['admin'],
  'reviews.decide': ['admin', 'operator'],
  build: ['admin', 'operator'],
  'plans.read': ['admin', 'operator', 'analyst'],
  'plans.preview': ['admin', 'operator'],
  export: ['admin', 'operator'],
  'policy.read': ['admin', 'operator', 'analyst'],
  'policy.write': ['admin', 'operator'],
  'channels.read': ['admin', 'operator', 'analyst'],
  'tasks.close': ['admin', 'operator', 'staff'],
  // Notes and manual tags on a person; unbind and unmerge (OneID corrections).
  'people.annotate': ['admin', 'operator', 'staff'],
  'identity.fix': ['admin', 'operator'],
  admin: ['admin'],
};

function roleCan(role: Role | undefined, capability: Capability): boolean {
  return role !== undefined && CAPABILITIES[capability].includes(role);
}

/** Changes to the whole workspace's data: refused to a caller scoped to a team's sources or a guide's customers. */
const WORKSPACE_WIDE: ReadonlySet<Capability> = new Set<Capability>(['identity.fix', 'build', 'policy.write']);

function scoped(me: Me | null | undefined): boolean {
  return me?.permissions?.workspaceChanges === false || Boolean(me?.scope?.team || me?.scope?.staffUserId);
}

interface Session {
  /** undefined while loading; null when nobody is logged in. */
  me: Me | null | undefined;
  error: Error | undefined;
  can: (capability: Capability) => boolean;
  refresh: () => Promise<Me | null>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>();

  const refresh = useCallback(async () => {
    try {
      const who = await api<Me>('/api/v1/auth/me');
      setMe(who);
      setError(undefined);
      return who;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        setMe(null);
        return null;
      }
      setError(e as Error);
      setMe(null);
      return null;
    }
  }, []);

  useEffect(() => {
    onUnauthorized(() => setMe(null));
    void refresh();
  }, [refresh]);

  const logout = useCallback(async () => {
    await api('/api/v1/auth/logout', { method: 'POST' }).catch(() => undefined);
    setMe(null);
  }, []);

  const value = useMemo<Session>(() => ({ me, error, can: (c) => roleCan(me?.role, c) && !(WORKSPACE_WIDE.has(c) && scoped(me)), refresh, logout }), [me, error, refresh, logout]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The page a role starts on. */
export function homeOf(role: Role | undefined): string {
  return roleCan(role, 'overview') ? '/' : '/people';
}
