/**
 * GET /api/organizations/coverage through app.inject() on every test database: fleets written as
 * collections would, organizations mapped automatically and by a link, pairs from the matching.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkRunDeps } from '../../src/app.js';
import { runVarianceCheck } from '../../src/variances/run.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, type Harness } from '../helpers/harness.js';
import { writeDevice, type FixtureDevice } from '../helpers/variances.js';

interface Row {
  threatlocker_organization: string | null;
  ninja_organization: string | null;
  threatlocker_organizations: string[];
  ninja_organizations: string[];
  threatlocker_devices: number;
  ninja_devices: number;
  matched: number;
  matched_percent: number | null;
  open_variances: number;
}

describe.each(TEST_DATABASES)('organization coverage on %s', (kind) => {
  let h: Harness;
  const coverage = async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/organizations/coverage' });
    expect(res.statusCode).toBe(200);
    return res.json<{ snapshot_date: Record<string, string | null>; rows: Row[]; unattributed_open_variances: number }>();
  };
  /** One row per customer, as [tl, ninja, tl devices, ninja devices, matched, percent, open]. */
  const compact = (rows: Row[]) =>
    rows.map((r) => [r.threatlocker_organization, r.ninja_organization, r.threatlocker_devices, r.ninja_devices, r.matched, r.matched_percent, r.open_variances]);

  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  it('is empty before any collection', async () => {
    expect(await coverage()).toEqual({ snapshot_date: { threatlocker: null, ninja: null, basis: 'latest_collected' }, rows: [], unattributed_open_variances: 0 });
  });

  it('one row per customer: devices per tool, matched pairs, open variances; the checked day once checked', async () => {
    const tl = (d: FixtureDevice, date = TEST_TODAY) => writeDevice(h.deps.db, h.deps.vendorIds, 'threatlocker', date, d);
    const ninja = (d: FixtureDevice) => writeDevice(h.deps.db, h.deps.vendorIds, 'ninja', TEST_TODAY, d);
    // Acme / ACME: one customer by name; A-3 has no NinjaOne device.
    for (const n of [1, 2, 3]) await tl({ key: `a${n}`, hostname: `A-${n}`, organization_name: 'Acme' });
    for (const n of [1, 2]) await ninja({ key: `10${n}`, hostname: `A-${n}`, organization_name: 'ACME' });
    // Two ThreatLocker tenants joined to one NinjaOne organization (by name, and by a link).
    await tl({ key: 'i1', hostname: 'I-1', organization_name: 'Initech' });
    await tl({ key: 'i2', hostname: 'I-2', organization_name: 'Initech East' });
    await ninja({ key: '201', hostname: 'I-1', organization_name: 'Initech Corp' });
    await ninja({ key: '202', hostname: 'I-2', organization_name: 'Initech Corp' });
    await h.app.inject({ method: 'PUT', url: '/api/organizations/links', payload: { threatlocker_organization: 'Initech East', ninja_organization: 'Initech Corp', kind: 'link' } });
    // Unmapped on both sides; X-1 still pairs across them (cross_org), counted with Globex.
    await tl({ key: 'g1', hostname: 'G-1', organization_name: 'Globex' });
    await tl({ key: 'x1', hostname: 'X-1', organization_name: 'Globex' });
    await ninja({ key: '301', hostname: 'U-1', organization_name: 'Umbrella' });
    await ninja({ key: '302', hostname: 'X-1', organization_name: 'Umbrella' });
    // A computer without organization.
    await tl({ key: 'n1', hostname: 'N-1', organization_name: null });

    const expected = [
      ['Acme', 'ACME', 3, 2, 2, 66.7],
      ['Globex', null, 2, 0, 1, 50],
      ['Initech', 'Initech Corp', 2, 2, 2, 100],
      [null, 'Umbrella', 0, 2, 0, 0],
      [null, null, 1, 0, 0, 0],
    ];
    let body = await coverage();
    expect(body.snapshot_date).toEqual({ threatlocker: TEST_TODAY, ninja: TEST_TODAY, basis: 'latest_collected' });
    expect(compact(body.rows)).toEqual(expected.map((r) => [...r, 0]));
    expect(body.rows[2]).toMatchObject({ threatlocker_organizations: ['Initech', 'Initech East'], ninja_organizations: ['Initech Corp'] });

    // Not checked yet: each tool's own latest collected day.
    await tl({ key: 'a1', hostname: 'A-1', organization_name: 'Acme' }, '2026-03-11');
    body = await coverage();
    expect(body.snapshot_date).toEqual({ threatlocker: '2026-03-11', ninja: TEST_TODAY, basis: 'latest_collected' });
    expect(compact(body.rows)[0]).toEqual(['Acme', 'ACME', 1, 2, 1, 50, 0]);

    await runVarianceCheck(checkRunDeps(h.deps), { date: TEST_TODAY, trigger: 'api' });
    body = await coverage();
    expect(body.snapshot_date).toEqual({ threatlocker: TEST_TODAY, ninja: TEST_TODAY, basis: 'checked' });
    // Open: A-3 and G-1 lack NinjaOne, U-1 lacks ThreatLocker, N-1 (no organization) lacks NinjaOne.
    expect(compact(body.rows)).toEqual(expected.map((r, i) => [...r, [1, 1, 0, 1, 1][i]]));
    expect(body.unattributed_open_variances).toBe(0);

    // A variance of a customer gone from the day is counted apart.
    await h.deps.db
      .insertInto('variance')
      .values({
        subject_key: 'MISSING_NINJA:threatlocker:gone',
        type: 'MISSING_NINJA',
        status: 'open',
        hostname: 'gone-1',
        organization: 'Gone Ltd',
        match_quality: null,
        devices: JSON.stringify([{ vendor: 'threatlocker', device_key: 'gone', hostname: 'GONE-1', display_name: null, organization_name: 'Gone Ltd', location_name: null }]),
        evidence: '{}',
        hint: 'h',
        first_seen: TEST_TODAY,
        last_seen: TEST_TODAY,
        updated_at: h.clock.now(),
      })
      .execute();
    body = await coverage();
    expect(body.unattributed_open_variances).toBe(1);
    expect(body.rows.reduce((n, r) => n + r.open_variances, 0)).toBe(4);
  });
});
