/**
 * The audit trail of every sync-device and update-name attempt, successful or not.
 */
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { DB, DeviceSyncLogTable, NewDeviceSyncLog } from '../db/schema.js';
import type { ReplaceSnapshotRow } from '../inventory/store.js';
import { pgSafeText } from '../vendors/values.js';

/**
 * Every text field made storable (see pgSafeText): the log records what was asked, even when
 * what was asked — through the CLI, or a vendor's error text — carries NUL or lone surrogates.
 */
function pgSafeEntry<T extends object>(entry: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) out[k] = typeof v === 'string' ? pgSafeText(v) : v;
  return out as T;
}

export async function recordSyncAttempt(db: Kysely<DB>, entry: NewDeviceSyncLog): Promise<number> {
  const row = await db.insertInto('device_sync_log').values(pgSafeEntry(entry)).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** A log entry whose identity and previous name come from the write it records. */
export type SuccessEntry = Omit<NewDeviceSyncLog, 'device_identity_id' | 'previous_display_name' | 'duration_ms'> & {
  /** Overrides the replaced snapshot's display name (a rename reports the vendor's old name). */
  readonly previous_display_name?: string | null;
  /** Milliseconds spent before the write; the write's own time is added by the database. */
  readonly elapsed_ms: number;
};

/**
 * Runs a snapshot write and records it as a success in the same statement: one round trip,
 * and a success is in the log exactly when the snapshot was written.
 */
export async function writeAndRecord(
  db: Kysely<DB>,
  write: RawBuilder<ReplaceSnapshotRow>,
  entry: SuccessEntry,
): Promise<ReplaceSnapshotRow & { sync_id: number }> {
  const { elapsed_ms, previous_display_name, ...fields } = pgSafeEntry(entry);
  const columns = Object.keys(fields) as (keyof typeof fields)[];
  const previous = previous_display_name === undefined ? sql`(SELECT previous_display_name FROM w)` : sql`${previous_display_name}`;
  // VALUES (not INSERT … SELECT) so that each parameter takes its column's type.
  const { rows } = await sql<ReplaceSnapshotRow & { sync_id: number }>`
    WITH w AS (${write}),
    l AS (
      INSERT INTO device_sync_log (${sql.join(columns.map((c) => sql.ref(c)))}, device_identity_id, previous_display_name, write_seq, duration_ms)
      VALUES (
        ${sql.join(columns.map((c) => sql`${fields[c]}`))},
        (SELECT device_identity_id FROM w),
        ${previous},
        (SELECT write_seq FROM w),
        ${Math.round(elapsed_ms)} + (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::integer
      )
      RETURNING id
    )
    SELECT w.*, l.id AS sync_id FROM w CROSS JOIN l`.execute(db);
  if (!rows[0]) throw new Error('snapshot write returned no row');
  return rows[0];
}

export interface SyncHistoryQuery {
  readonly computerId?: string | undefined;
  readonly hostname?: string | undefined;
  readonly limit: number;
}

/**
 * Attempts newest first, filtered by the computer id asked for or matched, and/or hostname.
 * "Newest" is the order the writes were applied (`write_seq`, taken under the device's lock),
 * not the order the requests arrived: concurrent syncs of one device can start in one order
 * and write in another.
 */
export async function listSyncHistory(db: Kysely<DB>, q: SyncHistoryQuery) {
  let query = db.selectFrom('device_sync_log').selectAll();
  if (q.computerId) {
    const id = q.computerId.toLowerCase();
    query = query.where((eb) =>
      eb.or([eb(sql`lower(requested_computer_id)`, '=', id), eb(sql`lower(matched_computer_id)`, '=', id)]),
    );
  }
  if (q.hostname) {
    const h = q.hostname.toLowerCase();
    query = query.where((eb) =>
      eb.or([eb(sql`lower(requested_hostname)`, '=', h), eb(sql`lower(matched_hostname)`, '=', h)]),
    );
  }
  return query.orderBy('write_seq', 'desc').limit(q.limit).execute();
}

/**
 * A sync-log row as the API shows it (GET /api/threatlocker/sync-history and the device page's
 * sync history): the contract's columns, the request time as RFC 3339.
 */
export function toSyncHistoryEntry(r: Selectable<DeviceSyncLogTable>) {
  return {
    id: r.id,
    operation: r.operation,
    requested_at: r.requested_at.toISOString(),
    requested_computer_id: r.requested_computer_id,
    requested_hostname: r.requested_hostname,
    matched_computer_id: r.matched_computer_id,
    matched_hostname: r.matched_hostname,
    matched_by: r.matched_by,
    snapshot_date: r.snapshot_date,
    previous_display_name: r.previous_display_name,
    display_name: r.display_name,
    updated_by: r.updated_by,
    outcome: r.outcome,
    error_code: r.error_code,
    error_message: r.error_message,
    duration_ms: r.duration_ms,
  };
}

export type SyncHistoryEntry = ReturnType<typeof toSyncHistoryEntry>;
