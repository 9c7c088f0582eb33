/**
 * The ThreatLocker collector through the run-tracking API, against the fake, on every test
 * database: complete runs, atomic replace, failures that lose nothing, the plausibility guard,
 * paging hazards, one run at a time, cancellation, dead runs, and syncs during a run.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SNAPSHOT_WRITE_LOCK } from '../../src/db/locks.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, withId, type Harness } from '../helpers/harness.js';

describe.each(TEST_DATABASES)('ThreatLocker collector on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    // A generous vendor timeout: the ordering tests hold vendor answers on purpose, and a busy
    // machine must not turn them into timeouts.
    h = await createHarness(kind, { fake: { fleetSize: 1300, seed: 11 }, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  const liveCount = () => h.fake.admin.list().filter((c) => !c.isDeleted).length;

  async function run(body: Record<string, unknown> = { collectors: ['threatlocker'] }) {
    const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: body });
    expect(res.statusCode).toBe(202);
    await h.deps.runs.idle();
    const batch = await h.app.inject({ method: 'GET', url: `/api/collectors/runs/batch/${res.json().batch_id}` });
    return { started: res.json(), batch: batch.json(), job: batch.json().collectors[0] };
  }

  async function dayRows(date = TEST_TODAY) {
    return h.deps.db
      .selectFrom('device_snapshot')
      .innerJoin('device_identity', 'device_identity.id', 'device_snapshot.device_identity_id')
      .select(['vendor_device_key', 'display_name', 'source'])
      .where('snapshot_date', '=', date)
      .orderBy('vendor_device_key')
      .execute();
  }

  async function tableState() {
    const snaps = await h.deps.db.selectFrom('device_snapshot').selectAll().orderBy('id').execute();
    const ids = await h.deps.db.selectFrom('device_identity').selectAll().orderBy('id').execute();
    return JSON.stringify({ snaps, ids });
  }

  it('collects the whole fleet in the background and reports it', async () => {
    const { started, batch, job } = await run();
    expect(started).toMatchObject({ status: 'queued', collectors: [{ job_name: 'threatlocker-collector', status: 'queued' }] });
    expect(started.batch_id).toMatch(/^bc_[0-9a-f]{8}$/);
    expect(started.collectors[0].job_id).toMatch(/^th_[0-9a-f]{8}$/);
    expect(batch).toMatchObject({ status: 'completed', progress_percent: 100, message: 'All collectors completed successfully' });
    expect(job).toMatchObject({ status: 'completed', progress_percent: 100, devices_total: liveCount(), devices_written: liveCount(), trigger: 'api' });
    expect(job.pages_fetched).toBe(Math.ceil(liveCount() / 500));
    const rows = await dayRows();
    expect(rows).toHaveLength(liveCount());
    expect(new Set(rows.map((r) => r.source))).toEqual(new Set(['collector']));
    expect(await h.deps.db.selectFrom('collector_staging').selectAll().execute()).toEqual([]);
  });

  it('a same-day rerun replaces the day; earlier days stay', async () => {
    h.clock.set('2026-03-09T15:00:00Z');
    await run();
    const yesterday = await dayRows('2026-03-09');
    h.clock.set('2026-03-10T15:00:00Z');
    await run();
    const pc = withId(h.fake.admin.list()[5]!);
    h.fake.admin.rename(pc.computerId, 'Renamed overnight');
    const { job } = await run();
    expect(job.status).toBe('completed');
    const today = await dayRows();
    expect(today).toHaveLength(liveCount());
    expect(today.find((r) => r.vendor_device_key === pc.computerId.toLowerCase())?.display_name).toBe('Renamed overnight');
    expect(await dayRows('2026-03-09')).toEqual(yesterday);
    // The replaced day's table was dropped after the swap: no table outside the partitions.
    const standalone = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_class WHERE relname ~ '^device_snapshot_v[0-9]+_' AND relkind = 'r' AND NOT relispartition`.execute(h.deps.db);
    expect(standalone.rows[0]?.n).toBe(0);
  });

  it('a vendor failure on page 2 fails the run and changes nothing', async () => {
    h.clock.set('2026-03-09T15:00:00Z');
    await run();
    h.clock.set('2026-03-10T15:00:00Z');
    await run();
    h.fake.admin.rename(withId(h.fake.admin.list()[0]!).computerId, 'must not land');
    const before = await tableState();
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 500, nth: 2, times: null });
    const { job, batch } = await run();
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/ThreatLocker ComputerGetByAllParameters/);
    expect(job.message).toMatch(/^ThreatLocker collector failed: /);
    expect(batch.status).toBe('failed');
    expect(await tableState()).toBe(before);
    expect(await h.deps.db.selectFrom('collector_staging').selectAll().execute()).toEqual([]);
  });

  it('an empty tenant is a clean, empty first collection', async () => {
    for (const c of h.fake.admin.list()) h.fake.admin.remove(withId(c).computerId);
    const { job } = await run();
    expect(job).toMatchObject({ status: 'completed', devices_written: 0 });
  });

  it('refuses a fleet that shrank implausibly, unless forced', async () => {
    h.clock.set('2026-03-09T15:00:00Z');
    await run();
    const all = h.fake.admin.list();
    for (const c of all.slice(0, Math.ceil(all.length * 0.3))) h.fake.admin.remove(withId(c).computerId);
    h.clock.set('2026-03-10T15:00:00Z');
    const refused = await run();
    expect(refused.job.status).toBe('failed');
    expect(refused.job.error).toMatch(/^refused: \d+ devices against \d+ in the previous collection/);
    expect(await dayRows()).toHaveLength(0);
    const forced = await run({ collectors: ['threatlocker'], force: true });
    expect(forced.job).toMatchObject({ status: 'completed', forced: true, devices_written: liveCount() });
  });

  it('handles a fleet that is an exact multiple of the page size', async () => {
    const live = h.fake.admin.list().filter((c) => !c.isDeleted);
    for (const c of live.slice(1000)) h.fake.admin.remove(withId(c).computerId);
    h.fake.admin.clearRequests();
    const { job } = await run();
    expect(job).toMatchObject({ status: 'completed', devices_written: 1000, pages_fetched: 2 });
    expect(h.fake.admin.requestCount('ComputerGetByAllParameters')).toBe(3);
  });

  it('keeps every computer when rows move between pages', async () => {
    // While page 2 is being served, a page-1 computer is renamed to sort last: the offset
    // paging then skips the computer that slid onto page 1, and repeats the renamed one.
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 800, nth: 2 });
    const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
    expect(res.statusCode).toBe(202);
    while (h.fake.admin.requestCount('ComputerGetByAllParameters') < 2) await new Promise((r) => setTimeout(r, 10));
    const first = withId(h.fake.admin.list().filter((c) => !c.isDeleted).sort((a, b) => String(a.computerName).localeCompare(String(b.computerName)))[3]!);
    h.fake.admin.rename(first.computerId, 'ZZZZ moved to the end');
    await h.deps.runs.idle();
    const rows = await dayRows();
    expect(rows).toHaveLength(liveCount());
    expect(rows.find((r) => r.vendor_device_key === first.computerId.toLowerCase())?.display_name).toBe('ZZZZ moved to the end');
  });

  it('skips and counts rows without an id or hostname', async () => {
    h.fake.admin.add({ hostname: null });
    h.fake.admin.add({ hostname: '   ' });
    const { job } = await run();
    expect(job).toMatchObject({ status: 'completed', devices_skipped: 2, devices_written: liveCount() - 2 });
    expect(job.message).toMatch(/2 rows skipped/);
  });

  it('rides out a 429 with Retry-After', async () => {
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 429, retryAfter: '1', nth: 2 });
    const { job } = await run();
    expect(job).toMatchObject({ status: 'completed', devices_written: liveCount() });
  });

  it('a dry run checks everything and writes nothing', async () => {
    const { job } = await run({ collectors: ['threatlocker'], dry_run: true });
    expect(job).toMatchObject({ status: 'completed', dry_run: true, devices_written: 0 });
    expect(job.message).toMatch(/^Dry run: \d+ devices would be written/);
    expect(await dayRows()).toHaveLength(0);
  });

  it('two simultaneous run requests: one runs, the other gets 409 with its job id', async () => {
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 300 });
    const [a, b] = await Promise.all([
      h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } }),
      h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } }),
    ]);
    const codes = [a.statusCode, b.statusCode].sort();
    expect(codes).toEqual([202, 409]);
    const [ok, busy] = a.statusCode === 202 ? [a, b] : [b, a];
    expect(busy.json()).toMatchObject({ code: 'HUB_ERR_COLLECTOR_BUSY', job_id: ok.json().collectors[0].job_id, job_name: 'threatlocker-collector' });
    await h.deps.runs.idle();
  });

  it('cancels a running job and keeps the previous data', async () => {
    await run();
    const before = await tableState();
    h.fake.admin.clearRequests();
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 700, nth: 2 });
    const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
    const jobId = res.json().collectors[0].job_id;
    // Page 1 is staged and page 2 is in flight.
    while (h.fake.admin.requestCount('ComputerGetByAllParameters') < 2) await new Promise((r) => setTimeout(r, 10));
    const cancel = await h.app.inject({ method: 'POST', url: `/api/collectors/runs/job/${jobId}/cancel` });
    expect(cancel.statusCode).toBe(202);
    expect(cancel.json()).toMatchObject({ job_id: jobId, cancel_requested: true });
    await h.deps.runs.idle();
    const job = (await h.app.inject({ method: 'GET', url: `/api/collectors/runs/job/${jobId}` })).json();
    expect(job).toMatchObject({ status: 'cancelled', message: 'Cancelled; the previous data is unchanged' });
    expect(await tableState()).toBe(before);
    const again = await h.app.inject({ method: 'POST', url: `/api/collectors/runs/job/${jobId}/cancel` });
    expect(again.statusCode).toBe(409);
    expect((await h.app.inject({ method: 'POST', url: '/api/collectors/runs/job/th_nothing/cancel' })).statusCode).toBe(404);
  });

  it('marks a run whose process died as failed from its heartbeat age, then runs', async () => {
    const stale = new Date(h.clock.now().getTime() - 10 * 60_000);
    await h.deps.db.insertInto('job_batches').values({ batch_id: 'bc_dead0001', created_at: stale, status: 'running', priority: 'normal' }).execute();
    await h.deps.db
      .insertInto('job_runs')
      .values({ job_id: 'th_dead0001', batch_id: 'bc_dead0001', job_name: 'threatlocker-collector', status: 'running', started_at: stale, updated_at: stale, heartbeat_at: stale })
      .execute();
    const { job } = await run();
    expect(job.status).toBe('completed');
    const dead = (await h.app.inject({ method: 'GET', url: '/api/collectors/runs/job/th_dead0001' })).json();
    expect(dead).toMatchObject({ status: 'failed', message: 'Run appears to have died (no heartbeat)' });
    expect(dead.error).toMatch(/^no heartbeat since 2026-03-10T14:50:00Z$/);
    const batch = (await h.app.inject({ method: 'GET', url: '/api/collectors/runs/batch/bc_dead0001' })).json();
    expect(batch.status).toBe('failed');
  });

  it('keeps a device synced while the collection was running', async () => {
    const pc = withId(h.fake.admin.list().find((c) => !c.isDeleted)!);
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 600, nth: 2 });
    const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
    expect(res.statusCode).toBe(202);
    while (h.fake.admin.requestCount('ComputerGetByAllParameters') < 2) await new Promise((r) => setTimeout(r, 10));
    // The technician renames and syncs while the collector is between pages; the collector
    // already read this computer with its old name.
    h.fake.admin.rename(pc.computerId, 'Fixed during the run');
    const sync = await h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', payload: { computer_id: pc.computerId } });
    expect(sync.statusCode).toBe(200);
    await h.deps.runs.idle();
    const row = (await dayRows()).find((r) => r.vendor_device_key === pc.computerId.toLowerCase());
    expect(row).toMatchObject({ display_name: 'Fixed during the run', source: 'sync' });
    expect(await dayRows()).toHaveLength(liveCount());
  });

  /** Polls the database until `query` finds a row: waits on an event, not on a duration. */
  async function waitForRow(query: ReturnType<typeof sql<{ n: number }>>) {
    for (;;) {
      const { rows } = await query.execute(h.deps.db);
      if (Number(rows[0]?.n ?? 0) > 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a sync during a day swap waits for it, then replaces the collected row', async () => {
    const pc = withId(h.fake.admin.list().find((c) => !c.isDeleted)!);
    h.fake.admin.rename(pc.computerId, 'Collected name');
    await run();
    const tl = h.deps.vendorIds.threatlocker;
    if (h.kind === 'pglite') {
      // PGlite has one connection: the database runs one transaction at a time, so a swap can
      // never be held open while a sync waits on it, and there is no lock to observe (the
      // test would pass with or without the lock). Only the outcome of a sync that follows a
      // swap is checked: it replaces the row the collection wrote.
      await run();
      h.fake.admin.rename(pc.computerId, 'Synced name');
      const sync = await h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', payload: { computer_id: pc.computerId } });
      expect(sync.json().device).toMatchObject({ display_name: 'Synced name', previous_display_name: 'Collected name' });
    } else {
      // A reader of the vendor's snapshots holds the swap open at its DETACH (which needs the
      // vendor's table exclusively) while the swap already holds the snapshot-write lock.
      let syncDone = false;
      let sync: Promise<{ statusCode: number; json(): { device: Record<string, unknown> } }> | undefined;
      await h.deps.db.transaction().execute(async (tx) => {
        await sql`SELECT count(*) FROM device_snapshot WHERE vendor_id = ${tl}`.execute(tx);
        const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
        expect(res.statusCode).toBe(202);
        await waitForRow(sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
           WHERE c.relname = ${`device_snapshot_v${tl}`} AND l.mode = 'AccessExclusiveLock' AND NOT l.granted`);
        // The swap is waiting with the write lock held; the vendor now says something newer.
        h.fake.admin.rename(pc.computerId, 'Synced name');
        sync = h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', payload: { computer_id: pc.computerId } });
        sync.then(() => (syncDone = true), () => (syncDone = true));
        await waitForRow(sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_locks
           WHERE locktype = 'advisory' AND classid = ${SNAPSHOT_WRITE_LOCK} AND objid = ${tl} AND mode = 'ShareLock' AND NOT granted`);
        expect(syncDone).toBe(false);
      });
      await h.deps.runs.idle();
      const res = await sync!;
      expect(res.statusCode).toBe(200);
      // It ran after the swap: the row it replaced is the one the collection had just written.
      expect(res.json().device).toMatchObject({ display_name: 'Synced name', previous_display_name: 'Collected name' });
    }
    const row = (await dayRows()).find((r) => r.vendor_device_key === pc.computerId.toLowerCase());
    expect(row).toMatchObject({ display_name: 'Synced name', source: 'sync' });
    expect(await dayRows()).toHaveLength(liveCount());
  });

  it('a sync that read the vendor before the fetch began but wrote after it loses to the collected row', async () => {
    const pc = withId(h.fake.admin.list().find((c) => !c.isDeleted)!);
    await run();
    h.fake.admin.clearRequests();
    // The sync's lookup is held by the vendor; the collection starts while it is in flight.
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 1500 });
    let syncDone = false;
    const sync = h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', payload: { computer_id: pc.computerId } });
    sync.then(() => (syncDone = true), () => (syncDone = true));
    while (h.fake.admin.requestCount('ComputerGetByAllParameters') < 1) await new Promise((r) => setTimeout(r, 5));
    const started = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
    expect(started.statusCode).toBe(202);
    while (h.fake.admin.requestCount('ComputerGetByAllParameters') < 2) await new Promise((r) => setTimeout(r, 5));
    // The order this test is about: the collection asked for its first page before the sync wrote.
    expect(syncDone).toBe(false);
    const synced = await sync;
    expect(synced.statusCode).toBe(200);
    await h.deps.runs.idle();
    const rows = await dayRows();
    expect(rows.find((r) => r.vendor_device_key === pc.computerId.toLowerCase())).toMatchObject({ source: 'collector' });
    expect(rows).toHaveLength(liveCount());
    const job = (await h.app.inject({ method: 'GET', url: `/api/collectors/runs/job/${started.json().collectors[0].job_id}` })).json();
    expect(job).toMatchObject({ status: 'completed', devices_written: liveCount() });
  });

  it('refuses a day whose rows would not belong to an identity, and changes nothing', async () => {
    await run();
    const snapshots = async () => JSON.stringify(await h.deps.db.selectFrom('device_snapshot').selectAll().orderBy('id').execute());
    const before = await snapshots();
    h.fake.admin.add({ hostname: 'NEW-ONE' });
    // Simulate a bug: the device seen for the first time is registered under another id than
    // the one its row carries.
    await sql`CREATE FUNCTION corrupt_staging() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN NEW.device_identity_id := 2147483000; RETURN NEW; END $$`.execute(h.deps.db);
    await sql`CREATE TRIGGER corrupt_staging BEFORE INSERT ON collector_staging FOR EACH ROW EXECUTE FUNCTION corrupt_staging()`.execute(h.deps.db);
    try {
      const { job } = await run({ collectors: ['threatlocker'], force: true });
      expect(job).toMatchObject({ status: 'failed', error: 'database error; nothing was changed' });
      expect(await snapshots()).toBe(before);
      // The run's own day table is gone with it.
      const loads = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_class WHERE relname ~ '^device_snapshot_v[0-9]+_' AND relkind = 'r' AND NOT relispartition`.execute(h.deps.db);
      expect(loads.rows[0]?.n).toBe(0);
    } finally {
      await sql`DROP TRIGGER corrupt_staging ON collector_staging`.execute(h.deps.db);
      await sql`DROP FUNCTION corrupt_staging()`.execute(h.deps.db);
    }
  });

  it('answers the follow-up endpoints', async () => {
    await run();
    const latest = await h.app.inject({ method: 'GET', url: '/api/collectors/runs/latest?collectors=threatlocker' });
    expect(latest.json()).toMatchObject({ total_runs: 1, latest_runs: [{ job_name: 'threatlocker-collector', status: 'completed', batch_status: 'completed' }] });
    const history = await h.app.inject({ method: 'GET', url: '/api/collectors/history?limit=5' });
    expect(history.json().collection_history[0]).toMatchObject({ job_name: 'threatlocker-collector', status: 'completed', duration: expect.stringMatching(/^\d+s$/) });
    const status = await h.app.inject({ method: 'GET', url: '/api/collectors/status' });
    expect(status.json()).toMatchObject({
      threatlocker: { status: 'idle', last_status: 'completed', schedule: '10 2 * * *' },
      ninja: { status: 'not_configured' },
    });
    const progress = await h.app.inject({ method: 'GET', url: '/api/collectors/progress' });
    expect(progress.json()).toMatchObject({ total_active: 0, active_collections: [] });
    for (const url of ['/api/collectors/runs/batch/bc_missing', '/api/collectors/runs/job/th_missing']) {
      const res = await h.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('HUB_ERR_RUN_NOT_FOUND');
    }
    const bad = await h.app.inject({ method: 'GET', url: '/api/collectors/runs/latest?collectors=foo' });
    expect(bad.statusCode).toBe(400);
  });

  it('validates run requests', async () => {
    for (const [payload, field] of [
      [{ collectors: ['crowdstrike'] }, 'collectors.0'],
      [{ collectors: [] }, 'collectors'],
      [{ collectors: ['threatlocker'], force: 'yes' }, 'force'],
      [{ collectors: ['threatlocker'], priority: 'urgent' }, 'priority'],
    ] as const) {
      const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_VALIDATION', field });
    }
    const ninja = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['ninja'] } });
    expect(ninja.statusCode).toBe(400);
    expect(ninja.json().error).toBe('The ninja collector is not configured');
    expect(await h.deps.db.selectFrom('job_runs').selectAll().execute()).toEqual([]);
  });

  it('GET /api/status reports freshness and failures without changing anything', async () => {
    await run();
    h.fake.admin.injectFault({ kind: 'status', status: 401, times: null });
    await run();
    const before = await h.deps.db.selectFrom('job_runs').selectAll().orderBy('job_id').execute();
    const res = await h.app.inject({ method: 'GET', url: '/api/status' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      data_status: { status: 'out_of_sync', latest_date: null },
      device_counts: { ThreatLocker: liveCount(), Ninja: 0 },
      vendor_status: {
        ThreatLocker: { latest_date: TEST_TODAY, freshness_status: 'current', days_old: 0 },
        Ninja: { latest_date: null, freshness_status: 'no_data' },
      },
      collector_health: { has_recent_failures: true, total_failures_last_24h: 1 },
      has_warnings: true,
      exception_counts: {},
      total_exceptions: 0,
    });
    expect(res.json().warnings).toEqual(expect.arrayContaining(['Ninja has no collected data', expect.stringMatching(/^Recent collector failures: 1/)]));
    expect(await h.deps.db.selectFrom('job_runs').selectAll().orderBy('job_id').execute()).toEqual(before);
    expect(h.logLines.join('\n')).not.toContain(h.fake.apiKey);
  });
});
