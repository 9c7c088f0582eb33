/**
 * Vendor text PostgreSQL cannot store — NUL and lone UTF-16 surrogates — through the real
 * collectors, the fakes and a real database: a ThreatLocker `computerName` and a NinjaOne
 * `displayName` carrying both no longer fail the run (the strings are cleaned, counted and
 * logged), and sync-device of such a computer answers 200.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, withId, type Harness } from '../helpers/harness.js';

const LONE = '\ud800';
const DIRTY_TL_NAME = `POISON-01 | Ann\u0000 Lee${LONE}`;
const DIRTY_NINJA_NAME = `POISON-02\u0000 | Bo${LONE} Chan`;

describe.each(TEST_DATABASES)('vendor text on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind, { fake: { fleetSize: 40, seed: 3 }, ninja: { fleetSize: 40, seed: 3 } });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  const displayNames = (vendor: 'ThreatLocker' | 'Ninja', key: string) =>
    h.deps.db
      .selectFrom('device_snapshot')
      .innerJoin('device_identity', 'device_identity.id', 'device_snapshot.device_identity_id')
      .innerJoin('vendor', 'vendor.id', 'device_snapshot.vendor_id')
      .where('vendor.name', '=', vendor)
      .where('vendor_device_key', '=', key)
      .where('snapshot_date', '=', TEST_TODAY)
      .select(['display_name', 'raw', 'source'])
      .execute();

  const warnings = () =>
    h.logLines
      .map((l) => JSON.parse(l) as { level: number; msg: string; sanitized?: number })
      .filter((l) => l.level === 40 && typeof l.sanitized === 'number');

  it('collects both fleets with the poisoned names cleaned, counted and logged', async () => {
    const pc = withId(h.fake.admin.add({ hostname: 'POISON-01', computerName: DIRTY_TL_NAME }));
    const device = h.ninja!.admin.add({ displayName: DIRTY_NINJA_NAME, systemName: 'POISON-02', dnsName: 'poison-02.corp.local' });
    const started = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker', 'ninja'] } });
    expect(started.statusCode).toBe(202);
    await h.deps.runs.idle();
    const batch = (await h.app.inject({ method: 'GET', url: `/api/collectors/runs/batch/${started.json().batch_id}` })).json();
    expect(batch.status).toBe('completed');
    expect(batch.collectors.map((c: { status: string }) => c.status)).toEqual(['completed', 'completed']);

    const [tl] = await displayNames('ThreatLocker', pc.computerId.toLowerCase());
    expect(tl).toMatchObject({ display_name: 'POISON-01 | Ann Lee', source: 'collector' });
    expect((tl?.raw as { computerName: string }).computerName).toBe('POISON-01 | Ann Lee');
    const [ninja] = await displayNames('Ninja', String(device.id));
    expect(ninja).toMatchObject({ display_name: 'POISON-02 | Bo Chan', source: 'collector' });
    expect((ninja?.raw as { displayName: string }).displayName).toBe('POISON-02 | Bo Chan');

    // One value changed per vendor, each reported once, on its page.
    expect(warnings().map((w) => [w.msg.split(' ')[0], w.sanitized])).toEqual(
      expect.arrayContaining([
        ['ThreatLocker', 1],
        ['NinjaOne', 1],
      ]),
    );
  });

  it('sync-device of a computer with NUL and a lone surrogate in its name answers 200', async () => {
    const pc = withId(h.fake.admin.add({ hostname: 'POISON-03', computerName: `POISON-03 |\u0000 Dee${LONE}` }));
    const res = await h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', payload: { computer_id: pc.computerId } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, device: { computer_id: pc.computerId, display_name: 'POISON-03 | Dee' } });
    const [row] = await displayNames('ThreatLocker', pc.computerId.toLowerCase());
    expect(row).toMatchObject({ display_name: 'POISON-03 | Dee', source: 'sync' });
    const byName = await h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', payload: { hostname: 'poison-03' } });
    expect(byName.statusCode).toBe(200);
    expect(byName.json()).toMatchObject({ matched_by: 'hostname', device: { display_name: 'POISON-03 | Dee' } });
  });
});
