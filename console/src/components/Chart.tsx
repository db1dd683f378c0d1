/** A chart, its ECharts code fetched the first time one is drawn (the rest of the console stays light). */
import { lazy, Suspense } from 'react';
import type { ChartOption } from './EChart.tsx';

export type { ChartOption };

const EChart = lazy(() => import('./EChart.tsx'));

export function Chart(props: { option: ChartOption; height?: number; label: string }) {
  return (
    <Suspense fallback={<div className="chart chart-loading" style={{ height: props.height ?? 280 }} aria-busy="true" />}>
      <EChart {...props} />
    </Suspense>
  );
}
