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

/** A new, empty day table for a collection (not attached, not visible to readers). */
export async function createLoadTable(db: Executor, vendorId: number, date: string, jobId: string): Promise<string> {
  const table = loadTableName(vendorId, date, jobId);
  await sql`DROP TABLE IF EXISTS ${sql.id(table)}`.execute(db);
  await sql`SELECT create_snapshot_day_table(${vendorId}::integer, ${date}::date, ${table})`.execute(db);
  return table;
}

export interface LoadTarget {
  readonly table: string;
  readonly jobId: string;
  readonly vendorId: number;
  readonly date: string;
}

/**
 * Writes one page: devices already known go straight into the load table (typed rows, their
 * identity resolved by the same statement); devices seen for the first time wait in
 * `collector_staging` until the fetch is accepted (identities are registered only then). A
 * device repeated across pages keeps its latest row. One JSON parameter per page: the server
 * unpacks it, so a page is one short statement.
 */
export async function loadPage(db: Executor, t: LoadTarget, devices: readonly NormalizedDevice[], readAt: Date): Promise<void> {
  if (devices.length === 0) return;
  const byKey = new Map<string, NormalizedDevice>();
  for (const d of devices) byKey.set(d.vendorDeviceKey, d);
  const fixed = { snapshot_date: t.date, vendor_id: t.vendorId, source: 'collector', vendor_read_at: readAt.toISOString() };
  const rows = [...byKey.values()].map((d) => ({ k: d.vendorDeviceKey, r: { ...d.attributes, raw: d.raw, ...fixed } }));
  const columns = (await columnsOfSnapshot(db)).filter((c) => c !== 'id');
  const cols = sql.join(columns.map((c) => sql.ref(c)));
  const pcols = sql.join(columns.map((c) => (c === 'written_at' ? sql`now()` : sql.ref(`p.${c}`))));
  const excluded = sql.join(columns.map((c) => sql.ref(`excluded.${c}`)));
  await sql`
    WITH input AS (
      SELECT e->>'k' AS k, e->'r' AS r, d.id AS identity_id
        FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) AS e
        LEFT JOIN device_identity d ON d.vendor_id = ${t.vendorId} AND d.vendor_device_key = e->>'k'),
    staged AS (
      INSERT INTO collector_staging (job_id, vendor_device_key, ${cols})
      SELECT ${t.jobId}, i.k, ${pcols}
        FROM input i CROSS JOIN LATERAL jsonb_populate_record(NULL::device_snapshot, i.r || '{"device_identity_id": 0}') AS p
       WHERE i.identity_id IS NULL
      ON CONFLICT (job_id, vendor_device_key) DO UPDATE SET (${cols}) = (${excluded}))
    INSERT INTO ${sql.id(t.table)} (${cols})
    SELECT ${pcols}
      FROM input i CROSS JOIN LATERAL jsonb_populate_record(NULL::device_snapshot, i.r || jsonb_build_object('device_identity_id', i.identity_id)) AS p
     WHERE i.identity_id IS NOT NULL
    ON CONFLICT (snapshot_date, vendor_id, device_identity_id) DO UPDATE SET (${cols}) = (${excluded})`.execute(db);
}

/** Devices fetched so far: rows in the load table plus first-seen devices waiting in staging. */
export async function countLoaded(db: Executor, t: LoadTarget): Promise<number> {
  const r = await sql<{ n: string }>`
    SELECT (SELECT count(*) FROM ${sql.id(t.table)}) + (SELECT count(*) FROM collector_staging WHERE job_id = ${t.jobId}) AS n`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * After the fetch was accepted: registers the devices seen for the first time (identities are
 * the registry of what the vendor reported, never deleted, so one that outlives a failed swap
 * is still a true fact), moves their rows into the load table, builds the indexes and
 * statistics, and verifies referential integrity (every row points at an identity of this
 * vendor; see migration 0001) — all before the swap, so none of it holds a lock others wait on.
 */
export async function prepareLoadedDay(db: Kysely<DB>, t: LoadTarget): Promise<void> {
  await sql`
    INSERT INTO device_identity (vendor_id, vendor_device_key, first_seen_date, last_seen_date)
    SELECT ${t.vendorId}, s.vendor_device_key, ${t.date}::date, ${t.date}::date
      FROM collector_staging s
     WHERE s.job_id = ${t.jobId}
     ORDER BY s.vendor_device_key
    ON CONFLICT (vendor_id, vendor_device_key) DO NOTHING`.execute(db);
  await sql`
    UPDATE collector_staging s SET device_identity_id = d.id
      FROM device_identity d
     WHERE s.job_id = ${t.jobId} AND d.vendor_id = ${t.vendorId} AND d.vendor_device_key = s.vendor_device_key`.execute(db);
  const columns = (await columnsOfSnapshot(db)).filter((c) => c !== 'id');
  // A device first seen on one page and read again later (after a sync registered it) already
  // has its later row in the load table: that one stays.
  await sql`
    INSERT INTO ${sql.id(t.table)} (${sql.join(columns.map((c) => sql.ref(c)))})
    SELECT ${sql.join(columns.map((c) => sql.ref(`s.${c}`)))} FROM collector_staging s WHERE s.job_id = ${t.jobId}
    ON CONFLICT (snapshot_date, vendor_id, device_identity_id) DO NOTHING`.execute(db);
  await clearStaging(db, t.jobId);
  const orphans = await sql<{ n: string }>`
    SELECT count(*) AS n FROM ${sql.id(t.table)} d
     WHERE NOT EXISTS (SELECT 1 FROM device_identity i WHERE i.id = d.device_identity_id AND i.vendor_id = d.vendor_id)`.execute(db);
  const orphaned = Number(orphans.rows[0]?.n ?? 0);
  if (orphaned > 0) throw new Error(`${orphaned} snapshot rows would not belong to an identity of this vendor`);
  await sql`SELECT index_snapshot_day_table(${t.table})`.execute(db);
  // Statistics before the day is visible: single-device writes plan on them at once.
  await sql`ANALYZE ${sql.id(t.table)}`.execute(db);
}

export interface SwapResult {
  /** Rows of the day after the swap. */
  readonly devices: number;
  /** Sync rows of the old day kept because they read the vendor after the collection did. */
  readonly keptSyncs: number;
  /** How long the vendor's snapshot-write lock was held: what syncs of this vendor waited at most. */
  readonly lockMs: number;
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
      await sql`DROP TABLE ${sql.id(day)}`.execute(tx);
    }
    await sql`ALTER TABLE ${sql.id(t.table)} RENAME TO ${sql.id(day)}`.execute(tx);
    await sql`ALTER TABLE ${sql.id(parent)} ATTACH PARTITION ${sql.id(day)} FOR VALUES IN (${sql.lit(t.date)})`.execute(tx);
    const devices = loaded + added;
    await sql`
      INSERT INTO snapshot_day (vendor_id, snapshot_date, device_count, collected_at, collected_devices)
      VALUES (${t.vendorId}, ${t.date}::date, ${devices}, now(), ${collectedDevices})
      ON CONFLICT (vendor_id, snapshot_date) DO UPDATE
        SET device_count = excluded.device_count, collected_at = excluded.collected_at, collected_devices = excluded.collected_devices`.execute(tx);
    return { devices, keptSyncs: kept };
  });
  return { ...result, lockMs: performance.now() - lockedAt };
}

/**
 * Moves the collected identities' last-seen date forward (never back). After the swap, in its
 * own statement: it touches every identity of the fleet and nothing needs to wait for it.
 */
export async function advanceLastSeen(db: Kysely<DB>, vendorId: number, date: string): Promise<void> {
  await sql`
    UPDATE device_identity d SET last_seen_date = ${date}::date
      FROM ${sql.id(dayTableName(vendorId, date))} s
     WHERE d.id = s.device_identity_id AND d.last_seen_date < ${date}::date`.execute(db);
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
