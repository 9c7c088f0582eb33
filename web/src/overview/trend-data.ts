/** The trend chart's figures: one value per day of the range and type (pure, unit-tested). */
import type { paths } from '../api/schema.js';

export type Trends = paths['/api/variances/trends']['get']['responses'][200]['content']['application/json'];

export interface TrendSeries {
  readonly type: string;
  /** Open after each day's check; null on days without a check. */
  readonly values: readonly (number | null)[];
}

export interface TrendData {
  /** Every day of the range, `YYYY-MM-DD`, oldest first. */
  readonly days: readonly string[];
  /** The days that had a check (the rows of the text alternative). */
  readonly checkedDays: readonly string[];
  readonly series: readonly TrendSeries[];
}

/** `YYYY-MM-DD` plus `n` days (calendar arithmetic in UTC: no time zone shifts a date). */
export function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The inclusive range of `days` days ending on `end`. */
export function rangeEnding(end: string, days: number): { start_date: string; end_date: string } {
  return { start_date: addDays(end, -(days - 1)), end_date: end };
}

export function trendData(trends: Trends, types: readonly string[], start: string, end: string): TrendData {
  const days: string[] = [];
  for (let d = start; d <= end; d = addDays(d, 1)) days.push(d);
  const byDate = trends.trends_by_date;
  const checkedDays = days.filter((d) => byDate[d] !== undefined);
  const series = types.map((type) => ({
    type,
    values: days.map((d) => {
      const day = byDate[d];
      if (day === undefined) return null;
      // A checked day that found none of this type: zero, not a gap.
      return day[type]?.unresolved ?? 0;
    }),
  }));
  return { days, checkedDays, series };
}
