/**
 * The Overview's variance summary: open variances by type now, and how the count found open by
 * a check moved between the last two checked days (from `variance_observation`, which keeps each
 * checked day's findings, so a later resolve does not rewrite the comparison). Read-only.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/schema.js';
import { VARIANCE_TYPES } from './types.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface TypeSummary {
  readonly type: string;
  /** Open now (people's resolves and acceptances since the check included). */
  readonly open: number;
  /** Open after the check of the latest checked day. */
  readonly latest: number;
  /** Open after the check of the day before it; null when only one day was checked. */
  readonly previous: number | null;
  /** `latest - previous`; null without a previous day. */
  readonly change: number | null;
}

export interface VarianceSummary {
  readonly snapshot_date: string | null;
  readonly previous_date: string | null;
  /** Every type, in VARIANCE_TYPES order, zeros included. */
  readonly types: TypeSummary[];
}

/**
 * Three queries: the two latest checked days, open counts now, and the observations of both
 * days by type.
 *
 * @example
 *   const s = await varianceSummary(db);
 *   s.types.find((t) => t.type === 'MISSING_NINJA')?.change; // e.g. -3: three fewer than the day before
 */
export async function varianceSummary(db: Executor): Promise<VarianceSummary> {
  const days = await db
    .selectFrom('variance_run')
    .select('snapshot_date')
    .distinct()
    .where('status', '=', 'completed')
    .orderBy('snapshot_date', 'desc')
    .limit(2)
    .execute();
  const latestDate = days[0]?.snapshot_date ?? null;
  const previousDate = days[1]?.snapshot_date ?? null;

  const openNow = await db.selectFrom('variance').select(['type', sql<string>`count(*)`.as('n')]).where('status', '=', 'open').groupBy('type').execute();
  const checkedDays = [latestDate, previousDate].filter((d): d is string => d !== null);
  const observed =
    checkedDays.length === 0
      ? []
      : await db
          .selectFrom('variance_observation as o')
          .innerJoin('variance as v', 'v.id', 'o.variance_id')
          .select(['o.snapshot_date', 'v.type', sql<string>`count(*)`.as('n')])
          .where('o.snapshot_date', 'in', checkedDays)
          .where('o.status', '=', 'open')
          .groupBy(['o.snapshot_date', 'v.type'])
          .execute();

  const now = new Map(openNow.map((r) => [r.type, Number(r.n)]));
  const on = (date: string | null, type: string): number => Number(observed.find((r) => r.snapshot_date === date && r.type === type)?.n ?? 0);
  return {
    snapshot_date: latestDate,
    previous_date: previousDate,
    types: VARIANCE_TYPES.map((type) => {
      const latest = on(latestDate, type);
      const previous = previousDate === null ? null : on(previousDate, type);
      return { type, open: now.get(type) ?? 0, latest, previous, change: previous === null ? null : latest - previous };
    }),
  };
}
