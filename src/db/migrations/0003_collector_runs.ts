import { sql, type Kysely } from 'kysely';

/**
 * Collector run tracking (table and column names of the existing run-tracking API), the
 * staging area collectors stream pages into, schedule claims, and stored vendor tokens.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE job_batches (
      batch_id varchar(50) PRIMARY KEY,
      created_at timestamptz NOT NULL,
      status varchar(20) NOT NULL DEFAULT 'queued',
      priority varchar(20) NOT NULL DEFAULT 'normal',
      started_at timestamptz,
      ended_at timestamptz,
      estimated_completion timestamptz,
      progress_percent integer,
      message text,
      error text,
      duration_seconds integer
    )`.execute(db);
  await sql`CREATE INDEX ix_job_batches_created_at ON job_batches (created_at DESC)`.execute(db);

  await sql`
    CREATE TABLE job_runs (
      job_id varchar(50) PRIMARY KEY,
      batch_id varchar(50) NOT NULL REFERENCES job_batches (batch_id) ON DELETE CASCADE,
      job_name varchar(50) NOT NULL,
      status varchar(20) NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
      started_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      ended_at timestamptz,
      progress_percent integer,
      message text,
      error text,
      duration_seconds integer,
      trigger varchar(20) NOT NULL DEFAULT 'api',
      snapshot_date date,
      forced boolean NOT NULL DEFAULT false,
      dry_run boolean NOT NULL DEFAULT false,
      heartbeat_at timestamptz,
      cancel_requested boolean NOT NULL DEFAULT false,
      owner text,
      pages_fetched integer NOT NULL DEFAULT 0,
      devices_fetched integer NOT NULL DEFAULT 0,
      devices_total integer,
      devices_skipped integer NOT NULL DEFAULT 0,
      devices_written integer
    )`.execute(db);
  await sql`CREATE INDEX ix_job_runs_batch ON job_runs (batch_id)`.execute(db);
  await sql`CREATE INDEX ix_job_runs_name_started ON job_runs (job_name, started_at DESC)`.execute(db);
  // At most one queued-or-running run per collector, across every hub process sharing the
  // database: a second start fails on this index instead of racing the first.
  await sql`CREATE UNIQUE INDEX uq_job_runs_one_active ON job_runs (job_name) WHERE status IN ('queued', 'running')`.execute(db);

  // Pages land here as they arrive; only a complete fetch is swapped into device_snapshot.
  // Rows are staged already typed (the columns of device_snapshot), so the swap transaction
  // only copies them. UNLOGGED: it is scratch space, rebuilt by the next run after a crash.
  // A migration that adds a device_snapshot column adds it here too (a test checks).
  await sql`
    CREATE UNLOGGED TABLE collector_staging (
      job_id varchar(50) NOT NULL,
      vendor_device_key text NOT NULL,
      LIKE device_snapshot,
      PRIMARY KEY (job_id, vendor_device_key)
    ) WITH (toast_tuple_target = 256)`.execute(db);
  await sql`ALTER TABLE device_snapshot SET (toast_tuple_target = 256)`.execute(db);
  await sql`ALTER TABLE device_identity SET (fillfactor = 70)`.execute(db);

  // A scheduled slot (job, minute) runs once even when several hub processes share a database.
  await sql`
    CREATE TABLE schedule_claims (
      job_name varchar(50) NOT NULL,
      slot timestamptz NOT NULL,
      claimed_by text NOT NULL,
      claimed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_name, slot)
    )`.execute(db);

  // NinjaOne rotates refresh tokens: the newest one is stored here, replaced atomically.
  // `seed_sha256` fingerprints the configured token it descends from, so configuring a new
  // one (after re-authorizing) replaces the stored chain instead of being shadowed by it.
  await sql`
    CREATE TABLE vendor_token (
      vendor_id integer PRIMARY KEY REFERENCES vendor (id),
      refresh_token text NOT NULL,
      seed_sha256 text NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
}
