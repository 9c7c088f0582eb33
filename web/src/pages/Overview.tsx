/**
 * `/`: how fresh each vendor's data is and how many devices it has, the open variances by type
 * with their change and 30-day trend, coverage by customer, and collections (start one, watch it).
 */
import { lazy, Suspense, useCallback, useMemo } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { useApi } from '../api/useApi';
import { CollectionPanel } from '../collections/CollectionPanel';
import { useCollectorRuns, type Batch } from '../collections/useCollectorRuns';
import { ErrorMessage } from '../components/ErrorMessage';
import { useToast } from '../components/Toast';
import { CoverageMatrix } from '../overview/CoverageMatrix';
import { rangeEnding, trendData } from '../overview/trend-data';
import { VarianceChange } from '../overview/VarianceChange';
import { vendorBadges } from '../overview/vendor-badges';
import './Overview.css';

// uPlot only loads with the chart, after the page's figures.
const TrendChart = lazy(() => import('../overview/TrendChart'));

/** The keys of GET /api/status, in the order shown, with the names people know the tools by. */
const VENDORS = [
  { key: 'ThreatLocker', label: 'ThreatLocker' },
  { key: 'Ninja', label: 'NinjaOne' },
] as const;

/** How many days the trend chart covers, ending on the latest checked day. */
const TREND_DAYS = 30;

const count = new Intl.NumberFormat();

function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function Loading() {
  return <p aria-busy="true">Loading…</p>;
}

export function Overview() {
  const toast = useToast();
  const status = useApi((signal) => unwrap(api.GET('/api/status', { signal })), []);
  const summary = useApi((signal) => unwrap(api.GET('/api/variances/summary', { signal })), []);
  const coverage = useApi((signal) => unwrap(api.GET('/api/organizations/coverage', { signal })), []);
  const trendEnd = summary.status === 'ok' ? (summary.data.snapshot_date ?? today()) : null;
  const trends = useApi(
    async (signal) => {
      if (trendEnd === null) return null;
      const range = rangeEnding(trendEnd, TREND_DAYS);
      return { range, trends: await unwrap(api.GET('/api/variances/trends', { params: { query: range }, signal })) };
    },
    [trendEnd],
  );
  // The loaded objects themselves (kept in state): the chart is drawn again only when they change,
  // not at every render (the progress polling renders every second).
  const summaryData = summary.status === 'ok' ? summary.data : null;
  const trendsData = trends.status === 'ok' ? trends.data : null;
  const chartData = useMemo(
    () => (trendsData && summaryData ? trendData(trendsData.trends, summaryData.types.map((t) => t.type), trendsData.range.start_date, trendsData.range.end_date) : null),
    [trendsData, summaryData],
  );

  const { reload: reloadStatus } = status;
  const { reload: reloadSummary } = summary;
  const { reload: reloadCoverage } = coverage;
  const { reload: reloadTrends } = trends;
  const onBatchEnded = useCallback(
    (batch: Batch) => {
      toast.show(`Collection ${batch.status}${batch.error ? `: ${batch.error}` : ''}`, batch.status === 'completed' ? 'success' : 'error');
      reloadStatus();
      reloadSummary();
      reloadCoverage();
      reloadTrends();
    },
    [toast, reloadStatus, reloadSummary, reloadCoverage, reloadTrends],
  );
  const runs = useCollectorRuns(onBatchEnded);

  return (
    <section aria-labelledby="overview-title" className="overview">
      <h1 id="overview-title">Overview</h1>

      {status.status === 'loading' && <Loading />}
      {status.status === 'error' && <ErrorMessage error={status.error} onRetry={status.reload} />}
      {status.status === 'ok' && (
        <>
          <p className={`data-status data-status-${status.data.data_status.status}`}>{status.data.data_status.message}</p>

          {status.data.warnings.length > 0 && (
            <ul className="warnings" aria-label="Warnings">
              {status.data.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}

          <table className="vendor-table">
            <caption>Collections by vendor</caption>
            <thead>
              <tr>
                <th scope="col">Vendor</th>
                <th scope="col">Latest day</th>
                <th scope="col">Freshness</th>
                <th scope="col" className="num">
                  Devices
                </th>
              </tr>
            </thead>
            <tbody>
              {VENDORS.map(({ key, label }) => {
                const vendor = status.data.vendor_status[key];
                return (
                  <tr key={key} data-vendor={key}>
                    <th scope="row">{label}</th>
                    <td className="nowrap">{vendor.latest_date ?? '—'}</td>
                    <td>
                      {vendor.freshness_message}
                      {vendorBadges(key, vendor, status.data.collector_health).map((b) => (
                        <span key={b.text} className="vendor-badge">
                          <span className={`badge badge-${b.tone}`}>{b.text}</span>
                          {b.detail && <span className="badge-detail">{b.detail}</span>}
                        </span>
                      ))}
                    </td>
                    <td className="num">{count.format(status.data.device_counts[key])}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}

      <CollectionPanel runs={runs} titleId="overview-collections" />

      <h2>Open variances</h2>
      {summary.status === 'loading' && <Loading />}
      {summary.status === 'error' && <ErrorMessage error={summary.error} onRetry={summary.reload} />}
      {summary.status === 'ok' && (
        <table className="variance-summary">
          <caption>Open variances by type</caption>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col" className="num">
                Open
              </th>
              <th scope="col" className="num">
                {summary.data.previous_date ? `Change since ${summary.data.previous_date}` : 'Change since the previous check'}
              </th>
            </tr>
          </thead>
          <tbody>
            {summary.data.types.map((t) => (
              <tr key={t.type} data-type={t.type}>
                <th scope="row">
                  <Link to={`/variances?type=${encodeURIComponent(t.type)}`}>{t.type}</Link>
                </th>
                <td className="num">{count.format(t.open)}</td>
                <td className="num">
                  <VarianceChange change={t.change} previousDate={summary.data.previous_date} />
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">Total</th>
              <td className="num">{count.format(summary.data.types.reduce((n, t) => n + t.open, 0))}</td>
              <td />
            </tr>
          </tfoot>
        </table>
      )}

      <h2 id="overview-trend">Last {TREND_DAYS} days</h2>
      {trends.status === 'error' && <ErrorMessage error={trends.error} onRetry={trends.reload} />}
      {(summary.status === 'loading' || trends.status === 'loading') && <Loading />}
      {chartData && (
        <figure className="trend" aria-labelledby="overview-trend-caption">
          <figcaption id="overview-trend-caption">
            Open variances after each checked day, {chartData.days[0]} to {chartData.days[chartData.days.length - 1]}
            {chartData.checkedDays.length === 0 && ' — no check ran in this period'}
          </figcaption>
          <Suspense fallback={<Loading />}>
            <TrendChart data={chartData} />
          </Suspense>
        </figure>
      )}

      <h2>Coverage</h2>
      {coverage.status === 'loading' && <Loading />}
      {coverage.status === 'error' && <ErrorMessage error={coverage.error} onRetry={coverage.reload} />}
      {coverage.status === 'ok' && <CoverageMatrix coverage={coverage.data} />}
    </section>
  );
}
