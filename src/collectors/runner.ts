/**
 * One collection of one vendor's whole fleet for one day, with the guarantees that keep the
 * daily picture trustworthy:
 *
 *  - pages are written as they arrive, once, by COPY, into the run's own new day table (memory
 *    stays bounded by three pages and the fleet's identity ids); nobody sees it until it is
 *    swapped in;
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
import type { CopyInto } from '../db/copy.js';
import type { DB } from '../db/schema.js';
import {
  beginLoad,
  clearStaging,
  countLoaded,
  dropLoadTable,
  planPage,
  writePage,
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
  /** Where the run's time went, in ms (the benchmark prints it; logged with the run). */
  readonly phases: CollectionPhases;
}

export interface CollectionPhases {
  /** Waiting for the vendor's next page (time the writes did not hide). */
  readonly fetchWaitMs: number;
  /** Building pages' COPY input (ids reserved for new devices included). */
  readonly planMs: number;
  /** Waiting for the database to take a page (time the fetch did not hide). */
  readonly writeWaitMs: number;
  /** Registering new identities, indexes, statistics (prepareLoadedDay). */
  readonly prepareMs: number;
  /** After the swap: last-seen dates and the identities' statistics. */
  readonly afterMs: number;
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

function rounded(p: CollectionPhases): CollectionPhases {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Math.round(v as number)])) as unknown as CollectionPhases;
}

/** Runs one collection. Throws VendorError, CollectorStopped or a database error on failure. */
export async function collect(db: Kysely<DB>, copy: CopyInto, source: CollectorSource, o: CollectOptions): Promise<CollectionResult> {
  // Wall-clock time, as sync-device stamps its own vendor reads: freshness compares the two.
  const fetchStartedAt = new Date();
  const progress = { pages: 0, fetched: 0, skipped: 0, total: null as number | null };
  let stopSource = () => {};
  let target: LoadTarget | undefined;
  /** The page being written, if any (see the pipeline below). */
  let writing: Promise<void> | undefined;
  let swapped = false;
  const phases = { fetchWaitMs: 0, planMs: 0, writeWaitMs: 0, prepareMs: 0, afterMs: 0 };
  try {
    target = await beginLoad(db, o.vendorId, o.date, o.jobId);
    const into = target;
    // A pipeline: while one page is written, the next one's COPY input is built and the one
    // after it is fetched; at most three pages are in memory. Writes go one at a time, in page
    // order. A page's read time is when it was asked for (the source requests it when resumed).
    const pages = source.pages(o.signal)[Symbol.asyncIterator]();
    let requestedAt = new Date();
    let next = pages.next();
    stopSource = () => {
      pages.return?.(undefined).catch(() => undefined);
    };
    /** Counts a page once it is written (the progress a run reports is what is stored). */
    const written = async (page: CollectedPage) => {
      progress.pages++;
      progress.fetched += page.devices.length;
      progress.skipped += page.skipped;
      if (page.total !== undefined) progress.total = page.total;
      await o.onProgress({ ...progress });
    };
    /** Waits for the page being written. */
    const settleWrite = async () => {
      const started = performance.now();
      await writing;
      writing = undefined;
      phases.writeWaitMs += performance.now() - started;
    };
    for (;;) {
      const waitStarted = performance.now();
      const current = await next;
      phases.fetchWaitMs += performance.now() - waitStarted;
      if (current.done) break;
      const readAt = requestedAt;
      requestedAt = new Date();
      next = pages.next();
      // A rejected lookahead is awaited (and thrown) on the next turn; until then it is handled.
      next.catch(() => undefined);
      if (o.signal.aborted) throw new CollectorStopped('cancelled', 'cancelled');
      const planStarted = performance.now();
      const plan = await planPage(db, into, current.value.devices, readAt);
      phases.planMs += performance.now() - planStarted;
      await settleWrite();
      const page = current.value;
      writing = writePage(db, copy, into, plan).then(() => written(page));
      // A failed write is thrown by settleWrite; until then it is handled.
      writing.catch(() => undefined);
    }
    await settleWrite();
    if (o.signal.aborted) throw new CollectorStopped('cancelled', 'cancelled');
    const fetched = await countLoaded(db, target);
    const previous = await previousCollectionSize(db, o.vendorId, o.date);
    const guard = plausibility(fetched, previous, o.maxDropPercent);
    if (!guard.ok && !o.force) throw new CollectorStopped('implausible', guard.message);
    if (!guard.ok) o.logger.warn({ vendor: source.vendor, fetched, previous }, `plausibility guard overridden: ${guard.message}`);
    if (o.dryRun) {
      return { devices: fetched, skipped: progress.skipped, pages: progress.pages, previous, written: 0, keptSyncs: 0, swapMs: 0, lockMs: 0, phases: rounded(phases) };
    }
    const prepareStarted = performance.now();
    await prepareLoadedDay(db, target);
    phases.prepareMs = performance.now() - prepareStarted;
    const t = performance.now();
    const swap = await swapInDay(db, target, fetchStartedAt, fetched, { onlyWhileRunning: true }).catch((err: unknown) => {
      throw err instanceof RunNoLongerRunning ? new CollectorStopped('cancelled', err.message) : err;
    });
    swapped = true;
    const swapMs = Math.round(performance.now() - t);
    if (swap.retiredTable) {
      // The run succeeded whatever happens here; a table left behind goes with the leftovers.
      await dropLoadTable(db, swap.retiredTable).catch((err: unknown) => o.logger.warn({ err }, "could not drop the replaced day's table"));
    }
    const afterStarted = performance.now();
    // Many identities may be new (a first collection): keep the planner's picture of them
    // current for the per-device lookups of sync-device. The day itself was analyzed before
    // it was swapped in.
    await sql`ANALYZE device_identity`.execute(db);
    phases.afterMs = performance.now() - afterStarted;
    return {
      devices: fetched,
      skipped: progress.skipped,
      pages: progress.pages,
      previous,
      written: swap.devices,
      keptSyncs: swap.keptSyncs,
      swapMs,
      lockMs: Math.round(swap.lockMs * 10) / 10,
      phases: rounded(phases),
    };
  } finally {
    stopSource(); // a run that stopped early must not leave the vendor source suspended
    await writing?.catch(() => undefined); // a page still being written when the run stopped
    const loaded = target;
    await clearStaging(db, o.jobId).catch((err: unknown) => o.logger.error({ err }, 'could not clear collector staging'));
    if (loaded && !swapped) {
      await dropLoadTable(db, loaded.table).catch((err: unknown) => o.logger.error({ err }, 'could not drop the run\'s day table'));
    }
  }
}
