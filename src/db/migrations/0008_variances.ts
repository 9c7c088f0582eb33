import { sql, type Kysely } from 'kysely';

/**
 * Variances as records with a lifecycle (src/variances/lifecycle.ts, docs/variances.md).
 *
 * - `variance`: one row per situation for its whole life, keyed by the check's `subject_key`
 *   (stable across days), so a variance keeps its id, its first-seen date and what people did
 *   about it from one day to the next. Its status is `open`, `resolved` or `accepted`.
 * - `variance_event`: append-only history of a variance (opened, seen with changed evidence,
 *   resolved automatically or by a person, reopened, accepted, acceptance expired).
 * - `variance_observation`: which variances a check found on which snapshot date, with the
 *   status they had after that check — reports by date and trends read it instead of
 *   reconstructing history from events.
 * - `variance_run`: every check over a day (completed or failed), with its counts.
 * - `organization_link`: people's decisions about the two tools' organizations: `link` (these
 *   are one customer) or `never` (never pair them, even when their names match).
 *
 * Dates are DATE (business days, as strings in code); instants are timestamptz.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE variance_run (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      snapshot_date date NOT NULL,
      trigger text NOT NULL CHECK (trigger IN ('api', 'cli', 'collection')),
      status text NOT NULL CHECK (status IN ('completed', 'failed')),
      started_at timestamptz NOT NULL,
      finished_at timestamptz NOT NULL,
      counts jsonb NOT NULL DEFAULT '{}'::jsonb,
      found integer NOT NULL DEFAULT 0,
      opened integer NOT NULL DEFAULT 0,
      seen integer NOT NULL DEFAULT 0,
      resolved integer NOT NULL DEFAULT 0,
      reopened integer NOT NULL DEFAULT 0,
      acceptances_expired integer NOT NULL DEFAULT 0,
      error_code text,
      error text
    )`.execute(db);
  // "The latest completed run" decides which dates a run may still be over.
  await sql`CREATE INDEX ix_variance_run_completed_date ON variance_run (snapshot_date DESC, id DESC) WHERE status = 'completed'`.execute(db);

  await sql`
    CREATE TABLE variance (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      subject_key text NOT NULL,
      type text NOT NULL,
      status text NOT NULL CHECK (status IN ('open', 'resolved', 'accepted')),
      hostname text NOT NULL,
      organization text,
      match_quality text CHECK (match_quality IN ('exact', 'truncated', 'cross_org')),
      devices jsonb NOT NULL,
      evidence jsonb NOT NULL,
      hint text NOT NULL,
      first_seen date NOT NULL,
      last_seen date NOT NULL,
      resolved_at timestamptz,
      resolved_by text,
      accepted_until date,
      accepted_reason text,
      accepted_by text,
      updated_at timestamptz NOT NULL,
      CONSTRAINT uq_variance_subject_key UNIQUE (subject_key),
      CONSTRAINT ck_variance_seen_order CHECK (last_seen >= first_seen),
      CONSTRAINT ck_variance_accepted CHECK ((status = 'accepted') = (accepted_until IS NOT NULL))
    )`.execute(db);
  // The list endpoint pages by id (newest first) within a status, optionally a type, an
  // organization or a hostname prefix; /api/status counts open ones by type.
  await sql`CREATE INDEX ix_variance_status_id ON variance (status, id DESC)`.execute(db);
  await sql`CREATE INDEX ix_variance_status_type_id ON variance (status, type, id DESC)`.execute(db);
  await sql`CREATE INDEX ix_variance_organization ON variance (organization, id DESC)`.execute(db);
  await sql`CREATE INDEX ix_variance_hostname ON variance (lower(hostname) text_pattern_ops)`.execute(db);

  await sql`
    CREATE TABLE variance_event (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      variance_id integer NOT NULL REFERENCES variance (id) ON DELETE CASCADE,
      at timestamptz NOT NULL,
      kind text NOT NULL CHECK (kind IN ('opened', 'seen', 'resolved_auto', 'resolved', 'reopened', 'accepted', 'acceptance_expired')),
      actor text,
      note text,
      snapshot_date date,
      run_id integer REFERENCES variance_run (id) ON DELETE SET NULL,
      details jsonb
    )`.execute(db);
  await sql`CREATE INDEX ix_variance_event_variance ON variance_event (variance_id, id)`.execute(db);

  await sql`
    CREATE TABLE variance_observation (
      snapshot_date date NOT NULL,
      variance_id integer NOT NULL REFERENCES variance (id) ON DELETE CASCADE,
      status text NOT NULL CHECK (status IN ('open', 'resolved', 'accepted')),
      PRIMARY KEY (snapshot_date, variance_id)
    )`.execute(db);
  await sql`CREATE INDEX ix_variance_observation_variance ON variance_observation (variance_id, snapshot_date)`.execute(db);

  await sql`
    CREATE TABLE organization_link (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      threatlocker_organization text NOT NULL,
      ninja_organization text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('link', 'never')),
      created_by text NOT NULL,
      created_at timestamptz NOT NULL,
      CONSTRAINT uq_organization_link_pair UNIQUE (threatlocker_organization, ninja_organization)
    )`.execute(db);
}
