/** Data: import files, follow a run, its quarantine, identifier types and the OneID review queue. */
import { useSearchParams } from 'react-router';
import { useT } from '../i18n.ts';
import { useSession } from '../session.tsx';
import { PageHeader, Tabs } from '../components/Page.tsx';
import { ImportPanel } from './data/ImportPanel.tsx';
import { QuarantinePanel } from './data/QuarantinePanel.tsx';
import { IdentifierTypesPanel } from './data/IdentifierTypesPanel.tsx';
import { ReviewsPanel } from './data/ReviewsPanel.tsx';

type Tab = 'import' | 'quarantine' | 'identifiers' | 'reviews';
const TABS: Tab[] = ['import', 'quarantine', 'identifiers', 'reviews'];

export function Data() {
  const { t } = useT();
  const { can } = useSession();
  const [params, setParams] = useSearchParams();
  const tab = (TABS as string[]).includes(params.get('tab') ?? '') ? (params.get('tab') as Tab) : 'import';
  const run = params.get('run') ?? '';
  const go = (next: Tab, extra: Record<string, string> = {}) => setParams({ tab: next, ...extra });
  return (
    <>
      <PageHeader title={t('nav.data')} subtitle={t('data.subtitle')} />
      <Tabs
        label={t('nav.data')}
        active={tab}
        onChange={(key) => go(key)}
        tabs={[
          { key: 'import', label: t('data.tab.import') },
          { key: 'quarantine', label: t('data.tab.quarantine') },
          { key: 'identifiers', label: t('data.tab.identifiers') },
          { key: 'reviews', label: t('data.tab.reviews') },
        ]}
      />
      {tab === 'import' && <ImportPanel canImport={can('data.import')} onQuarantine={(id) => go('quarantine', { run: id })} />}
      {tab === 'quarantine' && <QuarantinePanel run={run} onRun={(id) => go('quarantine', { run: id })} />}
      {tab === 'identifiers' && <IdentifierTypesPanel canAdd={can('identity.admin')} />}
      {tab === 'reviews' && <ReviewsPanel canDecide={can('reviews.decide')} />}
    </>
  );
}
