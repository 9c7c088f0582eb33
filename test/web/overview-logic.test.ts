/**
 * The Overview's and Collections page's pure logic: coverage sorting, the trend's days and
 * gaps, vendor badges, and run figures in words.
 */
import { describe, expect, it } from 'vitest';
import { durationText, percent } from '../../web/src/collections/labels.js';
import { customerName, DEFAULT_SORT, isUnmapped, nextSort, sortCoverage, type CoverageRow } from '../../web/src/overview/coverage.js';
import { addDays, rangeEnding, trendData, type Trends } from '../../web/src/overview/trend-data.js';
import { vendorBadges } from '../../web/src/overview/vendor-badges.js';

function row(tl: string | null, ninja: string | null, figures: Partial<CoverageRow> = {}): CoverageRow {
  return {
    threatlocker_organization: tl,
    ninja_organization: ninja,
    threatlocker_organizations: tl ? [tl] : [],
    ninja_organizations: ninja ? [ninja] : [],
    threatlocker_devices: 0,
    ninja_devices: 0,
    matched: 0,
    matched_percent: null,
    open_variances: 0,
    ...figures,
  };
}

describe('coverage matrix', () => {
  const rows = [
    row('acme', 'ACME', { threatlocker_devices: 3, matched_percent: 66.7, open_variances: 1 }),
    row('Globex', null, { threatlocker_devices: 2, matched_percent: 0, open_variances: 4 }),
    row(null, 'Initech Corp', { ninja_devices: 5, matched_percent: 0 }),
    row('Zeta', 'Zeta', { threatlocker_devices: 3, matched_percent: 100 }),
    row(null, null, { threatlocker_devices: 9, open_variances: 2 }),
  ];
  const names = (sorted: CoverageRow[]) => sorted.map((r) => customerName(r));

  it('names a customer by its ThreatLocker organization, else its NinjaOne one', () => {
    expect(names(rows)).toEqual(['acme', 'Globex', 'Initech Corp', 'Zeta', null]);
    expect(rows.map(isUnmapped)).toEqual([false, true, true, false, false]);
  });

  it('sorts names in any case, the row without organization last in both orders', () => {
    expect(names(sortCoverage(rows, { column: 'customer', order: 'ascending' }))).toEqual(['acme', 'Globex', 'Initech Corp', 'Zeta', null]);
    expect(names(sortCoverage(rows, { column: 'customer', order: 'descending' }))).toEqual(['Zeta', 'Initech Corp', 'Globex', 'acme', null]);
  });

  it('sorts figures, keeping ties in the hub order and missing values last', () => {
    expect(names(sortCoverage(rows, { column: 'threatlocker_devices', order: 'descending' }))).toEqual([null, 'acme', 'Zeta', 'Globex', 'Initech Corp']);
    expect(names(sortCoverage(rows, { column: 'threatlocker_devices', order: 'ascending' }))).toEqual(['Initech Corp', 'Globex', 'acme', 'Zeta', null]);
    expect(names(sortCoverage(rows, { column: 'matched_percent', order: 'ascending' }))).toEqual(['Globex', 'Initech Corp', 'acme', 'Zeta', null]);
    expect(names(sortCoverage(rows, { column: 'matched_percent', order: 'descending' }))).toEqual(['Zeta', 'acme', 'Globex', 'Initech Corp', null]);
    expect(rows.map((r) => customerName(r))).toEqual(['acme', 'Globex', 'Initech Corp', 'Zeta', null]);
  });

  it('flips the order on the same column; figures start largest first, names A to Z', () => {
    expect(nextSort(DEFAULT_SORT, 'customer')).toEqual({ column: 'customer', order: 'descending' });
    expect(nextSort(DEFAULT_SORT, 'open_variances')).toEqual({ column: 'open_variances', order: 'descending' });
    expect(nextSort({ column: 'open_variances', order: 'descending' }, 'open_variances')).toEqual({ column: 'open_variances', order: 'ascending' });
    expect(nextSort({ column: 'open_variances', order: 'ascending' }, 'customer')).toEqual({ column: 'customer', order: 'ascending' });
  });
});

describe('trend data', () => {
  it('counts calendar days across months and leap days', () => {
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(rangeEnding('2026-03-10', 30)).toEqual({ start_date: '2026-02-09', end_date: '2026-03-10' });
  });

  it('has every day of the range, gaps on unchecked days and zeros for types a check did not find', () => {
    const figures = (unresolved: number) => ({ total: unresolved, unresolved, resolved: 0, accepted: 0 });
    const trends = {
      trends_by_date: { '2026-03-08': { MISSING_NINJA: figures(3) }, '2026-03-10': { MISSING_NINJA: figures(2), SITE_MISMATCH: figures(1) } },
    } as unknown as Trends;
    const data = trendData(trends, ['MISSING_NINJA', 'SITE_MISMATCH'], '2026-03-07', '2026-03-10');
    expect(data.days).toEqual(['2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10']);
    expect(data.checkedDays).toEqual(['2026-03-08', '2026-03-10']);
    expect(data.series).toEqual([
      { type: 'MISSING_NINJA', values: [null, 3, null, 2] },
      { type: 'SITE_MISMATCH', values: [null, 0, null, 1] },
    ]);
  });
});

describe('vendor badges', () => {
  const vendor = { latest_date: '2026-03-07', freshness_status: 'stale' as const, freshness_message: 'Collected 3 days ago', days_old: 3, configured: true };
  const noFailures = { recent_failures: [], has_recent_failures: false, total_failures_last_24h: 0 };

  it('says in words when data is stale, missing or not configured, and when a collection failed', () => {
    expect(vendorBadges('Ninja', vendor, noFailures).map((b) => b.text)).toEqual(['Stale']);
    expect(vendorBadges('Ninja', { ...vendor, freshness_status: 'current' }, noFailures)).toEqual([]);
    expect(vendorBadges('Ninja', { ...vendor, freshness_status: 'no_data' }, noFailures).map((b) => b.text)).toEqual(['No data']);
    expect(vendorBadges('Ninja', { ...vendor, configured: false, freshness_status: 'no_data' }, noFailures).map((b) => b.text)).toEqual(['Not configured']);
    const failure = { collector: 'ThreatLocker', job_id: 'th_1', job_name: 'threatlocker-collector', status: 'failed', message: null, error: 'HTTP 503 from ThreatLocker', started_at: '2026-03-10T02:10:00.000Z', ended_at: null };
    const health = { recent_failures: [failure], has_recent_failures: true, total_failures_last_24h: 1 };
    expect(vendorBadges('ThreatLocker', { ...vendor, freshness_status: 'current' }, health)).toEqual([{ text: 'Collection failed', tone: 'error', detail: 'HTTP 503 from ThreatLocker' }]);
    expect(vendorBadges('Ninja', { ...vendor, freshness_status: 'current' }, health)).toEqual([]);
  });
});

describe('run figures in words', () => {
  it('rounds and clamps percentages, and writes durations', () => {
    expect([percent(null), percent(42.6), percent(120), percent(-1), percent(Number.NaN)]).toEqual([null, 43, 100, 0, null]);
    expect([durationText(null), durationText(45), durationText(192), durationText(3840)]).toEqual(['—', '45 s', '3 min 12 s', '1 h 4 min']);
  });
});
