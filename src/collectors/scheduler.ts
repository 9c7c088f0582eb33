/**
 * In-process scheduler: cron expressions evaluated in the business time zone.
 *
 * Each due slot is claimed in `schedule_claims` in the same transaction that starts its task
 * (for a collector: the run's batch and job rows), so with several hub processes sharing one
 * database exactly one of them starts it, and a claim never outlives a start that failed: a
 * start that throws, or a process that dies before the commit, rolls the claim back and
 * another process (or this one, at its next wake-up) takes the slot. A slot whose claim could
 * not be written because the database did not answer is tried again at the following
 * wake-ups, with growing waits, until it succeeds, another process took it, or the task's next
 * slot is due. Collectors are additionally protected by the one-active-run index, so a slow
 * run is never overlapped by the next one. Claims older than `claimRetentionMs` are deleted.
 */
import { Cron } from 'croner';
import type { Kysely, Transaction } from 'kysely';
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
  /**
   * Starts the slot's task inside the transaction that claims the slot: what it writes with
   * `tx` commits together with the claim, and a throw releases the claim. Work that must not
   * hold the transaction (a collection, retention) is returned as a function; it runs after
   * the commit.
   */
  start(tx: Transaction<DB>, slot: Date): Promise<(() => Promise<void>) | undefined>;
}

export interface SchedulerOptions {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timeZone: string;
  readonly tasks: readonly ScheduledTask[];
  /** Identifies this process in `schedule_claims`. */
  readonly owner: string;
  /** Called when the scheduler starts and on every wake-up (e.g. to mark dead runs failed). */
  readonly housekeeping?: () => Promise<void>;
  /** Longest sleep between wake-ups; keeps housekeeping regular and clock jumps harmless. */
  readonly maxSleepMs?: number;
  /** How long claims are kept (default 14 days); they only matter around their slot. */
  readonly claimRetentionMs?: number;
  /** Attempts to claim a slot while the database does not answer (default 8). */
  readonly claimAttempts?: number;
}

const DEFAULT_CLAIM_RETENTION_MS = 14 * 24 * 3_600_000;
const DEFAULT_CLAIM_ATTEMPTS = 8;

interface CronTask {
  readonly task: ScheduledTask;
  readonly cron: Cron;
  /** A slot whose claim failed on a database error: tried again at the next wake-ups. */
  retry?: { slot: Date; attempts: number } | undefined;
}

export class Scheduler {
  private readonly crons: CronTask[];
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
   * Runs every task with a slot in (last tick, now], and slots whose claim failed earlier on a
   * database error. Missed slots are not replayed one by one: only the latest runs. Returns
   * the names of the tasks this process started. Never throws.
   */
  async tick(now: Date = this.o.clock.now()): Promise<string[]> {
    const ran: string[] = [];
    const since = this.lastTick;
    this.lastTick = now;
    for (const entry of this.crons) {
      const { task, cron } = entry;
      let slot: Date | null = null;
      for (let next = cron.nextRun(since); next && next <= now; next = cron.nextRun(next)) slot = next;
      // A newer slot supersedes one still waiting for its claim (only the latest runs).
      if (slot) entry.retry = undefined;
      const attempt = slot ? 1 : entry.retry ? entry.retry.attempts + 1 : 0;
      slot ??= entry.retry?.slot ?? null;
      if (!slot) continue;
      entry.retry = undefined;
      let claimed: { after: (() => Promise<void>) | undefined } | undefined;
      try {
        claimed = await this.o.db.transaction().execute(async (tx) => {
          const row = await tx
            .insertInto('schedule_claims')
            .values({ job_name: task.name, slot, claimed_by: this.o.owner })
            .onConflict((oc) => oc.doNothing())
            .returning('job_name')
            .executeTakeFirst();
          return row ? { after: await task.start(tx, slot) } : undefined;
        });
      } catch (err) {
        const limit = this.o.claimAttempts ?? DEFAULT_CLAIM_ATTEMPTS;
        if (attempt < limit) entry.retry = { slot, attempts: attempt };
        this.o.logger.error(
          { err, task: task.name, slot: slot.toISOString(), attempt, willRetry: attempt < limit },
          'scheduled task could not start; its slot was not claimed',
        );
        continue;
      }
      if (!claimed) {
        this.o.logger.debug({ task: task.name, slot }, 'scheduled slot already claimed by another process');
        continue;
      }
      ran.push(task.name);
      this.o.logger.info({ task: task.name, slot: slot.toISOString() }, 'scheduled task started');
      try {
        await claimed.after?.();
      } catch (err) {
        this.o.logger.error({ err, task: task.name }, 'scheduled task failed');
      }
    }
    await this.deleteOldClaims(now);
    return ran;
  }

  private async deleteOldClaims(now: Date): Promise<void> {
    const cutoff = new Date(now.getTime() - (this.o.claimRetentionMs ?? DEFAULT_CLAIM_RETENTION_MS));
    try {
      await this.o.db.deleteFrom('schedule_claims').where('slot', '<', cutoff).execute();
    } catch (err) {
      this.o.logger.warn({ err }, 'could not delete old schedule claims');
    }
  }

  /** Starts waking up; the first wake-up (housekeeping only, unless a slot is due) is at once. */
  start(): void {
    this.stopped = false;
    this.lastTick = this.o.clock.now();
    this.schedule(0);
  }

  private schedule(first?: number): void {
    if (this.stopped) return;
    const now = this.o.clock.now().getTime();
    const nextDue = Math.min(...this.crons.map(({ cron }) => cron.nextRun(new Date(now))?.getTime() ?? Infinity));
    // A slot waiting for its claim is tried again after 1 s, 2 s, 4 s… (at most maxSleepMs).
    const retries = this.crons.flatMap(({ retry }) => (retry ? [1_000 * 2 ** (retry.attempts - 1)] : []));
    const wait = first ?? Math.max(50, Math.min(this.o.maxSleepMs ?? 60_000, nextDue - now + 5, ...retries));
    this.timer = setTimeout(() => {
      this.current = (async () => {
        try {
          await this.o.housekeeping?.();
        } catch (err) {
          this.o.logger.error({ err }, 'scheduler housekeeping failed');
        }
        try {
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
      async start(tx) {
        // The run's rows commit with the claim; the run itself starts after the commit.
        const prepared = await runs.prepare(tx, { collectors: [c], trigger: 'schedule' });
        if (!prepared.ok) {
          logger.warn(`scheduled ${c} collection skipped: ${prepared.reason === 'busy' ? 'a run is already in progress' : 'not configured'}`);
          return undefined;
        }
        return async () => {
          // Not awaited: the slot is done once the run started; the run records its own outcome.
          runs.launch(prepared).catch((err: unknown) => logger.error({ err, collector: c }, 'scheduled collection failed'));
        };
      },
    });
  }
  tasks.push({
    name: 'snapshot-retention',
    cron: config.collectors.cron.retention,
    // Retention deletes in many statements and is idempotent: it runs after the claim commits;
    // if it fails, the next day's slot catches up.
    async start() {
      return async () => void (await applyRetention(deps.db, deps.clock.today(), config.collectors.retentionDays, logger));
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
