/**
 * The NinjaOne collector through the run-tracking API, against the fake, on every test
 * database — and both collectors together.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, type Harness } from '../helpers/harness.js';

describe.each(TEST_DATABASES)('NinjaOne collector on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    // ~2,300 devices: three pages of 1,000.
    h = await createHarness(kind, { fake: { fleetSize: 2400, seed: 5 }, ninja: { fleetSize: 2400, seed: 5, refreshTokens: true, refreshToken: true } });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  const ninja = () => h.ninja!;

  async function run(body: Record<string, unknown> = { collectors: ['ninja'] }) {
    const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: body });
    expect(res.statusCode).toBe(202);
    await h.deps.runs.idle();
    return (await h.app.inject({ method: 'GET', url: `/api/collectors/runs/batch/${res.json().batch_id}` })).json();
  }

  async function ninjaRows() {
    return h.deps.db
      .selectFrom('device_snapshot')
      .innerJoin('device_identity', 'device_identity.id', 'device_snapshot.device_identity_id')
      .innerJoin('vendor', 'vendor.id', 'device_snapshot.vendor_id')
      .where('vendor.name', '=', 'Ninja')
      .where('snapshot_date', '=', TEST_TODAY)
      .selectAll('device_snapshot')
      .select('vendor_device_key')
      .execute();
  }

  it('collects every device, keyed by NinjaOne id, with names resolved and one token', async () => {
    const batch = await run();
    const job = batch.collectors[0];
    const devices = ninja().admin.list();
    expect(job).toMatchObject({ job_name: 'ninja-collector', status: 'completed', devices_written: devices.length, pages_fetched: 3 });
    expect(job.job_id).toMatch(/^ni_[0-9a-f]{8}$/);
    const rows = await ninjaRows();
    expect(rows).toHaveLength(devices.length);
    expect(new Set(rows.map((r) => r.vendor_device_key))).toEqual(new Set(devices.map((d) => String(d.id))));
    const orgNames = new Set(ninja().admin.organizations().map((o) => o.name));
    expect(rows.every((r) => r.organization_name !== null && orgNames.has(r.organization_name))).toBe(true);
    expect(rows.some((r) => r.billable_status_name === 'spare')).toBe(true);
    expect(rows.some((r) => r.is_vm_guest === true)).toBe(true);
    expect(new Set(rows.map((r) => r.device_type_name))).toEqual(new Set(['server', 'workstation', 'other']));
    // At most one token for the whole listing (the client may still hold one), never one per call.
    expect(ninja().admin.tokenRequestCount()).toBeLessThanOrEqual(1);
    expect(ninja().admin.requestCount('device')).toBe(0);
  });

  it('refreshes a token that expires mid-run and finishes', async () => {
    ninja().admin.injectFault({ operation: 'devices-detailed', kind: 'delay', ms: 500, nth: 2 });
    const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['ninja'] } });
    while (ninja().admin.requestCount('devices-detailed') < 2) await new Promise((r) => setTimeout(r, 10));
    const tokensBefore = ninja().admin.tokenRequestCount();
    ninja().admin.expireAllTokens();
    await h.deps.runs.idle();
    const job = (await h.app.inject({ method: 'GET', url: `/api/collectors/runs/job/${res.json().collectors[0].job_id}` })).json();
    expect(job).toMatchObject({ status: 'completed', devices_written: ninja().admin.list().length });
    expect(ninja().admin.tokenRequestCount()).toBe(tokensBefore + 1);
  });

  it('persists each rotated refresh token in the database', async () => {
    await run();
    ninja().admin.expireAllTokens(); // the next run must exchange its refresh token
    await run();
    const first = await h.deps.db.selectFrom('vendor_token').selectAll().executeTakeFirstOrThrow();
    ninja().admin.expireAllTokens();
    await run();
    const second = await h.deps.db.selectFrom('vendor_token').selectAll().executeTakeFirstOrThrow();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(h.logLines.join('\n')).not.toContain(first.refresh_token);
    expect(h.logLines.join('\n')).not.toContain(ninja().clientSecret);
  });

  it('a failure on page 2 changes nothing', async () => {
    await run();
    const before = JSON.stringify(await ninjaRows());
    ninja().admin.injectFault({ operation: 'devices-detailed', kind: 'status', status: 503, nth: 2, times: null });
    const batch = await run();
    expect(batch.collectors[0]).toMatchObject({ status: 'failed' });
    expect(batch.collectors[0].error).toMatch(/NinjaOne/);
    expect(JSON.stringify(await ninjaRows())).toBe(before);
  });

  it('runs both collectors in one batch, independently', async () => {
    const batch = await run({});
    expect(batch.status).toBe('completed');
    expect(batch.collectors.map((c: { job_name: string; status: string }) => [c.job_name, c.status])).toEqual([
      ['ninja-collector', 'completed'],
      ['threatlocker-collector', 'completed'],
    ]);
    const status = (await h.app.inject({ method: 'GET', url: '/api/status' })).json();
    expect(status.data_status).toMatchObject({ status: 'current', latest_date: TEST_TODAY });
    expect(status.device_counts.Ninja).toBe(ninja().admin.list().length);

    ninja().admin.injectFault({ operation: 'organizations', kind: 'status', status: 401, times: null });
    const partial = await run({});
    expect(partial.status).toBe('completed');
    expect(partial.message).toMatch(/^Partial success: Ninja collector failed: /);
  });
});
