/**
 * Tracked collector runs: batches of jobs in `job_batches` / `job_runs` (the existing run-
 * tracking API's tables), executed in the background with real progress and heartbeats.
 *
 * At most one run per collector at a time is enforced by the database (a partial unique index),
 * so it holds across every hub process sharing it. A run whose process died is recognised by
 * its heartbeat's age — on the database's clock, so hub processes whose clocks disagree never
 * reap each other's live runs — and marked failed.
 *
 * Every status change is conditional on the status it leaves (queued → running, active → an
 * end state), so a run that another process already ended is never revived. Nothing that runs
 * in the background rejects: a failure is logged, and the run's outcome is written with
 * bounded retries, so a database outage during a collection ends with the run recorded as
 * failed once the database is back, never with a crashed hub.
 */
import { dropAbandonedLoads } from '../inventory/day-swap.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely, type Transaction, type UpdateObject } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { CopyInto } from '../db/copy.js';
import { ACTIVE_JOB_STATUSES, type DB, type JobBatchRow, type JobRunRow, type JobStatus } from '../db/schema.js';
import type { VendorIds, VendorKey } from '../inventory/vendors.js';
import type { RunObserver, RunOutcome } from '../observability/metrics.js';
import { VendorError } from '../vendors/http.js';
import { collect, CollectorStopped, type CollectionProgress, type CollectionResult, type CollectorSource } from './runner.js';

/** One collector per vendor, named by the vendor's key. */
export const COLLECTORS = ['ninja', 'threatlocker'] as const satisfies readonly VendorKey[];
export type CollectorName = VendorKey;

/** Job names as the existing dashboards know them. */
export const JOB_NAMES: Readonly<Record<CollectorName, string>> = {
  ninja: 'ninja-collector',
  threatlocker: 'threatlocker-collector',
};
const ID_PREFIX: Readonly<Record<CollectorName, string>> = { ninja: 'ni', threatlocker: 'th' };

export type RunTrigger = 'api' | 'schedule' | 'cli' | 'demo';
export type Priority = 'low' | 'normal' | 'high';

export interface RunSettings {
  readonly maxDropPercent: number;
  /** How often a running job proves it is alive (and checks for cancellation). */
  readonly heartbeatMs: number;
  /** A job silent for this long belongs to a process that died. */
  readonly staleAfterMs: number;
}

/**
 * How a run's outcome is written when the database does not answer: attempts with doubling
 * waits between them. The default (12 attempts, 0.25 s doubling to 15 s) rides out about
 * 90 s of outage; after that the run stays active until the reaper marks it failed.
 */
export interface RecordRetry {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}
const DEFAULT_RECORD_RETRY: RecordRetry = { attempts: 12, baseDelayMs: 250, maxDelayMs: 15_000 };

export interface RunsDeps {
  readonly db: Kysely<DB>;
  /** Bulk input into the same database (a collection's pages go in by COPY). */
  readonly copy: CopyInto;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly vendorIds: VendorIds;
  /** The collectors this hub can run; a missing one is "not configured". */
  readonly sources: Partial<Record<CollectorName, () => CollectorSource>>;
  readonly settings: RunSettings;
  readonly recordRetry?: RecordRetry;
  /** Checked before every start; throws (a HubError) to refuse it, e.g. real vendors into a demo database. */
  readonly beforeStart?: () => Promise<void>;
  /**
   * Called once per day a batch's jobs replaced (a completed, not dry, run), after every job of
   * the batch ended: the variance check (variances/run.ts checkAfterCollection). It must not
   * reject; if it does, the rejection is logged and the runs stay as recorded.
   */
  readonly afterCollected?: (date: string, log: Logger) => Promise<unknown>;
  /** Told when each run ends (metrics). */
  readonly observer?: RunObserver | undefined;
}

export interface StartRequest {
  readonly collectors: readonly CollectorName[];
  readonly priority?: Priority;
  readonly force?: boolean;
  readonly dryRun?: boolean;
  readonly trigger: RunTrigger;
}

export type StartResult =
  | { readonly ok: true; readonly batch: JobBatchRow; readonly jobs: readonly JobRunRow[]; readonly done: Promise<void> }
  | { readonly ok: false; readonly reason: 'busy'; readonly job: JobRunRow }
  | { readonly ok: false; readonly reason: 'not_configured'; readonly collector: CollectorName };

/** A batch whose rows are written (maybe in a transaction not yet committed) but not started. */
export interface PreparedRun {
  readonly batch: JobBatchRow;
  readonly jobs: readonly JobRunRow[];
}

export type PrepareResult =
  | ({ readonly ok: true } & PreparedRun)
  | { readonly ok: false; readonly reason: 'busy'; readonly jobNames: readonly string[] }
  | { readonly ok: false; readonly reason: 'not_configured'; readonly collector: CollectorName };

/** Why a run's signal was aborted: asked to stop, the hub shutting down, or ended elsewhere. */
export type InterruptKind = 'cancelled' | 'shutdown' | 'lost';

/**
 * The reason a run's AbortSignal carries. Named `AbortError` so that code which only knows
 * "this was aborted" (vendor clients rethrow the signal's reason) recognises it as such.
 */
export class RunInterrupted extends Error {
  constructor(readonly kind: InterruptKind) {
    super(kind === 'lost' ? 'the run was ended by another process' : kind === 'shutdown' ? 'the hub is shutting down' : 'cancelled');
    this.name = 'AbortError';
  }
}

const ACTIVE = ACTIVE_JOB_STATUSES;

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export function collectorOfJob(jobName: string): CollectorName | undefined {
  return COLLECTORS.find((c) => JOB_NAMES[c] === jobName);
}

/**
 * Removes what collections left behind that no active run will use: the `collector_staging`
 * rows of every job that is not queued or running (its process died, it was reaped, or it
 * ended without clearing them) — with `jobIds`, only those jobs' rows — and the unattached day
 * tables of every run that is not active. This is the one place a run's leftovers are
 * discarded: the reaper calls it for the runs it marks failed and each process calls it once
 * at start-up. Returns the number of staging rows and tables removed.
 */
export async function discardRunLeftovers(db: Kysely<DB>, jobIds?: readonly string[]): Promise<number> {
  if (jobIds?.length === 0) return 0;
  const r = await db
    .deleteFrom('collector_staging')
    .$if(jobIds !== undefined, (q) => q.where('job_id', 'in', jobIds ?? []))
    .where((eb) =>
      eb.not(eb.exists(eb.selectFrom('job_runs').select('job_runs.job_id').whereRef('job_runs.job_id', '=', 'collector_staging.job_id').where('job_runs.status', 'in', ACTIVE))),
    )
    .executeTakeFirst();
  // The unattached day tables of runs that are not active anywhere (see inventory/day-swap.ts).
  const active = await db.selectFrom('job_runs').select('job_id').where('status', 'in', ACTIVE).execute();
  const dropped = await dropAbandonedLoads(db, active.map((j) => j.job_id));
  return Number(r.numDeletedRows) + dropped.length;
}

export class CollectorRuns {
  /** Runs executing in this process, by job id. */
  private readonly running = new Map<string, AbortController>();
  private readonly owner = `${hostname()}:${process.pid}`;
  private readonly inFlight = new Set<Promise<void>>();
  /** Aborted by shutdown(): outcome writes then stop waiting between retries. */
  private readonly closing = new AbortController();
  /** The first reaper pass of this process also sweeps every run's leftovers. */
  private sweptAtStartUp = false;

  constructor(private readonly deps: RunsDeps) {}

  /**
   * Creates a batch with one job per collector and starts it in the background. Answers at
   * once; `done` settles when every job has ended (tests and the CLI wait on it). `done` never
   * rejects: a failure is recorded on the job.
   */
  async start(req: StartRequest): Promise<StartResult> {
    for (const c of req.collectors) if (!this.deps.sources[c]) return { ok: false, reason: 'not_configured', collector: c };
    await this.deps.beforeStart?.();
    await this.reapStale();
    const prepared = await this.deps.db.transaction().execute((tx) => this.prepare(tx, req));
    if (!prepared.ok) {
      if (prepared.reason === 'not_configured') return prepared;
      const busy = await this.deps.db
        .selectFrom('job_runs')
        .selectAll()
        .where('job_name', 'in', prepared.jobNames)
        .where('status', 'in', ACTIVE)
        .orderBy('started_at', 'desc')
        .executeTakeFirst();
      // The other run may have ended between the conflict and this read: try once more.
      if (!busy) return this.start(req);
      return { ok: false, reason: 'busy', job: busy };
    }
    return { ok: true, batch: prepared.batch, jobs: prepared.jobs, done: this.launch(prepared) };
  }

  /**
   * Writes a batch and its jobs with `tx` without starting them; `launch` starts them once
   * `tx` has committed. The scheduler writes its slot claim in the same transaction, so a
   * claim never exists without its run. A collector already active answers `busy` and writes
   * nothing.
   */
  async prepare(tx: Transaction<DB>, req: StartRequest): Promise<PrepareResult> {
    for (const c of req.collectors) if (!this.deps.sources[c]) return { ok: false, reason: 'not_configured', collector: c };
    const now = this.deps.clock.now();
    const date = this.deps.clock.today();
    const batchId = newId('bc');
    const collectors = [...new Set(req.collectors)];
    const batch = await tx
      .insertInto('job_batches')
      .values({
        batch_id: batchId,
        created_at: now,
        status: 'queued',
        priority: req.priority ?? 'normal',
        started_at: now,
        progress_percent: 0,
        message: `Starting collectors: ${collectors.join(', ')}`,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    // ON CONFLICT on the one-active-run index instead of catching its unique violation: a
    // failed statement would abort the caller's transaction (and the scheduler's claim in it).
    const jobs = await tx
      .insertInto('job_runs')
      .values(
        collectors.map((c) => ({
          job_id: newId(ID_PREFIX[c]),
          batch_id: batchId,
          job_name: JOB_NAMES[c],
          status: 'queued' as const,
          started_at: now,
          updated_at: now,
          // Heartbeats are on the database's clock, like the reaper that reads them.
          heartbeat_at: sql<Date>`now()`,
          progress_percent: 0,
          message: 'Queued',
          trigger: req.trigger,
          snapshot_date: date,
          forced: req.force ?? false,
          dry_run: req.dryRun ?? false,
          owner: this.owner,
        })),
      )
      // The predicate is spelled with literals: index inference must prove it implies the
      // index's own predicate, which it cannot do with bind parameters.
      .onConflict((oc) => oc.column('job_name').where(sql<boolean>`status IN (${sql.join(ACTIVE.map((s) => sql.lit(s)))})`).doNothing())
      .returningAll()
      .execute();
    if (jobs.length < collectors.length) {
      // Jobs go with their batch (ON DELETE CASCADE).
      await tx.deleteFrom('job_batches').where('batch_id', '=', batchId).execute();
      return { ok: false, reason: 'busy', jobNames: collectors.map((c) => JOB_NAMES[c]) };
    }
    return { ok: true, batch, jobs };
  }

  /** Starts a prepared batch in the background (after its rows committed). Never rejects. */
  launch(prepared: PreparedRun): Promise<void> {
    const done = this.execute(prepared.batch, prepared.jobs).catch((err: unknown) =>
      this.deps.logger.error({ err, batch: prepared.batch.batch_id }, 'collector batch failed unexpectedly'),
    );
    this.inFlight.add(done);
    // `done` never rejects (its failure is logged above); both branches only forget it.
    done.then(() => this.inFlight.delete(done), () => this.inFlight.delete(done));
    return done;
  }

  /**
   * Starts a batch and waits for it (CLI, demo, benchmarks). Returns the finished jobs; throws
   * when the batch could not start.
   */
  async runAndWait(req: StartRequest): Promise<{ batch: JobBatchRow; jobs: JobRunRow[] }> {
    const started = await this.start(req);
    if (!started.ok) {
      throw new Error(
        started.reason === 'busy'
          ? `a ${started.job.job_name} run is already in progress (${started.job.job_id})`
          : `the ${started.collector} collector is not configured`,
      );
    }
    await started.done;
    const batch = await this.deps.db.selectFrom('job_batches').selectAll().where('batch_id', '=', started.batch.batch_id).executeTakeFirstOrThrow();
    const jobs = await this.deps.db.selectFrom('job_runs').selectAll().where('batch_id', '=', started.batch.batch_id).orderBy('job_name').execute();
    return { batch, jobs };
  }

  /** Whether this hub can run `collector` (it has a client for the vendor). */
  configured(collector: CollectorName): boolean {
    return this.deps.sources[collector] !== undefined;
  }

  /**
   * Asks a queued or running job to stop. `accepted` is false when the job had already ended;
   * `job` is undefined when there is no such job.
   */
  async cancel(jobId: string): Promise<{ job: JobRunRow | undefined; accepted: boolean }> {
    const job = await this.deps.db
      .updateTable('job_runs')
      .set({ cancel_requested: true, updated_at: this.deps.clock.now() })
      .where('job_id', '=', jobId)
      .where('status', 'in', ACTIVE)
      .returningAll()
      .executeTakeFirst();
    if (job) {
      // Here at once; a run in another process sees the flag at its next heartbeat.
      this.running.get(jobId)?.abort(new RunInterrupted('cancelled'));
      return { job, accepted: true };
    }
    return { job: await this.deps.db.selectFrom('job_runs').selectAll().where('job_id', '=', jobId).executeTakeFirst(), accepted: false };
  }

  /**
   * Marks failed every active job whose heartbeat is older than `staleAfterMs` by the
   * database's clock and that this process is not running: its process died. Their leftovers
   * are discarded and their batches settled. The first call in a process also sweeps the
   * leftovers of every run that is no longer active (processes that died before). Returns the
   * reaped job ids.
   */
  async reapStale(): Promise<string[]> {
    const { db, logger, settings } = this.deps;
    let q = db
      .updateTable('job_runs')
      .set({
        status: 'failed',
        ended_at: sql<Date>`now()`,
        updated_at: sql<Date>`now()`,
        message: 'Run appears to have died (no heartbeat)',
        error: sql<string>`'no heartbeat since ' || to_char(coalesce(heartbeat_at, updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
      })
      .where('status', 'in', ACTIVE)
      .where(sql<boolean>`coalesce(heartbeat_at, updated_at) < now() - make_interval(secs => ${settings.staleAfterMs / 1000})`);
    if (this.running.size > 0) q = q.where('job_id', 'not in', [...this.running.keys()]);
    const reaped = await q.returning(['job_id', 'batch_id']).execute();
    if (reaped.length > 0) logger.warn({ jobs: reaped.map((r) => r.job_id) }, 'marked dead collector runs failed');
    const discarded = await discardRunLeftovers(db, this.sweptAtStartUp ? reaped.map((r) => r.job_id) : undefined);
    this.sweptAtStartUp = true;
    if (discarded > 0) logger.info({ rows: discarded }, 'discarded the staging rows of collector runs that are no longer running');
    // Batches whose jobs all ended but that were never settled (their process died, or the
    // database was unreachable for longer than the outcome retries) are settled too.
    const unsettled = await db
      .selectFrom('job_batches as b')
      .select('b.batch_id')
      .where('b.status', 'in', ACTIVE)
      .where((eb) =>
        eb.not(eb.exists(eb.selectFrom('job_runs as j').select('j.job_id').whereRef('j.batch_id', '=', 'b.batch_id').where('j.status', 'in', ACTIVE))),
      )
      .execute();
    await this.settleBatches([...reaped.map((r) => r.batch_id), ...unsettled.map((b) => b.batch_id)]);
    return reaped.map((r) => r.job_id);
  }

  /**
   * Stops every run of this process (shutdown): each ends as cancelled, its staging cleared.
   * Waits only for the runs to unwind (the in-flight vendor request is aborted); an outcome
   * that cannot be written because the database is down is given up at once (the reaper of
   * the next process marks the run failed).
   */
  async shutdown(): Promise<void> {
    this.closing.abort();
    for (const c of this.running.values()) c.abort(new RunInterrupted('shutdown'));
    await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves when no run of this process is executing. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Runs `write` until it succeeds, waiting 0.25 s, 0.5 s, 1 s… (bounded by `recordRetry`)
   * between attempts while the database does not answer. Logs each failure; never throws.
   * Returns the result, or undefined when it gave up. After shutdown() no more waiting.
   */
  private async persist<T>(log: Logger, what: string, write: () => Promise<T>): Promise<{ value: T } | undefined> {
    const policy = this.deps.recordRetry ?? DEFAULT_RECORD_RETRY;
    for (let attempt = 1; ; attempt++) {
      try {
        return { value: await write() };
      } catch (err) {
        const last = attempt >= policy.attempts || this.closing.signal.aborted;
        if (last) {
          log.error({ err, attempts: attempt }, `could not ${what}; giving up`);
          return undefined;
        }
        const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
        log.warn({ err, attempt, retryInMs: delay }, `could not ${what}; retrying`);
        await sleep(delay, undefined, { signal: this.closing.signal }).catch(() => undefined);
      }
    }
  }

  private async execute(batch: JobBatchRow, jobs: readonly JobRunRow[]): Promise<void> {
    const log = this.deps.logger.child({ batch: batch.batch_id });
    await this.persist(log, 'mark the batch running', () =>
      this.deps.db
        .updateTable('job_batches')
        .set({ status: 'running', message: `Running ${jobs.map((j) => j.job_name).join(', ')}` })
        .where('batch_id', '=', batch.batch_id)
        .where('status', '=', 'queued')
        .execute(),
    );
    // Vendors are independent: one failing never cancels the other.
    const outcomes = await Promise.allSettled(jobs.map((j) => this.runJob(j)));
    await this.persist(log, 'settle the batch', () => this.finishBatch(batch.batch_id));
    // After the batch, so that a batch collecting both vendors checks the day once.
    const days = new Set(outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value !== undefined ? [o.value] : [])));
    const after = this.deps.afterCollected;
    if (after && !this.closing.signal.aborted) {
      for (const date of days) {
        await after(date, log).catch((err: unknown) => log.error({ err, date }, 'the check after the collection failed'));
      }
    }
  }

  /**
   * Moves a job out of one of `from` statuses. Returns false when the job was no longer there
   * (another process ended it), undefined when the database could not be reached.
   */
  private async transition(log: Logger, what: string, jobId: string, from: readonly JobStatus[], values: UpdateObject<DB, 'job_runs'>) {
    const r = await this.persist(log, what, () =>
      this.deps.db.updateTable('job_runs').set(values).where('job_id', '=', jobId).where('status', 'in', from).executeTakeFirst(),
    );
    return r === undefined ? undefined : r.value.numUpdatedRows > 0n;
  }

  /** Runs one job; answers the day it replaced when it completed (not a dry run), else undefined. */
  private async runJob(job: JobRunRow): Promise<string | undefined> {
    const { db, clock, logger, vendorIds, settings } = this.deps;
    const name = collectorOfJob(job.job_name) as CollectorName;
    const controller = new AbortController();
    const interrupt = (kind: InterruptKind) => {
      if (!controller.signal.aborted) controller.abort(new RunInterrupted(kind));
    };
    this.running.set(job.job_id, controller);
    const log = logger.child({ job: job.job_id, collector: name });
    const started = clock.now();
    // Wall time for the duration metric: the injected clock may stand still (tests, demo).
    const startedWall = performance.now();
    let progress: CollectionProgress = { pages: 0, fetched: 0, skipped: 0, total: null };
    const describe = () =>
      `Fetched ${progress.fetched}${progress.total !== null ? ` of ${progress.total}` : ''} devices (${progress.pages} pages)`;
    const percent = () => (progress.total ? Math.min(90, Math.floor((progress.fetched / progress.total) * 90)) : null);
    const beat = async () => {
      const row = await db
        .updateTable('job_runs')
        .set({
          heartbeat_at: sql<Date>`now()`,
          updated_at: clock.now(),
          pages_fetched: progress.pages,
          devices_fetched: progress.fetched,
          devices_skipped: progress.skipped,
          devices_total: progress.total,
          progress_percent: percent(),
          message: describe(),
        })
        .where('job_id', '=', job.job_id)
        .where('status', '=', 'running')
        .returning('cancel_requested')
        .executeTakeFirst();
      // No row: the reaper of another process ended this run (heartbeats were late): stop
      // before the swap, the day must not change under a run recorded as failed.
      if (!row) interrupt('lost');
      else if (row.cancel_requested) interrupt('cancelled');
    };
    let timer: NodeJS.Timeout | undefined;
    let result: CollectionResult | undefined;
    let failure: unknown;
    try {
      const running = await this.transition(log, 'mark the run running', job.job_id, ['queued'], {
        status: 'running',
        started_at: started,
        updated_at: started,
        heartbeat_at: sql<Date>`now()`,
        message: 'Fetching',
      });
      if (running !== true) {
        if (running === false) log.warn('collector run not started: it was ended by another process before it began');
        return undefined;
      }
      log.info({ date: job.snapshot_date, dryRun: job.dry_run, force: job.forced }, 'collector run started');
      // Only now: a heartbeat finds no running row before this point and would read it as lost.
      timer = setInterval(() => void beat().catch((err: unknown) => log.warn({ err }, 'heartbeat failed')), settings.heartbeatMs);
      timer.unref();
      try {
        const source = (this.deps.sources[name] as () => CollectorSource)();
        result = await collect(db, this.deps.copy, source, {
          jobId: job.job_id,
          vendorId: vendorIds[name],
          date: job.snapshot_date as string,
          force: job.forced,
          dryRun: job.dry_run,
          maxDropPercent: settings.maxDropPercent,
          signal: controller.signal,
          logger: log,
          onProgress: async (p) => {
            progress = p;
            await beat();
          },
        });
      } catch (err) {
        failure = err;
      }
      clearInterval(timer);
      let replaced: string | undefined;
      let outcome: RunOutcome;
      if (result) {
        const recorded = await this.recordCompleted(log, job, name, started, progress, result);
        // An outcome that could not be written (undefined) still replaced the day.
        if (recorded !== false && !job.dry_run) replaced = job.snapshot_date ?? undefined;
        outcome = job.dry_run ? 'dry_run' : recorded === false ? 'lost' : 'completed';
      } else {
        outcome = await this.recordFailed(log, job, name, started, progress, failure, controller.signal);
      }
      this.deps.observer?.runEnded({
        collector: name,
        outcome,
        seconds: (performance.now() - startedWall) / 1000,
        fetched: result?.devices ?? progress.fetched,
        written: result && outcome === 'completed' ? result.written : 0,
        endedAt: clock.now(),
      });
      // The runner clears its staging, but not when the database was gone at that moment.
      await this.persist(log, "discard the run's leftovers", () => discardRunLeftovers(db, [job.job_id]));
      return replaced;
    } finally {
      clearInterval(timer);
      this.running.delete(job.job_id);
    }
  }

  /**
   * Records a completed run. Answers whether the run's data is in the day (recorded completed,
   * or finished late after another process had marked it failed); undefined when the outcome
   * could not be written.
   */
  private async recordCompleted(log: Logger, job: JobRunRow, name: CollectorName, started: Date, progress: CollectionProgress, result: CollectionResult): Promise<boolean | undefined> {
    const ended = this.deps.clock.now();
    const what = job.dry_run
      ? `Dry run: ${result.devices} devices would be written for ${job.snapshot_date}`
      : `Collected ${result.devices} devices for ${job.snapshot_date}`;
    const extra = [
      result.skipped > 0 ? `${result.skipped} rows skipped (no id or hostname)` : '',
      result.keptSyncs > 0 ? `${result.keptSyncs} newer device syncs kept` : '',
    ].filter(Boolean);
    const recorded = await this.transition(log, 'record the completed run', job.job_id, ACTIVE, {
      status: 'completed',
      ended_at: ended,
      updated_at: ended,
      progress_percent: 100,
      devices_total: progress.total ?? result.devices,
      devices_fetched: progress.fetched,
      devices_skipped: result.skipped,
      pages_fetched: result.pages,
      devices_written: result.written,
      duration_seconds: Math.round((ended.getTime() - started.getTime()) / 1000),
      message: extra.length > 0 ? `${what}; ${extra.join('; ')}` : what,
    });
    if (recorded !== false) {
      if (recorded) log.info({ ...result }, 'collector run completed');
      return recorded;
    }
    // The reaper of another process marked this run failed after its last heartbeat, and the
    // swap had already begun: the day does hold this run's data. The status stays failed
    // (whoever read it may have acted on it, e.g. started another run); the message says
    // what is true.
    log.warn({ ...result }, `collector ${JOB_LABEL[name]} finished after it had been marked failed (no heartbeat); the status stays failed`);
    if (job.dry_run) return false;
    await this.persist(log, 'note the late finish on the failed run', () =>
      this.deps.db
        .updateTable('job_runs')
        .set({
          message: `Marked failed (no heartbeat), but its process finished later and replaced ${job.snapshot_date} with ${result.written} devices`,
          devices_written: result.written,
        })
        .where('job_id', '=', job.job_id)
        .where('status', '=', 'failed')
        .execute(),
    );
    return true;
  }

  /** Records a run that did not complete; answers how it ended (for metrics). */
  private async recordFailed(log: Logger, job: JobRunRow, name: CollectorName, started: Date, progress: CollectionProgress, err: unknown, signal: AbortSignal): Promise<RunOutcome> {
    // An aborted run ends by its abort's reason, whatever error the abort surfaced as (an
    // AbortError from the vendor client, a reset socket, a CollectorStopped).
    const why: InterruptKind | undefined = signal.aborted ? (signal.reason instanceof RunInterrupted ? signal.reason.kind : 'cancelled') : undefined;
    if (why === 'lost') {
      log.warn('collector run stopped: another process had marked it failed (no heartbeat); nothing was changed');
      return 'lost';
    }
    const cancelled = why !== undefined || (err instanceof CollectorStopped && err.kind === 'cancelled');
    const reason = err instanceof VendorError || err instanceof CollectorStopped ? err.message : 'database error; nothing was changed';
    if (cancelled) log.warn({ reason: why ?? 'cancelled' }, 'collector run cancelled');
    else if (err instanceof VendorError || err instanceof CollectorStopped) log.warn({ reason }, 'collector run failed');
    else log.error({ err }, 'collector run failed');
    const ended = this.deps.clock.now();
    const recorded = await this.transition(log, 'record the run outcome', job.job_id, ACTIVE, {
      status: cancelled ? 'cancelled' : 'failed',
      ended_at: ended,
      updated_at: ended,
      pages_fetched: progress.pages,
      devices_fetched: progress.fetched,
      devices_skipped: progress.skipped,
      duration_seconds: Math.round((ended.getTime() - started.getTime()) / 1000),
      message: cancelled ? 'Cancelled; the previous data is unchanged' : `${JOB_LABEL[name]} collector failed: ${reason}`,
      error: cancelled ? null : reason,
    });
    if (recorded === false) log.warn('the run had already been ended by another process; its status is left as it is');
    return cancelled ? 'cancelled' : 'failed';
  }

  /** Settles every given batch that has no active job left; logs what it cannot settle. */
  private async settleBatches(batchIds: readonly string[]): Promise<void> {
    for (const batchId of new Set(batchIds)) {
      await this.finishBatch(batchId).catch((err: unknown) => this.deps.logger.error({ err, batch: batchId }, 'could not settle the batch'));
    }
  }

  /** Settles a batch once none of its jobs is active: completed if any job completed. */
  private async finishBatch(batchId: string): Promise<void> {
    const jobs = await this.deps.db.selectFrom('job_runs').select(['job_name', 'status', 'message']).where('batch_id', '=', batchId).execute();
    if (jobs.some((j) => ACTIVE.includes(j.status))) return;
    const completed = jobs.filter((j) => j.status === 'completed');
    const failed = jobs.filter((j) => j.status === 'failed');
    const status: JobStatus = completed.length > 0 ? 'completed' : failed.length > 0 ? 'failed' : 'cancelled';
    const message =
      failed.length === 0 && completed.length === jobs.length
        ? 'All collectors completed successfully'
        : completed.length > 0
          ? `Partial success: ${failed.map((j) => j.message).join('; ') || 'some collectors were cancelled'}`
          : failed.length > 0
            ? `All collectors failed: ${failed.map((j) => j.message).join('; ')}`
            : 'Cancelled';
    const batch = await this.deps.db.selectFrom('job_batches').select(['started_at']).where('batch_id', '=', batchId).executeTakeFirst();
    const ended = this.deps.clock.now();
    await this.deps.db
      .updateTable('job_batches')
      .set({
        status,
        ended_at: ended,
        progress_percent: 100,
        message,
        error: status === 'completed' ? null : message,
        duration_seconds: batch?.started_at ? Math.round((ended.getTime() - batch.started_at.getTime()) / 1000) : null,
      })
      .where('batch_id', '=', batchId)
      .where('status', 'in', ACTIVE)
      .execute();
  }
}

const JOB_LABEL: Readonly<Record<CollectorName, string>> = { ninja: 'Ninja', threatlocker: 'ThreatLocker' };
