/**
 * Snapshot retention: every day of the last `keepDays` days; beyond that, the last collected
 * day of each month per vendor (month-end history for billing and trends); everything else
 * is deleted in batches, so a large purge never holds long locks.
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import { addDays } from '../clock.js';
import type { DB } from '../db/schema.js';

export interface RetentionDay {
  readonly vendor: string;
  readonly snapshot_date: string;
  readonly rows: number;
}

export interface RetentionPlan {
  /** Days before this date are outside the daily window. */
  readonly cutoff: string;
  readonly deletes: readonly RetentionDay[];
  readonly monthEndsKept: readonly RetentionDay[];
}

/** What retention would delete and keep; reads only. */
export async function planRetention(db: Kysely<DB>, today: string, keepDays: number): Promise<RetentionPlan> {
  const cutoff = addDays(today, -keepDays);
  const { rows } = await sql<{ vendor: string; snapshot_date: string; rows: string; month_end: boolean }>`
    WITH days AS (
      SELECT s.vendor_id, s.snapshot_date, count(*) AS rows, bool_or(s.source = 'collector') AS collected
        FROM device_snapshot s
       WHERE s.snapshot_date < ${cutoff}::date
       GROUP BY s.vendor_id, s.snapshot_date),
    month_ends AS (
      SELECT vendor_id, max(snapshot_date) AS snapshot_date
        FROM device_snapshot
       WHERE source = 'collector'
       GROUP BY vendor_id, date_trunc('month', snapshot_date))
    SELECT v.name AS vendor, d.snapshot_date, d.rows,
           EXISTS (SELECT 1 FROM month_ends m WHERE m.vendor_id = d.vendor_id AND m.snapshot_date = d.snapshot_date) AS month_end
      FROM days d JOIN vendor v ON v.id = d.vendor_id
     ORDER BY d.snapshot_date, v.name`.execute(db);
  const toDay = (r: (typeof rows)[number]): RetentionDay => ({ vendor: r.vendor, snapshot_date: r.snapshot_date, rows: Number(r.rows) });
  return {
    cutoff,
    deletes: rows.filter((r) => !r.month_end).map(toDay),
    monthEndsKept: rows.filter((r) => r.month_end).map(toDay),
  };
}

/** Applies the plan, deleting at most `batchSize` rows per statement. Returns rows deleted. */
export async function applyRetention(
  db: Kysely<DB>,
  today: string,
  keepDays: number,
  logger: Logger,
  batchSize = 10_000,
): Promise<{ plan: RetentionPlan; deleted: number }> {
  const plan = await planRetention(db, today, keepDays);
  let deleted = 0;
  for (const day of plan.deletes) {
    for (;;) {
      const r = await sql`
        DELETE FROM device_snapshot WHERE id IN (
          SELECT s.id FROM device_snapshot s JOIN vendor v ON v.id = s.vendor_id
           WHERE v.name = ${day.vendor} AND s.snapshot_date = ${day.snapshot_date}::date
           LIMIT ${batchSize})`.execute(db);
      const n = Number(r.numAffectedRows ?? 0n);
      deleted += n;
      if (n < batchSize) break;
    }
  }
  logger.info({ cutoff: plan.cutoff, days: plan.deletes.length, deleted, monthEndsKept: plan.monthEndsKept.length }, 'retention applied');
  return { plan, deleted };
}
