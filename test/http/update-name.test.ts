/**
 * POST /api/threatlocker/update-name: rename in ThreatLocker (GET-for-edit, then PATCH with the
 * full DTO and `name`), then the same sync path as sync-device.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, withId, type Harness } from '../helpers/harness.js';

const URL = '/api/threatlocker/update-name';

describe.each(TEST_DATABASES)('update-name on %s', (kind) => {
  let h: Harness;
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

  const post = (payload: unknown) =>
    h.app.inject({ method: 'POST', url: URL, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });

  async function addComputer() {
    return withId(h.fake.admin.add({ hostname: 'RFG-DYP6X14', computerName: 'RFG-DYP6X14', organization: 'Rigby Financial Group' }));
  }

  it('renames in ThreatLocker and syncs today\'s snapshot', async () => {
    const pc = await addComputer();
    const res = await post({ computer_id: pc.computerId, new_name: 'RFG-DYP6X14 | Tami "T" Miller', updated_by: 'tech1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      success: true,
      message: 'ThreatLocker computer name updated and synced successfully',
      device: {
        computer_id: pc.computerId,
        hostname: 'RFG-DYP6X14',
        old_name: 'RFG-DYP6X14',
        new_name: 'RFG-DYP6X14 | Tami "T" Miller',
        display_name: 'RFG-DYP6X14 | Tami "T" Miller',
        organization_name: 'Rigby Financial Group',
      },
      updated_by: 'tech1',
      snapshot_date: TEST_TODAY,
    });
    expect(h.fake.admin.get(pc.computerId)?.computerName).toBe('RFG-DYP6X14 | Tami "T" Miller');
    expect(h.fake.admin.get(pc.computerId)?.hostname).toBe('RFG-DYP6X14');
    const patch = h.fake.admin.requests().find((r) => r.operation === 'ComputerUpdateForEdit');
    expect(patch?.method).toBe('PATCH');
    expect(patch?.body).toMatchObject({ computerId: pc.computerId, name: 'RFG-DYP6X14 | Tami "T" Miller' });
    const snap = await h.deps.db.selectFrom('device_snapshot').select(['display_name', 'source']).executeTakeFirstOrThrow();
    expect(snap).toEqual({ display_name: 'RFG-DYP6X14 | Tami "T" Miller', source: 'sync' });
    const log = await h.app.inject({ method: 'GET', url: '/api/threatlocker/sync-history' });
    expect(log.json().history[0]).toMatchObject({ operation: 'rename', outcome: 'success', previous_display_name: 'RFG-DYP6X14' });
  });

  it('works by hostname and acts as the computer\'s own organization', async () => {
    const pc = await addComputer();
    const res = await post({ hostname: 'rfg-dyp6x14', new_name: 'New Name' });
    expect(res.statusCode).toBe(200);
    expect(res.json().updated_by).toBe('dashboard_user');
    const edits = h.fake.admin.requests().filter((r) => r.operation === 'ComputerGetForEditById' || r.operation === 'ComputerUpdateForEdit');
    expect(edits).toHaveLength(2);
    for (const e of edits) {
      const header = Object.entries(e.headers).find(([k]) => k.toLowerCase() === 'managedorganizationid')?.[1];
      expect(header).toBe(pc.organizationId);
    }
  });

  it.each([
    [{ computer_id: '4294a629-6818-4d20-a365-0993f596198f' }, 'new_name is required'],
    [{ computer_id: '4294a629-6818-4d20-a365-0993f596198f', new_name: '  ' }, 'new_name is required'],
    [{ computer_id: '4294a629-6818-4d20-a365-0993f596198f', new_name: 'n'.repeat(256) }, 'new_name must be at most 255 characters'],
    [{ new_name: 'x' }, 'Either computer_id or hostname is required'],
  ])('400 for %j', async (payload, message) => {
    const res = await post(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: message, code: 'HUB_ERR_VALIDATION' });
    expect(h.fake.admin.requestCount()).toBe(0);
  });

  it('404 when the computer does not exist, and nothing is renamed', async () => {
    const res = await post({ hostname: 'ghost-pc', new_name: 'x' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'Device not found in ThreatLocker API', hostname: 'ghost-pc' });
    expect(h.fake.admin.requestCount('ComputerUpdateForEdit')).toBe(0);
  });

  it('a name ThreatLocker refuses (417) is a 422 and the database is untouched', async () => {
    const pc = await addComputer();
    h.fake.admin.injectFault({ operation: 'ComputerUpdateForEdit', kind: 'status', status: 417, body: { Message: 'Invalid Computer Name' } });
    const res = await post({ computer_id: pc.computerId, new_name: 'bad' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'HUB_ERR_VENDOR_REJECTED', stage: 'rename' });
    expect(res.json().error).toMatch(/^Failed to update ThreatLocker computer name: .*Invalid Computer Name/);
    expect(await h.deps.db.selectFrom('device_snapshot').select('id').execute()).toHaveLength(0);
    expect(h.fake.admin.get(pc.computerId)?.computerName).toBe('RFG-DYP6X14');
  });

  it('says so when the rename worked but the re-read failed', async () => {
    const pc = await addComputer();
    // First list call finds the computer; the re-read after the PATCH fails.
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 500, nth: 2, times: null });
    const res = await post({ computer_id: pc.computerId, new_name: 'Renamed' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ stage: 'sync', code: 'HUB_ERR_VENDOR_UNAVAILABLE' });
    expect(res.json().error).toMatch(/^ThreatLocker computer name was updated, but the sync failed: /);
    expect(h.fake.admin.get(pc.computerId)?.computerName).toBe('Renamed');
  });

  it('says so, with the stage and the sync id, when the database write fails after the rename', async () => {
    const pc = await addComputer();
    // A real failure of the snapshot write, after ThreatLocker accepted the new name.
    await sql`CREATE FUNCTION fail_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'injected failure'; END $$`.execute(h.deps.db);
    await sql`CREATE TRIGGER fail_snapshot BEFORE INSERT ON device_snapshot FOR EACH ROW EXECUTE FUNCTION fail_snapshot()`.execute(h.deps.db);
    try {
      const res = await post({ computer_id: pc.computerId, new_name: 'Renamed', updated_by: 'tech1' });
      expect(res.statusCode).toBe(500);
      const body = res.json();
      expect(body).toMatchObject({ code: 'HUB_ERR_DATABASE', stage: 'sync', sync_id: expect.any(Number) });
      expect(body.error).toMatch(/^ThreatLocker computer name was updated, but the sync failed: /);
      expect(body.error).not.toContain('injected failure');
      expect(h.fake.admin.get(pc.computerId)?.computerName).toBe('Renamed');
      expect(h.fake.admin.requestCount('ComputerUpdateForEdit')).toBe(1);
      const logged = await h.deps.db.selectFrom('device_sync_log').selectAll().execute();
      expect(logged).toEqual([
        expect.objectContaining({
          id: body.sync_id,
          operation: 'rename',
          outcome: 'failed',
          error_code: 'HUB_ERR_DATABASE',
          previous_display_name: 'RFG-DYP6X14',
          updated_by: 'tech1',
        }),
      ]);
      expect(logged[0]?.error_message).toMatch(/^sync: /);
      expect(await h.deps.db.selectFrom('device_snapshot').select('id').execute()).toHaveLength(0);
    } finally {
      await sql`DROP TRIGGER fail_snapshot ON device_snapshot`.execute(h.deps.db);
      await sql`DROP FUNCTION fail_snapshot()`.execute(h.deps.db);
    }
  });
});
