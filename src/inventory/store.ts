/**
 * Writes snapshots — the one write path. A single device is replaced here
 * (`replaceDeviceSnapshot`, by sync-device and update-name); a vendor's whole day is replaced
 * by a collection through ./day-swap.ts. Both hold the vendor's snapshot-write lock (shared
 * here, exclusive for a swap) and both decide freshness by when the vendor was read
 * (`vendor_read_at`), never by when a row was written.
 *
 * Every function takes its executor first: pass a `Transaction` to compose, never reach for a
 * global handle (on PGlite that deadlocks, on a pool it escapes the transaction).
 */
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { DB, SnapshotSource } from '../db/schema.js';
import type { NormalizedDevice } from './device.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface ReplacedSnapshot {
  readonly deviceIdentityId: number;
  readonly firstSeenDate: string;
  readonly lastSeenDate: string;
  /** Display name of the snapshot this call replaced for the day, if there was one. */
  readonly previousDisplayName: string | null;
  readonly replacedExisting: boolean;
  /** The order in which this write was applied among writes of the device (device_write_seq). */
  readonly writeSeq: string;
  /** The day already held a collected row read from the vendor after this one: it was kept. */
  readonly superseded: boolean;
}

/** What `replace_device_snapshot` answers (one row). */
export interface ReplaceSnapshotRow {
  device_identity_id: number;
  first_seen_date: string;
  last_seen_date: string;
  previous_display_name: string | null;
  replaced_existing: boolean;
  write_seq: string;
  superseded: boolean;
}

/**
 * The statement that replaces one device's snapshot for `date`, atomically (the
 * specification's three steps): upsert the identity, delete that identity's snapshot for the
 * day, insert the fresh one. Other devices and other days are never touched.
 *
 * The steps run in the `replace_device_snapshot` database function, defined in
 * src/db/migrations/0004_snapshot_days.ts (read it there), so the whole replace is one round
 * trip and the statement can be composed into a larger one (sync-log.ts). In order:
 *  1. the vendor's snapshot-write lock, shared (a day swap holds it exclusive);
 *  2. the day's partition, created on the day's first write (`ensure_snapshot_day`);
 *  3. the identity upsert, which takes the device's row lock: concurrent writers of one device
 *     queue there and each then sees what the previous one committed;
 *  4. a number from `device_write_seq`, taken under that lock (the order of the writes);
 *  5. if the day holds a collected row read from the vendor after `vendorReadAt`, it is
 *     fresher and is kept (`superseded`); otherwise the old row is deleted and the new one
 *     inserted, and the day's summary (`snapshot_day`) counts a device new to the day.
 *
 * `vendorReadAt` is when the vendor was read for this device (just before the request);
 * without it, the database's clock at the write is used.
 */
export function replaceDeviceSnapshotStatement(
  vendorId: number,
  date: string,
  device: NormalizedDevice,
  source: SnapshotSource,
  vendorReadAt?: Date,
): RawBuilder<ReplaceSnapshotRow> {
  const row = JSON.stringify({ ...device.attributes, raw: device.raw, source, ...(vendorReadAt ? { vendor_read_at: vendorReadAt.toISOString() } : {}) });
  return sql<ReplaceSnapshotRow>`SELECT * FROM replace_device_snapshot(${date}::date, ${vendorId}::integer, ${device.vendorDeviceKey}, ${row}::jsonb)`;
}

export function toReplacedSnapshot(r: ReplaceSnapshotRow): ReplacedSnapshot {
  return {
    deviceIdentityId: r.device_identity_id,
    firstSeenDate: r.first_seen_date,
    lastSeenDate: r.last_seen_date,
    previousDisplayName: r.previous_display_name,
    replacedExisting: r.replaced_existing,
    writeSeq: String(r.write_seq),
    superseded: r.superseded,
  };
}

/** Replaces one device's snapshot for `date` (see {@link replaceDeviceSnapshotStatement}). */
export async function replaceDeviceSnapshot(
  db: Executor,
  vendorId: number,
  date: string,
  device: NormalizedDevice,
  source: SnapshotSource,
  vendorReadAt?: Date,
): Promise<ReplacedSnapshot> {
  const { rows } = await replaceDeviceSnapshotStatement(vendorId, date, device, source, vendorReadAt).execute(db);
  if (!rows[0]) throw new Error('replace_device_snapshot returned no row');
  return toReplacedSnapshot(rows[0]);
}
