/**
 * Writes snapshots. Every function takes its executor first: pass a `Transaction` to compose,
 * never reach for a global handle (on PGlite that deadlocks, on a pool it escapes the transaction).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, SnapshotSource } from '../db/schema.js';
import type { NormalizedDevice } from '../vendors/threatlocker/normalize.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface ReplacedSnapshot {
  readonly deviceIdentityId: number;
  readonly firstSeenDate: string;
  readonly lastSeenDate: string;
  /** Display name of the snapshot this call replaced for the day, if there was one. */
  readonly previousDisplayName: string | null;
  readonly replacedExisting: boolean;
}

/**
 * Creates the identity (first_seen = last_seen = `date`) or advances its last_seen_date
 * (never backwards). Returns the identity row.
 *
 * The upsert also takes the identity's row lock until the transaction ends, which is what
 * serializes concurrent writers of one device: the second waits, then sees the first's rows.
 */
export async function upsertIdentity(db: Executor, vendorId: number, vendorDeviceKey: string, date: string) {
  return db
    .insertInto('device_identity')
    .values({ vendor_id: vendorId, vendor_device_key: vendorDeviceKey, first_seen_date: date, last_seen_date: date })
    .onConflict((oc) =>
      oc.columns(['vendor_id', 'vendor_device_key']).doUpdateSet({
        last_seen_date: sql<string>`greatest(device_identity.last_seen_date, excluded.last_seen_date)`,
      }),
    )
    .returning(['id', 'first_seen_date', 'last_seen_date'])
    .executeTakeFirstOrThrow();
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

/**
 * Replaces one device's snapshot for `date`, atomically (the specification's three steps):
 * upsert the identity, delete that identity's snapshot for the day, insert the fresh one.
 * Other devices and other days are never touched. Opens its own transaction.
 */
export async function replaceDeviceSnapshot(
  db: Kysely<DB>,
  vendorId: number,
  date: string,
  device: NormalizedDevice,
  source: SnapshotSource,
): Promise<ReplacedSnapshot> {
  return db.transaction().execute(async (tx) => {
    const identity = await upsertIdentity(tx, vendorId, device.vendorDeviceKey, date);
    const deleted = await tx
      .deleteFrom('device_snapshot')
      .where('snapshot_date', '=', date)
      .where('vendor_id', '=', vendorId)
      .where('device_identity_id', '=', identity.id)
      .returning('display_name')
      .execute();
    await tx.insertInto('device_snapshot').values(snapshotValues(vendorId, identity.id, date, device, source)).execute();
    return {
      deviceIdentityId: identity.id,
      firstSeenDate: identity.first_seen_date,
      lastSeenDate: identity.last_seen_date,
      previousDisplayName: deleted[0]?.display_name ?? null,
      replacedExisting: deleted.length > 0,
    };
  });
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
  return db.transaction().execute(async (tx) => {
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
}
