import { sql, type Kysely } from 'kysely';
import { SNAPSHOT_WRITE_LOCK } from '../locks.js';

/**
 * Core device schema. Table and column names follow the sync-device specification and the
 * existing deployments' reports; TEXT instead of varchar(255) because vendors accept longer
 * display names (ThreatLocker takes 200+ characters) and a length cap would fail a whole run.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE vendor (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL UNIQUE
    )`.execute(db);
  // Vendors are resolved by name at start-up; no numeric id is assumed anywhere.
  await sql`INSERT INTO vendor (name) VALUES ('ThreatLocker'), ('Ninja')`.execute(db);

  await sql`
    CREATE TABLE device_identity (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      vendor_id integer NOT NULL REFERENCES vendor (id),
      vendor_device_key text NOT NULL,
      first_seen_date date NOT NULL,
      last_seen_date date NOT NULL,
      CONSTRAINT uq_device_identity_vendor_device_key UNIQUE (vendor_id, vendor_device_key),
      CONSTRAINT ck_device_identity_seen_order CHECK (last_seen_date >= first_seen_date)
    )`.execute(db);

  await sql`
    CREATE TABLE device_snapshot (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      snapshot_date date NOT NULL,
      vendor_id integer NOT NULL,
      device_identity_id integer NOT NULL,
      hostname text NOT NULL,
      canonical_hostname text NOT NULL,
      display_name text,
      organization_name text,
      os_name text,
      device_status text,
      last_online timestamptz,
      agent_install_timestamp timestamptz,
      organization_id text,
      computer_group text,
      security_mode text,
      deny_count_1d integer,
      deny_count_3d integer,
      deny_count_7d integer,
      install_date timestamptz,
      is_locked_out boolean,
      is_isolated boolean,
      agent_version text,
      has_checked_in boolean,
      raw jsonb NOT NULL,
      source text NOT NULL CHECK (source IN ('collector', 'sync')),
      written_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_device_snapshot_date_vendor_device UNIQUE (snapshot_date, vendor_id, device_identity_id)
    )`.execute(db);
  // Referential integrity with device_identity is kept by the writers, not by a row-level
  // foreign key: replace_device_snapshot upserts the identity in the same statement, and a
  // collector's swap verifies its whole day set-based before committing. A foreign key's
  // per-row check locks each identity row (FOR KEY SHARE) and was 37% of the time of swapping
  // a 100,000-device day. Identities are never deleted.
  // Variance checks and search read one vendor-day at a time and join on the canonical name.
  await sql`CREATE INDEX ix_device_snapshot_day_vendor_canonical
            ON device_snapshot (snapshot_date, vendor_id, canonical_hostname)`.execute(db);

  // One device's snapshot for one day, replaced in a single round trip (sync-device's hot path).
  // The function body runs the specification's three steps atomically. The identity upsert
  // comes first because it takes the identity's row lock: concurrent writers of one device
  // queue there, and — each statement of a VOLATILE function seeing a fresh snapshot — the
  // delete that follows sees the row the previous writer committed.
  await sql`
    CREATE FUNCTION replace_device_snapshot(p_date date, p_vendor_id integer, p_vendor_device_key text, p_row jsonb)
    RETURNS TABLE (device_identity_id integer, first_seen_date date, last_seen_date date,
                   previous_display_name text, replaced_existing boolean)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_identity device_identity%ROWTYPE;
      v_previous text;
      v_replaced boolean;
    BEGIN
      -- Shared with every other single-device write of this vendor, exclusive against a
      -- collector replacing the vendor's whole day (see collectors/runner.ts): a sync waits
      -- for a swap in progress instead of racing it.
      PERFORM pg_advisory_xact_lock_shared(${sql.lit(SNAPSHOT_WRITE_LOCK)}, p_vendor_id);
      INSERT INTO device_identity AS di (vendor_id, vendor_device_key, first_seen_date, last_seen_date)
      VALUES (p_vendor_id, p_vendor_device_key, p_date, p_date)
      ON CONFLICT (vendor_id, vendor_device_key)
        DO UPDATE SET last_seen_date = greatest(di.last_seen_date, excluded.last_seen_date)
      RETURNING * INTO v_identity;

      DELETE FROM device_snapshot s
       WHERE s.snapshot_date = p_date AND s.vendor_id = p_vendor_id AND s.device_identity_id = v_identity.id
      RETURNING s.display_name INTO v_previous;
      v_replaced := FOUND;

      -- The row is built from the table's own row type, so columns added later are written
      -- without touching this function (they must be nullable or supplied in p_row).
      INSERT INTO device_snapshot OVERRIDING SYSTEM VALUE
      SELECT r.*
        FROM jsonb_populate_record(
               NULL::device_snapshot,
               p_row || jsonb_build_object(
                 'id', nextval(pg_get_serial_sequence('device_snapshot', 'id')),
                 'snapshot_date', p_date,
                 'vendor_id', p_vendor_id,
                 'device_identity_id', v_identity.id,
                 'written_at', now())) AS r;

      RETURN QUERY SELECT v_identity.id, v_identity.first_seen_date, v_identity.last_seen_date, v_previous, v_replaced;
    END
    $fn$`.execute(db);

  await sql`
    CREATE TABLE device_sync_log (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      operation text NOT NULL CHECK (operation IN ('sync', 'rename')),
      requested_at timestamptz NOT NULL,
      requested_computer_id text,
      requested_hostname text,
      matched_computer_id text,
      matched_hostname text,
      matched_by text,
      device_identity_id integer REFERENCES device_identity (id) ON DELETE SET NULL,
      snapshot_date date,
      previous_display_name text,
      display_name text,
      updated_by text NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('success', 'not_found', 'vendor_error', 'invalid_device', 'failed')),
      error_code text,
      error_message text,
      duration_ms integer NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX ix_device_sync_log_requested_at ON device_sync_log (requested_at DESC, id DESC)`.execute(db);
  // History is looked up by the id asked for or the id matched (they differ after a hostname match).
  await sql`CREATE INDEX ix_device_sync_log_requested_computer ON device_sync_log (lower(requested_computer_id))`.execute(db);
  await sql`CREATE INDEX ix_device_sync_log_matched_computer ON device_sync_log (lower(matched_computer_id))`.execute(db);
}
