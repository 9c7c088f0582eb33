/**
 * Collector runs across processes and failures, on every test database: the reaper judges
 * heartbeats on the database's clock, a reaped run never flips back, a dead run's leftovers
 * are discarded, and a cancelled or shut-down run ends cancelled however its abort surfaced.
 * Two "processes" are two CollectorRuns sharing one database (each knows only its own runs).
 */
import * as net from 'node:net';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/clock.js';
import type { CollectedPage, CollectorSource } from '../../src/collectors/runner.js';
import { CollectorRuns } from '../../src/collectors/runs.js';
import { threatlockerSource } from '../../src/collectors/threatlocker.js';
import { createDeps, threatlockerDeps } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { SNAPSHOT_WRITE_LOCK } from '../../src/db/locks.js';
import { buildServer } from '../../src/http/server.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, type Harness } from '../helpers/harness.js';

/** Waits until `check` holds (polling); fails the test instead of hanging when it never does. */
export async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting until ${what}`);
}

/**
 * A source that hands over the first `after` pages of `inner`, then waits for `release()`.
 * Aborting the run while it waits rejects the wait with `abortError()`: what the vendor
 * request surfaced the abort as.
 */
function pausing(inner: CollectorSource, after: number, abortError: (signal: AbortSignal) => unknown) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const source: CollectorSource = {
    vendor: inner.vendor,
    async *pages(signal): AsyncIterable<CollectedPage> {
      let n = 0;
      for await (const page of inner.pages(signal)) {
        yield page;
        if (++n !== after) continue;
        await new Promise<void>((resolve, reject) => {
          // A cancelled run rejects with its signal's reason, as the vendor clients do.
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's own reason
          if (signal.aborted) return reject(abortError(signal));
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's own reason
          signal.addEventListener('abort', () => reject(abortError(signal)), { once: true });
          released.then(resolve, reject);
        });
      }
    },
  };
  return { source, release };
}

describe.each(TEST_DATABASES)('collector runs on %s', (kind) => {
  let h: Harness;
  const silent = pino({ level: 'silent' });
  beforeAll(async () => {
    h = await createHarness(kind, { fake: { fleetSize: 1300, seed: 5 } });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  /** Another hub process on the same database. */
  function processRuns(o: { clock?: Clock; staleAfterMs?: number; source?: () => CollectorSource; logLines?: string[] } = {}) {
    const logger = o.logLines ? pino({ level: 'debug' }, { write: (l: string) => void o.logLines?.push(l) }) : silent;
    return new CollectorRuns({
      db: h.deps.db,
      copy: h.deps.database.copyInto,
      clock: o.clock ?? h.clock,
      logger,
      vendorIds: h.deps.vendorIds,
      sources: { threatlocker: o.source ?? (() => threatlockerSource(threatlockerDeps(h.deps).threatlocker, silent)) },
      settings: { maxDropPercent: 20, heartbeatMs: 60_000, staleAfterMs: o.staleAfterMs ?? 30_000 },
      recordRetry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    });
  }

  async function jobRow(jobId: string) {
    return h.deps.db.selectFrom('job_runs').selectAll().where('job_id', '=', jobId).executeTakeFirstOrThrow();
  }
  const dayCount = async () =>
    Number((await h.deps.db.selectFrom('device_snapshot').select((eb) => eb.fn.countAll<string>().as('n')).where('snapshot_date', '=', TEST_TODAY).executeTakeFirstOrThrow()).n);
  const stagedFor = async (jobId: string) =>
    (await h.deps.db.selectFrom('collector_staging').select('job_id').where('job_id', '=', jobId).execute()).length;

  /** A job row as a dead process leaves it, with `rows` staged devices. */
  async function leftRun(jobId: string, status: 'running' | 'failed', heartbeat: 'fresh' | 'dead', rows: number) {
    const batchId = `bc_${jobId.slice(3)}`;
    const beat = heartbeat === 'fresh' ? sql<Date>`now()` : sql<Date>`now() - interval '10 minutes'`;
    await h.deps.db.insertInto('job_batches').values({ batch_id: batchId, created_at: h.clock.now(), status: status === 'running' ? 'running' : 'failed', priority: 'normal' }).execute();
    await h.deps.db
      .insertInto('job_runs')
      .values({ job_id: jobId, batch_id: batchId, job_name: jobId.startsWith('th_') ? 'threatlocker-collector' : 'ninja-collector', status, started_at: h.clock.now(), updated_at: h.clock.now(), heartbeat_at: beat })
      .execute();
    await stage(jobId, rows);
  }
  async function stage(jobId: string, rows: number) {
    for (let i = 0; i < rows; i++) {
      await h.deps.db.insertInto('collector_staging').values({ job_id: jobId, vendor_device_key: `key-${i}`, device_identity_id: 1_000_000 + i }).execute();
    }
  }

  it('the reaper reads heartbeats on the database clock: a live run of a process whose clock is behind is not reaped', async () => {
    // Process A's clock is months behind the database's; process B's is the real time.
    const paused = pausing(threatlockerSource(threatlockerDeps(h.deps).threatlocker, silent), 1, () => new Error('aborted'));
    const a = processRuns({ source: () => paused.source });
    const started = await a.start({ collectors: ['threatlocker'], trigger: 'api' });
    if (!started.ok) throw new Error('not started');
    const jobId = started.jobs[0]!.job_id;
    await until(async () => (await jobRow(jobId)).pages_fetched === 1, 'page 1 is staged');
    const b = processRuns({ clock: systemClock('UTC'), staleAfterMs: 30_000 });
    expect(await b.reapStale()).toEqual([]);
    paused.release();
    await a.idle();
    expect(await jobRow(jobId)).toMatchObject({ status: 'completed' });
  });

  it('a run whose heartbeat is old on the database clock is reaped, whatever the process clock says; its staging rows go with it', async () => {
    await leftRun('th_dead0001', 'running', 'dead', 3);
    await leftRun('ni_live0001', 'running', 'fresh', 2);
    // This process's clock (the harness's) is months behind the database's.
    const runs = processRuns();
    expect(await runs.reapStale()).toEqual(['th_dead0001']);
    expect(await jobRow('th_dead0001')).toMatchObject({ status: 'failed', message: 'Run appears to have died (no heartbeat)' });
    expect(await h.deps.db.selectFrom('job_batches').select('status').where('batch_id', '=', 'bc_dead0001').executeTakeFirst()).toEqual({ status: 'failed' });
    expect(await stagedFor('th_dead0001')).toBe(0);
    expect(await jobRow('ni_live0001')).toMatchObject({ status: 'running' });
    expect(await stagedFor('ni_live0001')).toBe(2);
  });

  it('the first reaper pass of a process sweeps the staging rows of every run that is no longer running', async () => {
    await leftRun('ni_ended001', 'failed', 'dead', 4);
    await stage('th_norow001', 2); // a job row that no longer exists
    await leftRun('th_live0002', 'running', 'fresh', 3);
    const runs = processRuns();
    expect(await runs.reapStale()).toEqual([]);
    expect(await stagedFor('ni_ended001')).toBe(0);
    expect(await stagedFor('th_norow001')).toBe(0);
    expect(await stagedFor('th_live0002')).toBe(3);
  });

  it('a run reaped while its process is alive stops at its next heartbeat, stays failed and changes nothing', async () => {
    const logLines: string[] = [];
    const paused = pausing(threatlockerSource(threatlockerDeps(h.deps).threatlocker, silent), 1, () => new Error('aborted'));
    const a = processRuns({ source: () => paused.source, logLines });
    const started = await a.start({ collectors: ['threatlocker'], trigger: 'api' });
    if (!started.ok) throw new Error('not started');
    const jobId = started.jobs[0]!.job_id;
    await until(async () => (await jobRow(jobId)).pages_fetched === 1, 'page 1 is staged');
    // Process B's reaper finds A's heartbeat too old (A was, say, stalled) and marks it failed.
    const b = processRuns({ staleAfterMs: 0 });
    expect(await b.reapStale()).toEqual([jobId]);
    paused.release();
    await a.idle();
    expect(await jobRow(jobId)).toMatchObject({ status: 'failed', message: 'Run appears to have died (no heartbeat)' });
    expect(await dayCount()).toBe(0);
    expect(await stagedFor(jobId)).toBe(0);
    // It noticed: at its next heartbeat, or — when the reaper had already dropped its half-loaded
    // day table — when it went to record its outcome.
    expect(logLines.some((l) => /another process had marked it failed|had already been ended by another process/.test(l))).toBe(true);
  });

  it('a cancelled run ends cancelled whatever error the abort surfaced as', async () => {
    // The vendor request was cut by the abort and surfaced as a plain network error.
    const paused = pausing(threatlockerSource(threatlockerDeps(h.deps).threatlocker, silent), 1, () => new Error('socket hang up'));
    const a = processRuns({ source: () => paused.source });
    const started = await a.start({ collectors: ['threatlocker'], trigger: 'api' });
    if (!started.ok) throw new Error('not started');
    const jobId = started.jobs[0]!.job_id;
    await until(async () => (await jobRow(jobId)).pages_fetched === 1, 'page 1 is staged');
    expect((await a.cancel(jobId)).accepted).toBe(true);
    await a.idle();
    expect(await jobRow(jobId)).toMatchObject({ status: 'cancelled', message: 'Cancelled; the previous data is unchanged', error: null });
    expect(await dayCount()).toBe(0);
  });

  it('shutdown interrupts a run waiting on its vendor and ends it cancelled', async () => {
    // The source never hands over page 2 unless aborted; it rejects with the signal's reason.
    const paused = pausing(threatlockerSource(threatlockerDeps(h.deps).threatlocker, silent), 1, (signal) => signal.reason);
    const a = processRuns({ source: () => paused.source });
    const started = await a.start({ collectors: ['threatlocker'], trigger: 'api' });
    if (!started.ok) throw new Error('not started');
    const jobId = started.jobs[0]!.job_id;
    await until(async () => (await jobRow(jobId)).pages_fetched === 1, 'page 1 is staged');
    await a.shutdown();
    expect(await jobRow(jobId)).toMatchObject({ status: 'cancelled' });
    expect(await h.deps.db.selectFrom('job_batches').select('status').where('batch_id', '=', started.batch.batch_id).executeTakeFirst()).toEqual({ status: 'cancelled' });
    expect(await stagedFor(jobId)).toBe(0);
  });

  // What needs PostgreSQL itself: concurrent sessions, and a network between hub and database.
  describe.each(kind === 'postgres' ? [kind] : [])('only on %s', () => {
    it('a run reaped during its swap keeps the day it swapped in, stays failed, and says so', async () => {
      const logLines: string[] = [];
      const a = processRuns({ logLines });
      // Hold the vendor's snapshot-write lock so that A's swap, once it has checked its run is
      // still running, waits inside its transaction.
      let releaseLock!: () => void;
      const lockHeld = new Promise<void>((r) => (releaseLock = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = h.deps.db.transaction().execute(async (tx) => {
        await sql`SELECT pg_advisory_xact_lock(${sql.lit(SNAPSHOT_WRITE_LOCK)}, ${h.deps.vendorIds.threatlocker}::integer)`.execute(tx);
        locked();
        await lockHeld;
      });
      await isLocked;
      const started = await a.start({ collectors: ['threatlocker'], trigger: 'api' });
      if (!started.ok) throw new Error('not started');
      const jobId = started.jobs[0]!.job_id;
      await until(async () => {
        const r = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = ${SNAPSHOT_WRITE_LOCK}`.execute(h.deps.db);
        return Number(r.rows[0]?.n) > 0;
      }, "A's swap waits for the write lock");
      // B's reaper now marks A failed: it waits for A's swap to commit, then wins.
      const b = processRuns({ staleAfterMs: 0 });
      const reaping = b.reapStale();
      await until(async () => {
        const r = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted`.execute(h.deps.db);
        return Number(r.rows[0]?.n) > 0;
      }, "B's reaper waits for A's run row");
      releaseLock();
      await holder;
      expect(await reaping).toEqual([jobId]);
      await a.idle();
      const devices = h.fake.admin.list().filter((c) => !c.isDeleted).length;
      expect(await dayCount()).toBe(devices);
      const job = await jobRow(jobId);
      expect(job).toMatchObject({
        status: 'failed',
        message: `Marked failed (no heartbeat), but its process finished later and replaced ${TEST_TODAY} with ${devices} devices`,
        devices_written: devices,
      });
      expect(logLines.some((l) => l.includes('finished after it had been marked failed'))).toBe(true);
    });

    /**
     * A TCP proxy between a hub and PostgreSQL that the test can cut (every connection dropped,
     * new ones refused) and restore: a database outage that touches no one else's tests.
     */
    async function startProxy(target: { host: string; port: number }) {
      const sockets = new Set<net.Socket>();
      let cut = false;
      let refused = 0;
      const server = net.createServer((client) => {
        if (cut) {
          refused++;
          client.destroy();
          return;
        }
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return {
        port: (server.address() as net.AddressInfo).port,
        refused: () => refused,
        cut() {
          cut = true;
          for (const s of sockets) s.destroy();
        },
        restore() {
          cut = false;
        },
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise<void>((r) => server.close(() => r()));
        },
      };
    }

    it('a database outage during a collection: the hub keeps serving, records the run failed once the database is back, and runs again', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const direct = new URL(h.database.location);
      const proxy = await startProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      const viaProxy = new URL(direct);
      viaProxy.port = String(proxy.port);
      const connectionErrors: Error[] = [];
      const database = await openDatabase({ databaseUrl: viaProxy.toString(), poolSize: 5, onConnectionError: (e) => void connectionErrors.push(e) });
      const logLines: string[] = [];
      const deps = await createDeps(loadConfig({ COLLECTOR_HEARTBEAT_SECONDS: '1', COLLECTOR_STALE_SECONDS: '30' }), {
        clock: h.clock,
        logger: pino({ level: 'debug' }, { write: (l: string) => void logLines.push(l) }),
        database,
        skipMigrations: true,
        threatlocker: { baseUrl: h.fake.baseUrl, apiKey: h.fake.apiKey, organizationId: undefined, timeoutMs: 5_000 },
        ninja: null,
      });
      const app = await buildServer(deps);
      try {
        // Every page takes a while, so the collection is still fetching when the database goes.
        h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 300, times: null });
        const res = await app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
        expect(res.statusCode).toBe(202);
        const jobId = res.json().collectors[0].job_id as string;
        await until(() => h.fake.admin.requestCount('ComputerGetByAllParameters') >= 2, 'page 2 is requested');
        proxy.cut();
        // The run fails on the database and keeps trying to record that while it is gone.
        await until(() => logLines.some((l) => l.includes('could not record the run outcome; retrying')), 'the outcome write is retried');
        await until(() => proxy.refused() >= 2, 'the hub tried to reconnect');
        expect((await jobRow(jobId)).status).toBe('running'); // as the dead database last saw it
        proxy.restore();
        await deps.runs.idle();
        const job = await jobRow(jobId);
        expect(job).toMatchObject({ status: 'failed', error: 'database error; nothing was changed' });
        const batch = await h.deps.db.selectFrom('job_batches').select('status').where('batch_id', '=', job.batch_id).executeTakeFirstOrThrow();
        expect(batch.status).toBe('failed');
        expect(await stagedFor(jobId)).toBe(0);
        // The hub serves on: a new run starts (no 409) and completes.
        h.fake.admin.clearFaults();
        const again = await app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
        expect(again.statusCode).toBe(202);
        await deps.runs.idle();
        expect(await jobRow(again.json().collectors[0].job_id)).toMatchObject({ status: 'completed' });
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        await app.close();
        await deps.close();
        await database.close();
        await proxy.close();
      }
    });

    it('a connection lost while checked out of the pool is reported, not an uncaught error, and the pool recovers', async () => {
      const direct = new URL(h.database.location);
      const proxy = await startProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      const viaProxy = new URL(direct);
      viaProxy.port = String(proxy.port);
      const lost: Error[] = [];
      const database = await openDatabase({ databaseUrl: viaProxy.toString(), poolSize: 2, onConnectionError: (e) => void lost.push(e) });
      try {
        await database.db.connection().execute(async (conn) => {
          await sql`SELECT 1`.execute(conn);
          // Checked out, between two statements (as inside a transaction), the connection dies.
          proxy.cut();
          await until(() => lost.length > 0, 'the lost connection is reported');
          await expect(sql`SELECT 1`.execute(conn)).rejects.toThrow();
        });
        expect(lost[0]?.message).toMatch(/Connection terminated/);
        proxy.restore();
        expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db)).rows).toEqual([{ one: 1 }]);
      } finally {
        await database.close();
        await proxy.close();
      }
    });
  });
});
