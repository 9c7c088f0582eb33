import { sql, type Kysely } from 'kysely';

/**
 * API keys, dashboard sessions and the audit log (docs/api.md, "Authentication").
 *
 * - `api_key.hash` is the SHA-256 of the whole key; the key itself is never stored. `id` is the
 *   short, non-secret part embedded in the key (`ih_<id>_<secret>`) so a lookup is one probe.
 * - `api_session.hash` is the SHA-256 of the session cookie's value; ending a session sets
 *   `ended_at` (sign-out is server-side).
 * - `audit_log` is append-only: who (key or `open`), what route and target, with what outcome.
 * - `device_sync_log.api_key_id` and `variance_event.api_key_id`: the key a change was made
 *   with, beside the `updated_by` / actor text the request gave.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE api_key (
      id           text PRIMARY KEY,
      name         text NOT NULL,
      scopes       text[] NOT NULL,
      hash         text NOT NULL,
      created_at   timestamptz NOT NULL,
      last_used_at timestamptz,
      expires_at   timestamptz,
      revoked_at   timestamptz
    )`.execute(db);
  await sql`
    CREATE TABLE api_session (
      hash       text PRIMARY KEY,
      key_id     text NOT NULL REFERENCES api_key (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      ended_at   timestamptz
    )`.execute(db);
  await sql`
    CREATE TABLE audit_log (
      id          bigserial PRIMARY KEY,
      at          timestamptz NOT NULL,
      request_id  text NOT NULL,
      key_id      text,
      key_name    text NOT NULL,
      method      text NOT NULL,
      route       text NOT NULL,
      target      text,
      outcome     text NOT NULL,
      status_code integer NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX ix_audit_log_at ON audit_log (at)`.execute(db);
  await sql`CREATE INDEX ix_audit_log_key ON audit_log (key_id, id)`.execute(db);
  await sql`ALTER TABLE device_sync_log ADD COLUMN api_key_id text`.execute(db);
  await sql`ALTER TABLE variance_event ADD COLUMN api_key_id text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE variance_event DROP COLUMN api_key_id`.execute(db);
  await sql`ALTER TABLE device_sync_log DROP COLUMN api_key_id`.execute(db);
  await sql`DROP TABLE audit_log`.execute(db);
  await sql`DROP TABLE api_session`.execute(db);
  await sql`DROP TABLE api_key`.execute(db);
}
