/**
 * GET /metrics through the HTTP layer, on every test database: the Prometheus text, and the
 * figures moving after a sync, a collection, vendor failures and requests to parametric routes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_NOW, TEST_TODAY, withId, type Harness } from '../helpers/harness.js';
import { applyFindings, missingNinja } from '../helpers/variances.js';

const SYNC = '/api/threatlocker/sync-device';

/** The value of one sample in a Prometheus text exposition; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe.each(TEST_DATABASES)('GET /metrics on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    // A short vendor timeout so that the timeout case is quick; healthy fakes answer in ms.
    h = await createHarness(kind, { timeoutMs: 2_000 });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  async function scrape(): Promise<string> {
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return res.body;
  }
  /** A counter's value, 0 when the series does not exist yet. */
  const count = async (name: string, labels: Record<string, string>) => sample(await scrape(), name, labels) ?? 0;

  async function addComputer() {
    return withId(h.fake.admin.add({ hostname: 'CHI-2K5FSB4', computerName: 'CHI-2K5FSB4 | Gerard Finnegan', organization: 'ChillCo', lastCheckin: '2026-03-10T14:00:00Z' }));
  }
  const sync = (payload: unknown) => h.app.inject({ method: 'POST', url: SYNC, payload: payload as Record<string, unknown> });

  it('answers the Prometheus text format with the hub\'s metric names', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'inventory_hub_build_info',
      'inventory_hub_http_requests_total',
      'inventory_hub_http_request_duration_seconds',
      'inventory_hub_vendor_requests_total',
      'inventory_hub_vendor_retries_total',
      'inventory_hub_vendor_request_duration_seconds',
      'inventory_hub_collector_runs_total',
      'inventory_hub_collector_run_duration_seconds',
      'inventory_hub_collector_devices_fetched_total',
      'inventory_hub_collector_devices_written_total',
      'inventory_hub_collector_last_success_timestamp_seconds',
      'inventory_hub_variances_open',
      'inventory_hub_device_syncs_total',
      'inventory_hub_db_pool_connections',
      // Node process metrics, in this hub's registry with its prefix.
      'inventory_hub_process_cpu_seconds_total',
      'inventory_hub_nodejs_heap_size_used_bytes',
    ]) {
      expect(res.body, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    expect(sample(res.body, 'inventory_hub_build_info')).toBe(1);
  });

  it('reports the database pool (PostgreSQL: total, idle, waiting; embedded: one connection)', async () => {
    const text = await scrape();
    if (kind === 'pglite') {
      expect(sample(text, 'inventory_hub_db_pool_connections')).toBe(1);
      expect(sample(text, 'inventory_hub_db_pool_idle_connections')).toBeUndefined();
    } else {
      expect(sample(text, 'inventory_hub_db_pool_connections')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'inventory_hub_db_pool_idle_connections')).toBeGreaterThanOrEqual(0);
      // The scrape's own variance count may be waiting for a new connection at that moment.
      expect(sample(text, 'inventory_hub_db_pool_waiting_requests')).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'inventory_hub_db_pool_idle_connections')).toBeLessThanOrEqual(sample(text, 'inventory_hub_db_pool_connections') ?? 0);
    }
  });

  it('counts sync-device outcomes and the vendor requests behind them', async () => {
    const pc = await addComputer();
    const ok = { operation: 'sync_device', outcome: 'ok' };
    const notFound = { operation: 'sync_device', outcome: 'not_found' };
    const lookup = { vendor: 'threatlocker', operation: 'ComputerGetByAllParameters', outcome: 'ok' };
    const before = { ok: await count('inventory_hub_device_syncs_total', ok), nf: await count('inventory_hub_device_syncs_total', notFound), lookup: await count('inventory_hub_vendor_requests_total', lookup) };

    expect((await sync({ computer_id: pc.computerId })).statusCode).toBe(200);
    expect((await sync({ computer_id: randomUUID() })).statusCode).toBe(404);

    const text = await scrape();
    expect(sample(text, 'inventory_hub_device_syncs_total', ok)).toBe(before.ok + 1);
    expect(sample(text, 'inventory_hub_device_syncs_total', notFound)).toBe(before.nf + 1);
    // One lookup per sync, each an HTTP 200 from the vendor (not found is an empty answer).
    expect(sample(text, 'inventory_hub_vendor_requests_total', lookup)).toBe(before.lookup + 2);
    expect(sample(text, 'inventory_hub_vendor_request_duration_seconds_count', lookup)).toBe(before.lookup + 2);
    expect(sample(text, 'inventory_hub_http_requests_total', { method: 'POST', route: SYNC, status_code: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'inventory_hub_http_requests_total', { method: 'POST', route: SYNC, status_code: '404' })).toBeGreaterThanOrEqual(1);
  });

  it('counts vendor errors by outcome: an HTTP error, a retried 503, a timeout and a reset connection', async () => {
    const pc = await addComputer();
    const op = 'ComputerGetByAllParameters';
    const series = (outcome: string) => ({ vendor: 'threatlocker', operation: op, outcome });
    const read = async () => {
      const text = await scrape();
      return {
        ok: sample(text, 'inventory_hub_vendor_requests_total', series('ok')) ?? 0,
        httpError: sample(text, 'inventory_hub_vendor_requests_total', series('http_error')) ?? 0,
        timeout: sample(text, 'inventory_hub_vendor_requests_total', series('timeout')) ?? 0,
        network: sample(text, 'inventory_hub_vendor_requests_total', series('network')) ?? 0,
        retries: sample(text, 'inventory_hub_vendor_retries_total', { vendor: 'threatlocker', operation: op }) ?? 0,
        vendorError: sample(text, 'inventory_hub_device_syncs_total', { operation: 'sync_device', outcome: 'vendor_error' }) ?? 0,
      };
    };
    const start = await read();

    // 500: not retried, the sync fails as a vendor error.
    h.fake.admin.injectFault({ operation: op, kind: 'status', status: 500 });
    expect((await sync({ computer_id: pc.computerId })).json()).toMatchObject({ code: 'HUB_ERR_VENDOR_UNAVAILABLE' });
    const afterError = await read();
    expect(afterError.httpError).toBe(start.httpError + 1);
    expect(afterError.retries).toBe(start.retries);
    expect(afterError.vendorError).toBe(start.vendorError + 1);

    // 503 once: retried, then answered.
    h.fake.admin.injectFault({ operation: op, kind: 'status', status: 503 });
    expect((await sync({ computer_id: pc.computerId })).statusCode).toBe(200);
    const afterRetry = await read();
    expect(afterRetry.httpError).toBe(afterError.httpError + 1);
    expect(afterRetry.retries).toBe(afterError.retries + 1);
    expect(afterRetry.ok).toBe(afterError.ok + 1);

    // No answer within the vendor timeout (2 s here): not retried.
    h.fake.admin.injectFault({ operation: op, kind: 'delay', ms: 6_000 });
    expect((await sync({ computer_id: pc.computerId })).json()).toMatchObject({ code: 'HUB_ERR_VENDOR_TIMEOUT' });
    const afterTimeout = await read();
    expect(afterTimeout.timeout).toBe(afterRetry.timeout + 1);

    // A reset connection, every time: each attempt counts, the retries between them too.
    h.fake.admin.injectFault({ operation: op, kind: 'reset', times: null });
    expect((await sync({ computer_id: pc.computerId })).json()).toMatchObject({ code: 'HUB_ERR_VENDOR_UNAVAILABLE' });
    const afterReset = await read();
    expect(afterReset.network).toBe(afterTimeout.network + 3);
    expect(afterReset.retries).toBe(afterTimeout.retries + 2);
  }, 30_000);

  it('labels requests by route pattern, never by the raw URL', async () => {
    const a = randomUUID();
    const b = randomUUID();
    for (const id of [a, b]) expect((await h.app.inject({ method: 'GET', url: `/api/collectors/runs/job/${id}` })).statusCode).toBe(404);
    // Under /api: elsewhere an unknown path is a dashboard page (index.html) once the dashboard is built.
    expect((await h.app.inject({ method: 'GET', url: `/api/no/such/${a}` })).statusCode).toBe(404);
    const text = await scrape();
    expect(sample(text, 'inventory_hub_http_requests_total', { method: 'GET', route: '/api/collectors/runs/job/:id', status_code: '404' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'inventory_hub_http_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(a);
    expect(text).not.toContain(b);
  });

  it('counts a collection: run outcome, duration, devices fetched and written, last success', async () => {
    const labels = { collector: 'threatlocker', outcome: 'completed' };
    const before = await scrape();
    const runs = sample(before, 'inventory_hub_collector_runs_total', labels) ?? 0;
    const written = sample(before, 'inventory_hub_collector_devices_written_total', { collector: 'threatlocker' }) ?? 0;
    const fetched = sample(before, 'inventory_hub_collector_devices_fetched_total', { collector: 'threatlocker' }) ?? 0;

    const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
    expect(res.statusCode).toBe(202);
    await h.deps.runs.idle();
    const fleet = await h.deps.db.selectFrom('device_snapshot').select((eb) => eb.fn.countAll<string>().as('n')).where('snapshot_date', '=', TEST_TODAY).executeTakeFirstOrThrow();

    const text = await scrape();
    expect(sample(text, 'inventory_hub_collector_runs_total', labels)).toBe(runs + 1);
    expect(sample(text, 'inventory_hub_collector_run_duration_seconds_count', labels)).toBe(runs + 1);
    expect(sample(text, 'inventory_hub_collector_devices_written_total', { collector: 'threatlocker' })).toBe(written + Number(fleet.n));
    expect(sample(text, 'inventory_hub_collector_devices_fetched_total', { collector: 'threatlocker' })).toBeGreaterThanOrEqual(fetched + Number(fleet.n));
    // The hub's clock (fixed in tests) dates the success.
    expect(sample(text, 'inventory_hub_collector_last_success_timestamp_seconds', { collector: 'threatlocker' })).toBe(Date.parse(TEST_NOW) / 1000);
  });

  it('counts a failed collection without moving the last success', async () => {
    const labels = { collector: 'threatlocker', outcome: 'failed' };
    const collect = async () => {
      expect((await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } })).statusCode).toBe(202);
      await h.deps.runs.idle();
    };
    await collect(); // succeeds at TEST_NOW
    const failed = await count('inventory_hub_collector_runs_total', labels);
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 401, times: null });
    h.clock.set('2026-03-11T15:00:00Z');
    await collect();
    const text = await scrape();
    expect(sample(text, 'inventory_hub_collector_runs_total', labels)).toBe(failed + 1);
    expect(sample(text, 'inventory_hub_collector_last_success_timestamp_seconds', { collector: 'threatlocker' })).toBe(Date.parse(TEST_NOW) / 1000);
    expect(sample(text, 'inventory_hub_vendor_requests_total', { vendor: 'threatlocker', operation: 'ComputerGetByAllParameters', outcome: 'http_error' })).toBeGreaterThanOrEqual(1);
  });

  it('reads the last success from the database: a run recorded by another process counts too', async () => {
    expect(sample(await scrape(), 'inventory_hub_collector_last_success_timestamp_seconds', { collector: 'ninja' })).toBeUndefined();
    const endedAt = new Date('2026-03-09T02:31:00Z');
    await h.deps.db.insertInto('job_batches').values({ batch_id: 'b_other', status: 'completed', priority: 'normal', created_at: endedAt }).execute();
    await h.deps.db
      .insertInto('job_runs')
      .values({ job_id: 'j_other', batch_id: 'b_other', job_name: 'ninja-collector', status: 'completed', snapshot_date: '2026-03-09', started_at: endedAt, ended_at: endedAt, updated_at: endedAt })
      .execute();
    expect(sample(await scrape(), 'inventory_hub_collector_last_success_timestamp_seconds', { collector: 'ninja' })).toBe(endedAt.getTime() / 1000);
  });

  it('counts open variances by type from the database at scrape time', async () => {
    let text = await scrape();
    expect(sample(text, 'inventory_hub_variances_open', { type: 'MISSING_NINJA' })).toBe(0);
    expect(sample(text, 'inventory_hub_variances_open', { type: 'MISSING_THREATLOCKER' })).toBe(0);
    await applyFindings(h.deps.db, h.clock, TEST_TODAY, [missingNinja('chi-a'), missingNinja('chi-b')]);
    text = await scrape();
    expect(sample(text, 'inventory_hub_variances_open', { type: 'MISSING_NINJA' })).toBe(2);
    expect(sample(text, 'inventory_hub_variances_open', { type: 'MISSING_THREATLOCKER' })).toBe(0);
  });
});
