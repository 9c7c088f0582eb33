/**
 * GET /api/devices/:vendor/:key through app.inject() on every test database: fleets written as
 * collections would, checked by real check runs, so the counterpart is the matching's own.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkRunDeps } from '../../src/app.js';
import { recordSyncAttempt } from '../../src/sync/sync-log.js';
import { runVarianceCheck } from '../../src/variances/run.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, type Harness } from '../helpers/harness.js';
import { writeDevice } from '../helpers/variances.js';

const DAY1 = '2026-03-09';

describe.each(TEST_DATABASES)('device page on %s', (kind) => {
  let h: Harness;
  const get = (url: string) => h.app.inject({ method: 'GET', url });

  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
    const { db } = h.deps;
    const ids = h.deps.vendorIds;
    for (const date of [DAY1, TEST_TODAY]) {
      await writeDevice(db, ids, 'threatlocker', date, { key: 'tl-1', hostname: 'PC-ONE', display_name: date === DAY1 ? 'PC-ONE | Ann' : 'PC-ONE | Bob' });
      await writeDevice(db, ids, 'ninja', date, { key: '101', hostname: 'PC-ONE', display_name: 'Front Desk' });
      // A 20-character name that NinjaOne keeps as its 15-character NetBIOS name.
      await writeDevice(db, ids, 'threatlocker', date, { key: 'tl-long', hostname: 'WORKSTATION-LONGNAME' });
      await writeDevice(db, ids, 'ninja', date, { key: '102', hostname: 'WORKSTATION-LON' });
      await writeDevice(db, ids, 'threatlocker', date, { key: 'tl-lonely', hostname: 'LONELY-1' });
      await runVarianceCheck(checkRunDeps(h.deps), { date, trigger: 'api' });
    }
  });

  it('answers a ThreatLocker computer: latest day, counterpart, differences, timeline, variances, syncs', async () => {
    const identity = await h.deps.db
      .selectFrom('device_identity')
      .select('id')
      .where('vendor_id', '=', h.deps.vendorIds.threatlocker)
      .where('vendor_device_key', '=', 'tl-1')
      .executeTakeFirstOrThrow();
    for (const [n, name] of [
      [1, 'PC-ONE | Carol'],
      [2, 'PC-ONE | Dan'],
    ] as const) {
      await recordSyncAttempt(h.deps.db, {
        operation: 'rename',
        requested_at: new Date(Date.parse('2026-03-10T10:00:00Z') + n * 1000),
        requested_computer_id: 'tl-1',
        requested_hostname: null,
        matched_computer_id: 'tl-1',
        matched_hostname: 'PC-ONE',
        matched_by: 'computer_id',
        device_identity_id: identity.id,
        snapshot_date: TEST_TODAY,
        previous_display_name: 'PC-ONE | Bob',
        display_name: name,
        updated_by: 'alice',
        outcome: 'vendor_error',
        error_code: 'HUB_ERR_VENDOR_UNAVAILABLE',
        error_message: 'down',
        duration_ms: 12,
      });
    }

    // Any letter case names the same GUID-like ThreatLocker key.
    const res = await get('/api/devices/threatlocker/TL-1');
    expect(res.statusCode).toBe(200);
    const page = res.json();
    expect(page).toMatchObject({
      vendor: 'threatlocker',
      device_key: 'tl-1',
      first_seen: DAY1,
      last_seen: TEST_TODAY,
      latest: { snapshot_date: TEST_TODAY, source: 'collector', hostname: 'PC-ONE', canonical_hostname: 'pc-one', display_name: 'PC-ONE | Bob', organization_name: 'Acme', location_name: null },
      counterpart: {
        vendor: 'ninja',
        device_key: '101',
        match_quality: 'exact',
        matched_on: TEST_TODAY,
        latest: { snapshot_date: TEST_TODAY, hostname: 'PC-ONE', display_name: 'Front Desk', location_name: 'HQ', node_class: 'WINDOWS_WORKSTATION' },
      },
      differences: ['display_name'],
    });
    // The first day shows every tracked field; then only what changed (last contact moves daily: left out).
    expect(page.timeline).toHaveLength(2);
    expect(page.timeline[0].snapshot_date).toBe(DAY1);
    expect(page.timeline[0].changes.display_name).toEqual({ from: null, to: 'PC-ONE | Ann' });
    expect(page.timeline[0].changes.hostname).toEqual({ from: null, to: 'PC-ONE' });
    expect(page.timeline[0].changes.last_online).toBeUndefined();
    expect(page.timeline[1]).toEqual({ snapshot_date: TEST_TODAY, changes: { display_name: { from: 'PC-ONE | Ann', to: 'PC-ONE | Bob' } } });
    // The display names differ: the check found it, and the page lists it with its history.
    expect(page.variances.map((v: { type: string; devices: { device_key: string }[] }) => [v.type, v.devices.map((d) => d.device_key)])).toEqual([
      ['DISPLAY_NAME_MISMATCH', ['tl-1', '101']],
    ]);
    expect(page.variances[0].events[0]).toMatchObject({ kind: 'opened', snapshot_date: DAY1 });
    expect(page.sync_history.map((s: { display_name: string }) => s.display_name)).toEqual(['PC-ONE | Dan', 'PC-ONE | Carol']);
    expect(page.sync_history[0]).toMatchObject({ operation: 'rename', outcome: 'vendor_error', error_code: 'HUB_ERR_VENDOR_UNAVAILABLE', updated_by: 'alice', snapshot_date: TEST_TODAY });
  });

  it('finds the counterpart from the NinjaOne side too, a cut-short name included', async () => {
    const page = (await get('/api/devices/ninja/102')).json();
    expect(page.counterpart).toMatchObject({ vendor: 'threatlocker', device_key: 'tl-long', match_quality: 'truncated' });
    expect(page.differences).toEqual(['hostname', 'canonical_hostname', 'display_name']);
    // The cut-short name is also the display name NinjaOne shows: the check reports it.
    expect(page.variances.map((v: { type: string; match_quality: string }) => [v.type, v.match_quality])).toEqual([['DISPLAY_NAME_MISMATCH', 'truncated']]);
    expect(page.sync_history).toEqual([]);
    const other = (await get('/api/devices/threatlocker/tl-long')).json();
    expect(other.counterpart).toMatchObject({ vendor: 'ninja', device_key: '102', match_quality: 'truncated' });
  });

  it('answers a device without counterpart with null, and its MISSING variance', async () => {
    const page = (await get('/api/devices/threatlocker/tl-lonely')).json();
    expect(page.counterpart).toBeNull();
    expect(page.differences).toEqual([]);
    expect(page.variances).toHaveLength(1);
    expect(page.variances[0]).toMatchObject({ type: 'MISSING_NINJA', status: 'open', events: [{ kind: 'opened', snapshot_date: DAY1 }] });
  });

  it('matches on the latest day the other tool collected too', async () => {
    // Tomorrow ThreatLocker has collected, NinjaOne not yet: the pair of today stands.
    await writeDevice(h.deps.db, h.deps.vendorIds, 'threatlocker', '2026-03-11', { key: 'tl-1', hostname: 'PC-ONE', display_name: 'Front Desk' });
    const page = (await get('/api/devices/threatlocker/tl-1')).json();
    expect(page.latest).toMatchObject({ snapshot_date: '2026-03-11', display_name: 'Front Desk' });
    expect(page.counterpart).toMatchObject({ device_key: '101', matched_on: TEST_TODAY });
    expect(page.differences).toEqual(['display_name']);
  });

  it('documents the dashboard endpoints in the OpenAPI document', async () => {
    const res = await get('/api/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ paths: Record<string, { get?: { parameters?: { name: string }[]; responses: Record<string, unknown> } }> }>();
    const page = doc.paths['/api/devices/{vendor}/{key}']?.get;
    expect(page?.parameters?.map((p) => p.name)).toEqual(['vendor', 'key']);
    expect(Object.keys(page?.responses ?? {})).toEqual(['200', '400', '404']);
    expect(doc.paths['/api/organizations/coverage']?.get?.responses).toHaveProperty('200');
    expect(doc.paths['/api/variances/summary']?.get?.responses).toHaveProperty('200');
    expect(doc.paths['/api/variances/']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['q', 'sort', 'order']));
  });

  it('404s a device the hub never saw, 400s bad parameters naming them', async () => {
    const missing = await get('/api/devices/ninja/999');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: expect.any(String), code: 'HUB_ERR_DEVICE_NOT_FOUND', vendor: 'ninja', device_key: '999', request_id: expect.any(String) });
    // A ThreatLocker key is not a NinjaOne key.
    expect((await get('/api/devices/ninja/tl-1')).statusCode).toBe(404);
    for (const [url, field] of [
      ['/api/devices/sentinelone/1', 'vendor'],
      // Longer than any vendor key: the router refuses it before the route (docs/api.md).
      [`/api/devices/ninja/${'9'.repeat(101)}`, 'url'],
      ['/api/devices/ninja/a%09b', 'key'],
    ] as const) {
      const res = await get(url);
      expect([url, res.statusCode, res.json().code, res.json().field]).toEqual([url, 400, 'HUB_ERR_VALIDATION', field]);
    }
  });
});
