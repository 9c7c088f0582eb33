/**
 * One collection of one vendor's whole fleet for one day, with the guarantees that keep the
 * daily picture trustworthy:
 *
 *  - pages are written as they arrive, once, into the run's own new day table (memory stays
 *    bounded by two pages); nobody sees it until it is swapped in;
 *  - only after the whole fetch succeeded and passed the guard does one short transaction swap
 *    it in as the vendor's day (src/inventory/day-swap.ts, the store's whole-day write);
 *  - any failure, cancellation or refusal before that leaves every earlier snapshot exactly as
 *    it was (the run's table is dropped);
 *  - a fleet that shrank implausibly is refused unless forced;
 *  - rows without an id or hostname are skipped and counted, never fatal;
 *  - a device synced after the collection read it (by when each read the vendor) keeps its
 *    synced row.
 *
 * Fetching, the guard and the order of the steps live here; the writes are the store's.
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../db/schema.js';
import {
  advanceLastSeen,
  clearStaging,
  countLoaded,
  createLoadTable,
  dropLoadTable,
  loadPage,
  prepareLoadedDay,
  swapInDay,
  RunNoLongerRunning,
  type LoadTarget,
} from '../inventory/day-swap.js';
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
  /** Rows of the day after the swap (0 for a dry run). */
  readonly written: number;
  /** Synced rows kept because the sync read the vendor after the collection did. */
  readonly keptSyncs: number;
  /** The swap transaction, start to commit. */
  readonly swapMs: number;
  /** How long the swap held the vendor's snapshot-write lock (what syncs waited at most). */
  readonly lockMs: number;
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
 * Devices the vendor's most recent collection up to `date` fetched (the day summary the
 * writers keep, see migration 0004).
 */
export async function previousCollectionSize(db: Kysely<DB>, vendorId: number, date: string): Promise<number | null> {
  const r = await db
    .selectFrom('snapshot_day')
    .select('collected_devices')
    .where('vendor_id', '=', vendorId)
    .where('snapshot_date', '<=', date)
    .where('collected_at', 'is not', null)
    .orderBy('snapshot_date', 'desc')
    .limit(1)
    .executeTakeFirst();
  const n = r?.collected_devices ?? 0;
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

/** Runs one collection. Throws VendorError, CollectorStopped or a database error on failure. */
export async function collect(db: Kysely<DB>, source: CollectorSource, o: CollectOptions): Promise<CollectionResult> {
  // Wall-clock time, as sync-device stamps its own vendor reads: freshness compares the two.
  const fetchStartedAt = new Date();
  const progress = { pages: 0, fetched: 0, skipped: 0, total: null as number | null };
  let stopSource = () => {};
  let target: LoadTarget | undefined;
  let swapped = false;
  try {
    target = { table: await createLoadTable(db, o.vendorId, o.date, o.jobId), jobId: o.jobId, vendorId: o.vendorId, date: o.date };
    // One page of lookahead: the next page is fetched while this one is written. A page's
    // read time is when it was asked for (the source requests it when resumed).
    const pages = source.pages(o.signal)[Symbol.asyncIterator]();
    let requestedAt = new Date();
    let next = pages.next();
    stopSource = () => {
      pages.return?.(undefined).catch(() => undefined);
    };
    for (;;) {
      const current = await next;
      if (current.done) break;
      const readAt = requestedAt;
      requestedAt = new Date();
      next = pages.next();
      // A rejected lookahead is awaited (and thrown) on the next turn; until then it is handled.
      next.catch(() => undefined);
      const page = current.value;
      if (o.signal.aborted) throw new CollectorStopped('cancelled', 'cancelled');
      await loadPage(db, target, page.devices, readAt);
      progress.pages++;
      progress.fetched += page.devices.length;
      progress.skipped += page.skipped;
      if (page.total !== undefined) progress.total = page.total;
      await o.onProgress({ ...progress });
    }
    if (o.signal.aborted) throw new CollectorStopped('cancelled', 'cancelled');
    const fetched = await countLoaded(db, target);
    const previous = await previousCollectionSize(db, o.vendorId, o.date);
    const guard = plausibility(fetched, previous, o.maxDropPercent);
    if (!guard.ok && !o.force) throw new CollectorStopped('implausible', guard.message);
    if (!guard.ok) o.logger.warn({ vendor: source.vendor, fetched, previous }, `plausibility guard overridden: ${guard.message}`);
    if (o.dryRun) {
      return { devices: fetched, skipped: progress.skipped, pages: progress.pages, previous, written: 0, keptSyncs: 0, swapMs: 0, lockMs: 0 };
    }
    await prepareLoadedDay(db, target);
    const t = performance.now();
    const swap = await swapInDay(db, target, fetchStartedAt, fetched, { onlyWhileRunning: true }).catch((err: unknown) => {
      throw err instanceof RunNoLongerRunning ? new CollectorStopped('cancelled', err.message) : err;
    });
    swapped = true;
    const swapMs = Math.round(performance.now() - t);
    await advanceLastSeen(db, o.vendorId, o.date);
    // Many identities may be new (a first collection): keep the planner's picture of them
    // current for the per-device lookups of sync-device. The day itself was analyzed before
    // it was swapped in.
    await sql`ANALYZE device_identity`.execute(db);
    return {
      devices: fetched,
      skipped: progress.skipped,
      pages: progress.pages,
      previous,
      written: swap.devices,
      keptSyncs: swap.keptSyncs,
      swapMs,
      lockMs: Math.round(swap.lockMs * 10) / 10,
    };
  } finally {
    stopSource(); // a run that stopped early must not leave the vendor source suspended
    const loaded = target;
    await clearStaging(db, o.jobId).catch((err: unknown) => o.logger.error({ err }, 'could not clear collector staging'));
    if (loaded && !swapped) {
      await dropLoadTable(db, loaded.table).catch((err: unknown) => o.logger.error({ err }, 'could not drop the run\'s day table'));
    }
  }
}
