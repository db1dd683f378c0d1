/**
 * Channels: what each sends through and how it reaches people. Secrets are the names of environment
 * variables on the server (…Env), shown as names; no value is ever entered or shown here.
 */
import { useState, type FormEvent } from 'react';
import { api, useAction, useApi } from '../../api.ts';
import { useT } from '../../i18n.ts';
import type { Channel } from '../../types.ts';
import { Field, SubmitButton, numberOrUndefined } from '../../components/Form.tsx';
import { Card, Chips } from '../../components/Page.tsx';
import { Table } from '../../components/Table.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { JsonEditor, parseJson } from '../../components/JsonEditor.tsx';

const KINDS = ['webhook', 'sms', 'email', 'wecom', 'miniprogram', 'official_account'] as const;
/** A starting config per kind: every secret is an environment variable's name. */
const CONFIGS: Record<(typeof KINDS)[number], Record<string, unknown>> = {
  webhook: { url: 'https://hooks.example.com/siyu', secretEnv: 'SIYU_WEBHOOK_SECRET' },
  sms: { provider: 'http', url: 'https://sms.example.com/send', tokenEnv: 'SIYU_SMS_TOKEN' },
  email: { host: 'smtp.example.com', port: 587, user: 'crm@example.com', passwordEnv: 'SIYU_SMTP_PASSWORD', from: 'Brand <crm@example.com>', messageIdDomain: 'example.com' },
  wecom: { corpId: 'ww0000000000000000', corpSecretEnv: 'SIYU_WECOM_SECRET' },
  miniprogram: { appId: 'wx0000000000000000', appSecretEnv: 'SIYU_MP_SECRET' },
  official_account: { appId: 'wx0000000000000000', appSecretEnv: 'SIYU_OA_SECRET' },
};

/** The environment variable names a config refers to (keys ending in Env). */
function secretNames(config: Record<string, unknown>): string[] {
  return Object.entries(config)
    .filter(([k, v]) => k.endsWith('Env') && typeof v === 'string')
    .map(([k, v]) => `${k}: $${String(v)}`);
}

export function ChannelsPanel({ canAdd }: { canAdd: boolean }) {
  const { t, money } = useT();
  const channels = useApi<{ channels: Channel[] }>('/api/v1/channels');
  return (
    <div className="stack">
      <Card title={t('settings.channels')}>
        <p className="muted small">{t('channels.secretsNote')}</p>
        {channels.error ? (
          <ErrorBox error={channels.error} onRetry={channels.reload} />
        ) : !channels.data ? (
          <Loading />
        ) : (
          <Table
            rows={channels.data.channels}
            rowKey={(c) => c.key}
            empty={<Empty title={t('channels.empty')} hint={canAdd ? t('channels.emptyHint') : t('channels.emptyReadOnly')} />}
            columns={[
              { key: 'key', header: t('channels.key'), render: (c) => <code>{c.key}</code> },
              { key: 'name', header: t('channels.name'), render: (c) => c.name ?? '—' },
              { key: 'kind', header: t('channels.kind'), render: (c) => c.kind },
              { key: 'consent', header: t('channels.consent'), render: (c) => t(c.consent === 'opt_in' ? 'channels.optIn' : 'channels.optOut') },
              { key: 'cost', header: t('channels.cost'), align: 'right', render: (c) => money(c.costPerMessage) },
              { key: 'rate', header: t('channels.rate'), align: 'right', render: (c) => c.ratePerMinute },
              { key: 'secrets', header: t('channels.secrets'), render: (c) => <Chips items={secretNames(c.config).map((s) => <code key={s}>{s}</code>)} /> },
              { key: 'target', header: t('channels.target'), render: (c) => String(c.config.url ?? c.config.host ?? c.config.appId ?? c.config.corpId ?? '—') },
            ]}
          />
        )}
      </Card>
      {canAdd && <AddChannel onAdded={channels.reload} />}
    </div>
  );
}

function AddChannel({ onAdded }: { onAdded: () => void }) {
  const { t } = useT();
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [kind, setKind] = useState<(typeof KINDS)[number]>('webhook');
  const [consent, setConsent] = useState<'opt_out' | 'opt_in'>('opt_out');
  const [cost, setCost] = useState('0');
  const [config, setConfig] = useState(JSON.stringify(CONFIGS.webhook, null, 2));
  const add = useAction(async () => {
    await api('/api/v1/channels', {
      json: { key: key.trim(), ...(name.trim() ? { name: name.trim() } : {}), kind, consent, costPerMessage: numberOrUndefined(cost) ?? 0, config: parseJson(config).value },
    });
    setKey('');
    setName('');
    onAdded();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void add.run();
  };
  return (
    <Card title={t('channels.add')}>
      <form className="stack" onSubmit={submit}>
        <div className="form-grid">
          <Field label={t('channels.key')}>
            <input value={key} required pattern="[a-z][a-z0-9_]{1,62}" placeholder="sms_main" onChange={(e) => setKey(e.target.value)} />
          </Field>
          <Field label={t('channels.name')}>
            <input value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label={t('channels.kind')}>
            <select
              value={kind}
              onChange={(e) => {
                const next = e.target.value as (typeof KINDS)[number];
                setKind(next);
                setConfig(JSON.stringify(CONFIGS[next], null, 2));
              }}
            >
              {KINDS.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </Field>
          <Field label={t('channels.consent')}>
            <select value={consent} onChange={(e) => setConsent(e.target.value as typeof consent)}>
              <option value="opt_out">{t('channels.optOut')}</option>
              <option value="opt_in">{t('channels.optIn')}</option>
            </select>
          </Field>
          <Field label={t('channels.cost')}>
            <input type="number" min={0} step="any" value={cost} onChange={(e) => setCost(e.target.value)} />
          </Field>
        </div>
        <p className="muted small">{t('channels.configHint')}</p>
        <JsonEditor label={t('channels.config')} value={config} onChange={setConfig} rows={8} />
        <ErrorBox error={add.error} />
        <div className="form-actions">
          <SubmitButton busy={add.busy} disabled={parseJson(config).error !== undefined}>
            {t('channels.addSubmit')}
          </SubmitButton>
        </div>
      </form>
    </Card>
  );
}
