/** Page furniture: a title with actions, cards, badges and tabs. */
import type { ReactNode } from 'react';
import { useT } from '../i18n.ts';

export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle && <p className="page-subtitle">{subtitle}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </header>
  );
}

export function Card({ title, actions, children, className, id }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; id?: string }) {
  return (
    <section className={`card ${className ?? ''}`} aria-labelledby={title && id ? `${id}-title` : undefined} id={id}>
      {(title || actions) && (
        <div className="card-header">
          {title && <h2 id={id ? `${id}-title` : undefined}>{title}</h2>}
          {actions && <div className="card-actions">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

const TONES: Record<string, string> = {
  completed: 'green',
  running: 'blue',
  scheduled: 'blue',
  paused: 'amber',
  failed: 'red',
  draft: 'grey',
  granted: 'green',
  revoked: 'red',
  sent: 'blue',
  delivered: 'green',
  clicked: 'green',
  stopped: 'amber',
  parked: 'amber',
  pending: 'amber',
  accepted: 'green',
  rejected: 'grey',
  queued: 'grey',
  open: 'amber',
  done: 'green',
};

/** A status: coloured by its API value, shown in the current language when the dictionary knows it. */
export function Badge({ children, tone }: { children: ReactNode; tone?: string }) {
  const { tx } = useT();
  const key = typeof children === 'string' ? children : '';
  return (
    <span className={`badge badge-${tone ?? TONES[key] ?? 'grey'}`} data-status={key || undefined}>
      {key ? tx(`status.${key}`, key) : children}
    </span>
  );
}

export function Tabs<K extends string>({ tabs, active, onChange, label }: { tabs: Array<{ key: K; label: ReactNode }>; active: K; onChange: (key: K) => void; label: string }) {
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((tab) => (
        <button key={tab.key} type="button" role="tab" aria-selected={tab.key === active} className={tab.key === active ? 'tab active' : 'tab'} onClick={() => onChange(tab.key)}>
          {tab.label}
        </button>
      ))}
    </div>
  );
}

/** A row of small values: identifiers, sources. */
export function Chips({ items }: { items: ReactNode[] }) {
  if (items.length === 0) return <span className="muted">—</span>;
  return (
    <span className="chips">
      {items.map((item, i) => (
        <span key={i} className="chip">
          {item}
        </span>
      ))}
    </span>
  );
}
