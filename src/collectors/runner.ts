/**
 * One collection of one vendor's whole fleet for one day, with the guarantees that keep the
 * daily picture trustworthy:
 *
 *  - pages stream into `collector_staging` as they arrive (memory stays bounded by one page);
 *  - only after the whole fetch succeeded does one short transaction swap the vendor's day;
 *  - any failure before that leaves every earlier snapshot exactly as it was;
 *  - a fleet that shrank implausibly is refused unless forced;
 *  - rows without an id or hostname are skipped and counted, never fatal.
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../db/schema.js';
import type { NormalizedDevice } from '../inventory/device.js';
import type { VendorKey } from '../inventory/vendors.js';

/** One page as a collector source hands it over: usable devices plus how many rows were not. */
export interface CollectedPage {
  readonly devices: readonly NormalizedDevice[];
  readonly skipped: number;
  /** The vendor's own count of the whole fleet, when it tells (ThreatLocker does). */
  readonly total?: number | undefined;
}

/** A vendor's fleet as a stream of normalized pages (see collectors/threatlocker.ts, ninja.ts). */
export interface CollectorSource {
  readonly vendor: VendorKey;
  pages(signal: AbortSignal): AsyncIterable<CollectedPage>;
}

export interface CollectionProgress {
  readonly pages: number;
  readonly fetched: number;
  readonly skipped: number;
  readonly total: number | null;
}

export interface CollectOptions {
  readonly jobId: string;
  readonly vendorId: number;
  readonly date: string;
  /** Accept a fleet that shrank by more than `maxDropPercent`. */
  readonly force: boolean;
  /** Fetch and check, but do not replace the day. */
  readonly dryRun: boolean;
  readonly maxDropPercent: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  onProgress(p: CollectionProgress): Promise<void> | void;
}

export interface CollectionResult {
  readonly devices: number;
  readonly skipped: number;
  readonly pages: number;
  /** Devices in the previous collection the plausibility guard compared against. */
  readonly previous: number | null;
  /** Rows the swap wrote (0 for a dry run). */
  readonly written: number;
  /** Devices kept from syncs that happened while the fetch ran (newer than the fetched data). */
  readonly keptSyncs: number;
  readonly swapMs: number;
}

export type CollectorFailureKind = 'cancelled' | 'implausible';

/** A collection that stopped for a reason of its own (vendor failures stay VendorErrors). */
export class CollectorStopped extends Error {
  constructor(
    readonly kind: CollectorFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'CollectorStopped';
  }
}

/** Stages one page; a device repeated across pages keeps its latest row. */
async function stagePage(db: Kysely<DB>, jobId: string, devices: readonly NormalizedDevice[]): Promise<void> {
  if (devices.length === 0) return;
  // One JSON parameter per page: the server unpacks it, so a 500-row page is one short statement.
  const byKey = new Map<string, { k: string; r: unknown }>();
  for (const d of devices) byKey.set(d.vendorDeviceKey, { k: d.vendorDeviceKey, r: { ...d.attributes, raw: d.raw } });
  await sql`
    INSERT INTO collector_staging (job_id, vendor_device_key, row)
    SELECT ${jobId}, e->>'k', e->'r' FROM jsonb_array_elements(${JSON.stringify([...byKey.values()])}::jsonb) AS e
    ON CONFLICT (job_id, vendor_device_key) DO UPDATE SET row = excluded.row`.execute(db);
}

async function countStaged(db: Kysely<DB>, jobId: string): Promise<number> {
  const r = await db
    .selectFrom('collector_staging')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('job_id', '=', jobId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Devices in the vendor's most recent collected day before `date` (or `date` itself). */
export async function previousCollectionSize(db: Kysely<DB>, vendorId: number, date: string): Promise<number | null> {
  const r = await sql<{ n: string | null }>`
    SELECT count(*) AS n FROM device_snapshot
     WHERE vendor_id = ${vendorId}
       AND snapshot_date = (SELECT max(snapshot_date) FROM device_snapshot
                             WHERE vendor_id = ${vendorId} AND source = 'collector' AND snapshot_date <= ${date}::date)
       AND source = 'collector'`.execute(db);
  const n = Number(r.rows[0]?.n ?? 0);
  return n > 0 ? n : null;
}

/**
 * The plausibility guard: a fleet much smaller than the previous collection usually means a
 * vendor or permission problem, not hundreds of machines retired overnight.
 */
export function plausibility(current: number, previous: number | null, maxDropPercent: number): { ok: true } | { ok: false; message: string } {
  if (previous === null || previous === 0) return { ok: true };
  const dropPercent = ((previous - current) / previous) * 100;
  if (dropPercent <= maxDropPercent) return { ok: true };
  return {
    ok: false,
    message:
      `refused: ${current} devices against ${previous} in the previous collection ` +
      `(−${dropPercent.toFixed(1)}%, more than the allowed ${maxDropPercent}%); run again with force to accept it`,
  };
}

/**
 * Replaces the vendor's day with the staged rows in one transaction. Snapshots written by
 * sync-device after the fetch began are newer than what was fetched, so they are kept.
 */
async function swapDay(db: Kysely<DB>, jobId: string, vendorId: number, date: string, fetchStartedAt: Date) {
  return db.transaction().execute(async (tx) => {
    // Sorted, so concurrent writers always lock identities in the same order.
    await sql`
      INSERT INTO device_identity AS di (vendor_id, vendor_device_key, first_seen_date, last_seen_date)
      SELECT ${vendorId}, s.vendor_device_key, ${date}::date, ${date}::date
        FROM collector_staging s WHERE s.job_id = ${jobId}
       ORDER BY s.vendor_device_key
      ON CONFLICT (vendor_id, vendor_device_key)
        DO UPDATE SET last_seen_date = greatest(di.last_seen_date, excluded.last_seen_date)`.execute(tx);
    await sql`
      DELETE FROM device_snapshot
       WHERE snapshot_date = ${date}::date AND vendor_id = ${vendorId}
         AND NOT (source = 'sync' AND written_at >= ${fetchStartedAt})`.execute(tx);
    const inserted = await sql`
      INSERT INTO device_snapshot OVERRIDING SYSTEM VALUE
      SELECT r.*
        FROM collector_staging s
        JOIN device_identity i ON i.vendor_id = ${vendorId} AND i.vendor_device_key = s.vendor_device_key
        CROSS JOIN LATERAL jsonb_populate_record(
          NULL::device_snapshot,
          s.row || jsonb_build_object(
            'id', nextval(pg_get_serial_sequence('device_snapshot', 'id')),
            'snapshot_date', ${date}::date,
            'vendor_id', ${vendorId}::integer,
            'device_identity_id', i.id,
            'source', 'collector',
            'written_at', now())) AS r
       WHERE s.job_id = ${jobId}
         AND NOT EXISTS (SELECT 1 FROM device_snapshot x
                          WHERE x.snapshot_date = ${date}::date AND x.vendor_id = ${vendorId} AND x.device_identity_id = i.id)`.execute(tx);
    return Number(inserted.numAffectedRows ?? 0n);
  });
}

async function clearStaging(db: Kysely<DB>, jobId: string): Promise<void> {
  await db.deleteFrom('collector_staging').where('job_id', '=', jobId).execute();
}

/** Runs one collection. Throws VendorError, CollectorStopped or a database error on failure. */
export async function collect(db: Kysely<DB>, source: CollectorSource, o: CollectOptions): Promise<CollectionResult> {
  // The database's clock, because sync-device stamps written_at with it.
  const fetchStartedAt = (await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(db)).rows[0]?.now ?? new Date();
  const progress = { pages: 0, fetched: 0, skipped: 0, total: null as number | null };
  try {
    for await (const page of source.pages(o.signal)) {
      if (o.signal.aborted) throw new CollectorStopped('cancelled', 'cancelled');
      await stagePage(db, o.jobId, page.devices);
      progress.pages++;
      progress.fetched += page.devices.length;
      progress.skipped += page.skipped;
      if (page.total !== undefined) progress.total = page.total;
      await o.onProgress({ ...progress });
    }
    if (o.signal.aborted) throw new CollectorStopped('cancelled', 'cancelled');
    const staged = await countStaged(db, o.jobId);
    const previous = await previousCollectionSize(db, o.vendorId, o.date);
    const guard = plausibility(staged, previous, o.maxDropPercent);
    if (!guard.ok && !o.force) throw new CollectorStopped('implausible', guard.message);
    if (!guard.ok) o.logger.warn({ vendor: source.vendor, staged, previous }, `plausibility guard overridden: ${guard.message}`);
    if (o.dryRun) {
      return { devices: staged, skipped: progress.skipped, pages: progress.pages, previous, written: 0, keptSyncs: 0, swapMs: 0 };
    }
    const t = performance.now();
    const written = await swapDay(db, o.jobId, o.vendorId, o.date, fetchStartedAt);
    const swapMs = Math.round(performance.now() - t);
    // A whole day was just rewritten: refresh planner statistics now rather than when
    // autovacuum gets to it. Without them the planner cannot tell the per-device unique index
    // from the per-day one and single-device syncs scan the whole day (measured: 5× slower
    // at 10k devices until the next analyze).
    await sql`ANALYZE device_snapshot, device_identity`.execute(db);
    return { devices: staged, skipped: progress.skipped, pages: progress.pages, previous, written, keptSyncs: staged - written, swapMs };
  } finally {
    await clearStaging(db, o.jobId).catch((err: unknown) => o.logger.error({ err }, 'could not clear collector staging'));
  }
}
