import { sql, type Kysely } from 'kysely';

/**
 * What re-evaluating one device's variances after a sync needs (src/variances/reevaluate.ts),
 * all indexed so that it costs a few index probes whatever the fleet size:
 *
 * - `variance.devices` gets a GIN index (jsonb_path_ops): "the variances about this device"
 *   is `devices @> '[{"vendor": …, "device_key": …}]'`.
 * - `device_snapshot` gets a partial index on the 15-character prefix of names longer than 15:
 *   a NetBIOS name in NinjaOne (cut to 15) pairs with any ThreatLocker name it starts, so the
 *   neighbourhood of such a name is found by its prefix. Only long names are indexed, a small
 *   share of a fleet. The day tables built before ATTACH get it too (index_snapshot_day_table),
 *   so ATTACH adopts it instead of building it under its lock.
 * - `variance_run.organizations`: each tool's organization names on the checked day. The
 *   automatic organization mapping depends on every organization of the day, which a
 *   re-evaluation over a few devices cannot read cheaply; it reads the run's list instead.
 *   Null for runs made before this migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX ix_variance_devices ON variance USING gin (devices jsonb_path_ops)`.execute(db);
  await sql`ALTER TABLE variance_run ADD COLUMN organizations jsonb`.execute(db);
  await sql`
    CREATE INDEX ix_device_snapshot_netbios_prefix ON device_snapshot (snapshot_date, vendor_id, left(canonical_hostname, 15))
     WHERE length(canonical_hostname) > 15`.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION index_snapshot_day_table(p_name text) RETURNS void
    LANGUAGE plpgsql AS $fn$
    BEGIN
      EXECUTE format('CREATE INDEX ON %I (snapshot_date, vendor_id, canonical_hostname)', p_name);
      EXECUTE format('CREATE INDEX ON %I (device_identity_id) WHERE source = ''sync''', p_name);
      EXECUTE format('CREATE INDEX ON %I (snapshot_date, vendor_id, left(canonical_hostname, 15)) WHERE length(canonical_hostname) > 15', p_name);
    END
    $fn$`.execute(db);
}
