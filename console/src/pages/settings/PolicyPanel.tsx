/** Frequency caps, quiet hours and the test whitelist (GET/PUT /api/v1/policy). */
import { useState, type FormEvent } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import type { Policy } from '../../../../src/contract/policy.ts';
import { Check, Field, SubmitButton, splitList } from '../../components/Form.tsx';
import { Card } from '../../components/Page.tsx';
import { ErrorBox, Loading } from '../../components/States.tsx';

export function PolicyPanel({ canEdit }: { canEdit: boolean }) {
  const policy = useApi<{ policy: Policy }>('/api/v1/policy');
  if (policy.error) return <ErrorBox error={policy.error} onRetry={policy.reload} />;
  if (!policy.data) return <Loading />;
  return <PolicyForm key={JSON.stringify(policy.data.policy)} initial={policy.data.policy} canEdit={canEdit} onSaved={(p) => policy.setData({ policy: p })} />;
}

function PolicyForm({ initial, canEdit, onSaved }: { initial: Policy; canEdit: boolean; onSaved: (p: Policy) => void }) {
  const { t } = useT();
  const [caps, setCaps] = useState(initial.caps.map((c) => ({ channels: c.channels.join(', '), windowHours: String(c.windowHours), max: String(c.max) })));
  const [quiet, setQuiet] = useState(initial.quietHours ?? { start: '21:00', end: '09:00', action: 'delay' as const });
  const [quietOn, setQuietOn] = useState(initial.quietHours !== null);
  const [whitelist, setWhitelist] = useState(initial.testWhitelist.join(', '));
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    setSaved(false);
    const body: Policy = {
      caps: caps.map((c) => ({ channels: splitList(c.channels).length ? splitList(c.channels) : ['*'], windowHours: Number(c.windowHours), max: Number(c.max) })),
      quietHours: quietOn ? quiet : null,
      testWhitelist: splitList(whitelist).map(Number),
    };
    const { policy } = await api<{ policy: Policy }>('/api/v1/policy', { method: 'PUT', json: body });
    onSaved(policy);
    setSaved(true);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };
  return (
    <Card title={t('settings.policy')}>
      <form className="stack" onSubmit={submit}>
        <fieldset className="fieldset" disabled={!canEdit}>
          <legend>{t('policy.caps')}</legend>
          <p className="muted small">{t('policy.capsHint')}</p>
          {caps.map((c, i) => (
            <div className="row-editor" key={i}>
              <Field label={t('policy.channels')} hint={t('policy.channelsHint')}>
                <input value={c.channels} onChange={(e) => setCaps(caps.map((x, j) => (j === i ? { ...x, channels: e.target.value } : x)))} />
              </Field>
              <Field label={t('policy.windowHours')}>
                <input
                  type="number"
                  min={1}
                  max={2160}
                  required
                  value={c.windowHours}
                  onChange={(e) => setCaps(caps.map((x, j) => (j === i ? { ...x, windowHours: e.target.value } : x)))}
                />
              </Field>
              <Field label={t('policy.max')}>
                <input type="number" min={0} required value={c.max} onChange={(e) => setCaps(caps.map((x, j) => (j === i ? { ...x, max: e.target.value } : x)))} />
              </Field>
              <button type="button" className="btn btn-small btn-ghost" aria-label={t('common.remove')} onClick={() => setCaps(caps.filter((_, j) => j !== i))}>
                ✕
              </button>
            </div>
          ))}
          <button type="button" className="btn btn-small" onClick={() => setCaps([...caps, { channels: '*', windowHours: '24', max: '1' }])}>
            {t('policy.addCap')}
          </button>
        </fieldset>
        <fieldset className="fieldset" disabled={!canEdit}>
          <legend>{t('policy.quiet')}</legend>
          <Check label={t('policy.quietOn')} checked={quietOn} onChange={setQuietOn} />
          {quietOn && (
            <div className="form-grid">
              <Field label={t('policy.quietStart')}>
                <input type="time" required value={quiet.start} onChange={(e) => setQuiet({ ...quiet, start: e.target.value })} />
              </Field>
              <Field label={t('policy.quietEnd')}>
                <input type="time" required value={quiet.end} onChange={(e) => setQuiet({ ...quiet, end: e.target.value })} />
              </Field>
              <Field label={t('policy.quietAction')}>
                <select value={quiet.action} onChange={(e) => setQuiet({ ...quiet, action: e.target.value as 'delay' | 'drop' })}>
                  <option value="delay">{t('policy.delay')}</option>
                  <option value="drop">{t('policy.drop')}</option>
                </select>
              </Field>
            </div>
          )}
        </fieldset>
        <fieldset className="fieldset" disabled={!canEdit}>
          <legend>{t('policy.whitelist')}</legend>
          <Field label={t('policy.whitelistIds')} hint={t('policy.whitelistHint')}>
            <input value={whitelist} onChange={(e) => setWhitelist(e.target.value)} />
          </Field>
        </fieldset>
        <ErrorBox error={save.error} />
        {saved && (
          <div className="notice success" role="status">
            {t('common.saved')}
          </div>
        )}
        {canEdit ? (
          <div className="form-actions">
            <SubmitButton busy={save.busy}>{t('common.save')}</SubmitButton>
          </div>
        ) : (
          <p className="muted small">{t('common.readOnly')}</p>
        )}
      </form>
    </Card>
  );
}
