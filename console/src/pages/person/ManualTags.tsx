/**
 * Setting a manual tag on a person by hand (PUT /api/v1/people/:id/tags/:key {value}) or removing it
 * (DELETE): the input follows the tag's value type and its options (src/tags/definition.ts manual).
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, useAction } from '../../api.ts';
import { useT, type I18n } from '../../i18n.ts';
import type { TagListItem } from '../../../../src/contract/tags.ts';
import { CheckList, Field, SubmitButton } from '../../components/Form.tsx';
import { ErrorBox } from '../../components/States.tsx';

type ManualValue = string | number | boolean | string[];

function optionsOf(tag: TagListItem | undefined): string[] | undefined {
  return Array.isArray(tag?.options) ? (tag.options as string[]) : undefined;
}

/** A value as its input holds it: text, or a list for a list tag with options. */
function draftOf(value: unknown): string | string[] {
  if (Array.isArray(value)) return value.map(String);
  if (value === undefined || value === null) return '';
  return String(value);
}

/** The input's value as the API takes it, or undefined while it is not one. */
function valueOf(draft: string | string[], type: string): ManualValue | undefined {
  if (Array.isArray(draft)) return draft.length > 0 ? draft : undefined;
  const text = draft.trim();
  if (text === '') return undefined;
  switch (type) {
    case 'number': {
      const n = Number(text);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case 'string_list': {
      const list = text
        .split(/[,，;；]/)
        .map((s) => s.trim())
        .filter(Boolean);
      return list.length > 0 ? list : undefined;
    }
    default:
      return text;
  }
}

function valueLabel(value: unknown, { t }: I18n): string {
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  if (Array.isArray(value)) return value.join(', ');
  return value === undefined || value === null ? '—' : String(value);
}

export function ManualTagForm({
  personId,
  tags,
  current,
  onChanged,
}: {
  personId: number;
  tags: TagListItem[];
  current: Map<string, unknown>;
  onChanged: (message: string) => void;
}) {
  const i18n = useT();
  const { t } = i18n;
  const [key, setKey] = useState(tags[0]?.key ?? '');
  const [draft, setDraft] = useState<string | string[]>(() => initialDraft(tags[0], current));
  const tag = tags.find((x) => x.key === key);
  const type = tag?.valueType ?? 'string';
  const options = optionsOf(tag);
  const value = valueOf(draft, type);
  const has = current.has(key);
  const name = tag ? i18n.named(tag.name) || tag.key : key;

  const choose = (next: string) => {
    setKey(next);
    setDraft(
      initialDraft(
        tags.find((x) => x.key === next),
        current,
      ),
    );
  };
  const set = useAction(async () => {
    if (value === undefined) return;
    const answer = await api<{ value: ManualValue }>(`/api/v1/people/${personId}/tags/${encodeURIComponent(key)}`, { method: 'PUT', json: { value } });
    onChanged(t('person.manualSaved', { tag: name, value: valueLabel(answer?.value ?? value, i18n) }));
  });
  const remove = useAction(async () => {
    if (!window.confirm(t('person.manualRemoveConfirm', { tag: name }))) return;
    await api(`/api/v1/people/${personId}/tags/${encodeURIComponent(key)}`, { method: 'DELETE' });
    setDraft(initialDraft(tag, new Map()));
    onChanged(t('person.manualRemoved', { tag: name }));
  });
  const busy = set.busy || remove.busy;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void set.run();
  };

  let input: ReactNode;
  if (options && type === 'string_list') {
    input = <CheckList legend={t('person.manualValue')} options={options.map((o) => ({ value: o, label: o }))} value={Array.isArray(draft) ? draft : []} onChange={setDraft} />;
  } else {
    const control = options ? (
      <select value={String(draft)} onChange={(e) => setDraft(e.target.value)}>
        <option value="">{t('common.choose')}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    ) : type === 'boolean' ? (
      <select value={String(draft)} onChange={(e) => setDraft(e.target.value)}>
        <option value="">{t('common.choose')}</option>
        <option value="true">{t('common.yes')}</option>
        <option value="false">{t('common.no')}</option>
      </select>
    ) : (
      <input
        type={type === 'number' ? 'number' : type === 'date' ? 'date' : 'text'}
        step={type === 'number' ? 'any' : undefined}
        value={String(draft)}
        onChange={(e) => setDraft(e.target.value)}
      />
    );
    input = (
      <Field label={t('person.manualValue')} hint={type === 'string_list' ? t('person.manualListHint') : undefined}>
        {control}
      </Field>
    );
  }

  return (
    <form className="manual-tag-form" onSubmit={submit} aria-label={t('person.manualTitle')}>
      <h3>{t('person.manualTitle')}</h3>
      <div className="inline-form">
        <Field label={t('person.manualTag')} hint={has ? t('person.manualCurrent', { value: valueLabel(current.get(key), i18n) }) : undefined}>
          <select value={key} onChange={(e) => choose(e.target.value)}>
            {tags.map((x) => (
              <option key={x.key} value={x.key}>
                {i18n.named(x.name) || x.key}
              </option>
            ))}
          </select>
        </Field>
        {input}
        <SubmitButton busy={set.busy} disabled={busy || value === undefined}>
          {t('person.manualSet')}
        </SubmitButton>
        {has && (
          <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void remove.run()}>
            {remove.busy ? t('common.working') : t('person.manualRemove')}
          </button>
        )}
      </div>
      <ErrorBox error={set.error ?? remove.error} />
    </form>
  );
}

function initialDraft(tag: TagListItem | undefined, current: Map<string, unknown>): string | string[] {
  if (!tag) return '';
  const value = current.get(tag.key);
  if (tag.valueType === 'string_list' && optionsOf(tag)) return Array.isArray(value) ? value.map(String) : [];
  if (Array.isArray(value)) return value.map(String).join(', ');
  return draftOf(value);
}
