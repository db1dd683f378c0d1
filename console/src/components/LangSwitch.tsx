import { useT } from '../i18n.ts';

/** 中文 / English, always visible in the header and on the login page. */
export function LangSwitch() {
  const { lang, setLang, t } = useT();
  return (
    <div className="lang-switch" role="group" aria-label={t('lang.switch')}>
      <button type="button" aria-pressed={lang === 'zh'} className={lang === 'zh' ? 'active' : ''} onClick={() => setLang('zh')} lang="zh-CN">
        中文
      </button>
      <button type="button" aria-pressed={lang === 'en'} className={lang === 'en' ? 'active' : ''} onClick={() => setLang('en')} lang="en">
        English
      </button>
    </div>
  );
}
