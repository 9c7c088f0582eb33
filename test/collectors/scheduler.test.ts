/**
 * The scheduler with an injected clock: cron in the business time zone, one run per slot even
 * with two processes sharing the database, no replay of missed slots, overlap-safety.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import type { CollectorSource } from '../../src/collectors/runner.js';
import { CollectorRuns } from '../../src/collectors/runs.js';
import { Scheduler, type ScheduledTask } from '../../src/collectors/scheduler.js';
import { loadVendorIds } from '../../src/inventory/vendors.js';
import { openTestDatabase, TEST_DATABASES, type TestDatabase } from '../helpers/database.js';

describe.each(TEST_DATABASES)('scheduler on %s', (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await db?.close();
  });
  beforeEach(async () => {
    await db.truncate();
  });

  /** A hub process's runs on the shared database, collecting an empty ThreatLocker tenant. */
  async function processRuns() {
    const empty: CollectorSource = { vendor: 'threatlocker', async *pages() {} };
    return new CollectorRuns({
      db: db.db,
      copy: db.copyInto,
      clock: fixedClock('2026-03-10T07:10:05Z', 'America/Chicago'),
      logger: pino({ level: 'silent' }),
      vendorIds: await loadVendorIds(db.db),
      sources: { threatlocker: () => empty },
      settings: { maxDropPercent: 20, heartbeatMs: 60_000, staleAfterMs: 120_000 },
    });
  }

  function single(owner: string, start: ScheduledTask['start'], name = 'threatlocker-collector') {
    return new Scheduler({
      db: db.db,
      clock: fixedClock('2026-03-10T07:00:00Z', 'America/Chicago'),
      logger: pino({ level: 'silent' }),
      timeZone: 'America/Chicago',
      owner,
      tasks: [{ name, cron: '10 2 * * *', start }],
    });
  }

  function make(clock: ReturnType<typeof fixedClock>, owner: string, ran: string[], cron = '10 2 * * *') {
    const task: ScheduledTask = {
      name: 'threatlocker-collector',
      cron,
      async start(_tx, slot) {
        ran.push(`${owner}@${slot.toISOString()}`);
        return undefined;
      },
    };
    return new Scheduler({ db: db.db, clock, logger: pino({ level: 'silent' }), timeZone: 'America/Chicago', tasks: [task], owner });
  }

  it('fires at 02:10 Chicago time (08:10 UTC in winter, 07:10 in summer)', async () => {
    const clock = fixedClock('2026-01-15T08:00:00Z', 'America/Chicago');
    const ran: string[] = [];
    const s = make(clock, 'a', ran);
    expect(await s.tick(new Date('2026-01-15T08:09:59Z'))).toEqual([]);
    expect(await s.tick(new Date('2026-01-15T08:10:00Z'))).toEqual(['threatlocker-collector']);
    expect(await s.tick(new Date('2026-01-15T09:00:00Z'))).toEqual([]);
    expect(await s.tick(new Date('2026-07-15T07:10:30Z'))).toEqual(['threatlocker-collector']);
    expect(ran).toEqual(['a@2026-01-15T08:10:00.000Z', 'a@2026-07-15T07:10:00.000Z']);
    expect(s.nextRuns()).toEqual([{ name: 'threatlocker-collector', next: '2026-01-15T08:10:00.000Z' }]); // from the clock's now
  });

  it('two processes sharing the database run a slot once', async () => {
    const ran: string[] = [];
    const a = make(fixedClock('2026-03-10T07:00:00Z', 'America/Chicago'), 'a', ran);
    const b = make(fixedClock('2026-03-10T07:00:00Z', 'America/Chicago'), 'b', ran);
    const at = new Date('2026-03-10T07:10:05Z');
    const [ra, rb] = await Promise.all([a.tick(at), b.tick(at)]);
    expect([...ra, ...rb]).toEqual(['threatlocker-collector']);
    expect(ran).toHaveLength(1);
    const claims = await db.db.selectFrom('schedule_claims').selectAll().execute();
    expect(claims).toHaveLength(1);
    expect(claims[0]?.slot).toEqual(new Date('2026-03-10T07:10:00Z'));
  });

  it('runs only the latest missed slot after a long gap', async () => {
    const ran: string[] = [];
    const s = make(fixedClock('2026-03-01T00:00:00Z', 'America/Chicago'), 'a', ran, '*/15 * * * *');
    await s.tick(new Date('2026-03-01T03:07:00Z'));
    expect(ran).toEqual(['a@2026-03-01T03:00:00.000Z']);
  });

  it('keeps running after a task fails after its start', async () => {
    const s = new Scheduler({
      db: db.db,
      clock: fixedClock('2026-03-10T00:00:00Z'),
      logger: pino({ level: 'silent' }),
      timeZone: 'UTC',
      owner: 'a',
      tasks: [
        { name: 'boom', cron: '0 1 * * *', start: async () => async () => Promise.reject(new Error('boom')) },
        { name: 'fine', cron: '0 1 * * *', start: async () => undefined },
      ],
    });
    expect(await s.tick(new Date('2026-03-10T01:00:00Z'))).toEqual(['boom', 'fine']);
  });

  it('wakes itself up on the real timer and stops cleanly', async () => {
    const ran: string[] = [];
    let housekeeping = 0;
    const s = new Scheduler({
      db: db.db,
      clock: { timeZone: 'UTC', now: () => new Date(), today: () => '' },
      logger: pino({ level: 'silent' }),
      timeZone: 'UTC',
      owner: 'a',
      maxSleepMs: 100,
      housekeeping: async () => {
        housekeeping++;
      },
      tasks: [{ name: 'every-second', cron: '* * * * * *', start: async (_tx, slot) => void ran.push(slot.toISOString()) }],
    });
    s.start();
    const deadline = Date.now() + 5_000;
    while (ran.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await s.stop();
    expect(ran.length).toBeGreaterThanOrEqual(1);
    expect(housekeeping).toBeGreaterThanOrEqual(1);
    const after = ran.length;
    await new Promise((r) => setTimeout(r, 1_200));
    expect(ran.length).toBe(after);
  });

  it('a start that fails after claiming releases the slot: another process runs it', async () => {
    const runsA = await processRuns();
    const runsB = await processRuns();
    // Process A claims the slot and writes its run, then fails before committing.
    const a = single('a', async (tx) => {
      const prepared = await runsA.prepare(tx, { collectors: ['threatlocker'], trigger: 'schedule' });
      expect(prepared.ok).toBe(true);
      throw new Error('process A failed while starting');
    });
    const b = single('b', async (tx) => {
      const prepared = await runsB.prepare(tx, { collectors: ['threatlocker'], trigger: 'schedule' });
      if (!prepared.ok) throw new Error(`not prepared: ${prepared.reason}`);
      return async () => {
        // As the hub's schedule does: not awaited; the run records its own outcome.
        runsB.launch(prepared).catch(() => undefined);
      };
    });
    const at = new Date('2026-03-10T07:10:05Z');
    expect(await a.tick(at)).toEqual([]);
    expect(await b.tick(at)).toEqual(['threatlocker-collector']);
    await runsB.idle();
    const claims = await db.db.selectFrom('schedule_claims').selectAll().execute();
    expect(claims.map((c) => [c.claimed_by, c.slot.toISOString()])).toEqual([['b', '2026-03-10T07:10:00.000Z']]);
    const jobs = await db.db.selectFrom('job_runs').select(['status', 'trigger']).execute();
    expect(jobs).toEqual([{ status: 'completed', trigger: 'schedule' }]);
    expect(await db.db.selectFrom('job_batches').select('status').execute()).toEqual([{ status: 'completed' }]);
  });

  it('the claim and what the start wrote commit together, or neither does', async () => {
    const s = single('a', async (tx) => {
      await tx.insertInto('job_batches').values({ batch_id: 'bc_rolled01', created_at: new Date(), status: 'queued', priority: 'normal' }).execute();
      throw new Error('failed after writing');
    });
    expect(await s.tick(new Date('2026-03-10T07:10:05Z'))).toEqual([]);
    expect(await db.db.selectFrom('schedule_claims').selectAll().execute()).toEqual([]);
    expect(await db.db.selectFrom('job_batches').selectAll().execute()).toEqual([]);
  });

  it('a slot whose start failed is claimed again at the next wake-up, until the next slot is due', async () => {
    let attempts = 0;
    const s = single('a', async (_tx, slot) => {
      attempts++;
      if (attempts <= 2) throw new Error('connection refused');
      expect(slot.toISOString()).toBe('2026-03-10T07:10:00.000Z');
      return undefined;
    });
    expect(await s.tick(new Date('2026-03-10T07:10:05Z'))).toEqual([]);
    expect(await s.tick(new Date('2026-03-10T07:10:06Z'))).toEqual([]);
    expect(await s.tick(new Date('2026-03-10T07:10:08Z'))).toEqual(['threatlocker-collector']);
    expect(await s.tick(new Date('2026-03-10T07:10:12Z'))).toEqual([]);
    expect(attempts).toBe(3);
    const claims = await db.db.selectFrom('schedule_claims').select(['claimed_by', 'slot']).execute();
    expect(claims).toEqual([{ claimed_by: 'a', slot: new Date('2026-03-10T07:10:00Z') }]);
  });

  it('deletes claims older than the retention', async () => {
    await db.db
      .insertInto('schedule_claims')
      .values([
        { job_name: 'threatlocker-collector', slot: new Date('2026-02-01T08:10:00Z'), claimed_by: 'old' },
        { job_name: 'threatlocker-collector', slot: new Date('2026-03-09T07:10:00Z'), claimed_by: 'recent' },
      ])
      .execute();
    const s = single('a', async () => undefined);
    await s.tick(new Date('2026-03-10T06:00:00Z'));
    const left = await db.db.selectFrom('schedule_claims').select('claimed_by').execute();
    expect(left).toEqual([{ claimed_by: 'recent' }]);
  });
});
