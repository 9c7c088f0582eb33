/**
 * Replacing a vendor's whole day: the write half of a collection.
 *
 * Each vendor-day of `device_snapshot` is its own partition (migration 0004). A collection
 * writes every row once, straight into a new table shaped like that partition, while it
 * fetches; nobody else sees that table. When the fetch is complete and accepted, the table gets
 * its indexes and statistics, still outside any lock, and then one short transaction swaps it
 * in: DETACH the old day, ATTACH the new one (its CHECK constraint matches the partition bounds,
 * so ATTACH needs no scan). Only that transaction holds the vendor's snapshot-write lock, which
 * single-device writes take shared: they wait for the swap instead of racing it.
 *
 * A sync row of the old day survives the swap when the sync read the vendor after the
 * collection read that device (`vendor_read_at`): it is fresher than what was collected.
 *
 * Every function takes its executor first.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { SNAPSHOT_WRITE_LOCK } from '../db/locks.js';
import { copyText, type CopyInto } from '../db/copy.js';
import type { DB } from '../db/schema.js';
import type { NormalizedDevice } from './device.js';

/** The swap found its run no longer `running` (another process reaped it): nothing was swapped. */
export class RunNoLongerRunning extends Error {
  constructor() {
    super('the run was ended by another process before its swap');
    this.name = 'RunNoLongerRunning';
  }
}

type Executor = Kysely<DB> | Transaction<DB>;

/** The partition holding one vendor-day (see snapshot_day_table_name in migration 0004). */
export function dayTableName(vendorId: number, date: string): string {
  return `device_snapshot_v${vendorId}_${date.replaceAll('-', '')}`;
}

/** A collection's table for the day until it is swapped in: one per run. */
export function loadTableName(vendorId: number, date: string, jobId: string): string {
  return `${dayTableName(vendorId, date)}_${jobId.toLowerCase().replace(/[^a-z0-9_]/g, '')}`;
}

/** Names of load tables of runs other than `activeJobIds`, e.g. of a process that died. */
const LOAD_TABLE = /^device_snapshot_v\d+_\d{8}_(.+)$/;

/** device_snapshot's columns in table order, read from the catalog (once per process). */
let snapshotColumns: Promise<string[]> | undefined;
export function columnsOfSnapshot(db: Executor): Promise<string[]> {
  snapshotColumns ??= sql<{ column_name: string }>`
    SELECT column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = 'device_snapshot'
     ORDER BY ordinal_position`
    .execute(db)
    .then((r) => r.rows.map((c) => c.column_name));
  // A failed read is not remembered: the next caller asks again.
  snapshotColumns.catch(() => (snapshotColumns = undefined));
  return snapshotColumns;
}

export interface LoadTarget {
  readonly table: string;
  readonly jobId: string;
  readonly vendorId: number;
  readonly date: string;
  /**
   * The run's identities: the vendor's when the load began, plus an id reserved for each
   * device the run saw first (vendor device key → id). Lets a page be written without a
   * lookup, and a device seen twice in one run keep one id.
   */
  readonly identities: Map<string, number>;
  /** Ids reserved for devices seen first but not handed out yet. */
  readonly spareIds: number[];
}

/**
 * Begins a collection's load: a new, empty day table (not attached, not visible to readers)
 * and the vendor's identities as they are now (a few MB for 100k devices).
 */
export async function beginLoad(db: Executor, vendorId: number, date: string, jobId: string): Promise<LoadTarget> {
  const table = loadTableName(vendorId, date, jobId);
  await sql`DROP TABLE IF EXISTS ${sql.id(table)}`.execute(db);
  await sql`SELECT create_snapshot_day_table(${vendorId}::integer, ${date}::date, ${table})`.execute(db);
  const { rows } = await sql<{ k: string; id: number }>`
    SELECT vendor_device_key AS k, id FROM device_identity WHERE vendor_id = ${vendorId}`.execute(db);
  return { table, jobId, vendorId, date, identities: new Map(rows.map((r) => [r.k, r.id])), spareIds: [] };
}

/**
 * Writes one page into the run's day table, every row with its identity id. A device seen for
 * the first time gets an id reserved from device_identity's sequence, and `collector_staging`
 * notes it (key and id); the identity itself is registered only once the fetch is accepted
 * (prepareLoadedDay). A device repeated within a page keeps its last row.
 *
 * Rows go in by COPY (one statement per table): the load is bound by how fast the database
 * takes rows, not by statements. A device an earlier page of the run already wrote (the
 * vendor's paging shifted under a changing fleet) makes the COPY fail whole on the table's
 * unique key; that page is then written by {@link upsertPage}, where the later row wins.
 */
export async function loadPage(db: Executor, copy: CopyInto, t: LoadTarget, devices: readonly NormalizedDevice[], readAt: Date): Promise<void> {
  await writePage(db, copy, t, await planPage(db, t, devices, readAt));
}

/** A page made ready to write: its COPY input, built while the previous page is written. */
export interface PagePlan {
  readonly devices: readonly NormalizedDevice[];
  readonly readAt: Date;
  readonly columns: readonly string[];
  /** The page's rows in COPY's text format (empty for an empty page). */
  readonly rows: string;
  /** Keys of the devices the run sees for the first time, with their reserved ids. */
  readonly firstSeen: string;
}

/** The first half of {@link loadPage}: ids reserved for new devices, and the COPY input built. */
export async function planPage(db: Executor, t: LoadTarget, devices: readonly NormalizedDevice[], readAt: Date): Promise<PagePlan> {
  const byKey = new Map<string, NormalizedDevice>();
  for (const d of devices) byKey.set(d.vendorDeviceKey, d);
  const firstSeen = [...byKey.keys()].filter((k) => !t.identities.has(k));
  if (firstSeen.length > 0) {
    const ids = await reserveIds(db, t, firstSeen.length);
    firstSeen.forEach((k, i) => t.identities.set(k, ids[i] as number));
  }
  const columns = (await columnsOfSnapshot(db)).filter((c) => c !== 'id' && c !== 'written_at');
  const fixed: Readonly<Record<string, unknown>> = { snapshot_date: t.date, vendor_id: t.vendorId, source: 'collector', vendor_read_at: readAt.toISOString() };
  const unique = [...byKey.values()];
  return {
    devices: unique,
    readAt,
    columns,
    rows: copyText(columns, unique.map((d) => deviceRow(d, fixed, t.identities.get(d.vendorDeviceKey)))),
    firstSeen: copyText(STAGING_COLUMNS, firstSeen.map((k) => (c: string) => (c === 'job_id' ? t.jobId : c === 'vendor_device_key' ? k : t.identities.get(k)))),
  };
}

/** Ids are reserved from the sequence in blocks (ids a run does not use are simply skipped). */
const RESERVE_BLOCK = 2_000;

async function reserveIds(db: Executor, t: LoadTarget, n: number): Promise<number[]> {
  if (t.spareIds.length < n) {
    const more = Math.max(n - t.spareIds.length, RESERVE_BLOCK);
    const { rows } = await sql<{ id: number }>`
      SELECT nextval(pg_get_serial_sequence('device_identity', 'id'))::integer AS id FROM generate_series(1, ${more}::integer)`.execute(db);
    for (const r of rows) t.spareIds.push(r.id);
  }
  return t.spareIds.splice(0, n);
}

const STAGING_COLUMNS = ['job_id', 'vendor_device_key', 'device_identity_id'];

/** The second half of {@link loadPage}: the page's COPY (or upsert), then its staging notes. */
export async function writePage(db: Executor, copy: CopyInto, t: LoadTarget, plan: PagePlan): Promise<void> {
  if (plan.devices.length === 0) return;
  try {
    await copy(t.table, plan.columns, plan.rows);
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
    await upsertPage(db, t, plan.devices, plan.readAt);
  }
  if (plan.firstSeen !== '') await copy('collector_staging', STAGING_COLUMNS, plan.firstSeen);
}

const UNIQUE_VIOLATION = '23505';

/** A device's row for COPY, as a column → value lookup (no object built per row). */
function deviceRow(d: NormalizedDevice, fixed: Readonly<Record<string, unknown>>, identityId: number | undefined): (column: string) => unknown {
  const attributes = d.attributes as unknown as Readonly<Record<string, unknown>>;
  return (c) => {
    if (c === 'raw') return d.raw;
    if (c === 'device_identity_id') return identityId;
    return c in fixed ? fixed[c] : attributes[c];
  };
}

/**
 * {@link loadPage}'s rows as one upsert statement: a device the run already wrote is replaced
 * by this page's row. One JSON parameter per page, unpacked by the server. Every device of
 * the page already has its id in `t.identities`.
 */
export async function upsertPage(db: Executor, t: LoadTarget, devices: readonly NormalizedDevice[], readAt: Date): Promise<void> {
  const fixed = { snapshot_date: t.date, vendor_id: t.vendorId, source: 'collector', vendor_read_at: readAt.toISOString() };
  const rows = devices.map((d) => ({ ...d.attributes, raw: d.raw, ...fixed, device_identity_id: t.identities.get(d.vendorDeviceKey) }));
  const columns = (await columnsOfSnapshot(db)).filter((c) => c !== 'id');
  const cols = sql.join(columns.map((c) => sql.ref(c)));
  await sql`
    INSERT INTO ${sql.id(t.table)} (${cols})
    SELECT ${sql.join(columns.map((c) => (c === 'written_at' ? sql`now()` : sql.ref(`p.${c}`))))}
      FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) AS e CROSS JOIN LATERAL jsonb_populate_record(NULL::device_snapshot, e) AS p
    ON CONFLICT (snapshot_date, vendor_id, device_identity_id) DO UPDATE SET (${cols}) = (${sql.join(columns.map((c) => sql.ref(`excluded.${c}`)))})`.execute(db);
}

/** Devices fetched so far: the rows in the run's day table. */
export async function countLoaded(db: Executor, t: LoadTarget): Promise<number> {
  const r = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.id(t.table)}`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * After the fetch was accepted: registers the devices the run saw first, under the ids it
 * reserved for them (identities are the registry of what the vendor reported, never deleted,
 * so one that outlives a failed swap is still a true fact). A device a sync registered while
 * the run fetched already has an identity: the run's rows move to it. Then referential
 * integrity is verified (every row points at an identity of this vendor; see migration 0001),
 * and the indexes and statistics are built while, on another connection, the fleet's
 * last-seen dates move forward (equally a true fact once the vendor reported the devices).
 * All before the swap: none of it holds the lock the swap takes.
 */
export async function prepareLoadedDay(db: Kysely<DB>, t: LoadTarget): Promise<void> {
  await sql`
    INSERT INTO device_identity (id, vendor_id, vendor_device_key, first_seen_date, last_seen_date) OVERRIDING SYSTEM VALUE
    SELECT s.device_identity_id, ${t.vendorId}, s.vendor_device_key, ${t.date}::date, ${t.date}::date
      FROM collector_staging s
     WHERE s.job_id = ${t.jobId}
     ORDER BY s.vendor_device_key
    ON CONFLICT (vendor_id, vendor_device_key) DO NOTHING`.execute(db);
  // The run holds no row under the id the sync registered (that key was not known when the
  // run began, and the run kept its reserved id for it), so the move cannot collide.
  await sql`
    UPDATE ${sql.id(t.table)} l SET device_identity_id = d.id
      FROM collector_staging s JOIN device_identity d ON d.vendor_id = ${t.vendorId} AND d.vendor_device_key = s.vendor_device_key
     WHERE s.job_id = ${t.jobId} AND d.id <> s.device_identity_id AND l.device_identity_id = s.device_identity_id`.execute(db);
  await clearStaging(db, t.jobId);
  const orphans = await sql<{ n: string }>`
    SELECT count(*) AS n FROM ${sql.id(t.table)} d
     WHERE NOT EXISTS (SELECT 1 FROM device_identity i WHERE i.id = d.device_identity_id AND i.vendor_id = d.vendor_id)`.execute(db);
  const orphaned = Number(orphans.rows[0]?.n ?? 0);
  if (orphaned > 0) throw new Error(`${orphaned} snapshot rows would not belong to an identity of this vendor`);
  const indexed = (async () => {
    await sql`SELECT index_snapshot_day_table(${t.table})`.execute(db);
    // Statistics before the day is visible: single-device writes plan on them at once.
    await sql`ANALYZE ${sql.id(t.table)}`.execute(db);
  })();
  // Both settle before either failure is thrown: nothing of the run is left running.
  const [index, lastSeen] = await Promise.allSettled([indexed, advanceLastSeen(db, t)]);
  if (index.status === 'rejected') throw index.reason;
  if (lastSeen.status === 'rejected') throw lastSeen.reason;
}

export interface SwapResult {
  /** Rows of the day after the swap. */
  readonly devices: number;
  /** Sync rows of the old day kept because they read the vendor after the collection did. */
  readonly keptSyncs: number;
  /** How long the vendor's snapshot-write lock was held: what syncs of this vendor waited at most. */
  readonly lockMs: number;
  /** The replaced day, detached and renamed; the caller drops it (dropLoadTable) after the swap. */
  readonly retiredTable: string | null;
}

/**
 * Swaps the loaded table in as the vendor's day, in one transaction holding the vendor's
 * snapshot-write lock exclusively. Inside it: the old day's syncs that read the vendor after
 * the collection read that device (or, for a device not collected, after the fetch began)
 * are carried over; the old day is detached and dropped; the new one renamed and attached;
 * the day's summary updated. Readers of the vendor's snapshots wait only from the DETACH to
 * the commit (ACCESS EXCLUSIVE on the vendor's table).
 */
export interface SwapOptions {
  /** Swap only while the run `t.jobId` is still `running` in job_runs (a tracked collection). */
  readonly onlyWhileRunning?: boolean;
}

export async function swapInDay(db: Kysely<DB>, t: LoadTarget, fetchStartedAt: Date, collectedDevices: number, options: SwapOptions = {}): Promise<SwapResult> {
  const columns = await columnsOfSnapshot(db);
  const day = dayTableName(t.vendorId, t.date);
  const parent = `device_snapshot_v${t.vendorId}`;
  const cols = sql.join(columns.map((c) => sql.ref(c)));
  const loaded = Number(
    (await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.id(t.table)}`.execute(db)).rows[0]?.n ?? 0,
  );
  let lockedAt = 0;
  // Named like a run's table, so that if the drop after the commit never happens, the
  // leftovers cleanup (dropAbandonedLoads) removes it.
  const retired = loadTableName(t.vendorId, t.date, `${t.jobId}_old`);
  const result = await db.transaction().execute(async (tx) => {
    if (options.onlyWhileRunning) {
      // Only a run still recorded as running may swap, and its row stays locked until the swap
      // commits: a reaper in another process that marked it failed meanwhile wins, and one
      // arriving now waits (collectors/runs.ts then says the day was replaced).
      const live = await sql`SELECT 1 FROM job_runs WHERE job_id = ${t.jobId} AND status = 'running' FOR UPDATE`.execute(tx);
      if (live.rows.length === 0) throw new RunNoLongerRunning();
    }
    await sql`SELECT pg_advisory_xact_lock(${sql.lit(SNAPSHOT_WRITE_LOCK)}, ${t.vendorId}::integer)`.execute(tx);
    lockedAt = performance.now();
    const exists = (await sql<{ r: string | null }>`SELECT to_regclass(${day})::text AS r`.execute(tx)).rows[0]?.r != null;
    let added = 0;
    let kept = 0;
    if (exists) {
      const carried = await sql<{ inserted: boolean }>`
        INSERT INTO ${sql.id(t.table)} (${cols})
        SELECT ${sql.join(columns.map((c) => sql.ref(`o.${c}`)))}
          FROM ${sql.id(day)} o
          LEFT JOIN ${sql.id(t.table)} n ON n.device_identity_id = o.device_identity_id
         WHERE o.source = 'sync' AND o.vendor_read_at > coalesce(n.vendor_read_at, ${fetchStartedAt})
        ON CONFLICT (snapshot_date, vendor_id, device_identity_id) DO UPDATE SET (${cols}) = (${sql.join(columns.map((c) => sql.ref(`excluded.${c}`)))})
        RETURNING (xmax = 0) AS inserted`.execute(tx);
      kept = carried.rows.length;
      added = carried.rows.filter((r) => r.inserted).length;
      await sql`ALTER TABLE ${sql.id(parent)} DETACH PARTITION ${sql.id(day)}`.execute(tx);
      // Dropped after the commit, outside the lock (dropping a large table takes a while).
      await sql`ALTER TABLE ${sql.id(day)} RENAME TO ${sql.id(retired)}`.execute(tx);
    }
    await sql`ALTER TABLE ${sql.id(t.table)} RENAME TO ${sql.id(day)}`.execute(tx);
    await sql`ALTER TABLE ${sql.id(parent)} ATTACH PARTITION ${sql.id(day)} FOR VALUES IN (${sql.lit(t.date)})`.execute(tx);
    const devices = loaded + added;
    await sql`
      INSERT INTO snapshot_day (vendor_id, snapshot_date, device_count, collected_at, collected_devices)
      VALUES (${t.vendorId}, ${t.date}::date, ${devices}, now(), ${collectedDevices})
      ON CONFLICT (vendor_id, snapshot_date) DO UPDATE
        SET device_count = excluded.device_count, collected_at = excluded.collected_at, collected_devices = excluded.collected_devices`.execute(tx);
    return { devices, keptSyncs: kept, retiredTable: exists ? retired : null };
  });
  return { ...result, lockMs: performance.now() - lockedAt };
}

/**
 * Moves the loaded identities' last-seen date forward (never back), in one statement of its
 * own: it touches every identity of the fleet, each only while the statement runs.
 */
async function advanceLastSeen(db: Kysely<DB>, t: LoadTarget): Promise<void> {
  await sql`
    UPDATE device_identity d SET last_seen_date = ${t.date}::date
      FROM ${sql.id(t.table)} s
     WHERE d.id = s.device_identity_id AND d.last_seen_date < ${t.date}::date`.execute(db);
}

export async function clearStaging(db: Executor, jobId: string): Promise<void> {
  await db.deleteFrom('collector_staging').where('job_id', '=', jobId).execute();
}

/** Drops a load table that was not swapped in (failed, cancelled, refused or dry run). */
export async function dropLoadTable(db: Executor, table: string): Promise<void> {
  await sql`DROP TABLE IF EXISTS ${sql.id(table)}`.execute(db);
}

/**
 * Removes what runs that are no longer running left behind (a process that died mid-run):
 * their load tables and staging rows. `activeJobIds` are the runs still running anywhere.
 */
export async function dropAbandonedLoads(db: Kysely<DB>, activeJobIds: readonly string[]): Promise<string[]> {
  const active = new Set(activeJobIds.map((j) => j.toLowerCase().replace(/[^a-z0-9_]/g, '')));
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND NOT c.relispartition
       AND c.relname LIKE 'device\\_snapshot\\_v%'`.execute(db);
  const dropped: string[] = [];
  for (const { name } of rows) {
    const job = LOAD_TABLE.exec(name)?.[1];
    if (job === undefined || active.has(job)) continue;
    await dropLoadTable(db, name);
    dropped.push(name);
  }
  let q = db.deleteFrom('collector_staging');
  if (activeJobIds.length > 0) q = q.where('job_id', 'not in', activeJobIds);
  await q.execute();
  return dropped;
}
