/**
 * Snapshot retention: every day of the last `keepDays` days; beyond that, the last collected
 * day of each month per vendor (month-end history for billing and trends); every other day is
 * dropped whole — each vendor-day is a partition of its own (migration 0004), so a purge of any
 * size is one short catalog change per day, never a long DELETE.
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import { addDays } from '../clock.js';
import { SNAPSHOT_WRITE_LOCK } from '../db/locks.js';
import type { DB } from '../db/schema.js';
import { dayTableName } from '../inventory/day-swap.js';

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

/** What retention would delete and keep; reads only (the day summary, not the snapshots). */
export async function planRetention(db: Kysely<DB>, today: string, keepDays: number): Promise<RetentionPlan> {
  const cutoff = addDays(today, -keepDays);
  const { rows } = await sql<{ vendor: string; snapshot_date: string; rows: number; month_end: boolean }>`
    WITH month_ends AS (
      SELECT vendor_id, max(snapshot_date) AS snapshot_date
        FROM snapshot_day
       WHERE collected_at IS NOT NULL
       GROUP BY vendor_id, date_trunc('month', snapshot_date))
    SELECT v.name AS vendor, d.snapshot_date, d.device_count AS rows,
           EXISTS (SELECT 1 FROM month_ends m WHERE m.vendor_id = d.vendor_id AND m.snapshot_date = d.snapshot_date) AS month_end
      FROM snapshot_day d JOIN vendor v ON v.id = d.vendor_id
     WHERE d.snapshot_date < ${cutoff}::date
     ORDER BY d.snapshot_date, v.name`.execute(db);
  const toDay = (r: (typeof rows)[number]): RetentionDay => ({ vendor: r.vendor, snapshot_date: r.snapshot_date, rows: Number(r.rows) });
  return {
    cutoff,
    deletes: rows.filter((r) => !r.month_end).map(toDay),
    monthEndsKept: rows.filter((r) => r.month_end).map(toDay),
  };
}

/**
 * Applies the plan: each day to delete is detached and dropped, with its summary row, in a
 * transaction of its own holding the vendor's snapshot-write lock (so no sync or swap of that
 * vendor is writing meanwhile). Returns the rows deleted.
 */
export async function applyRetention(
  db: Kysely<DB>,
  today: string,
  keepDays: number,
  logger: Logger,
): Promise<{ plan: RetentionPlan; deleted: number }> {
  const plan = await planRetention(db, today, keepDays);
  const vendors = new Map((await db.selectFrom('vendor').select(['id', 'name']).execute()).map((v) => [v.name, v.id]));
  let deleted = 0;
  for (const day of plan.deletes) {
    const vendorId = vendors.get(day.vendor);
    if (vendorId === undefined) continue;
    deleted += await db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(${sql.lit(SNAPSHOT_WRITE_LOCK)}, ${vendorId}::integer)`.execute(tx);
      const gone = await tx
        .deleteFrom('snapshot_day')
        .where('vendor_id', '=', vendorId)
        .where('snapshot_date', '=', day.snapshot_date)
        .returning('device_count')
        .executeTakeFirst();
      await sql`DROP TABLE IF EXISTS ${sql.id(dayTableName(vendorId, day.snapshot_date))}`.execute(tx);
      return gone?.device_count ?? 0;
    });
  }
  logger.info({ cutoff: plan.cutoff, days: plan.deletes.length, deleted, monthEndsKept: plan.monthEndsKept.length }, 'retention applied');
  return { plan, deleted };
}
