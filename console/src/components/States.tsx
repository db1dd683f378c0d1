/** Loading, empty and error states: every page shows one of these instead of a blank area. */
import type { ReactNode } from 'react';
import { ApiError } from '../api.ts';
import { useT } from '../i18n.ts';

export function Loading({ label }: { label?: string }) {
  const { t } = useT();
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label ?? t('common.loading')}
    </div>
  );
}

/** Nothing to show yet, and what to do about it. */
export function Empty({ title, hint, action }: { title: string; hint?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {hint && <p className="state-hint">{hint}</p>}
      {action && <div className="state-action">{action}</div>}
    </div>
  );
}

/**
 * What went wrong, in the server's words, with the validation issues by path when there are some.
 * A 403 reads as "your role may not" unless `plain` (where a 403 means something else: a wrong password).
 */
export function ErrorBox({ error, onRetry, title, plain }: { error: Error | undefined | null; onRetry?: () => void; title?: string; plain?: boolean }) {
  const { t } = useT();
  if (!error) return null;
  const issues = error instanceof ApiError ? error.issues : [];
  const status = !plain && error instanceof ApiError && error.status === 403 ? t('error.forbidden') : undefined;
  return (
    <div className="error-box" role="alert">
      <strong>{title ?? t('error.title')}</strong>
      <span className="error-message">{status ?? error.message}</span>
      {status && <span className="error-detail">{error.message}</span>}
      {issues.length > 1 && (
        <ul className="issues">
          {issues.map((issue, i) => (
            <li key={i}>
              <code>{issue.path}</code> {issue.message}
            </li>
          ))}
        </ul>
      )}
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}
