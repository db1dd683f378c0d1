import { Link } from 'react-router';
import { Empty } from '../components/States.tsx';
import { useT } from '../i18n.ts';

export function NotFound() {
  const { t } = useT();
  return <Empty title={t('notFound.title')} hint={t('notFound.hint')} action={<Link to="/">{t('notFound.home')}</Link>} />;
}
