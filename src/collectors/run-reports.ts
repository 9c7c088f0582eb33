/**
 * Read-only views of collector runs, in the shapes of the existing run-tracking API
 * (batch, job, latest, history, status, progress). No function here writes.
 */
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { ACTIVE_JOB_STATUSES, type DB, type JobBatchRow, type JobRunRow, type JobStatus } from '../db/schema.js';
import { COLLECTORS, JOB_NAMES, type CollectorName } from './runs.js';

const ACTIVE = ACTIVE_JOB_STATUSES;
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** "45s", "3m 12s", "1h 4m" — the existing history endpoint's format. */
export function formatDuration(seconds: number | null): string | null {
  if (seconds === null) return null;
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

export function jobView(j: JobRunRow) {
  return {
    job_id: j.job_id,
    batch_id: j.batch_id,
    job_name: j.job_name,
    status: j.status,
    started_at: iso(j.started_at),
    updated_at: iso(j.updated_at),
    ended_at: iso(j.ended_at),
    progress_percent: j.progress_percent,
    message: j.message,
    error: j.error,
    duration_seconds: j.duration_seconds,
    snapshot_date: j.snapshot_date,
    trigger: j.trigger,
    forced: j.forced,
    dry_run: j.dry_run,
    cancel_requested: j.cancel_requested,
    heartbeat_at: iso(j.heartbeat_at),
    pages_fetched: j.pages_fetched,
    devices_fetched: j.devices_fetched,
    devices_total: j.devices_total,
    devices_skipped: j.devices_skipped,
    devices_written: j.devices_written,
  };
}
export type JobView = ReturnType<typeof jobView>;

function batchProgress(batch: JobBatchRow, jobs: readonly JobRunRow[]): number | null {
  if (!ACTIVE.includes(batch.status)) return batch.progress_percent;
  if (jobs.length === 0) return 0;
  return Math.floor(jobs.reduce((sum, j) => sum + (ACTIVE.includes(j.status) ? (j.progress_percent ?? 0) : 100), 0) / jobs.length);
}

export function batchView(batch: JobBatchRow, jobs: readonly JobRunRow[], now: Date) {
  return {
    batch_id: batch.batch_id,
    status: batch.status,
    priority: batch.priority,
    progress_percent: batchProgress(batch, jobs),
    estimated_completion: iso(batch.estimated_completion),
    created_at: iso(batch.created_at),
    started_at: iso(batch.started_at),
    updated_at: now.toISOString(),
    ended_at: iso(batch.ended_at),
    message: batch.message,
    error: batch.error,
    duration_seconds: batch.duration_seconds,
    collectors: jobs.map(jobView),
  };
}

export async function getBatch(db: Kysely<DB>, batchId: string, clock: Clock) {
  const batch = await db.selectFrom('job_batches').selectAll().where('batch_id', '=', batchId).executeTakeFirst();
  if (!batch) return undefined;
  const jobs = await db.selectFrom('job_runs').selectAll().where('batch_id', '=', batchId).orderBy('job_name').execute();
  return batchView(batch, jobs, clock.now());
}

export async function getJob(db: Kysely<DB>, jobId: string) {
  const job = await db.selectFrom('job_runs').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  return job ? jobView(job) : undefined;
}

/** Per collector: its active run if there is one, else its newest finished run. */
export async function latestRuns(db: Kysely<DB>, collectors: readonly CollectorName[], clock: Clock) {
  const latest = [];
  for (const c of collectors) {
    const job =
      (await db
        .selectFrom('job_runs')
        .selectAll()
        .where('job_name', '=', JOB_NAMES[c])
        .orderBy(({ eb }) => eb.case().when('status', 'in', ACTIVE).then(0).else(1).end())
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst()) ?? null;
    if (!job) continue;
    const batch = await db.selectFrom('job_batches').selectAll().where('batch_id', '=', job.batch_id).executeTakeFirstOrThrow();
    latest.push({
      ...jobView(job),
      batch_status: batch.status,
      batch_progress_percent: batch.progress_percent,
      estimated_completion: iso(batch.estimated_completion),
      batch_message: batch.message,
    });
  }
  return { latest_runs: latest, total_runs: latest.length, generated_at: clock.now().toISOString() };
}

export async function runHistory(db: Kysely<DB>, limit: number, clock: Clock) {
  const rows = await db
    .selectFrom('job_runs')
    .selectAll()
    .where('job_name', 'in', COLLECTORS.map((c) => JOB_NAMES[c]))
    .orderBy('started_at', 'desc')
    .orderBy('job_id')
    .limit(limit)
    .execute();
  return {
    collection_history: rows.map((j) => ({ ...jobView(j), duration: formatDuration(j.duration_seconds) })),
    total_runs: rows.length,
    generated_at: clock.now().toISOString(),
  };
}

/** Whether each collector is running, idle or not configured, with its last run. */
export async function collectorStatus(db: Kysely<DB>, configured: ReadonlySet<CollectorName>) {
  const out: Record<string, unknown> = {};
  for (const c of COLLECTORS) {
    const last = await db
      .selectFrom('job_runs')
      .selectAll()
      .where('job_name', '=', JOB_NAMES[c])
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    out[c] = {
      status: !configured.has(c) ? 'not_configured' : last && ACTIVE.includes(last.status) ? 'running' : 'idle',
      last_run: iso(last?.started_at),
      last_status: last?.status ?? null,
      last_job_id: last?.job_id ?? null,
      last_message: last?.message ?? null,
    };
  }
  return out as Record<CollectorName, { status: string; last_run: string | null; last_status: JobStatus | null; last_job_id: string | null; last_message: string | null }>;
}

/** Active runs with elapsed time and heartbeat age. */
export async function activeProgress(db: Kysely<DB>, clock: Clock, staleAfterMs: number) {
  const now = clock.now();
  // Heartbeats are written on the database's clock (see runs.ts), so their age is read on it
  // too, exactly as the reaper reads it.
  const rows = await db
    .selectFrom('job_runs')
    .selectAll()
    .select(sql<number | null>`extract(epoch from (now() - heartbeat_at))::float8`.as('heartbeat_age'))
    .where('status', 'in', ACTIVE)
    .orderBy('started_at')
    .execute();
  return {
    active_collections: rows.map((j) => {
      const elapsed = Math.max(0, Math.round((now.getTime() - j.started_at.getTime()) / 1000));
      const beatAge = j.heartbeat_age === null ? null : Math.max(0, Math.round(j.heartbeat_age));
      return {
        ...jobView(j),
        is_active: beatAge !== null && beatAge * 1000 < staleAfterMs,
        heartbeat_age_seconds: beatAge,
        elapsed_seconds: elapsed,
        elapsed_time: formatDuration(elapsed),
      };
    }),
    total_active: rows.length,
    generated_at: now.toISOString(),
  };
}
