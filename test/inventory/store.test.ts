/**
 * The store on every test database: one-device replace and whole-day replace.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { replaceDeviceSnapshot } from '../../src/inventory/store.js';
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
    expect(vendors.ThreatLocker).not.toBe(vendors.Ninja);
    expect(Number.isInteger(vendors.ThreatLocker)).toBe(true);
  });

  it('replace_device_snapshot writes every snapshot column', async () => {
    const device = fullDevice(ID(1));
    await replaceDeviceSnapshot(db.db, vendors.ThreatLocker, '2026-03-10', device, 'sync');
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

  it('collector_staging has every device_snapshot column, in order', async () => {
    const cols = async (table: string) =>
      (
        await sql<{ c: string }>`SELECT column_name AS c FROM information_schema.columns
                                  WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`.execute(db.db)
      ).rows.map((r) => r.c);
    expect((await cols('collector_staging')).slice(2)).toEqual(await cols('device_snapshot'));
  });
});
