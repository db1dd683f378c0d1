/**
 * Channels: what each sends through and how it reaches people. Admins create, edit, test and delete
 * channels with a form per kind; each credential is a password field saved as a secret of the
 * workspace (PUT /api/v1/secrets/:name, write-only) and named by the channel. A set secret shows as
 * its hint (••••1234) with "replace"; its value never comes back to the browser.
 */
import { useState, type FormEvent } from 'react';
import { api, query, useAction, useApi } from '../../api.ts';
import { useT, type Key } from '../../i18n.ts';
import type { PersonHit } from '../../../../src/contract/people.ts';
import type { Channel } from '../../../../src/contract/channels.ts';
import { Check, Field, SubmitButton, numberOrUndefined } from '../../components/Form.tsx';
import { Card, Chips } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

const KINDS = ['webhook', 'sms', 'email', 'wecom', 'miniprogram', 'official_account'] as const;
type Kind = (typeof KINDS)[number];

interface SecretListing {
  name: string;
  hint: string;
  updatedAt: string;
}

/** One setting of a channel kind as the form shows it. `secret` fields hold a secret's name in the config; `envField` is their older environment-variable twin. */
interface FieldSpec {
  name: string;
  label: Key;
  type: 'text' | 'url' | 'number' | 'checkbox' | 'select' | 'secret';
  required?: boolean;
  options?: string[];
  placeholder?: string;
  envField?: string;
  /** Shown only for this SMS provider. */
  provider?: 'http' | 'aliyun';
}

const FIELDS: Record<Kind, FieldSpec[]> = {
  webhook: [
    { name: 'url', label: 'channels.f.url', type: 'url', required: true, placeholder: 'https://hooks.example.com/siyu' },
    { name: 'secret', label: 'channels.f.signingSecret', type: 'secret', required: true, envField: 'secretEnv' },
  ],
  sms: [
    { name: 'provider', label: 'channels.f.provider', type: 'select', options: ['http', 'aliyun'], required: true },
    { name: 'url', label: 'channels.f.url', type: 'url', required: true, provider: 'http', placeholder: 'https://sms.example.com/send' },
    { name: 'tokenSecret', label: 'channels.f.token', type: 'secret', required: true, provider: 'http', envField: 'tokenEnv' },
    { name: 'accessKeyId', label: 'channels.f.accessKeyId', type: 'text', required: true, provider: 'aliyun' },
    { name: 'accessKeySecret', label: 'channels.f.accessKeySecret', type: 'secret', required: true, provider: 'aliyun', envField: 'accessKeySecretEnv' },
    { name: 'signName', label: 'channels.f.signName', type: 'text', required: true, provider: 'aliyun' },
  ],
  email: [
    { name: 'host', label: 'channels.f.host', type: 'text', required: true, placeholder: 'smtp.example.com' },
    { name: 'port', label: 'channels.f.port', type: 'number', placeholder: '587' },
    { name: 'secure', label: 'channels.f.secure', type: 'checkbox' },
    { name: 'user', label: 'channels.f.user', type: 'text' },
    { name: 'passwordSecret', label: 'channels.f.password', type: 'secret', envField: 'passwordEnv' },
    { name: 'from', label: 'channels.f.from', type: 'text', required: true, placeholder: 'Brand <crm@example.com>' },
    { name: 'messageIdDomain', label: 'channels.f.messageIdDomain', type: 'text', required: true, placeholder: 'example.com' },
  ],
  wecom: [
    { name: 'corpId', label: 'channels.f.corpId', type: 'text', required: true, placeholder: 'ww0000000000000000' },
    { name: 'corpSecret', label: 'channels.f.corpSecret', type: 'secret', required: true, envField: 'corpSecretEnv' },
    { name: 'massMessageRule', label: 'channels.f.massMessageRule', type: 'select', options: ['days-per-month', 'seven-per-week', 'one-per-day'] },
  ],
  miniprogram: [
    { name: 'appId', label: 'channels.f.appId', type: 'text', required: true, placeholder: 'wx0000000000000000' },
    { name: 'appSecret', label: 'channels.f.appSecret', type: 'secret', required: true, envField: 'appSecretEnv' },
    { name: 'miniprogramState', label: 'channels.f.miniprogramState', type: 'select', options: ['formal', 'trial', 'developer'] },
  ],
  official_account: [
    { name: 'appId', label: 'channels.f.appId', type: 'text', required: true, placeholder: 'wx0000000000000000' },
    { name: 'appSecret', label: 'channels.f.appSecret', type: 'secret', required: true, envField: 'appSecretEnv' },
  ],
};

/** Extra message fields a test needs per kind (the text is always asked). */
const TEST_FIELDS: Record<Kind, Array<{ name: string; label: Key }>> = {
  webhook: [],
  sms: [{ name: 'templateCode', label: 'channels.test.templateCode' }],
  email: [{ name: 'subject', label: 'channels.test.subject' }],
  wecom: [{ name: 'sender', label: 'channels.test.sender' }],
  miniprogram: [{ name: 'template_id', label: 'channels.test.templateId' }],
  official_account: [{ name: 'template_id', label: 'channels.test.templateId' }],
};

function fieldsOf(kind: Kind, provider: string): FieldSpec[] {
  return FIELDS[kind].filter((f) => !f.provider || f.provider === provider);
}

/** A secret's name for a channel's field when the channel does not name one yet: "sms_main_token_secret". */
function defaultSecretName(channelKey: string, field: string): string {
  return `${channelKey}_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`.replace(/_secret_secret$/, '_secret').slice(0, 64);
}

/** The credentials a channel names, as "field: name (hint)". */
function secretChips(channel: Channel, secrets: Map<string, SecretListing>): string[] {
  const out: string[] = [];
  for (const spec of FIELDS[channel.kind as Kind] ?? []) {
    if (spec.type !== 'secret') continue;
    const name = channel.config[spec.name];
    const env = spec.envField ? channel.config[spec.envField] : undefined;
    if (typeof name === 'string') out.push(`${name} ${secrets.get(name)?.hint ?? '(?)'}`);
    else if (typeof env === 'string') out.push(`$${env}`);
  }
  return out;
}

export function ChannelsPanel({ canAdd }: { canAdd: boolean }) {
  const { t, money } = useT();
  const channels = useApi<{ channels: Channel[] }>('/api/v1/channels');
  // Only admins may list secrets (names and hints); others see the names the channels give.
  const secrets = useApi<{ secrets: SecretListing[] }>(canAdd ? '/api/v1/secrets' : null);
  const secretMap = new Map((secrets.data?.secrets ?? []).map((s) => [s.name, s]));
  const [editing, setEditing] = useState<Channel | null>(null);
  const [testing, setTesting] = useState<Channel | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const reload = () => {
    channels.reload();
    secrets.reload();
  };
  const remove = useAction(async (channel: Channel) => {
    if (!window.confirm(t('channels.confirmDelete', { key: channel.key }))) return;
    setNotice(null);
    await api(`/api/v1/channels/${encodeURIComponent(channel.key)}`, { method: 'DELETE' });
    setNotice(t('channels.deleted', { key: channel.key }));
    if (editing?.key === channel.key) setEditing(null);
    if (testing?.key === channel.key) setTesting(null);
    reload();
  });
  return (
    <div className="stack">
      <Card title={t('settings.channels')}>
        <p className="muted small">{t('channels.secretsNote')}</p>
        <ErrorBox error={remove.error} />
        {notice && (
          <div className="notice success" role="status">
            {notice}
          </div>
        )}
        {channels.error ? (
          <ErrorBox error={channels.error} onRetry={channels.reload} />
        ) : !channels.data ? (
          <Loading />
        ) : (
          <Table
            rows={channels.data.channels}
            rowKey={(c) => c.key}
            caption={t('settings.channels')}
            empty={<Empty title={t('channels.empty')} hint={canAdd ? t('channels.emptyHint') : t('channels.emptyReadOnly')} />}
            columns={[
              { key: 'key', header: t('channels.key'), render: (c) => <code>{c.key}</code> },
              { key: 'name', header: t('channels.name'), render: (c) => c.name ?? '—' },
              { key: 'kind', header: t('channels.kind'), render: (c) => c.kind },
              { key: 'consent', header: t('channels.consent'), render: (c) => t(c.consent === 'opt_in' ? 'channels.optIn' : 'channels.optOut') },
              { key: 'cost', header: t('channels.cost'), align: 'right', render: (c) => money(c.costPerMessage) },
              { key: 'rate', header: t('channels.rate'), align: 'right', render: (c) => c.ratePerMinute },
              { key: 'secrets', header: t('channels.secrets'), render: (c) => <Chips items={secretChips(c, secretMap).map((s) => <code key={s}>{s}</code>)} /> },
              {
                key: 'target',
                header: t('channels.target'),
                render: (c) => String(c.config.url ?? c.config.host ?? c.config.appId ?? c.config.corpId ?? c.config.accessKeyId ?? '—'),
              },
              ...(canAdd
                ? [
                    {
                      key: 'actions',
                      header: t('channels.actions'),
                      render: (c: Channel) => (
                        <span className="row-actions">
                          <button
                            type="button"
                            className="btn btn-small"
                            onClick={() => {
                              setTesting(null);
                              setEditing(c);
                            }}
                          >
                            {t('channels.edit')}
                          </button>{' '}
                          <button
                            type="button"
                            className="btn btn-small"
                            onClick={() => {
                              setEditing(null);
                              setTesting(c);
                            }}
                          >
                            {t('channels.testButton')}
                          </button>{' '}
                          <button type="button" className="btn btn-small btn-danger" disabled={remove.busy} onClick={() => void remove.run(c)}>
                            {t('channels.delete')}
                          </button>
                        </span>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Card>
      {canAdd && secrets.data && <SecretsCard secrets={secrets.data.secrets} onChanged={reload} />}
      {canAdd && testing && <TestSend key={`test-${testing.key}`} channel={testing} onClose={() => setTesting(null)} />}
      {canAdd && (
        <ChannelForm
          key={editing ? `edit-${editing.key}` : 'new'}
          existing={editing}
          secrets={secretMap}
          onCancel={() => setEditing(null)}
          onSaved={(key) => {
            setNotice(t('channels.saved', { key }));
            setEditing(null);
            reload();
          }}
        />
      )}
    </div>
  );
}

type Values = Record<string, string | boolean>;

function initialValues(existing: Channel | null): Values {
  if (!existing) return { provider: 'http' };
  const values: Values = {};
  for (const [k, v] of Object.entries(existing.config)) if (typeof v === 'string' || typeof v === 'boolean') values[k] = v;
  for (const [k, v] of Object.entries(existing.config)) if (typeof v === 'number') values[k] = String(v);
  return values;
}

function ChannelForm({
  existing,
  secrets,
  onSaved,
  onCancel,
}: {
  existing: Channel | null;
  secrets: Map<string, SecretListing>;
  onSaved: (key: string) => void;
  onCancel: () => void;
}) {
  const { t } = useT();
  const [key, setKey] = useState(existing?.key ?? '');
  const [name, setName] = useState(existing?.name ?? '');
  const [kind, setKind] = useState<Kind>((existing?.kind as Kind) ?? 'webhook');
  const [consent, setConsent] = useState<string>(existing?.consent ?? 'opt_out');
  const [cost, setCost] = useState(String(existing?.costPerMessage ?? 0));
  const [values, setValues] = useState<Values>(initialValues(existing));
  /** Secret values typed in this form, by field; sent to the secret store on save and then forgotten. */
  const [typed, setTyped] = useState<Record<string, string>>({});
  /** Secret fields whose stored value is being replaced (shows a password input instead of the hint). */
  const [replacing, setReplacing] = useState<Record<string, boolean>>({});
  const provider = String(values.provider ?? 'http');
  const fields = fieldsOf(kind, provider);
  const set = (field: string, value: string | boolean) => setValues((v) => ({ ...v, [field]: value }));

  const save = useAction(async () => {
    const channelKey = key.trim();
    // Settings the form does not show (timeouts, base URLs) stay as they were.
    const config: Record<string, unknown> = existing ? { ...existing.config } : {};
    for (const spec of FIELDS[kind]) {
      if (spec.provider && spec.provider !== provider) {
        // The other SMS provider's settings go.
        delete config[spec.name];
        if (spec.envField) delete config[spec.envField];
        continue;
      }
      if (spec.type === 'secret') continue;
      const value = values[spec.name];
      if (value === undefined || value === '') delete config[spec.name];
      else config[spec.name] = spec.type === 'number' ? numberOrUndefined(String(value)) : value;
    }
    for (const spec of fields) {
      if (spec.type !== 'secret') continue;
      const value = typed[spec.name];
      if (value) {
        // A typed value is stored as a secret (the one the channel names already, or a new name), then named by the channel.
        const secretName = typeof config[spec.name] === 'string' ? String(config[spec.name]) : defaultSecretName(channelKey, spec.name);
        await api(`/api/v1/secrets/${encodeURIComponent(secretName)}`, { method: 'PUT', json: { value } });
        config[spec.name] = secretName;
        if (spec.envField) delete config[spec.envField];
      }
    }
    const body = { key: channelKey, ...(name.trim() ? { name: name.trim() } : {}), kind, consent, costPerMessage: numberOrUndefined(cost) ?? 0, config };
    if (existing) await api(`/api/v1/channels/${encodeURIComponent(existing.key)}`, { method: 'PUT', json: body });
    else await api('/api/v1/channels', { method: 'POST', json: body });
    setTyped({});
    onSaved(channelKey);
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run();
  };
  return (
    <Card title={existing ? t('channels.editTitle', { key: existing.key }) : t('channels.add')}>
      <form className="stack" onSubmit={submit} aria-label={existing ? t('channels.editTitle', { key: existing.key }) : t('channels.add')}>
        <div className="form-grid">
          <Field label={t('channels.key')}>
            <input value={key} required disabled={existing !== null} pattern="[a-z][a-z0-9_]{1,62}" placeholder="sms_main" onChange={(e) => setKey(e.target.value)} />
          </Field>
          <Field label={t('channels.name')}>
            <input value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label={t('channels.kind')}>
            <select
              value={kind}
              disabled={existing !== null}
              onChange={(e) => {
                // A new kind starts from its own empty settings.
                setKind(e.target.value as Kind);
                setValues({ provider: 'http' });
                setTyped({});
              }}
            >
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {t(`channels.kind.${k}` as Key)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('channels.consent')}>
            <select value={consent} onChange={(e) => setConsent(e.target.value)}>
              <option value="opt_out">{t('channels.optOut')}</option>
              <option value="opt_in">{t('channels.optIn')}</option>
            </select>
          </Field>
          <Field label={t('channels.cost')}>
            <input type="number" min={0} step="any" value={cost} onChange={(e) => setCost(e.target.value)} />
          </Field>
        </div>
        <div className="form-grid">
          {fields.map((spec) => {
            const label = t(spec.label);
            if (spec.type === 'checkbox') return <Check key={spec.name} label={label} checked={values[spec.name] === true} onChange={(v) => set(spec.name, v)} />;
            if (spec.type === 'select') {
              return (
                <Field key={spec.name} label={label}>
                  <select value={String(values[spec.name] ?? spec.options?.[0] ?? '')} onChange={(e) => set(spec.name, e.target.value)}>
                    {spec.options?.map((o) => (
                      <option key={o} value={o}>
                        {o}
                      </option>
                    ))}
                  </select>
                </Field>
              );
            }
            if (spec.type === 'secret') {
              const named = typeof values[spec.name] === 'string' ? String(values[spec.name]) : undefined;
              const stored = named ? secrets.get(named) : undefined;
              const env = spec.envField && typeof values[spec.envField] === 'string' ? String(values[spec.envField]) : undefined;
              if ((stored || env) && !replacing[spec.name]) {
                return (
                  <Field key={spec.name} label={label} hint={stored ? t('channels.secretStored', { name: named ?? '' }) : t('channels.secretFromEnv', { name: env ?? '' })}>
                    <span className="secret-set">
                      <code>{stored ? stored.hint : `$${env}`}</code>{' '}
                      <button type="button" className="btn btn-small" onClick={() => setReplacing((r) => ({ ...r, [spec.name]: true }))}>
                        {t('channels.replace')}
                      </button>
                    </span>
                  </Field>
                );
              }
              return (
                <Field key={spec.name} label={label} hint={t('channels.secretHint')}>
                  <input
                    type="password"
                    autoComplete="new-password"
                    required={spec.required && !stored && !env}
                    value={typed[spec.name] ?? ''}
                    onChange={(e) => setTyped((v) => ({ ...v, [spec.name]: e.target.value }))}
                  />
                </Field>
              );
            }
            return (
              <Field key={spec.name} label={label}>
                <input
                  type={spec.type}
                  required={spec.required}
                  placeholder={spec.placeholder}
                  value={String(values[spec.name] ?? '')}
                  onChange={(e) => set(spec.name, e.target.value)}
                />
              </Field>
            );
          })}
        </div>
        <ErrorBox error={save.error} />
        <div className="form-actions">
          <SubmitButton busy={save.busy}>{existing ? t('channels.saveSubmit') : t('channels.addSubmit')}</SubmitButton>
          {existing && (
            <button type="button" className="btn" onClick={onCancel}>
              {t('channels.cancel')}
            </button>
          )}
        </div>
      </form>
    </Card>
  );
}

interface TestOutcome {
  channel: string;
  address: string | null;
  outcome: 'sent' | 'retry' | 'failed' | 'parked';
  reason?: string;
}

function TestSend({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  const { t } = useT();
  const kind = channel.kind as Kind;
  const [mode, setMode] = useState<'address' | 'person'>('address');
  const [address, setAddress] = useState('');
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const [person, setPerson] = useState<PersonHit | null>(null);
  const [text, setText] = useState(t('channels.test.defaultText'));
  const [extra, setExtra] = useState<Record<string, string>>({});
  const [outcome, setOutcome] = useState<TestOutcome | null>(null);
  const found = useApi<{ people: PersonHit[] }>(mode === 'person' && q ? `/api/v1/people${query({ q, limit: 10 })}` : null);
  const send = useAction(async () => {
    setOutcome(null);
    const content: Record<string, string> = { text };
    for (const [k, v] of Object.entries(extra)) if (v.trim()) content[k] = v.trim();
    const body = mode === 'person' && person ? { personId: person.personId, content } : { address: address.trim(), content };
    setOutcome(await api<TestOutcome>(`/api/v1/channels/${encodeURIComponent(channel.key)}/test`, { method: 'POST', json: body }));
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void send.run();
  };
  return (
    <Card title={t('channels.test.title', { key: channel.key })}>
      <form className="stack" onSubmit={submit} aria-label={t('channels.test.title', { key: channel.key })}>
        <div className="form-grid">
          <Field label={t('channels.test.to')}>
            <select value={mode} onChange={(e) => setMode(e.target.value as 'address' | 'person')}>
              <option value="address">{t('channels.test.toAddress')}</option>
              <option value="person">{t('channels.test.toPerson')}</option>
            </select>
          </Field>
          {mode === 'address' ? (
            <Field label={t('channels.test.address')}>
              <input
                value={address}
                required={channel.kind !== 'webhook'}
                placeholder={channel.kind === 'email' ? 'name@example.com' : '13800138000'}
                onChange={(e) => setAddress(e.target.value)}
              />
            </Field>
          ) : (
            <Field label={t('channels.test.search')} hint={person ? t('channels.test.picked', { id: person.personId, name: person.name ?? '—' }) : undefined}>
              <input
                type="search"
                value={search}
                onChange={(e) => setSearch(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    e.preventDefault();
                    setQ(search.trim());
                  }
                }}
              />
            </Field>
          )}
          {mode === 'person' && (
            <div className="field">
              <button type="button" className="btn" onClick={() => setQ(search.trim())}>
                {t('channels.test.find')}
              </button>
            </div>
          )}
        </div>
        {mode === 'person' && found.data && (
          <ul className="stack small" aria-label={t('channels.test.results')}>
            {found.data.people.length === 0 && <li className="muted">{t('channels.test.noOne')}</li>}
            {found.data.people.map((p) => (
              <li key={p.personId}>
                <button type="button" className="btn btn-small" aria-pressed={person?.personId === p.personId} onClick={() => setPerson(p)}>
                  #{p.personId} {p.name ?? '—'}{' '}
                  {p.identifiers
                    .slice(0, 2)
                    .map((i) => `${i.type}:${i.value}`)
                    .join(' ')}
                </button>
              </li>
            ))}
          </ul>
        )}
        <div className="form-grid">
          <Field label={t('channels.test.text')}>
            <input value={text} onChange={(e) => setText(e.target.value)} />
          </Field>
          {TEST_FIELDS[kind]?.map((f) => (
            <Field key={f.name} label={t(f.label)}>
              <input value={extra[f.name] ?? ''} onChange={(e) => setExtra((v) => ({ ...v, [f.name]: e.target.value }))} />
            </Field>
          ))}
        </div>
        <ErrorBox error={send.error} />
        {outcome && (
          <div className={`notice ${outcome.outcome === 'sent' ? 'success' : 'warning'}`} role="status">
            {t(outcome.outcome === 'sent' ? 'channels.test.sent' : 'channels.test.notSent', {
              address: outcome.address ?? '—',
              outcome: outcome.outcome,
              reason: outcome.reason ?? '',
            })}
          </div>
        )}
        <div className="form-actions">
          <SubmitButton busy={send.busy} disabled={mode === 'person' && !person}>
            {t('channels.test.submit')}
          </SubmitButton>
          <button type="button" className="btn" onClick={onClose}>
            {t('channels.cancel')}
          </button>
        </div>
      </form>
    </Card>
  );
}

/** The workspace's secrets (admins): names, hints and when each was set; one no channel uses can be deleted. */
function SecretsCard({ secrets, onChanged }: { secrets: SecretListing[]; onChanged: () => void }) {
  const { t, dateTime } = useT();
  const remove = useAction(async (name: string) => {
    if (!window.confirm(t('secrets.confirmDelete', { name }))) return;
    await api(`/api/v1/secrets/${encodeURIComponent(name)}`, { method: 'DELETE' });
    onChanged();
  });
  return (
    <Card title={t('secrets.title')}>
      <p className="muted small">{t('secrets.note')}</p>
      <ErrorBox error={remove.error} />
      <Table
        rows={secrets}
        rowKey={(s) => s.name}
        caption={t('secrets.title')}
        empty={<Empty title={t('secrets.empty')} />}
        columns={[
          { key: 'name', header: t('secrets.name'), render: (s) => <code>{s.name}</code> },
          { key: 'hint', header: t('secrets.value'), render: (s) => <code>{s.hint}</code> },
          { key: 'updated', header: t('secrets.updated'), render: (s) => dateTime(s.updatedAt) },
          {
            key: 'actions',
            header: t('channels.actions'),
            render: (s) => (
              <button
                type="button"
                className="btn btn-small btn-danger"
                aria-label={t('secrets.deleteOf', { name: s.name })}
                disabled={remove.busy}
                onClick={() => void remove.run(s.name)}
              >
                {t('channels.delete')}
              </button>
            ),
          },
        ]}
      />
    </Card>
  );
}
