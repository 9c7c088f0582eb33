/**
 * sync-device and update-name run within a total deadline (SYNC_DEADLINE_MS) and stop when the
 * client disconnects; either way the attempt is recorded in the sync log and nothing is written.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, withId, type Harness } from '../helpers/harness.js';

/** Room for the calls before the held one even on a busy machine. */
const DEADLINE_MS = 2_000;
/** Far beyond the deadline: the vendor is still "working" when the answer must go out. */
const HOLD_MS = 8_000;

/** Waits for `condition` (polling); fails the test if it never comes. */
async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}

describe.each(TEST_DATABASES)('deadline and disconnect on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    // The vendor client's own per-request timeout is far longer: only the deadline can end these.
    h = await createHarness(kind, { env: { SYNC_DEADLINE_MS: String(DEADLINE_MS) }, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  const post = (url: string, payload: unknown) =>
    h.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  const addComputer = () => withId(h.fake.admin.add({ hostname: 'CHI-2K5FSB4', computerName: 'CHI-2K5FSB4' }));
  const logRows = () => h.deps.db.selectFrom('device_sync_log').selectAll().orderBy('id').execute();
  const snapshots = () => h.deps.db.selectFrom('device_snapshot').select('id').execute();

  it('sync-device answers from the deadline when ThreatLocker holds the lookup, and logs it', async () => {
    const pc = addComputer();
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: HOLD_MS });
    const res = await post('/api/threatlocker/sync-device', { computer_id: pc.computerId, updated_by: 'alice' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body).toMatchObject({ code: 'HUB_ERR_VENDOR_TIMEOUT', sync_id: expect.any(Number) });
    expect(body.error).toBe(`Failed to sync ThreatLocker device: ThreatLocker did not answer within the request's deadline (${DEADLINE_MS} ms)`);
    // The answer went out while the vendor was still holding the only request it got.
    expect(h.fake.admin.requests().map((r) => [r.operation, r.status])).toEqual([['ComputerGetByAllParameters', null]]);
    expect(await logRows()).toEqual([
      expect.objectContaining({ id: body.sync_id, operation: 'sync', outcome: 'vendor_error', error_code: 'HUB_ERR_VENDOR_TIMEOUT', updated_by: 'alice' }),
    ]);
    expect(await snapshots()).toHaveLength(0);
  });

  it('update-name held in the rename answers from the deadline at stage "rename"', async () => {
    const pc = addComputer();
    h.fake.admin.injectFault({ operation: 'ComputerUpdateForEdit', kind: 'delay', ms: HOLD_MS });
    const res = await post('/api/threatlocker/update-name', { computer_id: pc.computerId, new_name: 'Renamed' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: 'HUB_ERR_VENDOR_TIMEOUT', stage: 'rename', sync_id: expect.any(Number) });
    expect(res.json().error).toMatch(/^Failed to update ThreatLocker computer name: .*deadline/);
    const rows = await logRows();
    expect(rows).toEqual([expect.objectContaining({ operation: 'rename', outcome: 'vendor_error', error_code: 'HUB_ERR_VENDOR_TIMEOUT' })]);
    expect(rows[0]?.error_message).toMatch(/^rename: /);
    // The re-read after the rename was never sent.
    expect(h.fake.admin.requests().map((r) => [r.operation, r.status])).toEqual([
      ['ComputerGetByAllParameters', 200],
      ['ComputerGetForEditById', 200],
      ['ComputerUpdateForEdit', null],
    ]);
  });

  describe('a client that disconnects', () => {
    let server: FastifyInstance;
    let base: string;
    beforeAll(async () => {
      server = await buildServer({ ...h.deps, config: { ...h.deps.config, syncDeadlineMs: 30_000 } });
      await server.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
      await server?.close();
    });

    it('stops the sync, which is logged as cancelled and writes nothing', async () => {
      const pc = addComputer();
      h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 1_000 });
      const controller = new AbortController();
      const sent = request(`${base}/api/threatlocker/sync-device`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ computer_id: pc.computerId, updated_by: 'carol' }),
        signal: controller.signal,
      });
      const outcome = sent.then(
        () => 'answered',
        (err: Error) => err.name,
      );
      await until(() => h.fake.admin.requestCount() === 1, 'the lookup reached ThreatLocker');
      controller.abort();
      expect(await outcome).toBe('AbortError');

      await until(async () => (await logRows()).length === 1, 'the attempt was logged');
      expect(await logRows()).toEqual([
        expect.objectContaining({ operation: 'sync', outcome: 'failed', error_code: 'HUB_ERR_REQUEST_CANCELLED', updated_by: 'carol' }),
      ]);
      // Even once ThreatLocker finally answers, the abandoned sync writes nothing.
      await until(() => h.fake.admin.requests()[0]?.status === 200, 'ThreatLocker answered the held lookup');
      await server.inject({ method: 'GET', url: '/api/health' }); // one more turn of the event loop for any late write
      expect(await snapshots()).toHaveLength(0);
      expect(await logRows()).toHaveLength(1);
    });
  });

  // Last in the file: until the client itself fails fast on such a wait, it retries in the
  // background after the answer went out, and that request must not land in another test's log.
  it('a Retry-After longer than the deadline is not waited out', async () => {
    const pc = addComputer();
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 429, retryAfter: '5' });
    const res = await post('/api/threatlocker/sync-device', { computer_id: pc.computerId });
    expect(res.statusCode).toBe(500);
    // Failed fast as what it is (rate limited), with the wait ThreatLocker asked for.
    expect(res.json()).toMatchObject({ code: 'HUB_ERR_VENDOR_RATE_LIMITED', retry_after_seconds: 5 });
    expect(res.json().error).toMatch(/deadline/);
    // Answered before any retry reached the vendor.
    expect(h.fake.admin.requests().map((r) => r.status)).toEqual([429]);
    expect((await logRows()).map((r) => [r.outcome, r.error_code])).toEqual([['vendor_error', 'HUB_ERR_VENDOR_RATE_LIMITED']]);
  });
});
