/**
 * The scheduler with an injected clock: cron in the business time zone, one run per slot even
 * with two processes sharing the database, no replay of missed slots, overlap-safety.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import { Scheduler, type ScheduledTask } from '../../src/collectors/scheduler.js';
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
    await db.db.deleteFrom('schedule_claims').execute();
  });

  function make(clock: ReturnType<typeof fixedClock>, owner: string, ran: string[], cron = '10 2 * * *') {
    const task: ScheduledTask = {
      name: 'threatlocker-collector',
      cron,
      async run(slot) {
        ran.push(`${owner}@${slot.toISOString()}`);
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

  it('keeps running after a task throws', async () => {
    const s = new Scheduler({
      db: db.db,
      clock: fixedClock('2026-03-10T00:00:00Z'),
      logger: pino({ level: 'silent' }),
      timeZone: 'UTC',
      owner: 'a',
      tasks: [
        { name: 'boom', cron: '0 1 * * *', run: async () => Promise.reject(new Error('boom')) },
        { name: 'fine', cron: '0 1 * * *', run: async () => undefined },
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
      tasks: [{ name: 'every-second', cron: '* * * * * *', run: async (slot) => void ran.push(slot.toISOString()) }],
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
});
