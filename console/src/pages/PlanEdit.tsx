/**
 * Create or change a plan: key, name, once or recurring, audience segment, channel, variants (a
 * template per content field, with weights), control share, goal. Triggered plans and anything
 * else the API accepts can be edited as JSON.
 */
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, useAction, useApi } from '../api.ts';
import { useT } from '../i18n.ts';
import type { Channel } from '../../../src/contract/channels.ts';
import type { Plan, PlanInfo } from '../../../src/contract/plans.ts';
import type { Segment } from '../../../src/contract/segments.ts';
import { Check, CheckList, Field, SubmitButton, numberOrUndefined, splitList } from '../components/Form.tsx';
import { Card, PageHeader, Tabs } from '../components/Page.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { JsonEditor, parseJson } from '../components/JsonEditor.tsx';

interface VariantForm {
  key: string;
  weight: string;
  fields: Array<{ field: string; text: string }>;
}

interface PlanForm {
  key: string;
  name: string;
  segment: string;
  exclude: string[];
  channel: string;
  purpose: 'marketing' | 'transactional';
  scheduleKind: 'once' | 'recurring';
  at: string;
  cron: string;
  enterOnce: boolean;
  until: string;
  variants: VariantForm[];
  controlPercent: string;
  goalKind: '' | 'order' | 'event';
  goalEvent: string;
  goalSkus: string;
  goalWindow: string;
}

const DEFAULT_FIELDS: Record<string, string[]> = { email: ['subject', 'text'], miniprogram: ['template_id', 'data.thing1'], official_account: ['template_id', 'data.first'] };
const fieldsFor = (kind: string | undefined) => (DEFAULT_FIELDS[kind ?? ''] ?? ['text']).map((field) => ({ field, text: '' }));

/** An ISO time as a datetime-local value (local time), and back. */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromLocalInput = (value: string) => (value ? new Date(value).toISOString() : undefined);

function emptyForm(): PlanForm {
  return {
    key: '',
    name: '',
    segment: '',
    exclude: [],
    channel: '',
    purpose: 'marketing',
    scheduleKind: 'once',
    at: '',
    cron: '0 10 * * 1',
    enterOnce: false,
    until: '',
    variants: [{ key: 'A', weight: '1', fields: fieldsFor(undefined) }],
    controlPercent: '10',
    goalKind: 'order',
    goalEvent: '',
    goalSkus: '',
    goalWindow: '7',
  };
}

function fromPlan(plan: Plan): PlanForm {
  const schedule = plan.schedule;
  return {
    key: plan.key,
    name: plan.name,
    segment: plan.audience.segment ?? '',
    exclude: plan.audience.exclude ?? [],
    channel: plan.channel,
    purpose: plan.purpose ?? 'marketing',
    scheduleKind: schedule.kind === 'recurring' ? 'recurring' : 'once',
    at: schedule.kind === 'once' ? toLocalInput(schedule.at) : '',
    cron: schedule.kind === 'recurring' ? schedule.cron : '0 10 * * 1',
    enterOnce: schedule.kind === 'recurring' ? (schedule.enterOnce ?? false) : false,
    until: schedule.kind === 'recurring' ? toLocalInput(schedule.until) : '',
    variants: plan.variants.map((v) => ({ key: v.key, weight: String(v.weight ?? 1), fields: Object.entries(v.template).map(([field, text]) => ({ field, text })) })),
    controlPercent: String(plan.controlPercent ?? 0),
    goalKind: plan.goal?.kind ?? '',
    goalEvent: plan.goal?.event ?? '',
    goalSkus: (plan.goal?.skus ?? []).join(', '),
    goalWindow: String(plan.goal?.windowDays ?? 7),
  };
}

function toPlan(form: PlanForm, keep?: Plan): Plan {
  const skus = splitList(form.goalSkus);
  return {
    key: form.key.trim(),
    name: form.name.trim(),
    audience: {
      segment: form.segment || undefined,
      exclude: form.exclude.filter((key) => key !== form.segment),
      ...(keep?.audience.excludeConvertedDays && form.goalKind ? { excludeConvertedDays: keep.audience.excludeConvertedDays } : {}),
    },
    channel: form.channel,
    purpose: form.purpose,
    variants: form.variants.map((v) => ({
      key: v.key.trim(),
      weight: numberOrUndefined(v.weight) ?? 1,
      template: Object.fromEntries(v.fields.filter((f) => f.field.trim()).map((f) => [f.field.trim(), f.text])),
    })),
    controlPercent: numberOrUndefined(form.controlPercent) ?? 0,
    ...(form.goalKind
      ? {
          goal: {
            kind: form.goalKind,
            ...(form.goalKind === 'event' ? { event: form.goalEvent.trim() } : {}),
            ...(skus.length && form.goalKind === 'order' ? { skus } : {}),
            windowDays: numberOrUndefined(form.goalWindow) ?? 7,
          },
        }
      : {}),
    schedule:
      form.scheduleKind === 'once'
        ? { kind: 'once', ...(form.at ? { at: fromLocalInput(form.at) } : {}) }
        : { kind: 'recurring', cron: form.cron.trim(), enterOnce: form.enterOnce, ...(form.until ? { until: fromLocalInput(form.until) } : {}) },
  };
}

export function PlanEdit() {
  const { key } = useParams();
  const existing = useApi<PlanInfo>(key ? `/api/v1/plans/${encodeURIComponent(key)}` : null);
  const channels = useApi<{ channels: Channel[] }>('/api/v1/channels');
  const segments = useApi<{ segments: Segment[] }>('/api/v1/segments');
  if (existing.error || channels.error || segments.error)
    return <ErrorBox error={existing.error ?? channels.error ?? segments.error} onRetry={() => [existing, channels, segments].forEach((resource) => resource.reload())} />;
  if ((key && !existing.data) || !channels.data || !segments.data) return <Loading />;
  return <PlanEditor key={key ?? 'new'} existing={existing.data?.plan} channels={channels.data.channels} segments={segments.data.segments} />;
}

function PlanEditor({ existing, channels, segments }: { existing?: Plan; channels: Channel[]; segments: Segment[] }) {
  const i18n = useT();
  const { t } = i18n;
  const navigate = useNavigate();
  const isNew = !existing;
  const formable = existing?.schedule.kind !== 'triggered';
  const [mode, setMode] = useState<'form' | 'json'>(formable ? 'form' : 'json');
  const [form, setForm] = useState<PlanForm>(() =>
    existing && formable ? fromPlan(existing) : { ...emptyForm(), channel: channels[0]?.key ?? '', variants: [{ key: 'A', weight: '1', fields: fieldsFor(channels[0]?.kind) }] },
  );
  const [json, setJson] = useState(() => JSON.stringify(existing ?? toPlan(form), null, 2));
  const set = (patch: Partial<PlanForm>) => setForm((f) => ({ ...f, ...patch }));
  const setVariant = (i: number, patch: Partial<VariantForm>) => set({ variants: form.variants.map((v, j) => (j === i ? { ...v, ...patch } : v)) });
  const channelKind = channels.find((c) => c.key === form.channel)?.kind;

  const switchTo = (next: 'form' | 'json') => {
    if (next === mode) return;
    if (next === 'json') setJson(JSON.stringify(toPlan(form, existing), null, 2));
    else {
      const parsed = parseJson(json).value as Plan | undefined;
      if (!parsed || parsed.schedule?.kind === 'triggered' || !Array.isArray(parsed.variants)) return;
      setForm(fromPlan(parsed));
    }
    setMode(next);
  };

  const save = useAction(async () => {
    const body = mode === 'json' ? (parseJson(json).value as Plan) : toPlan(form, existing);
    if (isNew) await api('/api/v1/plans', { json: body });
    else await api(`/api/v1/plans/${encodeURIComponent(existing.key)}`, { method: 'PUT', json: body });
    navigate(`/plans/${body.key}`);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };

  const header = (
    <PageHeader
      title={isNew ? t('plans.new') : existing.name}
      subtitle={isNew ? t('plans.newSubtitle') : t('plans.editSubtitle')}
      actions={
        <Link className="btn" to={isNew ? '/plans' : `/plans/${existing.key}`}>
          {t('common.cancel')}
        </Link>
      }
    />
  );
  if (channels.length === 0 || segments.length === 0) {
    return (
      <>
        {header}
        <Empty
          title={channels.length === 0 ? t('plans.noChannels') : t('plans.noSegments')}
          hint={channels.length === 0 ? t('plans.noChannelsHint') : t('plans.noSegmentsHint')}
          action={
            <Link className="btn btn-primary" to={channels.length === 0 ? '/settings?tab=channels' : '/segments/new'}>
              {channels.length === 0 ? t('plans.addChannel') : t('segments.new')}
            </Link>
          }
        />
      </>
    );
  }

  return (
    <>
      {header}
      <form onSubmit={submit} className="stack">
        <Card
          title={t('plans.definition')}
          actions={
            <Tabs
              label={t('plans.definition')}
              active={mode}
              onChange={switchTo}
              tabs={[
                { key: 'form', label: t('tags.formMode') },
                { key: 'json', label: 'JSON' },
              ]}
            />
          }
        >
          {mode === 'json' ? (
            <JsonEditor label={t('plans.json')} value={json} onChange={setJson} rows={22} />
          ) : (
            <div className="stack">
              <div className="form-grid">
                <Field label={t('plans.key')} hint={t('segments.keyHint')}>
                  <input value={form.key} required disabled={!isNew} pattern="[a-z][a-z0-9_]{1,62}" placeholder="gold_week" onChange={(e) => set({ key: e.target.value })} />
                </Field>
                <Field label={t('plans.name')}>
                  <input value={form.name} required onChange={(e) => set({ name: e.target.value })} />
                </Field>
                <Field label={t('plans.audience')}>
                  <select value={form.segment} required onChange={(e) => set({ segment: e.target.value })}>
                    <option value="">{t('common.choose')}</option>
                    {segments.map((s) => (
                      <option key={s.key} value={s.key}>
                        {i18n.named(s.name)} ({s.key})
                      </option>
                    ))}
                  </select>
                </Field>
                <CheckList
                  legend={t('plans.exclude')}
                  options={segments.filter((s) => s.key !== form.segment).map((s) => ({ value: s.key, label: i18n.named(s.name) }))}
                  value={form.exclude.filter((key) => key !== form.segment)}
                  onChange={(exclude) => set({ exclude })}
                  empty={t('plans.excludeNone')}
                />
                <Field label={t('plans.channel')}>
                  <select value={form.channel} required onChange={(e) => set({ channel: e.target.value })}>
                    {channels.map((c) => (
                      <option key={c.key} value={c.key}>
                        {c.name ?? c.key} ({c.kind})
                      </option>
                    ))}
                  </select>
                </Field>
                <Field label={t('plans.purpose')} hint={t('plans.purposeHint')}>
                  <select value={form.purpose} onChange={(e) => set({ purpose: e.target.value as PlanForm['purpose'] })}>
                    <option value="marketing">{t('plans.marketing')}</option>
                    <option value="transactional">{t('plans.transactional')}</option>
                  </select>
                </Field>
              </div>
              <fieldset className="fieldset">
                <legend>{t('plans.schedule')}</legend>
                <div className="form-grid">
                  <Field label={t('plans.kind')}>
                    <select value={form.scheduleKind} onChange={(e) => set({ scheduleKind: e.target.value as PlanForm['scheduleKind'] })}>
                      <option value="once">{t('plans.once')}</option>
                      <option value="recurring">{t('plans.recurring')}</option>
                    </select>
                  </Field>
                  {form.scheduleKind === 'once' ? (
                    <Field label={t('plans.at')} hint={t('plans.atHint')}>
                      <input type="datetime-local" value={form.at} onChange={(e) => set({ at: e.target.value })} />
                    </Field>
                  ) : (
                    <>
                      <Field label={t('plans.cron')} hint={t('plans.cronHint')}>
                        <input value={form.cron} required className="mono" onChange={(e) => set({ cron: e.target.value })} />
                      </Field>
                      <Field label={t('plans.until')}>
                        <input type="datetime-local" value={form.until} onChange={(e) => set({ until: e.target.value })} />
                      </Field>
                      <Check label={t('plans.enterOnce')} checked={form.enterOnce} onChange={(enterOnce) => set({ enterOnce })} />
                    </>
                  )}
                </div>
              </fieldset>
              <fieldset className="fieldset">
                <legend>{t('plans.variants')}</legend>
                <p className="muted small">{t('plans.templateHint')}</p>
                {form.variants.map((v, i) => (
                  <div className="variant" key={i}>
                    <div className="row-editor">
                      <Field label={t('plans.variantKey', { n: i + 1 })}>
                        <input value={v.key} required pattern="[A-Za-z0-9_\-]{1,32}" onChange={(e) => setVariant(i, { key: e.target.value })} />
                      </Field>
                      <Field label={t('plans.weight')}>
                        <input type="number" min={0.01} step="any" value={v.weight} onChange={(e) => setVariant(i, { weight: e.target.value })} />
                      </Field>
                      <button
                        type="button"
                        className="btn btn-small btn-ghost"
                        disabled={form.variants.length <= 1}
                        aria-label={t('plans.removeVariant', { key: v.key })}
                        onClick={() => set({ variants: form.variants.filter((_, j) => j !== i) })}
                      >
                        ✕
                      </button>
                    </div>
                    {v.fields.map((f, k) => (
                      <div className="template-field" key={k}>
                        <Field label={t('plans.field')}>
                          <input
                            value={f.field}
                            required
                            className="mono"
                            onChange={(e) => setVariant(i, { fields: v.fields.map((x, j) => (j === k ? { ...x, field: e.target.value } : x)) })}
                          />
                        </Field>
                        <Field label={t('plans.template', { key: v.key, field: f.field })}>
                          <textarea
                            rows={3}
                            value={f.text}
                            required
                            onChange={(e) => setVariant(i, { fields: v.fields.map((x, j) => (j === k ? { ...x, text: e.target.value } : x)) })}
                          />
                        </Field>
                      </div>
                    ))}
                    <button type="button" className="btn btn-small" onClick={() => setVariant(i, { fields: [...v.fields, { field: '', text: '' }] })}>
                      {t('plans.addField')}
                    </button>
                  </div>
                ))}
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={form.variants.length >= 10}
                  onClick={() => set({ variants: [...form.variants, { key: String.fromCharCode(65 + form.variants.length), weight: '1', fields: fieldsFor(channelKind) }] })}
                >
                  {t('plans.addVariant')}
                </button>
                <div className="form-grid">
                  <Field label={t('plans.control')} hint={t('plans.controlHint')}>
                    <input type="number" min={0} max={90} step="any" value={form.controlPercent} onChange={(e) => set({ controlPercent: e.target.value })} />
                  </Field>
                </div>
              </fieldset>
              <fieldset className="fieldset">
                <legend>{t('plans.goal')}</legend>
                <div className="form-grid">
                  <Field label={t('plans.goalKind')}>
                    <select value={form.goalKind} onChange={(e) => set({ goalKind: e.target.value as PlanForm['goalKind'] })}>
                      <option value="">{t('plans.noGoal')}</option>
                      <option value="order">{t('plans.goalOrder')}</option>
                      <option value="event">{t('plans.goalEvent')}</option>
                    </select>
                  </Field>
                  {form.goalKind === 'event' && (
                    <Field label={t('plans.goalEventName')}>
                      <input value={form.goalEvent} required placeholder="Order Completed" onChange={(e) => set({ goalEvent: e.target.value })} />
                    </Field>
                  )}
                  {form.goalKind === 'order' && (
                    <Field label={t('plans.goalSkus')} hint={t('cond.valuesHint')}>
                      <input value={form.goalSkus} onChange={(e) => set({ goalSkus: e.target.value })} />
                    </Field>
                  )}
                  {form.goalKind && (
                    <Field label={t('plans.goalWindow')}>
                      <input type="number" min={1} max={365} value={form.goalWindow} onChange={(e) => set({ goalWindow: e.target.value })} />
                    </Field>
                  )}
                </div>
              </fieldset>
            </div>
          )}
        </Card>
        <ErrorBox error={save.error} title={t('plans.saveFailed')} />
        <div className="form-actions">
          <SubmitButton busy={save.busy} disabled={mode === 'json' && parseJson(json).error !== undefined}>
            {isNew ? t('plans.create') : t('common.save')}
          </SubmitButton>
        </div>
      </form>
    </>
  );
}
