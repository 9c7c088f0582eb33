/**
 * The hub's health as the dashboard shows it (the existing `/api/status` contract): per-vendor
 * freshness, device counts, recent collector failures, warnings. Read-only: polling it every
 * few seconds changes nothing, and it reads the day summary `snapshot_day` (a row per
 * vendor-day, kept by the writers; migration 0004), never the snapshots themselves, so its
 * cost does not grow with the fleet or the history.
 */
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { addDays } from '../clock.js';
import type { DB } from '../db/schema.js';
import { openVarianceCounts } from '../variances/queries.js';
import { VENDOR_LABELS, type VendorIds, type VendorKey } from './vendors.js';

const VENDORS: readonly VendorKey[] = ['ninja', 'threatlocker'];
/** The upstream report keys its per-vendor blocks by these labels. */
type Label = (typeof VENDOR_LABELS)[VendorKey];
/** How far back a day with both vendors' collections is looked for. */
const MATCHING_LOOKBACK_DAYS = 7;

type Freshness = 'current' | 'yesterday' | 'stale' | 'very_stale' | 'no_data';

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

function freshness(daysOld: number | null): { status: Freshness; message: string } {
  if (daysOld === null) return { status: 'no_data', message: 'No collected data' };
  if (daysOld <= 0) return { status: 'current', message: 'Collected today' };
  if (daysOld === 1) return { status: 'yesterday', message: 'Collected yesterday' };
  if (daysOld <= 3) return { status: 'stale', message: `Data is ${daysOld} days old` };
  return { status: 'very_stale', message: `Data is ${daysOld} days old` };
}

export async function inventoryStatus(db: Kysely<DB>, clock: Clock, vendorIds: VendorIds) {
  const today = clock.today();
  // A day counts as collected for a vendor when its collector wrote it; a day holding only
  // devices synced on demand is not a complete picture.
  const latest = await db
    .selectFrom('snapshot_day')
    .select(['vendor_id', (eb) => eb.fn.max('snapshot_date').as('latest')])
    .where('collected_at', 'is not', null)
    .groupBy('vendor_id')
    .execute();
  const latestOf = (v: VendorKey) => latest.find((r) => r.vendor_id === vendorIds[v])?.latest ?? null;

  const deviceCounts = {} as Record<Label, number>;
  const vendorStatus = {} as Record<Label, { latest_date: string | null; freshness_status: Freshness; freshness_message: string; days_old: number | null }>;
  const warnings: string[] = [];
  for (const v of VENDORS) {
    const date = latestOf(v);
    let count = 0;
    if (date) {
      const r = await db
        .selectFrom('snapshot_day')
        .select('device_count')
        .where('vendor_id', '=', vendorIds[v])
        .where('snapshot_date', '=', date)
        .executeTakeFirst();
      count = r?.device_count ?? 0;
    }
    const label = VENDOR_LABELS[v];
    deviceCounts[label] = count;
    const daysOld = date ? daysBetween(date, today) : null;
    const f = freshness(daysOld);
    vendorStatus[label] = { latest_date: date, freshness_status: f.status, freshness_message: f.message, days_old: daysOld };
    if (f.status === 'stale' || f.status === 'very_stale') warnings.push(`${label} data is ${daysOld} days old`);
    if (f.status === 'no_data') warnings.push(`${label} has no collected data`);
  }

  const since = addDays(today, -MATCHING_LOOKBACK_DAYS);
  const matching = await sql<{ d: string | null }>`
    SELECT max(snapshot_date) AS d FROM (
      SELECT snapshot_date FROM snapshot_day
       WHERE collected_at IS NOT NULL AND snapshot_date >= ${since}::date AND snapshot_date <= ${today}::date
         AND vendor_id IN (${vendorIds.ninja}, ${vendorIds.threatlocker})
       GROUP BY snapshot_date HAVING count(DISTINCT vendor_id) = 2) days`.execute(db);
  const matchDate = matching.rows[0]?.d ?? null;
  const dataStatus: { status: 'current' | 'stale_data' | 'out_of_sync'; message: string; latest_date: string | null } = !matchDate
    ? { status: 'out_of_sync', message: 'No matching data found between vendors', latest_date: null }
    : daysBetween(matchDate, today) <= 1
      ? { status: 'current', message: 'Both vendors collected', latest_date: matchDate }
      : { status: 'stale_data', message: `Data is ${daysBetween(matchDate, today)} days old`, latest_date: matchDate };

  const dayAgo = new Date(clock.now().getTime() - 86_400_000);
  const failures = await db
    .selectFrom('job_runs')
    .select(['job_id', 'job_name', 'status', 'message', 'error', 'started_at', 'ended_at'])
    .where('job_name', 'in', ['ninja-collector', 'threatlocker-collector'])
    .where('status', '=', 'failed')
    .where('started_at', '>=', dayAgo)
    .orderBy('started_at', 'desc')
    .execute();
  if (failures.length > 0) {
    warnings.push(`Recent collector failures: ${failures.length} in the last 24 hours (latest: ${failures[0]?.error ?? failures[0]?.message})`);
  }

  const exceptionCounts = await openVarianceCounts(db);

  return {
    data_status: dataStatus,
    device_counts: deviceCounts,
    vendor_status: vendorStatus,
    collector_health: {
      recent_failures: failures.slice(0, 5).map((f) => ({
        collector: f.job_name === 'ninja-collector' ? 'Ninja' : 'ThreatLocker',
        job_id: f.job_id,
        job_name: f.job_name,
        status: f.status,
        message: f.message,
        error: f.error,
        started_at: f.started_at.toISOString(),
        ended_at: f.ended_at ? f.ended_at.toISOString() : null,
      })),
      has_recent_failures: failures.length > 0,
      total_failures_last_24h: failures.length,
    },
    warnings,
    has_warnings: warnings.length > 0,
    // Open variances by type, whatever day they were found (only types that have some).
    exception_counts: exceptionCounts,
    total_exceptions: Object.values(exceptionCounts).reduce((a, b) => a + b, 0),
    generated_at: clock.now().toISOString(),
  };
}
