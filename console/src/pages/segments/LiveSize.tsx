/**
 * The size of the tree being edited: 400 ms after the last change, the estimate (a 1/16 slice, with
 * its interval), then the exact count (POST /api/v1/segments/count). Answers to older trees are dropped.
 */
import { useEffect, useState } from 'react';
import { api } from '../../api.ts';
import { useT, type Key } from '../../i18n.ts';
import type { SegmentCount, Tree } from '../../../../src/contract/segments.ts';
import { Card } from '../../components/Page.tsx';
import { ErrorBox } from '../../components/States.tsx';

interface SizeState {
  estimate?: SegmentCount['estimate'];
  exact?: SegmentCount['exact'];
  counting: boolean;
  error?: Error;
}

export function LiveSize({ tree, treeKey, missing }: { tree: Tree; treeKey: string; missing: Key | null }) {
  const i18n = useT();
  const { t, num } = i18n;
  const [size, setSize] = useState<SizeState>({ counting: false });

  useEffect(() => {
    if (missing) {
      setSize({ counting: false });
      return;
    }
    // The last count was for another tree: keep its estimate in view, but not as this tree's size.
    setSize((s) => ({ estimate: s.estimate, counting: true }));
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const quick = await api<SegmentCount>('/api/v1/segments/count', { json: { ...tree, estimateOnly: true }, signal: controller.signal });
        setSize({ estimate: quick.estimate, counting: true });
        const full = await api<SegmentCount>('/api/v1/segments/count', { json: tree, signal: controller.signal });
        setSize({ estimate: full.estimate, exact: full.exact, counting: false });
      } catch (error) {
        if ((error as Error).name !== 'AbortError') setSize({ counting: false, error: error as Error });
      }
    }, 400);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
    // treeKey is the tree's identity; the tree object is new on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [treeKey, missing]);

  const estimate = size.estimate;
  return (
    <Card title={t('size.title')} className="size-card">
      <div aria-live="polite">
        {missing ? (
          <p className="muted">{t(missing)}</p>
        ) : size.error ? (
          <ErrorBox error={size.error} title={t('size.failed')} />
        ) : !estimate ? (
          <p className="muted">{t('size.counting')}</p>
        ) : (
          <>
            <div className="size-number">
              {size.exact ? (
                <output data-testid="segment-exact" data-people={size.exact.people}>
                  {num(size.exact.people)}
                </output>
              ) : (
                <output data-testid="segment-estimate" data-people={estimate.estimate}>
                  ≈ {num(estimate.estimate)}
                </output>
              )}
              <span className="size-unit">{t('size.people')}</span>
            </div>
            <p className="muted small">
              {size.exact
                ? t('size.exact', { seconds: num(size.exact.seconds, 2), method: i18n.tx(`size.method.${size.exact.method}`, size.exact.method) })
                : estimate.slice > 1
                  ? t('size.estimate', { low: num(estimate.low), high: num(estimate.high), slice: estimate.slice })
                  : t('size.estimateExact')}
            </p>
            {size.counting && (
              <p className="muted small" role="status">
                <span className="spinner small" aria-hidden="true" /> {t('size.exactComing')}
              </p>
            )}
          </>
        )}
      </div>
    </Card>
  );
}
