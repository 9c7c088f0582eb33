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

/** Column values for one snapshot row. */
export function snapshotValues(vendorId: number, identityId: number, date: string, device: NormalizedDevice, source: SnapshotSource) {
  return {
    ...device.attributes,
    snapshot_date: date,
    vendor_id: vendorId,
    device_identity_id: identityId,
    raw: JSON.stringify(device.raw),
    source,
  };
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

/** Rows per INSERT: 23 columns × 500 stays far below PostgreSQL's 65,535 parameters. */
const INSERT_CHUNK = 500;

export interface ReplacedDay {
  readonly devices: number;
  readonly newIdentities: number;
  readonly deletedSnapshots: number;
}

/**
 * Replaces one vendor's whole day in one transaction: upsert every identity, delete the
 * vendor's snapshots for `date`, insert the new set in bulk. Other vendors and days are
 * untouched; a failure leaves the previous day exactly as it was. Devices repeated in the
 * input collapse to the last occurrence (a vendor may return a row twice across pages).
 */
export async function replaceVendorDay(
  db: Kysely<DB>,
  vendorId: number,
  date: string,
  devices: Iterable<NormalizedDevice>,
  source: SnapshotSource,
): Promise<ReplacedDay> {
  const unique = new Map<string, NormalizedDevice>();
  for (const d of devices) unique.set(d.vendorDeviceKey, d);
  const list = [...unique.values()];
  const result = await db.transaction().execute(async (tx) => {
    const identityIds = new Map<string, number>();
    let newIdentities = 0;
    for (let i = 0; i < list.length; i += INSERT_CHUNK) {
      const chunk = list.slice(i, i + INSERT_CHUNK);
      const rows = await tx
        .insertInto('device_identity')
        .values(chunk.map((d) => ({ vendor_id: vendorId, vendor_device_key: d.vendorDeviceKey, first_seen_date: date, last_seen_date: date })))
        .onConflict((oc) =>
          oc.columns(['vendor_id', 'vendor_device_key']).doUpdateSet({
            last_seen_date: sql<string>`greatest(device_identity.last_seen_date, excluded.last_seen_date)`,
          }),
        )
        // xmax = 0 only on a freshly inserted row: counts new identities without a second query.
        .returning(['id', 'vendor_device_key', sql<boolean>`(xmax = 0)`.as('inserted')])
        .execute();
      for (const r of rows) {
        identityIds.set(r.vendor_device_key, r.id);
        if (r.inserted) newIdentities++;
      }
    }
    const deleted = await tx
      .deleteFrom('device_snapshot')
      .where('snapshot_date', '=', date)
      .where('vendor_id', '=', vendorId)
      .executeTakeFirst();
    for (let i = 0; i < list.length; i += INSERT_CHUNK) {
      const chunk = list.slice(i, i + INSERT_CHUNK);
      await tx
        .insertInto('device_snapshot')
        .values(chunk.map((d) => snapshotValues(vendorId, identityIds.get(d.vendorDeviceKey) as number, date, d, source)))
        .execute();
    }
    return { devices: list.length, newIdentities, deletedSnapshots: Number(deleted.numDeletedRows) };
  });
  // A whole day was just rewritten: refresh planner statistics now rather than when
  // autovacuum gets to it. Without them the planner cannot tell the per-device unique index
  // from the per-day one and single-device syncs scan the whole day (measured: 5× slower
  // at 10k devices until the next analyze).
  await sql`ANALYZE device_snapshot, device_identity`.execute(db);
  return result;
}
