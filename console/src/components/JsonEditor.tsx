/**
 * A JSON text area for definitions the forms do not cover: parse errors at once, the server's
 * validation issues by path after a save or check.
 */
import { useId } from 'react';
import { useT } from '../i18n.ts';

export function parseJson(text: string): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export function JsonEditor({ label, value, onChange, rows = 16, readOnly }: { label: string; value: string; onChange: (text: string) => void; rows?: number; readOnly?: boolean }) {
  const { t } = useT();
  const id = useId();
  const parsed = parseJson(value);
  return (
    <div className="field json-editor">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        className="code"
        spellCheck={false}
        rows={rows}
        value={value}
        readOnly={readOnly}
        aria-invalid={parsed.error ? true : undefined}
        aria-describedby={parsed.error ? `${id}-error` : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {parsed.error && (
        <small id={`${id}-error`} className="field-error" role="alert">
          {t('json.invalid', { message: parsed.error })}
        </small>
      )}
    </div>
  );
}
