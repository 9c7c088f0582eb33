/**
 * Writes snapshots. Every function takes its executor first: pass a `Transaction` to compose,
 * never reach for a global handle (on PGlite that deadlocks, on a pool it escapes the transaction).
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
}

/** What `replace_device_snapshot` answers (one row). */
export interface ReplaceSnapshotRow {
  device_identity_id: number;
  first_seen_date: string;
  last_seen_date: string;
  previous_display_name: string | null;
  replaced_existing: boolean;
}

/**
 * The statement that replaces one device's snapshot for `date`, atomically (the
 * specification's three steps): upsert the identity, delete that identity's snapshot for the
 * day, insert the fresh one. Other devices and other days are never touched. The steps run in
 * the `replace_device_snapshot` database function (see migration 0001 for why in that order),
 * so the whole replace is one round trip; the statement can be composed into a larger one.
 */
export function replaceDeviceSnapshotStatement(
  vendorId: number,
  date: string,
  device: NormalizedDevice,
  source: SnapshotSource,
): RawBuilder<ReplaceSnapshotRow> {
  const row = JSON.stringify({ ...device.attributes, raw: device.raw, source });
  return sql<ReplaceSnapshotRow>`SELECT * FROM replace_device_snapshot(${date}::date, ${vendorId}::integer, ${device.vendorDeviceKey}, ${row}::jsonb)`;
}

export function toReplacedSnapshot(r: ReplaceSnapshotRow): ReplacedSnapshot {
  return {
    deviceIdentityId: r.device_identity_id,
    firstSeenDate: r.first_seen_date,
    lastSeenDate: r.last_seen_date,
    previousDisplayName: r.previous_display_name,
    replacedExisting: r.replaced_existing,
  };
}

/** Replaces one device's snapshot for `date` (see {@link replaceDeviceSnapshotStatement}). */
export async function replaceDeviceSnapshot(
  db: Executor,
  vendorId: number,
  date: string,
  device: NormalizedDevice,
  source: SnapshotSource,
): Promise<ReplacedSnapshot> {
  const { rows } = await replaceDeviceSnapshotStatement(vendorId, date, device, source).execute(db);
  if (!rows[0]) throw new Error('replace_device_snapshot returned no row');
  return toReplacedSnapshot(rows[0]);
}
