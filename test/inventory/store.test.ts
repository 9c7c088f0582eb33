/**
 * The store on every test database: one-device replace and whole-day replace.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { beginLoad, dropAbandonedLoads, loadPage, prepareLoadedDay, swapInDay, type LoadTarget } from '../../src/inventory/day-swap.js';
import { replaceDeviceSnapshot, replaceDeviceSnapshotStatement } from '../../src/inventory/store.js';
import { listSyncHistory, writeAndRecord } from '../../src/sync/sync-log.js';
import { loadVendorIds, type VendorIds } from '../../src/inventory/vendors.js';
import type { NormalizedDevice } from '../../src/inventory/device.js';
import { normalizeThreatLockerComputer } from '../../src/vendors/threatlocker/normalize.js';
import type { ThreatLockerComputer } from '../../src/vendors/threatlocker/schema.js';
import { openTestDatabase, TEST_DATABASES, type TestDatabase } from '../helpers/database.js';

/** A row with every field the normalizer reads filled, so every column gets a value. */
function fullDevice(id: string, overrides: Partial<ThreatLockerComputer> = {}): NormalizedDevice {
  const r = normalizeThreatLockerComputer({
    computerId: id,
    hostname: `HOST-${id.slice(0, 4)}`,
    computerName: `HOST-${id.slice(0, 4)} | User`,
    organization: 'Org',
    organizationId: '0f0f0f0f-1111-4222-8333-944455556666',
    operatingSystem: 'Windows 11 Pro ',
    lastCheckin: '2026-03-09T10:00:00Z',
    installDate: '2025-01-01T00:00:00Z',
    group: 'Workstations',
    mode: 'Secure',
    denyCountOneDay: 1,
    denyCountThreeDays: 2,
    denyCountSevenDays: 3,
    isLockedOut: false,
    isIsolated: false,
    threatLockerVersion: '10.3',
    hasAtLeastOneCheckin: true,
    ...overrides,
  });
  if (!r.ok) throw new Error(r.error.message);
  return r.device;
}

const ID = (n: number) => `${String(n).padStart(8, '0')}-1111-4222-8333-944455556666`;

describe.each(TEST_DATABASES)('store on %s', (kind) => {
  let db: TestDatabase;
  let vendors: VendorIds;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
    vendors = await loadVendorIds(db.db);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await db?.close();
  });
  beforeEach(async () => {
    await db.truncate();
  });

  it('resolves vendor ids by name', () => {
    expect(vendors.threatlocker).not.toBe(vendors.ninja);
    expect(Number.isInteger(vendors.threatlocker)).toBe(true);
  });

  it('replace_device_snapshot writes every snapshot column', async () => {
    const device = fullDevice(ID(1));
    await replaceDeviceSnapshot(db.db, vendors.threatlocker, '2026-03-10', device, 'sync');
    const row = await db.db.selectFrom('device_snapshot').selectAll().executeTakeFirstOrThrow();
    // Every column is either one of the device's attributes (null exactly when the attribute
    // is) or bookkeeping that is always set: nothing is silently dropped.
    const attributes = device.attributes as unknown as Record<string, unknown>;
    for (const [column, value] of Object.entries(row)) {
      if (column in attributes) expect([column, value === null]).toEqual([column, attributes[column] === null]);
      else expect([column, value]).not.toEqual([column, null]);
    }
    expect(Object.keys(attributes).filter((k) => !(k in row))).toEqual([]);
    expect(row.raw).toMatchObject({ computerId: ID(1), operatingSystem: 'Windows 11 Pro ' });
    expect(row.last_online).toEqual(new Date('2026-03-09T10:00:00Z'));
    expect(row).toMatchObject({ snapshot_date: '2026-03-10', source: 'sync', organization_name: 'Org', deny_count_7d: 3 });
  });

  describe('whole-day replace', () => {
    const DAY = '2026-03-10';
    const at = (s: number) => new Date(Date.UTC(2026, 2, 10, 2, 0, s));
    const named = (n: number, name: string) => fullDevice(ID(n), { computerName: name });

    async function day(vendorId: number, date: string) {
      const rows = await db.db
        .selectFrom('device_snapshot')
        .innerJoin('device_identity', 'device_identity.id', 'device_snapshot.device_identity_id')
        .select(['vendor_device_key', 'display_name', 'source', 'device_snapshot.id'])
        .where('device_snapshot.vendor_id', '=', vendorId)
        .where('snapshot_date', '=', date)
        .orderBy('vendor_device_key')
        .execute();
      return rows;
    }

    /** Yesterday, today (collected 1–3, synced 4 late and 5 early), and NinjaOne's today. */
    async function seed() {
      for (const n of [1, 2, 3]) await replaceDeviceSnapshot(db.db, vendors.threatlocker, '2026-03-09', named(n, `yesterday ${n}`), 'collector', at(0));
      for (const n of [1, 2, 3]) await replaceDeviceSnapshot(db.db, vendors.threatlocker, DAY, named(n, `old ${n}`), 'collector', at(1));
      await replaceDeviceSnapshot(db.db, vendors.threatlocker, DAY, named(4, 'synced after the collection read'), 'sync', at(30));
      await replaceDeviceSnapshot(db.db, vendors.threatlocker, DAY, named(5, 'synced before the collection read'), 'sync', at(5));
      for (const n of [1, 7]) await replaceDeviceSnapshot(db.db, vendors.ninja, DAY, named(n, `ninja ${n}`), 'collector', at(1));
    }

    /** A collection of devices 1, 2, 4, 5 and 6 (new), read at 0:00:10. */
    async function load(jobId: string): Promise<LoadTarget> {
      const t = await beginLoad(db.db, vendors.threatlocker, DAY, jobId);
      // Pages go in by COPY; a device an earlier page wrote (2 known, 6 new) makes its page's
      // COPY fail on the unique key, and that page is upserted instead (the later row wins).
      await loadPage(db.db, db.copyInto, t, [named(1, 'new 1'), named(2, 'new 2'), named(4, 'collected 4')], at(10));
      await loadPage(db.db, db.copyInto, t, [named(5, 'collected 5'), named(6, 'new 6'), named(2, 'new 2, read again')], at(10));
      await loadPage(db.db, db.copyInto, t, [named(6, 'new 6, read again')], at(10));
      await prepareLoadedDay(db.db, t);
      return t;
    }

    it('replaces exactly the vendor day, keeping syncs that read the vendor after the collection', async () => {
      await seed();
      const yesterday = await day(vendors.threatlocker, '2026-03-09');
      const ninja = await day(vendors.ninja, DAY);
      const t = await load('th_test0001');
      const swap = await swapInDay(db.db, t, at(9), 5);
      expect(swap).toMatchObject({ devices: 5, keptSyncs: 1 });
      // The replaced day is detached and left for the caller to drop outside the lock; one
      // that is never dropped is a leftover the cleanup removes.
      const retired = await sql<{ p: boolean }>`SELECT relispartition AS p FROM pg_class WHERE relname = ${swap.retiredTable}`.execute(db.db);
      expect(retired.rows).toEqual([{ p: false }]);
      expect(await dropAbandonedLoads(db.db, [])).toEqual([swap.retiredTable]);
      expect((await day(vendors.threatlocker, DAY)).map((r) => [r.vendor_device_key, r.display_name, r.source])).toEqual([
        [ID(1), 'new 1', 'collector'],
        [ID(2), 'new 2, read again', 'collector'],
        [ID(4), 'synced after the collection read', 'sync'],
        [ID(5), 'collected 5', 'collector'],
        [ID(6), 'new 6, read again', 'collector'],
      ]);
      expect(await day(vendors.threatlocker, '2026-03-09')).toEqual(yesterday);
      expect(await day(vendors.ninja, DAY)).toEqual(ninja);
      const summary = await db.db.selectFrom('snapshot_day').selectAll().where('snapshot_date', '=', DAY).orderBy('vendor_id').execute();
      expect(summary.map((r) => [r.vendor_id, r.device_count, r.collected_devices, r.collected_at !== null])).toEqual(
        [
          [vendors.threatlocker, 5, 5, true],
          [vendors.ninja, 2, 2, true],
        ].sort((a, b) => Number(a[0]) - Number(b[0])),
      );
      // The new identity exists; the load table became the day's partition.
      expect(await db.db.selectFrom('device_identity').select('vendor_device_key').where('vendor_device_key', '=', ID(6)).execute()).toHaveLength(1);
      const tables = await sql<{ relname: string; relispartition: boolean }>`
        SELECT relname, relispartition FROM pg_class WHERE relname LIKE ${`device_snapshot_v${vendors.threatlocker}_20260310%`} AND relkind = 'r'`.execute(db.db);
      expect(tables.rows).toEqual([{ relname: `device_snapshot_v${vendors.threatlocker}_20260310`, relispartition: true }]);
    });

    it('a collected row keeps every value exactly through COPY, separators and escapes included', async () => {
      const awkward = 'tab\there, line\nbreak, cr\r, back\\slash \\N "quoted" é 漢字 😀';
      const known = fullDevice(ID(1), { computerName: awkward, organization: '\\N' });
      const fresh = fullDevice(ID(2), { computerName: awkward, group: '\t' });
      await replaceDeviceSnapshot(db.db, vendors.threatlocker, '2026-03-09', fullDevice(ID(1)), 'collector', at(0));
      const t = await beginLoad(db.db, vendors.threatlocker, DAY, 'th_copy0001');
      await loadPage(db.db, db.copyInto, t, [known, fresh], at(10));
      await prepareLoadedDay(db.db, t);
      await swapInDay(db.db, t, at(9), 2);
      const rows = await db.db
        .selectFrom('device_snapshot')
        .innerJoin('device_identity', 'device_identity.id', 'device_snapshot.device_identity_id')
        .selectAll('device_snapshot')
        .select('vendor_device_key')
        .where('snapshot_date', '=', DAY)
        .orderBy('vendor_device_key')
        .execute();
      expect(rows).toHaveLength(2);
      for (const [row, device] of [[rows[0], known], [rows[1], fresh]] as const) {
        const { last_online, agent_install_timestamp, install_date, ...text } = device.attributes;
        expect(row).toMatchObject({ ...text, raw: device.raw, source: 'collector', vendor_read_at: at(10) });
        expect([row?.last_online, row?.agent_install_timestamp, row?.install_date].map((d) => d?.toISOString() ?? null)).toEqual(
          [last_online, agent_install_timestamp, install_date].map((d) => (d === null ? null : new Date(d).toISOString())),
        );
      }
      expect(rows[0]?.display_name).toBe(awkward);
    });

    it('a device first seen by a collection and registered by a sync meanwhile ends with one identity', async () => {
      const t = await beginLoad(db.db, vendors.threatlocker, DAY, 'th_race0001');
      await loadPage(db.db, db.copyInto, t, [named(6, 'collected 6'), named(7, 'collected 7')], at(10));
      const reserved = t.identities.get(ID(6));
      // A sync registers device 6 after the collection reserved an id for it, before acceptance.
      const synced = await replaceDeviceSnapshot(db.db, vendors.threatlocker, '2026-03-09', named(6, 'synced yesterday'), 'sync', at(5));
      expect(synced.deviceIdentityId).not.toBe(reserved);
      await prepareLoadedDay(db.db, t);
      await swapInDay(db.db, t, at(9), 2);
      const identities = await db.db.selectFrom('device_identity').select(['id', 'vendor_device_key']).orderBy('vendor_device_key').execute();
      expect(identities).toEqual([
        { id: synced.deviceIdentityId, vendor_device_key: ID(6) },
        { id: t.identities.get(ID(7)), vendor_device_key: ID(7) },
      ]);
      expect((await day(vendors.threatlocker, DAY)).map((r) => [r.vendor_device_key, r.display_name])).toEqual([
        [ID(6), 'collected 6'],
        [ID(7), 'collected 7'],
      ]);
      expect(await db.db.selectFrom('collector_staging').selectAll().execute()).toEqual([]);
    });

    it('a swap that fails midway changes nothing', async () => {
      await seed();
      const all = async () => JSON.stringify(await db.db.selectFrom('device_snapshot').selectAll().orderBy('id').execute());
      const before = await all();
      const summaryBefore = await db.db.selectFrom('snapshot_day').selectAll().orderBy('vendor_id').orderBy('snapshot_date').execute();
      const t = await load('th_test0002');
      // The swap's last step (the day's summary) fails, after the old day was detached and dropped.
      await sql`CREATE FUNCTION fail_summary() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$`.execute(db.db);
      await sql`CREATE TRIGGER fail_summary BEFORE UPDATE ON snapshot_day FOR EACH ROW EXECUTE FUNCTION fail_summary()`.execute(db.db);
      try {
        await expect(swapInDay(db.db, t, at(9), 5)).rejects.toThrow(/injected/);
      } finally {
        await sql`DROP TRIGGER fail_summary ON snapshot_day`.execute(db.db);
        await sql`DROP FUNCTION fail_summary()`.execute(db.db);
      }
      expect(await all()).toBe(before);
      expect(await db.db.selectFrom('snapshot_day').selectAll().orderBy('vendor_id').orderBy('snapshot_date').execute()).toEqual(summaryBefore);
      const tables = await sql<{ relname: string; relispartition: boolean }>`
        SELECT relname, relispartition FROM pg_class WHERE relname LIKE ${`device_snapshot_v${vendors.threatlocker}_20260310%`} AND relkind = 'r' ORDER BY relname`.execute(db.db);
      expect(tables.rows).toEqual([
        { relname: `device_snapshot_v${vendors.threatlocker}_20260310`, relispartition: true },
        { relname: t.table, relispartition: false },
      ]);
    });
  });

  it('a sync never replaces a collected row that read the vendor after it', async () => {
    const at = (s: number) => new Date(Date.UTC(2026, 2, 10, 2, 0, s));
    await replaceDeviceSnapshot(db.db, vendors.threatlocker, '2026-03-10', fullDevice(ID(1), { computerName: 'collected' }), 'collector', at(10));
    const late = await replaceDeviceSnapshot(db.db, vendors.threatlocker, '2026-03-10', fullDevice(ID(1), { computerName: 'stale sync' }), 'sync', at(5));
    expect(late).toMatchObject({ superseded: true, previousDisplayName: 'collected', replacedExisting: false });
    const fresh = await replaceDeviceSnapshot(db.db, vendors.threatlocker, '2026-03-10', fullDevice(ID(1), { computerName: 'fresh sync' }), 'sync', at(20));
    expect(fresh).toMatchObject({ superseded: false, previousDisplayName: 'collected', replacedExisting: true });
    expect(await db.db.selectFrom('device_snapshot').select(['display_name', 'source']).execute()).toEqual([{ display_name: 'fresh sync', source: 'sync' }]);
  });

  if (kind === 'postgres') {
    // PGlite runs one statement at a time: concurrent writes of one device cannot happen there.
    it('sync history lists concurrent writes of one device in the order they were applied', async () => {
      const N = 8; // writers queued at once on the device's row lock
      await replaceDeviceSnapshot(db.db, vendors.threatlocker, '2026-03-10', fullDevice(ID(1), { computerName: 'v0' }), 'sync');
      const writes: Promise<unknown>[] = [];
      await db.db.transaction().execute(async (tx) => {
        // Holding the device's identity row queues every write of it; they are released at once.
        await sql`SELECT 1 FROM device_identity WHERE vendor_device_key = ${ID(1)} FOR UPDATE`.execute(tx);
        for (let i = 1; i <= N; i++) {
          const device = fullDevice(ID(1), { computerName: `v${i}` });
          writes.push(
            writeAndRecord(db.db, replaceDeviceSnapshotStatement(vendors.threatlocker, '2026-03-10', device, 'sync'), {
              operation: 'sync',
              requested_at: new Date('2026-03-10T15:00:00Z'),
              requested_computer_id: ID(1),
              matched_computer_id: ID(1),
              snapshot_date: '2026-03-10',
              display_name: device.attributes.display_name,
              updated_by: 'test',
              outcome: 'success',
              elapsed_ms: 0,
            }),
          );
        }
        for (;;) {
          // pg_stat_activity is read once per transaction and then cached: without clearing the
          // cache, writers that connected after the first poll would never be counted.
          await sql`SELECT pg_stat_clear_snapshot()`.execute(tx);
          const { rows } = await sql<{ n: number }>`
            SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND locktype IN ('transactionid', 'tuple')
               AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())`.execute(tx);
          if ((rows[0]?.n ?? 0) >= N) break;
          await new Promise((r) => setTimeout(r, 20));
        }
      });
      await Promise.all(writes);
      const history = await listSyncHistory(db.db, { computerId: ID(1), limit: 100 });
      expect(history).toHaveLength(N);
      const final = await db.db.selectFrom('device_snapshot').select('display_name').executeTakeFirstOrThrow();
      // Newest first: the first entry wrote the final row, and each entry replaced what the
      // next (older) one wrote.
      expect(history[0]?.display_name).toBe(final.display_name);
      const chain = history.map((h, i) => [h.previous_display_name, history[i + 1]?.display_name ?? 'v0']);
      expect(chain.filter(([prev, older]) => prev !== older)).toEqual([]);
    });
  }
});
