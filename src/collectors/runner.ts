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
import { SNAPSHOT_WRITE_LOCK } from '../db/locks.js';
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

/**
 * Stages one page, typed: each row is built from device_snapshot's own row type, so the swap
 * only copies columns. A device repeated across pages keeps its latest row.
 */
async function stagePage(db: Kysely<DB>, o: Pick<CollectOptions, 'jobId' | 'vendorId' | 'date'>, devices: readonly NormalizedDevice[]): Promise<void> {
  if (devices.length === 0) return;
  const byKey = new Map<string, NormalizedDevice>();
  for (const d of devices) byKey.set(d.vendorDeviceKey, d);
  // Placeholders for what only the swap knows (the row id, the identity, the write time).
  const fixed = { id: 0, device_identity_id: 0, snapshot_date: o.date, vendor_id: o.vendorId, source: 'collector', written_at: new Date(0).toISOString() };
  const rows = [...byKey.values()].map((d) => ({ k: d.vendorDeviceKey, r: { ...d.attributes, raw: d.raw, ...fixed } }));
  const columns = await columnsOfSnapshot(db);
  // One JSON parameter per page: the server unpacks it, so a page is one short statement.
  // Identities that already exist are resolved here, page by page, so the swap need not join
  // the whole fleet; new ones stay 0 until registerNewIdentities.
  await sql`
    INSERT INTO collector_staging
    SELECT ${o.jobId}, e->>'k', r.*
      FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) AS e
      CROSS JOIN LATERAL jsonb_populate_record(
        NULL::device_snapshot,
        e->'r' || jsonb_build_object('device_identity_id', coalesce(
          (SELECT d.id FROM device_identity d WHERE d.vendor_id = ${o.vendorId} AND d.vendor_device_key = e->>'k'), 0))) AS r
    ON CONFLICT (job_id, vendor_device_key) DO UPDATE
      SET (${sql.join(columns.map((c) => sql.ref(c)))}) = (${sql.join(columns.map((c) => sql.ref(`excluded.${c}`)))})`.execute(db);
}

/** device_snapshot's columns in table order, read from the catalog (once per process). */
let snapshotColumns: Promise<string[]> | undefined;
function columnsOfSnapshot(db: Kysely<DB>): Promise<string[]> {
  snapshotColumns ??= sql<{ column_name: string }>`
    SELECT column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = 'device_snapshot'
     ORDER BY ordinal_position`
    .execute(db)
    .then((r) => r.rows.map((c) => c.column_name));
  // A failed read is not remembered: the next collection asks again.
  snapshotColumns.catch(() => (snapshotColumns = undefined));
  return snapshotColumns;
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
 * Registers the devices seen for the first time, just before the swap. Identities are the
 * registry of devices the vendor has reported, not part of the day's picture: doing this in
 * its own statement keeps the swap short on a first collection (every device new), and a swap
 * that then failed leaves only true facts behind (an identity is never deleted).
 */
async function registerNewIdentities(db: Kysely<DB>, jobId: string, vendorId: number, date: string): Promise<void> {
  await sql`
    INSERT INTO device_identity (vendor_id, vendor_device_key, first_seen_date, last_seen_date)
    SELECT ${vendorId}, s.vendor_device_key, ${date}::date, ${date}::date
      FROM collector_staging s
     WHERE s.job_id = ${jobId} AND s.device_identity_id = 0
     ORDER BY s.vendor_device_key
    ON CONFLICT (vendor_id, vendor_device_key) DO NOTHING`.execute(db);
  // Every staged row now has its identity; the swap copies rows as they are.
  await sql`
    UPDATE collector_staging s SET device_identity_id = d.id
      FROM device_identity d
     WHERE s.job_id = ${jobId} AND s.device_identity_id = 0
       AND d.vendor_id = ${vendorId} AND d.vendor_device_key = s.vendor_device_key`.execute(db);
}

/**
 * Replaces the vendor's day with the staged rows in one short transaction. It holds the
 * vendor's snapshot-write lock exclusively, so single-device syncs wait for it instead of
 * racing it; snapshots they wrote after the fetch began are newer than what was fetched and
 * are kept. Identity bookkeeping happens around it (registerNewIdentities, advanceLastSeen).
 */
async function swapDay(db: Kysely<DB>, jobId: string, vendorId: number, date: string, fetchStartedAt: Date) {
  const columns = (await columnsOfSnapshot(db)).filter((c) => c !== 'id');
  const values = columns.map((c) => (c === 'written_at' ? sql`now()` : sql.ref(`s.${c}`)));
  return db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(${sql.lit(SNAPSHOT_WRITE_LOCK)}, ${vendorId}::integer)`.execute(tx);
    await sql`
      DELETE FROM device_snapshot
       WHERE snapshot_date = ${date}::date AND vendor_id = ${vendorId}
         AND NOT (source = 'sync' AND written_at >= ${fetchStartedAt})`.execute(tx);
    const kept = await tx
      .selectFrom('device_snapshot')
      .select('device_identity_id')
      .where('snapshot_date', '=', date)
      .where('vendor_id', '=', vendorId)
      .limit(1)
      .execute();
    // Only when syncs were kept does each staged row need checking against them.
    const skipKept = kept.length > 0
      ? sql`AND NOT EXISTS (SELECT 1 FROM device_snapshot x
                             WHERE x.snapshot_date = ${date}::date AND x.vendor_id = ${vendorId} AND x.device_identity_id = s.device_identity_id)`
      : sql``;
    const inserted = await sql`
      INSERT INTO device_snapshot (${sql.join(columns.map((c) => sql.ref(c)))})
      SELECT ${sql.join(values)} FROM collector_staging s WHERE s.job_id = ${jobId} ${skipKept}`.execute(tx);
    // Referential integrity, checked once for the whole day (see migration 0001): every row
    // must point at an identity of this vendor. A violation is a bug; it rolls the swap back.
    const orphans = await sql<{ n: string }>`
      SELECT count(*) AS n FROM device_snapshot d
       WHERE d.snapshot_date = ${date}::date AND d.vendor_id = ${vendorId}
         AND NOT EXISTS (SELECT 1 FROM device_identity i WHERE i.id = d.device_identity_id AND i.vendor_id = d.vendor_id)`.execute(tx);
    const orphaned = Number(orphans.rows[0]?.n ?? 0);
    if (orphaned > 0) throw new Error(`${orphaned} snapshot rows would not belong to an identity of this vendor`);
    return Number(inserted.numAffectedRows ?? 0n);
  });
}

/**
 * Moves the collected identities' last-seen date forward (never back). Its own statement after
 * the swap: it touches every identity of the fleet, and nothing else needs to wait for it. If
 * it were ever lost, the snapshots still say the device was seen, and the next run or sync
 * advances it.
 */
async function advanceLastSeen(db: Kysely<DB>, jobId: string, vendorId: number, date: string): Promise<void> {
  await sql`
    UPDATE device_identity d SET last_seen_date = ${date}::date
      FROM collector_staging s
     WHERE s.job_id = ${jobId} AND d.vendor_id = ${vendorId} AND d.vendor_device_key = s.vendor_device_key
       AND d.last_seen_date < ${date}::date`.execute(db);
}

async function clearStaging(db: Kysely<DB>, jobId: string): Promise<void> {
  await db.deleteFrom('collector_staging').where('job_id', '=', jobId).execute();
}

/** Runs one collection. Throws VendorError, CollectorStopped or a database error on failure. */
export async function collect(db: Kysely<DB>, source: CollectorSource, o: CollectOptions): Promise<CollectionResult> {
  // The database's clock, because sync-device stamps written_at with it.
  const fetchStartedAt = (await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(db)).rows[0]?.now ?? new Date();
  const progress = { pages: 0, fetched: 0, skipped: 0, total: null as number | null };
  let stopSource = () => {};
  try {
    // One page of lookahead: the next page is fetched while this one is being staged.
    const pages = source.pages(o.signal)[Symbol.asyncIterator]();
    let next = pages.next();
    stopSource = () => {
      pages.return?.(undefined).catch(() => undefined);
    };
    for (;;) {
      const current = await next;
      if (current.done) break;
      next = pages.next();
      // A rejected lookahead is awaited (and thrown) on the next turn; until then it is handled.
      next.catch(() => undefined);
      const page = current.value;
      if (o.signal.aborted) throw new CollectorStopped('cancelled', 'cancelled');
      await stagePage(db, o, page.devices);
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
    await registerNewIdentities(db, o.jobId, o.vendorId, o.date);
    const t = performance.now();
    const written = await swapDay(db, o.jobId, o.vendorId, o.date, fetchStartedAt);
    const swapMs = Math.round(performance.now() - t);
    await advanceLastSeen(db, o.jobId, o.vendorId, o.date);
    // A whole day was just rewritten: refresh planner statistics now rather than when
    // autovacuum gets to it. Without them the planner cannot tell the per-device unique index
    // from the per-day one and single-device syncs scan the whole day (measured: 5× slower
    // at 10k devices until the next analyze).
    await sql`ANALYZE device_snapshot, device_identity`.execute(db);
    return { devices: staged, skipped: progress.skipped, pages: progress.pages, previous, written, keptSyncs: staged - written, swapMs };
  } finally {
    stopSource(); // a run that stopped early must not leave the vendor source suspended
    await clearStaging(db, o.jobId).catch((err: unknown) => o.logger.error({ err }, 'could not clear collector staging'));
  }
}
