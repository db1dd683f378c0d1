/** Form pieces: a labelled field (the label is bound to its input), a submit button that waits. */
import { cloneElement, isValidElement, useId, type ReactElement, type ReactNode } from 'react';
import { useT } from '../i18n.ts';

/** A label bound to its one input/select/textarea child by id, with an optional hint under it. */
export function Field({
  label,
  hint,
  children,
  className,
}: {
  label: ReactNode;
  hint?: ReactNode;
  children: ReactElement<{ id?: string; 'aria-describedby'?: string }>;
  className?: string;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const control = isValidElement(children) ? cloneElement(children, { id, 'aria-describedby': hint ? hintId : undefined }) : children;
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      {control}
      {hint && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

/** A checkbox with its label after it. */
export function Check({ label, checked, onChange, disabled }: { label: ReactNode; checked: boolean; onChange: (checked: boolean) => void; disabled?: boolean }) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
      {label}
    </label>
  );
}

/** `form`: the id of a form the button submits from outside it. */
export function SubmitButton({ busy, children, disabled, className, form }: { busy: boolean; children: ReactNode; disabled?: boolean; className?: string; form?: string }) {
  const { t } = useT();
  return (
    <button type="submit" form={form} className={`btn btn-primary ${className ?? ''}`} disabled={busy || disabled} aria-busy={busy}>
      {busy ? t('common.working') : children}
    </button>
  );
}

/** Text to a list: "a, b；c" → ["a", "b", "c"]. */
export function splitList(text: string): string[] {
  return text
    .split(/[,，;；\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A number input's value, or undefined when empty. */
export function numberOrUndefined(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Several choices as checkboxes in a group with a legend (easier than a multiple select). */
export function CheckList({
  legend,
  options,
  value,
  onChange,
  hint,
  empty,
}: {
  legend: ReactNode;
  options: Array<{ value: string; label: ReactNode }>;
  value: string[];
  onChange: (value: string[]) => void;
  hint?: ReactNode;
  empty?: ReactNode;
}) {
  return (
    <fieldset className="check-list">
      <legend>{legend}</legend>
      {options.length === 0 ? (
        <p className="muted small">{empty}</p>
      ) : (
        <div className="check-list-options">
          {options.map((option) => (
            <Check
              key={option.value}
              label={option.label}
              checked={value.includes(option.value)}
              onChange={(checked) => onChange(checked ? [...value, option.value] : value.filter((v) => v !== option.value))}
            />
          ))}
        </div>
      )}
      {hint && <small className="hint">{hint}</small>}
    </fieldset>
  );
}
