/** KPIs, lifecycle, the RFM matrix and the daily trend, from GET /api/v1/overview. */
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { useApi } from '../api.ts';
import { useT, type I18n } from '../i18n.ts';
import type { Overview as OverviewData } from '../../../src/contract/people.ts';
import { Card, PageHeader } from '../components/Page.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { Chart, type ChartOption } from '../components/Chart.tsx';

const PERIODS = [30, 90, 365] as const;

export function Overview() {
  const i18n = useT();
  const { t } = i18n;
  const [days, setDays] = useState<(typeof PERIODS)[number]>(90);
  const overview = useApi<OverviewData>(`/api/v1/overview?days=${days}`);
  const data = overview.data;

  const period = (
    <div className="segmented" role="group" aria-label={t('overview.period')}>
      {PERIODS.map((d) => (
        <button key={d} type="button" aria-pressed={d === days} className={d === days ? 'active' : ''} onClick={() => setDays(d)}>
          {t('overview.days', { n: d })}
        </button>
      ))}
    </div>
  );

  return (
    <>
      <PageHeader title={t('nav.overview')} subtitle={data ? t('overview.asOf', { date: i18n.date(data.asOf) }) : undefined} actions={period} />
      {overview.error ? (
        <ErrorBox error={overview.error} onRetry={overview.reload} />
      ) : !data ? (
        <Loading />
      ) : data.orders === 0 && data.people === 0 ? (
        <Empty
          title={t('overview.empty')}
          hint={t('overview.emptyHint')}
          action={
            <Link className="btn btn-primary" to="/data">
              {t('overview.goImport')}
            </Link>
          }
        />
      ) : (
        <OverviewBody data={data} i18n={i18n} days={days} />
      )}
    </>
  );
}

function OverviewBody({ data, i18n, days }: { data: OverviewData; i18n: I18n; days: number }) {
  const { t, num, pct } = i18n;
  const kpis: Array<[string, string, string?]> = [
    [t('overview.people'), num(data.people)],
    [t('overview.buyers'), num(data.buyers), data.people ? t('overview.ofPeople', { share: pct(data.buyers / data.people) }) : undefined],
    [t('overview.orders'), num(data.orders)],
    // Whole yuan: the KPI card stays one line.
    [t('overview.gmv'), `¥${num(Math.round(data.gmv))}`],
    [t('overview.repurchase'), pct(data.repurchaseRate)],
  ];
  const lifecycle = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'item' },
      legend: { bottom: 0, type: 'scroll' },
      series: [
        { type: 'pie', radius: ['45%', '72%'], center: ['50%', '45%'], label: { formatter: '{b}\n{d}%' }, data: data.lifecycle.map((l) => ({ name: l.value, value: l.people })) },
      ],
    }),
    [data.lifecycle],
  );
  const rfm = useMemo<ChartOption | null>(() => {
    if (!data.rfm) return null;
    const { r, f, cells } = data.rfm;
    const points = cells.flatMap((row, ri) => row.map((value, fi) => [fi, ri, value]));
    const max = Math.max(1, ...points.map((p) => p[2]));
    return {
      tooltip: {
        position: 'top',
        formatter: (p: unknown) => {
          const v = (p as { value: number[] }).value;
          return `R ${r[v[1]]} · F ${f[v[0]]}<br/>${num(v[2])}`;
        },
      },
      grid: { left: 48, right: 72, top: 8, bottom: 40 },
      xAxis: { type: 'category', data: f, name: 'F', nameLocation: 'middle', nameGap: 26, splitArea: { show: true } },
      yAxis: { type: 'category', data: r, name: 'R', nameLocation: 'middle', nameGap: 30, splitArea: { show: true } },
      visualMap: { min: 0, max, calculable: true, orient: 'vertical', right: 0, top: 'middle', itemHeight: 140, inRange: { color: ['#eef3ff', '#3b6cf6'] } },
      series: [{ type: 'heatmap', data: points, label: { show: true } }],
    };
  }, [data.rfm, num]);
  const trend = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 56, right: 64, top: 36, bottom: 32 },
      xAxis: { type: 'category', data: data.trend.map((d) => d.day.slice(5)) },
      yAxis: [
        { type: 'value', name: t('overview.orders'), minInterval: 1 },
        { type: 'value', name: t('overview.gmv'), splitLine: { show: false } },
      ],
      series: [
        { type: 'line', name: t('overview.orders'), smooth: true, showSymbol: false, data: data.trend.map((d) => d.orders) },
        { type: 'line', name: t('overview.gmv'), smooth: true, showSymbol: false, yAxisIndex: 1, areaStyle: { opacity: 0.08 }, data: data.trend.map((d) => d.gmv) },
      ],
    }),
    [data.trend, t],
  );

  return (
    <>
      <div className="kpis">
        {kpis.map(([label, value, note]) => (
          <div className="kpi" key={label}>
            <div className="kpi-label">{label}</div>
            <div className="kpi-value">{value}</div>
            {note && <div className="kpi-note">{note}</div>}
          </div>
        ))}
      </div>
      <div className="grid-2">
        <Card title={t('overview.lifecycle')}>
          {data.lifecycle.length === 0 ? (
            <Empty title={t('overview.noLifecycle')} hint={<Link to="/tags">{t('overview.noLifecycleHint')}</Link>} />
          ) : (
            <Chart option={lifecycle} label={t('overview.lifecycle')} />
          )}
        </Card>
        <Card title={t('overview.rfm')}>
          {rfm ? <Chart option={rfm} label={t('overview.rfm')} /> : <Empty title={t('overview.noRfm')} hint={<Link to="/tags">{t('overview.noRfmHint')}</Link>} />}
        </Card>
      </div>
      <Card title={t('overview.trend', { n: days })}>
        {data.trend.every((d) => d.orders === 0) ? (
          <Empty title={t('overview.noTrend')} hint={t('overview.noTrendHint')} />
        ) : (
          <Chart option={trend} height={300} label={t('overview.trend', { n: days })} />
        )}
      </Card>
    </>
  );
}
