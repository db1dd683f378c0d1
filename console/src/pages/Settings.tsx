/** Settings: workspace, policy, channels, users, teams, API keys and the audit log (what the role may see). */
import { useSearchParams } from 'react-router';
import { useT } from '../i18n.ts';
import { useSession } from '../session.tsx';
import { PageHeader, Tabs } from '../components/Page.tsx';
import { WorkspacePanel } from './settings/WorkspacePanel.tsx';
import { PolicyPanel } from './settings/PolicyPanel.tsx';
import { ChannelsPanel } from './settings/ChannelsPanel.tsx';
import { UsersPanel } from './settings/UsersPanel.tsx';
import { TeamsPanel } from './settings/TeamsPanel.tsx';
import { AuditPanel } from './settings/AuditPanel.tsx';
import { ApiKeysPanel } from './settings/ApiKeysPanel.tsx';

type Tab = 'workspace' | 'policy' | 'channels' | 'users' | 'teams' | 'keys' | 'audit';

export function Settings() {
  const { t } = useT();
  const { can } = useSession();
  const [params, setParams] = useSearchParams();
  const tabs: Array<{ key: Tab; label: string }> = [
    { key: 'workspace', label: t('settings.workspace') },
    { key: 'policy', label: t('settings.policy') },
    { key: 'channels', label: t('settings.channels') },
    ...(can('admin')
      ? [
          { key: 'users' as const, label: t('settings.users') },
          { key: 'teams' as const, label: t('settings.teams') },
          { key: 'keys' as const, label: t('settings.apiKeys') },
          { key: 'audit' as const, label: t('settings.audit') },
        ]
      : []),
  ];
  const asked = params.get('tab');
  const tab = tabs.find((x) => x.key === asked)?.key ?? 'workspace';
  return (
    <>
      <PageHeader title={t('nav.settings')} />
      <Tabs label={t('nav.settings')} tabs={tabs} active={tab} onChange={(key) => setParams({ tab: key })} />
      {tab === 'workspace' && <WorkspacePanel canEdit={can('admin')} />}
      {tab === 'policy' && <PolicyPanel canEdit={can('policy.write')} />}
      {tab === 'channels' && <ChannelsPanel canAdd={can('admin')} />}
      {tab === 'users' && <UsersPanel />}
      {tab === 'teams' && <TeamsPanel />}
      {tab === 'keys' && <ApiKeysPanel />}
      {tab === 'audit' && <AuditPanel />}
    </>
  );
}
