/**
 * In-process scheduler: cron expressions evaluated in the business time zone. Each due slot is
 * claimed in the database before it runs, so with several hub processes sharing one database
 * exactly one of them runs it; collectors are additionally protected by the one-active-run
 * index, so a slow run is never overlapped by the next one.
 */
import { Cron } from 'croner';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Deps } from '../app.js';
import type { Clock } from '../clock.js';
import type { DB } from '../db/schema.js';
import { applyRetention } from './retention.js';
import { COLLECTORS, JOB_NAMES } from './runs.js';

export interface ScheduledTask {
  readonly name: string;
  /** Five-field cron expression, e.g. `10 2 * * *` (02:10 every day). */
  readonly cron: string;
  run(slot: Date): Promise<void>;
}

export interface SchedulerOptions {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timeZone: string;
  readonly tasks: readonly ScheduledTask[];
  /** Identifies this process in `schedule_claims`. */
  readonly owner: string;
  /** Called on every wake-up (e.g. to mark dead runs failed). */
  readonly housekeeping?: () => Promise<void>;
  /** Longest sleep between wake-ups; keeps housekeeping regular and clock jumps harmless. */
  readonly maxSleepMs?: number;
}

export class Scheduler {
  private readonly crons: { task: ScheduledTask; cron: Cron }[];
  private lastTick: Date;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private current: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: SchedulerOptions) {
    this.crons = o.tasks.map((task) => ({ task, cron: new Cron(task.cron, { timezone: o.timeZone, paused: true }) }));
    this.lastTick = o.clock.now();
  }

  /** When each task runs next, for logs and /api/collectors/status. */
  nextRuns(): { name: string; next: string | null }[] {
    return this.crons.map(({ task, cron }) => ({ name: task.name, next: cron.nextRun(this.o.clock.now())?.toISOString() ?? null }));
  }

  /**
   * Runs every task with a slot in (last tick, now]. Missed slots are not replayed one by
   * one: only the latest runs. Returns the names of the tasks this process ran.
   */
  async tick(now: Date = this.o.clock.now()): Promise<string[]> {
    const ran: string[] = [];
    const since = this.lastTick;
    this.lastTick = now;
    for (const { task, cron } of this.crons) {
      let slot: Date | null = null;
      for (let next = cron.nextRun(since); next && next <= now; next = cron.nextRun(next)) slot = next;
      if (!slot) continue;
      const claimed = await this.o.db
        .insertInto('schedule_claims')
        .values({ job_name: task.name, slot, claimed_by: this.o.owner })
        .onConflict((oc) => oc.doNothing())
        .returning('job_name')
        .executeTakeFirst();
      if (!claimed) {
        this.o.logger.debug({ task: task.name, slot }, 'scheduled slot already claimed by another process');
        continue;
      }
      ran.push(task.name);
      this.o.logger.info({ task: task.name, slot: slot.toISOString() }, 'scheduled task starting');
      try {
        await task.run(slot);
      } catch (err) {
        this.o.logger.error({ err, task: task.name }, 'scheduled task failed');
      }
    }
    return ran;
  }

  start(): void {
    this.stopped = false;
    this.lastTick = this.o.clock.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = this.o.clock.now().getTime();
    const nextDue = Math.min(...this.crons.map(({ cron }) => cron.nextRun(new Date(now))?.getTime() ?? Infinity));
    const wait = Math.max(50, Math.min(this.o.maxSleepMs ?? 60_000, nextDue - now + 5));
    this.timer = setTimeout(() => {
      this.current = (async () => {
        try {
          await this.o.housekeeping?.();
          await this.tick();
        } catch (err) {
          this.o.logger.error({ err }, 'scheduler wake-up failed');
        }
      })().finally(() => this.schedule());
    }, wait);
    this.timer.unref();
  }

  /** Stops waking up; waits for a wake-up in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }
}

/** The hub's schedule: each configured collector, then retention, in the business time zone. */
export function hubSchedule(deps: Deps, owner: string): Scheduler {
  const { config, runs, logger } = deps;
  const tasks: ScheduledTask[] = [];
  for (const c of COLLECTORS) {
    if (!runs.configured(c)) continue;
    tasks.push({
      name: JOB_NAMES[c],
      cron: config.collectors.cron[c],
      async run() {
        const started = await runs.start({ collectors: [c], trigger: 'schedule' });
        if (!started.ok && started.reason === 'busy') {
          logger.warn({ job: started.job.job_id }, `scheduled ${c} collection skipped: a run is already in progress`);
        }
      },
    });
  }
  tasks.push({
    name: 'snapshot-retention',
    cron: config.collectors.cron.retention,
    async run() {
      await applyRetention(deps.db, deps.clock.today(), config.collectors.retentionDays, logger);
    },
  });
  return new Scheduler({
    db: deps.db,
    clock: deps.clock,
    logger,
    timeZone: config.timeZone,
    tasks,
    owner,
    housekeeping: async () => {
      await runs.reapStale();
    },
  });
}
