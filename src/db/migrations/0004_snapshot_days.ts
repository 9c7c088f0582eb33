import { sql, type Kysely } from 'kysely';
import { SNAPSHOT_DAY_LOCK, SNAPSHOT_WRITE_LOCK } from '../locks.js';

/**
 * One partition of `device_snapshot` per vendor and day, a summary row per vendor-day, the
 * vendor read time on every snapshot, and the write order of device writes.
 *
 * - `device_snapshot` becomes `PARTITION BY LIST (vendor_id)`, each vendor's partition
 *   `PARTITION BY LIST (snapshot_date)`; a day is the table `device_snapshot_v<vendor>_<yyyymmdd>`.
 *   A collection loads a new day table outside any lock and swaps it in with DETACH/ATTACH
 *   (src/inventory/day-swap.ts); retention drops whole days.
 * - `snapshot_day` lists each vendor-day with its device count and whether (and how many
 *   devices) a collection wrote it; the writers keep it current, `/api/status` and the
 *   plausibility guard read it instead of scanning snapshots.
 * - `vendor_read_at`: when the vendor was read for this row (a sync: just before its vendor
 *   request; a collector row: when its page was requested). Freshness is decided by it, not
 *   by when the row was written.
 * - `device_write_seq`: taken by every single-device write while it holds the device's lock,
 *   and stored in the sync log, which is ordered by it (the order writes were applied).
 *
 * The SQL functions defined here are the database half of src/inventory/store.ts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // --- write order of single-device writes (sync log) ---------------------------------------
  await sql`CREATE SEQUENCE device_write_seq`.execute(db);
  // Existing entries get numbers in table order; new ones take the write's number (successes)
  // or the next one when recorded (attempts that wrote nothing).
  await sql`ALTER TABLE device_sync_log ADD COLUMN write_seq bigint NOT NULL DEFAULT nextval('device_write_seq')`.execute(db);
  await sql`CREATE INDEX ix_device_sync_log_write_seq ON device_sync_log (write_seq DESC)`.execute(db);

  // --- the partitioned snapshot table ---------------------------------------------------------
  await sql`ALTER TABLE device_snapshot RENAME TO device_snapshot_0003`.execute(db);
  await sql`ALTER TABLE device_snapshot_0003 RENAME CONSTRAINT uq_device_snapshot_date_vendor_device TO uq_device_snapshot_0003`.execute(db);
  await sql`ALTER INDEX ix_device_snapshot_day_vendor_canonical RENAME TO ix_device_snapshot_0003_canonical`.execute(db);
  await sql`CREATE SEQUENCE device_snapshot_row_id_seq`.execute(db);
  await sql`SELECT setval('device_snapshot_row_id_seq', coalesce((SELECT max(id) FROM device_snapshot_0003), 0) + 1, false)`.execute(db);
  // Same columns in the same order (LIKE), plus the read time. No primary key on `id` (a
  // partitioned table's keys must contain the partition key); the natural key is unique.
  await sql`
    CREATE TABLE device_snapshot (
      LIKE device_snapshot_0003 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
      vendor_read_at timestamptz NOT NULL,
      CONSTRAINT uq_device_snapshot_date_vendor_device UNIQUE (snapshot_date, vendor_id, device_identity_id)
    ) PARTITION BY LIST (vendor_id)`.execute(db);
  await sql`ALTER TABLE device_snapshot ALTER COLUMN id SET DEFAULT nextval('device_snapshot_row_id_seq')`.execute(db);
  await sql`ALTER SEQUENCE device_snapshot_row_id_seq OWNED BY device_snapshot.id`.execute(db);
  await sql`CREATE INDEX ix_device_snapshot_day_vendor_canonical ON device_snapshot (snapshot_date, vendor_id, canonical_hostname)`.execute(db);
  // The day swap looks up the syncs of the day it replaces; collected days have none, so the
  // index is nearly empty.
  await sql`CREATE INDEX ix_device_snapshot_syncs ON device_snapshot (device_identity_id) WHERE source = 'sync'`.execute(db);
  // Staging now holds only devices seen for the first time, until their identity exists.
  await sql`ALTER TABLE collector_staging ADD COLUMN vendor_read_at timestamptz`.execute(db);
  await sql`ALTER TABLE collector_staging ALTER COLUMN id DROP NOT NULL`.execute(db);

  await sql`
    CREATE TABLE snapshot_day (
      vendor_id integer NOT NULL REFERENCES vendor (id),
      snapshot_date date NOT NULL,
      device_count integer NOT NULL DEFAULT 0,
      collected_at timestamptz,
      collected_devices integer,
      PRIMARY KEY (vendor_id, snapshot_date)
    )`.execute(db);

  // A day's table, standalone and empty, ready to be filled and attached: the CHECK matches the
  // partition bounds so ATTACH proves them without scanning, and the unique key is there from
  // the start (loading upserts on it).
  await sql`
    CREATE FUNCTION snapshot_day_table_name(p_vendor_id integer, p_date date) RETURNS text
    LANGUAGE sql IMMUTABLE AS $fn$ SELECT format('device_snapshot_v%s_%s', p_vendor_id, to_char(p_date, 'YYYYMMDD')) $fn$`.execute(db);
  await sql`
    CREATE FUNCTION create_snapshot_day_table(p_vendor_id integer, p_date date, p_name text) RETURNS void
    LANGUAGE plpgsql AS $fn$
    BEGIN
      EXECUTE format(
        'CREATE TABLE %I (LIKE device_snapshot INCLUDING DEFAULTS INCLUDING CONSTRAINTS,'
        ' CHECK (vendor_id = %s AND snapshot_date = %L::date),'
        ' UNIQUE (snapshot_date, vendor_id, device_identity_id)) WITH (toast_tuple_target = 256)',
        p_name, p_vendor_id, p_date);
    END
    $fn$`.execute(db);
  // The partitioned table's other indexes, built on a loaded day before it is attached (ATTACH
  // then adopts them instead of building them under its lock).
  await sql`
    CREATE FUNCTION index_snapshot_day_table(p_name text) RETURNS void
    LANGUAGE plpgsql AS $fn$
    BEGIN
      EXECUTE format('CREATE INDEX ON %I (snapshot_date, vendor_id, canonical_hostname)', p_name);
      EXECUTE format('CREATE INDEX ON %I (device_identity_id) WHERE source = ''sync''', p_name);
    END
    $fn$`.execute(db);
  // The vendor-day's partition, created on first write. ATTACH (SHARE UPDATE EXCLUSIVE on the
  // vendor's table) does not block readers or writers, unlike CREATE TABLE … PARTITION OF.
  // Callers hold the vendor's snapshot-write lock (shared); the day lock serializes creators.
  await sql`
    CREATE FUNCTION ensure_snapshot_day(p_vendor_id integer, p_date date) RETURNS text
    LANGUAGE plpgsql AS $fn$
    DECLARE
      v_name text := snapshot_day_table_name(p_vendor_id, p_date);
    BEGIN
      PERFORM pg_advisory_xact_lock(${sql.lit(SNAPSHOT_DAY_LOCK)}, p_vendor_id);
      IF to_regclass(v_name) IS NULL THEN
        IF to_regclass(format('device_snapshot_v%s', p_vendor_id)) IS NULL THEN
          EXECUTE format('CREATE TABLE %I PARTITION OF device_snapshot FOR VALUES IN (%s) PARTITION BY LIST (snapshot_date)',
                         format('device_snapshot_v%s', p_vendor_id), p_vendor_id);
        END IF;
        PERFORM create_snapshot_day_table(p_vendor_id, p_date, v_name);
        PERFORM index_snapshot_day_table(v_name);
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%L)', format('device_snapshot_v%s', p_vendor_id), v_name, p_date);
      END IF;
      INSERT INTO snapshot_day (vendor_id, snapshot_date, device_count)
      VALUES (p_vendor_id, p_date, 0) ON CONFLICT DO NOTHING;
      RETURN v_name;
    END
    $fn$`.execute(db);

  for (const { id } of (await sql<{ id: number }>`SELECT id FROM vendor ORDER BY id`.execute(db)).rows) {
    await sql`CREATE TABLE ${sql.id(`device_snapshot_v${id}`)} PARTITION OF device_snapshot FOR VALUES IN (${sql.lit(id)}) PARTITION BY LIST (snapshot_date)`.execute(db);
  }

  // Existing days move into their partitions; a row's read time is taken to be its write time.
  const days = await sql<{ vendor_id: number; snapshot_date: string }>`
    SELECT DISTINCT vendor_id, snapshot_date::text AS snapshot_date FROM device_snapshot_0003 ORDER BY 1, 2`.execute(db);
  for (const d of days.rows) {
    const name = `device_snapshot_v${d.vendor_id}_${d.snapshot_date.replaceAll('-', '')}`;
    await sql`SELECT create_snapshot_day_table(${d.vendor_id}::integer, ${d.snapshot_date}::date, ${name})`.execute(db);
    await sql`
      INSERT INTO ${sql.id(name)} SELECT o.*, o.written_at FROM device_snapshot_0003 o
       WHERE o.vendor_id = ${d.vendor_id} AND o.snapshot_date = ${d.snapshot_date}::date`.execute(db);
    await sql`SELECT index_snapshot_day_table(${name})`.execute(db);
    await sql`ALTER TABLE ${sql.id(`device_snapshot_v${d.vendor_id}`)} ATTACH PARTITION ${sql.id(name)} FOR VALUES IN (${sql.lit(d.snapshot_date)})`.execute(db);
  }
  await sql`
    INSERT INTO snapshot_day (vendor_id, snapshot_date, device_count, collected_at, collected_devices)
    SELECT vendor_id, snapshot_date, count(*),
           max(written_at) FILTER (WHERE source = 'collector'),
           nullif(count(*) FILTER (WHERE source = 'collector'), 0)
      FROM device_snapshot GROUP BY vendor_id, snapshot_date`.execute(db);
  await sql`DROP TABLE device_snapshot_0003`.execute(db);

  // --- one device's snapshot, replaced (the database half of store.ts) ----------------------
  await sql`DROP FUNCTION replace_device_snapshot(date, integer, text, jsonb)`.execute(db);
  await sql`
    CREATE FUNCTION replace_device_snapshot(p_date date, p_vendor_id integer, p_vendor_device_key text, p_row jsonb)
    RETURNS TABLE (device_identity_id integer, first_seen_date date, last_seen_date date,
                   previous_display_name text, replaced_existing boolean, write_seq bigint, superseded boolean)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      v_identity device_identity%ROWTYPE;
      v_day text := snapshot_day_table_name(p_vendor_id, p_date);
      v_read_at timestamptz := coalesce((p_row->>'vendor_read_at')::timestamptz, clock_timestamp());
      v_existing record;
      v_seq bigint;
    BEGIN
      -- Shared with every other single-device write of this vendor, exclusive against a
      -- collection swapping in the vendor's whole day (src/inventory/day-swap.ts): a write
      -- waits for a swap in progress instead of racing it.
      PERFORM pg_advisory_xact_lock_shared(${sql.lit(SNAPSHOT_WRITE_LOCK)}, p_vendor_id);
      IF NOT EXISTS (SELECT 1 FROM snapshot_day d WHERE d.vendor_id = p_vendor_id AND d.snapshot_date = p_date) THEN
        PERFORM ensure_snapshot_day(p_vendor_id, p_date);
      END IF;

      -- The identity upsert comes first because it takes the identity's row lock: concurrent
      -- writers of one device queue here, and (each statement of a VOLATILE function seeing a
      -- fresh snapshot) what follows sees the row the previous writer committed.
      INSERT INTO device_identity AS di (vendor_id, vendor_device_key, first_seen_date, last_seen_date)
      VALUES (p_vendor_id, p_vendor_device_key, p_date, p_date)
      ON CONFLICT (vendor_id, vendor_device_key)
        DO UPDATE SET last_seen_date = greatest(di.last_seen_date, excluded.last_seen_date)
      RETURNING * INTO v_identity;
      -- Taken under the device's lock: the order of these numbers is the order of the writes.
      v_seq := nextval('device_write_seq');

      -- The day's table by name (dynamic SQL): a generic plan over the partitioned table would
      -- lock every partition of the vendor on each call.
      EXECUTE format('SELECT s.display_name, s.source, s.vendor_read_at FROM %I s
                       WHERE s.snapshot_date = $1 AND s.vendor_id = $2 AND s.device_identity_id = $3', v_day)
        INTO v_existing USING p_date, p_vendor_id, v_identity.id;

      -- A collected row read from the vendor after this write's own read is fresher: kept.
      IF v_existing.source = 'collector' AND v_existing.vendor_read_at > v_read_at THEN
        RETURN QUERY SELECT v_identity.id, v_identity.first_seen_date, v_identity.last_seen_date,
                            v_existing.display_name, false, v_seq, true;
        RETURN;
      END IF;

      IF v_existing.source IS NOT NULL THEN
        EXECUTE format('DELETE FROM %I s WHERE s.snapshot_date = $1 AND s.vendor_id = $2 AND s.device_identity_id = $3', v_day)
          USING p_date, p_vendor_id, v_identity.id;
      ELSE
        UPDATE snapshot_day d SET device_count = d.device_count + 1
         WHERE d.vendor_id = p_vendor_id AND d.snapshot_date = p_date;
      END IF;
      -- The row is built from the table's own row type, so columns added later are written
      -- without touching this function (they must be nullable or supplied in p_row).
      EXECUTE format('INSERT INTO %I SELECT r.* FROM jsonb_populate_record(NULL::device_snapshot, $1) AS r', v_day)
        USING p_row || jsonb_build_object(
                 'id', nextval('device_snapshot_row_id_seq'),
                 'snapshot_date', p_date,
                 'vendor_id', p_vendor_id,
                 'device_identity_id', v_identity.id,
                 'written_at', now(),
                 'vendor_read_at', v_read_at);
      -- A day written row by row as collected (fixtures, imports) counts as collected.
      IF p_row->>'source' = 'collector' THEN
        UPDATE snapshot_day d SET collected_at = now(), collected_devices = d.device_count
         WHERE d.vendor_id = p_vendor_id AND d.snapshot_date = p_date;
      END IF;

      RETURN QUERY SELECT v_identity.id, v_identity.first_seen_date, v_identity.last_seen_date,
                          v_existing.display_name, v_existing.source IS NOT NULL, v_seq, false;
    END
    $fn$`.execute(db);
}
