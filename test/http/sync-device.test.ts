/**
 * POST /api/threatlocker/sync-device — every case of the specification, through the HTTP layer,
 * against the fake ThreatLocker, on every test database.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, withId, type Harness } from '../helpers/harness.js';

const SYNC = '/api/threatlocker/sync-device';

describe.each(TEST_DATABASES)('sync-device on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind, { timeoutMs: 4_000 });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  const post = (payload: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    h.app.inject({ method: 'POST', url: SYNC, headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

  /** A fresh computer with a known shape, so assertions do not depend on generated data. */
  async function addComputer(overrides: Record<string, unknown> = {}) {
    return withId(h.fake.admin.add({
      hostname: 'CHI-2K5FSB4',
      computerName: 'CHI-2K5FSB4 | Gerard Finnegan',
      organization: 'ChillCo',
      lastCheckin: '2026-03-10T14:00:00Z',
      ...overrides,
    }));
  }

  async function snapshots(date = TEST_TODAY) {
    return h.deps.db
      .selectFrom('device_snapshot')
      .innerJoin('device_identity', 'device_identity.id', 'device_snapshot.device_identity_id')
      .select(['vendor_device_key', 'snapshot_date', 'hostname', 'display_name', 'organization_name', 'source', 'canonical_hostname'])
      .where('snapshot_date', '=', date)
      .execute();
  }

  async function tableState() {
    const snaps = await h.deps.db.selectFrom('device_snapshot').selectAll().orderBy('id').execute();
    const ids = await h.deps.db.selectFrom('device_identity').selectAll().orderBy('id').execute();
    return JSON.stringify({ snaps, ids });
  }

  describe('success', () => {
    it('syncs by computer_id with exactly one vendor request and the specified body', async () => {
      const pc = await addComputer();
      h.fake.admin.clearRequests();
      const res = await post({ computer_id: pc.computerId, updated_by: 'alice' });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({
        success: true,
        message: 'ThreatLocker device synced successfully',
        device: {
          computer_id: pc.computerId,
          hostname: 'CHI-2K5FSB4',
          display_name: 'CHI-2K5FSB4 | Gerard Finnegan',
          organization_name: 'ChillCo',
        },
        updated_by: 'alice',
        matched_by: 'computer_id',
        snapshot_date: TEST_TODAY,
      });
      expect(body.updated_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      expect(h.fake.admin.requestCount()).toBe(1);
      const rows = await snapshots();
      expect(rows).toEqual([
        expect.objectContaining({
          vendor_device_key: pc.computerId.toLowerCase(),
          hostname: 'CHI-2K5FSB4',
          canonical_hostname: 'chi-2k5fsb4',
          display_name: 'CHI-2K5FSB4 | Gerard Finnegan',
          organization_name: 'ChillCo',
          source: 'sync',
        }),
      ]);
    });

    it('defaults updated_by to dashboard_user', async () => {
      const pc = await addComputer();
      const res = await post({ computer_id: pc.computerId });
      expect(res.statusCode).toBe(200);
      expect(res.json().updated_by).toBe('dashboard_user');
    });

    it('finds by hostname regardless of case (the specification cURL example)', async () => {
      const pc = await addComputer();
      h.fake.admin.clearRequests();
      const res = await post({ hostname: 'chi-2k5fsb4', updated_by: 'dashboard_user' });
      expect(res.statusCode).toBe(200);
      expect(res.json().device.computer_id).toBe(pc.computerId);
      expect(res.json().matched_by).toBe('hostname');
      expect(h.fake.admin.requestCount()).toBeLessThanOrEqual(2);
    });

    it('matches an FQDN request to a short ThreatLocker hostname and the reverse', async () => {
      const short = await addComputer({ hostname: 'SRV-FILES01', computerName: 'SRV-FILES01' });
      const fqdn = await addComputer({ hostname: 'WS-ACCT7.corp.local', computerName: 'WS-ACCT7 | Ann Lee' });
      const a = await post({ hostname: 'srv-files01.corp.example.com' });
      expect(a.statusCode).toBe(200);
      expect(a.json().device.computer_id).toBe(short.computerId);
      expect(a.json().matched_by).toBe('canonical_hostname');
      const b = await post({ hostname: 'ws-acct7' });
      expect(b.statusCode).toBe(200);
      expect(b.json().device.computer_id).toBe(fqdn.computerId);
    });

    it('falls back to the hostname when computer_id is unknown', async () => {
      const pc = await addComputer();
      const res = await post({ computer_id: '11111111-2222-3333-4444-555555555555', hostname: 'CHI-2K5FSB4' });
      expect(res.statusCode).toBe(200);
      expect(res.json().device.computer_id).toBe(pc.computerId);
      expect(res.json().matched_by).toBe('hostname');
    });

    it('takes the computer with the latest check-in when several share the hostname', async () => {
      await addComputer({ hostname: 'DUP-PC01', computerName: 'DUP-PC01 | old', lastCheckin: '2026-01-02T10:00:00Z' });
      const live = await addComputer({ hostname: 'DUP-PC01', computerName: 'DUP-PC01 | new', lastCheckin: '2026-03-09T10:00:00Z' });
      await addComputer({ hostname: 'dup-pc01', computerName: 'never', lastCheckin: null, hasAtLeastOneCheckin: false });
      const res = await post({ hostname: 'DUP-PC01' });
      expect(res.statusCode).toBe(200);
      expect(res.json().device.computer_id).toBe(live.computerId);
      expect(res.json().duplicate_hostnames).toBe(2);
    });

    it('replaces only today: earlier days stay as they were, identity dates advance', async () => {
      const pc = await addComputer();
      h.clock.set('2026-03-09T15:00:00Z');
      expect((await post({ computer_id: pc.computerId })).statusCode).toBe(200);
      h.fake.admin.rename(pc.computerId, 'CHI-2K5FSB4 | Renamed');
      h.clock.set('2026-03-10T15:00:00Z');
      const res = await post({ computer_id: pc.computerId });
      expect(res.json().device.display_name).toBe('CHI-2K5FSB4 | Renamed');
      expect((await snapshots('2026-03-09'))[0]?.display_name).toBe('CHI-2K5FSB4 | Gerard Finnegan');
      expect((await snapshots('2026-03-10'))[0]?.display_name).toBe('CHI-2K5FSB4 | Renamed');
      const identity = await h.deps.db.selectFrom('device_identity').selectAll().executeTakeFirstOrThrow();
      expect(identity).toMatchObject({ first_seen_date: '2026-03-09', last_seen_date: '2026-03-10' });
    });

    it('a second sync the same day replaces the snapshot and reports the previous name', async () => {
      const pc = await addComputer();
      await post({ computer_id: pc.computerId });
      h.fake.admin.rename(pc.computerId, 'CHI-2K5FSB4 | Fixed');
      const res = await post({ computer_id: pc.computerId });
      expect(res.json().device.previous_display_name).toBe('CHI-2K5FSB4 | Gerard Finnegan');
      const rows = await snapshots();
      expect(rows.map((r) => r.display_name)).toEqual(['CHI-2K5FSB4 | Fixed']);
    });

    it('never moves last_seen_date back when the clock does', async () => {
      const pc = await addComputer();
      await post({ computer_id: pc.computerId });
      h.clock.set('2026-03-08T15:00:00Z');
      expect((await post({ computer_id: pc.computerId })).statusCode).toBe(200);
      const identity = await h.deps.db.selectFrom('device_identity').selectAll().executeTakeFirstOrThrow();
      expect(identity.last_seen_date).toBe(TEST_TODAY);
    });

    it('uses the business time zone for "today"', async () => {
      const pc = await addComputer();
      // 03:00 UTC on the 11th is still the 10th in Chicago.
      h.clock.set('2026-03-11T03:00:00Z');
      const res = await post({ computer_id: pc.computerId });
      expect(res.json().snapshot_date).toBe('2026-03-10');
    });

    it('20 simultaneous syncs of one device all succeed and leave one row', async () => {
      const pc = await addComputer();
      const results = await Promise.all(Array.from({ length: 20 }, () => post({ computer_id: pc.computerId })));
      expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
      expect(await snapshots()).toHaveLength(1);
      const identities = await h.deps.db.selectFrom('device_identity').select('id').execute();
      expect(identities).toHaveLength(1);
    });

    it('succeeds after a 429 with Retry-After', async () => {
      const pc = await addComputer();
      h.fake.admin.clearRequests();
      h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 429, retryAfter: '1' });
      const res = await post({ computer_id: pc.computerId });
      expect(res.statusCode).toBe(200);
      // The vendor saw the refused request, then the retry no sooner than it asked for.
      const calls = h.fake.admin.requests().filter((r) => r.operation === 'ComputerGetByAllParameters');
      expect(calls.map((c) => c.status)).toEqual([429, 200]);
      expect(Date.parse(calls[1]!.at) - Date.parse(calls[0]!.at)).toBeGreaterThanOrEqual(1_000);
    });

    it('retries a connection reset and a 503', async () => {
      const pc = await addComputer();
      h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'reset' });
      h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 503, nth: 2 });
      const res = await post({ computer_id: pc.computerId });
      expect(res.statusCode).toBe(200);
    });
  });

  describe('400', () => {
    const cases: Array<[string, unknown, string]> = [
      ['no identifiers', { updated_by: 'x' }, 'Either computer_id or hostname is required'],
      ['empty identifiers', { computer_id: '  ', hostname: '' }, 'Either computer_id or hostname is required'],
      ['null identifiers', { computer_id: null, hostname: null }, 'Either computer_id or hostname is required'],
      ['an empty object', {}, 'Either computer_id or hostname is required'],
      ['an array body', [{ hostname: 'x' }], 'Request body must be a JSON object'],
      ['a string body', '"chi-2k5fsb4"', 'Request body must be a JSON object'],
      ['a number computer_id', { computer_id: 42 }, 'computer_id must be a string'],
      ['a non-GUID computer_id', { computer_id: 'not-a-guid' }, 'computer_id must be a ThreatLocker computer id (a GUID)'],
      ['an object hostname', { hostname: { a: 1 } }, 'hostname must be a string'],
      ['a long hostname', { hostname: 'h'.repeat(256) }, 'hostname must be at most 255 characters'],
      ['a number updated_by', { hostname: 'x', updated_by: 7 }, 'updated_by must be a string'],
      ['a long updated_by', { hostname: 'x', updated_by: 'u'.repeat(256) }, 'updated_by must be at most 255 characters'],
    ];
    it.each(cases)('%s', async (_name, payload, message) => {
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.json()).toMatchObject({ error: message, code: 'HUB_ERR_VALIDATION' });
    });

    it('names the field', async () => {
      const res = await post({ hostname: 'x', updated_by: 'u'.repeat(256) });
      expect(res.json().field).toBe('updated_by');
    });

    it('a body that is not JSON', async () => {
      const res = await post('{"hostname": "chi-', { 'content-type': 'application/json' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'Request body is not valid JSON', code: 'HUB_ERR_VALIDATION' });
    });

    it('a wrong content type is a JSON 400, not an HTML 415', async () => {
      const res = await post('hostname=chi-2k5fsb4', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_VALIDATION', field: 'content-type' });
    });

    it('no body at all', async () => {
      const res = await h.app.inject({ method: 'POST', url: SYNC });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('HUB_ERR_VALIDATION');
    });

    it('a body over the size limit is refused with JSON', async () => {
      const res = await post({ hostname: 'x', pad: 'p'.repeat(70_000) });
      expect(res.statusCode).toBe(413);
      expect(res.json().code).toBe('HUB_ERR_PAYLOAD_TOO_LARGE');
    });

    it('writes nothing', async () => {
      await post({ computer_id: 42 });
      expect(await snapshots()).toHaveLength(0);
    });
  });

  describe('404', () => {
    it('unknown computer_id', async () => {
      const res = await post({ computer_id: '4294a629-6818-4d20-a365-0993f596198f' });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({
        error: 'Device not found in ThreatLocker API',
        computer_id: '4294a629-6818-4d20-a365-0993f596198f',
        hostname: null,
        code: 'HUB_ERR_DEVICE_NOT_FOUND',
      });
    });

    it('unknown hostname, echoing both identifiers', async () => {
      const res = await post({ computer_id: '4294a629-6818-4d20-a365-0993f596198f', hostname: 'nowhere-pc' });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ computer_id: '4294a629-6818-4d20-a365-0993f596198f', hostname: 'nowhere-pc' });
    });

    it('a deleted computer is not found', async () => {
      const pc = await addComputer();
      h.fake.admin.markDeleted(pc.computerId);
      const res = await post({ computer_id: pc.computerId });
      expect(res.statusCode).toBe(404);
    });
  });

  describe('500 leaves the database exactly as it was', () => {
    async function expectUnchanged(fault: Parameters<Harness['fake']['admin']['injectFault']>[0], code: string) {
      const pc = await addComputer();
      expect((await post({ computer_id: pc.computerId })).statusCode).toBe(200);
      h.fake.admin.rename(pc.computerId, 'should not arrive');
      const before = await tableState();
      h.fake.admin.injectFault(fault);
      const res = await post({ computer_id: pc.computerId });
      expect(res.statusCode).toBe(500);
      expect(res.json().error).toMatch(/^Failed to sync ThreatLocker device: /);
      expect(res.json().code).toBe(code);
      expect(await tableState()).toBe(before);
      return res.json();
    }

    it('vendor 500 (after retries are exhausted)', async () => {
      const body = await expectUnchanged({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 500, times: null }, 'HUB_ERR_VENDOR_UNAVAILABLE');
      expect(body.error).toContain('HTTP 500');
    });

    it('vendor 401', async () => {
      await expectUnchanged({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 401, times: null }, 'HUB_ERR_VENDOR_AUTH');
      // 401 is not retried: one request for the first sync, one for the failed one.
      expect(h.fake.admin.requestCount('ComputerGetByAllParameters')).toBe(2);
    });

    it('vendor timeout', async () => {
      const body = await expectUnchanged({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 5_000, times: null }, 'HUB_ERR_VENDOR_TIMEOUT');
      expect(body.error).toContain('did not answer within 4000 ms');
    });

    it('rolls back when the snapshot insert fails half-way', async () => {
      const pc = await addComputer();
      expect((await post({ computer_id: pc.computerId })).statusCode).toBe(200);
      h.clock.set('2026-03-11T15:00:00Z');
      // A real failure inside the transaction: after the identity upsert and the delete ran.
      await sql`CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'injected failure'; END $$`.execute(h.deps.db);
      await sql`CREATE TRIGGER fail_insert BEFORE INSERT ON device_snapshot FOR EACH ROW EXECUTE FUNCTION fail_insert()`.execute(h.deps.db);
      try {
        const before = await tableState();
        const res = await post({ computer_id: pc.computerId });
        expect(res.statusCode).toBe(500);
        expect(res.json()).toMatchObject({ code: 'HUB_ERR_DATABASE', sync_id: expect.any(Number) });
        expect(res.json().error).toMatch(/^Failed to sync ThreatLocker device: /);
        expect(res.json().error).not.toContain('injected failure');
        expect(await tableState()).toBe(before);
        const logged = await h.deps.db.selectFrom('device_sync_log').selectAll().where('id', '=', res.json().sync_id).executeTakeFirstOrThrow();
        expect(logged).toMatchObject({ outcome: 'failed', error_code: 'HUB_ERR_DATABASE' });
        const identity = await h.deps.db.selectFrom('device_identity').selectAll().executeTakeFirstOrThrow();
        expect(identity.last_seen_date).toBe(TEST_TODAY);
      } finally {
        await sql`DROP TRIGGER fail_insert ON device_snapshot`.execute(h.deps.db);
        await sql`DROP FUNCTION fail_insert()`.execute(h.deps.db);
      }
    });
  });

  describe('sync log and history', () => {
    it('records every attempt and lists them newest first, filtered', async () => {
      const pc = await addComputer();
      await post({ computer_id: pc.computerId, updated_by: 'alice' });
      h.clock.set('2026-03-10T15:01:00Z');
      await post({ hostname: 'nowhere-pc', updated_by: 'bob' });
      h.clock.set('2026-03-10T15:02:00Z');
      h.fake.admin.injectFault({ kind: 'status', status: 401, times: null });
      await post({ hostname: 'chi-2k5fsb4', updated_by: 'carol' });
      h.fake.admin.clearFaults();

      const all = await h.app.inject({ method: 'GET', url: '/api/threatlocker/sync-history' });
      expect(all.statusCode).toBe(200);
      const history = all.json().history;
      expect(history.map((e: { updated_by: string }) => e.updated_by)).toEqual(['carol', 'bob', 'alice']);
      expect(history.map((e: { outcome: string }) => e.outcome)).toEqual(['vendor_error', 'not_found', 'success']);
      expect(history[0]).toMatchObject({ error_code: 'HUB_ERR_VENDOR_AUTH', requested_hostname: 'chi-2k5fsb4' });
      expect(history[2]).toMatchObject({
        matched_computer_id: pc.computerId,
        matched_by: 'computer_id',
        display_name: 'CHI-2K5FSB4 | Gerard Finnegan',
        snapshot_date: TEST_TODAY,
        requested_at: '2026-03-10T15:00:00.000Z',
      });
      expect(history[2].duration_ms).toBeGreaterThanOrEqual(0);

      const byId = await h.app.inject({ method: 'GET', url: `/api/threatlocker/sync-history?computer_id=${pc.computerId.toUpperCase()}` });
      expect(byId.json().history).toHaveLength(1);
      const byHost = await h.app.inject({ method: 'GET', url: '/api/threatlocker/sync-history?hostname=NOWHERE-PC' });
      expect(byHost.json().history.map((e: { updated_by: string }) => e.updated_by)).toEqual(['bob']);
      const limited = await h.app.inject({ method: 'GET', url: '/api/threatlocker/sync-history?limit=2' });
      expect(limited.json().count).toBe(2);
    });

    it('rejects a bad limit with a JSON 400', async () => {
      for (const limit of ['0', '501', 'ten']) {
        const res = await h.app.inject({ method: 'GET', url: `/api/threatlocker/sync-history?limit=${limit}` });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ code: 'HUB_ERR_VALIDATION', field: 'limit' });
      }
    });
  });

  it('never lets the API key reach a response or a log line', async () => {
    const pc = await addComputer();
    await post({ computer_id: pc.computerId });
    h.fake.admin.injectFault({ kind: 'status', status: 401, times: null });
    const res = await post({ computer_id: pc.computerId });
    expect(res.body).not.toContain(h.fake.apiKey);
    expect(h.logLines.length).toBeGreaterThan(0);
    expect(h.logLines.join('\n')).not.toContain(h.fake.apiKey);
  });
});
