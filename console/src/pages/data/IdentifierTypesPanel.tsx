/** The workspace's identifier types, highest priority first; admins declare new ones. */
import { useState, type FormEvent } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import type { IdentifierType, OneIdSettings } from '../../../../src/contract/identity.ts';
import { Check, Field, SubmitButton } from '../../components/Form.tsx';
import { Card } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const NORMALISERS = ['trim', 'lower', 'phone_cn', 'email'] as const;

export function IdentifierTypesPanel({ canAdd }: { canAdd: boolean }) {
  const { t } = useT();
  const types = useApi<{ types: IdentifierType[] }>('/api/v1/identifier-types');
  return (
    <div className="stack">
      <Card title={t('identifiers.title')}>
        {types.error ? (
          <ErrorBox error={types.error} onRetry={types.reload} />
        ) : !types.data ? (
          <Loading />
        ) : (
          <Table
            rows={types.data.types}
            rowKey={(r) => r.name}
            empty={<Empty title={t('identifiers.none')} />}
            columns={[
              { key: 'name', header: t('identifiers.name'), render: (r) => <code>{r.name}</code> },
              { key: 'label', header: t('identifiers.label'), render: (r) => r.label },
              { key: 'priority', header: t('identifiers.priority'), align: 'right', render: (r) => r.priority },
              { key: 'single', header: t('identifiers.single'), render: (r) => (r.singleValued ? '✓' : '') },
              { key: 'cap', header: t('identifiers.cap'), align: 'right', render: (r) => r.maxPeoplePerValue },
              { key: 'parent', header: t('identifiers.parent'), render: (r) => r.parent ?? '—' },
              { key: 'normaliser', header: t('identifiers.normaliser'), render: (r) => r.normaliser },
              { key: 'strong', header: t('identifiers.strong'), render: (r) => (r.strong ? '✓' : t('identifiers.weak')) },
            ]}
          />
        )}
      </Card>
      <OneIdSettingsCard canEdit={canAdd} />
      {canAdd && <AddIdentifierType onAdded={types.reload} />}
    </div>
  );
}

function AddIdentifierType({ onAdded }: { onAdded: () => void }) {
  const { t } = useT();
  const [form, setForm] = useState({
    name: '',
    label: '',
    priority: '50',
    maxPeoplePerValue: '1',
    parent: '',
    normaliser: 'trim' as (typeof NORMALISERS)[number],
    singleValued: false,
    strong: true,
  });
  const set = (change: Partial<typeof form>) => setForm((f) => ({ ...f, ...change }));
  const add = useAction(async () => {
    await api('/api/v1/identifier-types', {
      json: {
        name: form.name.trim(),
        label: form.label.trim(),
        priority: Number(form.priority),
        maxPeoplePerValue: Number(form.maxPeoplePerValue),
        singleValued: form.singleValued,
        strong: form.strong,
        normaliser: form.normaliser,
        ...(form.parent.trim() ? { parent: form.parent.trim() } : {}),
      },
    });
    set({ name: '', label: '' });
    onAdded();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void add.run();
  };
  return (
    <Card title={t('identifiers.add')}>
      <form className="form-grid" onSubmit={submit}>
        <Field label={t('identifiers.name')} hint={t('identifiers.nameHint')}>
          <input value={form.name} required placeholder="staff_no" onChange={(e) => set({ name: e.target.value })} />
        </Field>
        <Field label={t('identifiers.label')}>
          <input value={form.label} required onChange={(e) => set({ label: e.target.value })} />
        </Field>
        <Field label={t('identifiers.priority')}>
          <input type="number" min={0} max={1000} required value={form.priority} onChange={(e) => set({ priority: e.target.value })} />
        </Field>
        <Field label={t('identifiers.cap')} hint={t('identifiers.capHint')}>
          <input type="number" min={1} required value={form.maxPeoplePerValue} onChange={(e) => set({ maxPeoplePerValue: e.target.value })} />
        </Field>
        <Field label={t('identifiers.normaliser')}>
          <select value={form.normaliser} onChange={(e) => set({ normaliser: e.target.value as typeof form.normaliser })}>
            {NORMALISERS.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </Field>
        <Field label={t('identifiers.parent')}>
          <input value={form.parent} placeholder="unionid" onChange={(e) => set({ parent: e.target.value })} />
        </Field>
        <div className="checks span-all">
          <Check label={t('identifiers.single')} checked={form.singleValued} onChange={(v) => set({ singleValued: v })} />
          <Check label={t('identifiers.strong')} checked={form.strong} onChange={(v) => set({ strong: v })} />
        </div>
        <div className="form-actions span-all">
          <SubmitButton busy={add.busy}>{t('identifiers.addSubmit')}</SubmitButton>
        </div>
      </form>
      <ErrorBox error={add.error} />
    </Card>
  );
}

/** Probabilistic matching: on or off, automatic merges, the merge threshold and the review band below it. */
function OneIdSettingsCard({ canEdit }: { canEdit: boolean }) {
  const { t } = useT();
  const loaded = useApi<{ settings: OneIdSettings }>('/api/v1/identities/settings');
  return (
    <Card title={t('oneid.title')}>
      {loaded.error ? (
        <ErrorBox error={loaded.error} onRetry={loaded.reload} />
      ) : !loaded.data ? (
        <Loading />
      ) : (
        <OneIdForm key={JSON.stringify(loaded.data.settings)} initial={loaded.data.settings} canEdit={canEdit} onSaved={(settings) => loaded.setData({ settings })} />
      )}
    </Card>
  );
}

function OneIdForm({ initial, canEdit, onSaved }: { initial: OneIdSettings; canEdit: boolean; onSaved: (s: OneIdSettings) => void }) {
  const { t } = useT();
  const [form, setForm] = useState({ ...initial, mergeAt: String(initial.mergeAt), reviewAt: String(initial.reviewAt), maxBlock: String(initial.maxBlock) });
  const set = (change: Partial<typeof form>) => setForm((f) => ({ ...f, ...change }));
  const save = useAction(async () => {
    const { settings } = await api<{ settings: OneIdSettings }>('/api/v1/identities/settings', {
      method: 'PUT',
      json: { fuzzy: form.fuzzy, autoMerge: form.autoMerge, mergeAt: Number(form.mergeAt), reviewAt: Number(form.reviewAt), maxBlock: Number(form.maxBlock) },
    });
    onSaved(settings);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };
  return (
    <form onSubmit={submit}>
      <p className="muted small">{t('oneid.hint')}</p>
      <fieldset className="plain" disabled={!canEdit}>
        <div className="checks">
          <Check label={t('oneid.fuzzy')} checked={form.fuzzy} onChange={(fuzzy) => set({ fuzzy })} />
          <Check label={t('oneid.autoMerge')} checked={form.autoMerge} onChange={(autoMerge) => set({ autoMerge })} />
        </div>
        <div className="form-grid">
          <Field label={t('oneid.mergeAt')}>
            <input type="number" step="0.001" min={0.5} max={1} required value={form.mergeAt} onChange={(e) => set({ mergeAt: e.target.value })} />
          </Field>
          <Field label={t('oneid.reviewAt')}>
            <input type="number" step="0.001" min={0} max={1} required value={form.reviewAt} onChange={(e) => set({ reviewAt: e.target.value })} />
          </Field>
          <Field label={t('oneid.maxBlock')}>
            <input type="number" step={1} min={2} max={1000} required value={form.maxBlock} onChange={(e) => set({ maxBlock: e.target.value })} />
          </Field>
        </div>
      </fieldset>
      <ErrorBox error={save.error} />
      {canEdit && (
        <div className="form-actions">
          <SubmitButton busy={save.busy}>{t('common.save')}</SubmitButton>
        </div>
      )}
    </form>
  );
}
