/**
 * Tracked collector runs: batches of jobs in `job_batches` / `job_runs` (the existing run-
 * tracking API's tables), executed in the background with real progress and heartbeats.
 *
 * At most one run per collector at a time is enforced by the database (a partial unique index),
 * so it holds across every hub process sharing it. A run whose process died is recognised by
 * its heartbeat's age and marked failed.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql, type Kysely, type Updateable } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { ACTIVE_JOB_STATUSES, type DB, type JobBatchRow, type JobRunRow, type JobRunTable, type JobStatus } from '../db/schema.js';
import type { VendorIds } from '../inventory/vendors.js';
import { VendorError } from '../vendors/http.js';
import { collect, CollectorStopped, type CollectionProgress, type CollectorSource } from './runner.js';

export const COLLECTORS = ['ninja', 'threatlocker'] as const;
export type CollectorName = (typeof COLLECTORS)[number];

/** Job names as the existing dashboards know them. */
export const JOB_NAMES: Readonly<Record<CollectorName, string>> = {
  ninja: 'ninja-collector',
  threatlocker: 'threatlocker-collector',
};
const VENDOR_OF: Readonly<Record<CollectorName, 'Ninja' | 'ThreatLocker'>> = { ninja: 'Ninja', threatlocker: 'ThreatLocker' };
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

export interface RunsDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly vendorIds: VendorIds;
  /** The collectors this hub can run; a missing one is "not configured". */
  readonly sources: Partial<Record<CollectorName, () => CollectorSource>>;
  readonly settings: RunSettings;
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

const ACTIVE = ACTIVE_JOB_STATUSES;

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}

export function collectorOfJob(jobName: string): CollectorName | undefined {
  return COLLECTORS.find((c) => JOB_NAMES[c] === jobName);
}

export class CollectorRuns {
  /** Runs executing in this process, by job id. */
  private readonly running = new Map<string, AbortController>();
  private readonly owner = `${hostname()}:${process.pid}`;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: RunsDeps) {}

  /**
   * Creates a batch with one job per collector and starts it in the background. Answers at
   * once; `done` settles when every job has ended (tests and the CLI wait on it).
   */
  async start(req: StartRequest): Promise<StartResult> {
    for (const c of req.collectors) if (!this.deps.sources[c]) return { ok: false, reason: 'not_configured', collector: c };
    await this.reapStale();
    const now = this.deps.clock.now();
    const date = this.deps.clock.today();
    const batchId = newId('bc');
    const collectors = [...new Set(req.collectors)];
    let created: { batch: JobBatchRow; jobs: JobRunRow[] };
    try {
      created = await this.deps.db.transaction().execute(async (tx) => {
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
              heartbeat_at: now,
              progress_percent: 0,
              message: 'Queued',
              trigger: req.trigger,
              snapshot_date: date,
              forced: req.force ?? false,
              dry_run: req.dryRun ?? false,
              owner: this.owner,
            })),
          )
          .returningAll()
          .execute();
        return { batch, jobs };
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const busy = await this.deps.db
        .selectFrom('job_runs')
        .selectAll()
        .where('job_name', 'in', collectors.map((c) => JOB_NAMES[c]))
        .where('status', 'in', ACTIVE)
        .orderBy('started_at', 'desc')
        .executeTakeFirst();
      // The other run may have ended between the conflict and this read: try once more.
      if (!busy) return this.start(req);
      return { ok: false, reason: 'busy', job: busy };
    }
    const done = this.execute(created.batch, created.jobs);
    this.inFlight.add(done);
    done
      .finally(() => this.inFlight.delete(done))
      // `done` rejects when the batch's outcome could not be written (database down); unhandled,
      // that rejection would end the process.
      .catch((err: unknown) => this.deps.logger.error({ err, batch: created.batch.batch_id }, 'collector run failed'));
    return { ok: true, ...created, done };
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
      this.running.get(jobId)?.abort();
      return { job, accepted: true };
    }
    return { job: await this.deps.db.selectFrom('job_runs').selectAll().where('job_id', '=', jobId).executeTakeFirst(), accepted: false };
  }

  /**
   * Marks failed every active job whose heartbeat is older than `staleAfterMs` and that this
   * process is not running: its process died. Returns the reaped job ids.
   */
  async reapStale(): Promise<string[]> {
    const now = this.deps.clock.now();
    const cutoff = new Date(now.getTime() - this.deps.settings.staleAfterMs);
    let q = this.deps.db
      .updateTable('job_runs')
      .set({
        status: 'failed',
        ended_at: now,
        updated_at: now,
        message: 'Run appears to have died (no heartbeat)',
        error: sql<string>`'no heartbeat since ' || to_char(coalesce(heartbeat_at, updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
      })
      .where('status', 'in', ACTIVE)
      .where(sql<boolean>`coalesce(heartbeat_at, updated_at) < ${cutoff}`);
    if (this.running.size > 0) q = q.where('job_id', 'not in', [...this.running.keys()]);
    const reaped = await q.returning(['job_id', 'batch_id']).execute();
    for (const batchId of new Set(reaped.map((r) => r.batch_id))) await this.finishBatch(batchId);
    if (reaped.length > 0) this.deps.logger.warn({ jobs: reaped.map((r) => r.job_id) }, 'marked dead collector runs failed');
    return reaped.map((r) => r.job_id);
  }

  /** Stops every run of this process (shutdown): each ends as cancelled, its staging cleared. */
  async shutdown(): Promise<void> {
    for (const c of this.running.values()) c.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves when no run of this process is executing. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async execute(batch: JobBatchRow, jobs: readonly JobRunRow[]): Promise<void> {
    await this.deps.db
      .updateTable('job_batches')
      .set({ status: 'running', message: `Running ${jobs.map((j) => j.job_name).join(', ')}` })
      .where('batch_id', '=', batch.batch_id)
      .execute();
    // Vendors are independent: one failing never cancels the other.
    await Promise.allSettled(jobs.map((j) => this.runJob(j)));
    await this.finishBatch(batch.batch_id);
  }

  private async update(jobId: string, values: Updateable<JobRunTable>): Promise<void> {
    await this.deps.db.updateTable('job_runs').set(values).where('job_id', '=', jobId).execute();
  }

  private async runJob(job: JobRunRow): Promise<void> {
    const { db, clock, logger, vendorIds, settings } = this.deps;
    const name = collectorOfJob(job.job_name) as CollectorName;
    const controller = new AbortController();
    this.running.set(job.job_id, controller);
    const log = logger.child({ job: job.job_id, collector: name });
    const started = clock.now();
    let progress: CollectionProgress = { pages: 0, fetched: 0, skipped: 0, total: null };
    const describe = () =>
      `Fetched ${progress.fetched}${progress.total !== null ? ` of ${progress.total}` : ''} devices (${progress.pages} pages)`;
    const percent = () => (progress.total ? Math.min(90, Math.floor((progress.fetched / progress.total) * 90)) : null);
    const beat = async () => {
      const row = await db
        .updateTable('job_runs')
        .set({
          heartbeat_at: clock.now(),
          updated_at: clock.now(),
          pages_fetched: progress.pages,
          devices_fetched: progress.fetched,
          devices_skipped: progress.skipped,
          devices_total: progress.total,
          progress_percent: percent(),
          message: describe(),
        })
        .where('job_id', '=', job.job_id)
        .returning('cancel_requested')
        .executeTakeFirst();
      if (row?.cancel_requested) controller.abort();
    };
    const timer = setInterval(() => void beat().catch((err: unknown) => log.warn({ err }, 'heartbeat failed')), settings.heartbeatMs);
    timer.unref();
    try {
      await this.update(job.job_id, { status: 'running', started_at: started, updated_at: started, heartbeat_at: started, message: 'Fetching' });
      log.info({ date: job.snapshot_date, dryRun: job.dry_run, force: job.forced }, 'collector run started');
      const source = (this.deps.sources[name] as () => CollectorSource)();
      const result = await collect(db, source, {
        jobId: job.job_id,
        vendorId: vendorIds[VENDOR_OF[name]],
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
      const ended = clock.now();
      const what = job.dry_run
        ? `Dry run: ${result.devices} devices would be written for ${job.snapshot_date}`
        : `Collected ${result.devices} devices for ${job.snapshot_date}`;
      const extra = [
        result.skipped > 0 ? `${result.skipped} rows skipped (no id or hostname)` : '',
        result.keptSyncs > 0 ? `${result.keptSyncs} newer device syncs kept` : '',
      ].filter(Boolean);
      await this.update(job.job_id, {
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
      log.info({ ...result }, 'collector run completed');
    } catch (err) {
      const ended = clock.now();
      const cancelled = err instanceof CollectorStopped && err.kind === 'cancelled';
      const reason =
        err instanceof VendorError || err instanceof CollectorStopped ? err.message : 'database error; nothing was changed';
      if (!(err instanceof VendorError) && !(err instanceof CollectorStopped)) log.error({ err }, 'collector run failed');
      else log.warn({ reason }, cancelled ? 'collector run cancelled' : 'collector run failed');
      await this.update(job.job_id, {
        status: cancelled ? 'cancelled' : 'failed',
        ended_at: ended,
        updated_at: ended,
        pages_fetched: progress.pages,
        devices_fetched: progress.fetched,
        devices_skipped: progress.skipped,
        duration_seconds: Math.round((ended.getTime() - started.getTime()) / 1000),
        message: cancelled ? 'Cancelled; the previous data is unchanged' : `${JOB_LABEL[name]} collector failed: ${reason}`,
        error: cancelled ? null : reason,
      }).catch((e: unknown) => log.error({ err: e }, 'could not record the run outcome'));
    } finally {
      clearInterval(timer);
      this.running.delete(job.job_id);
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
      .execute();
  }
}

const JOB_LABEL: Readonly<Record<CollectorName, string>> = { ninja: 'Ninja', threatlocker: 'ThreatLocker' };
