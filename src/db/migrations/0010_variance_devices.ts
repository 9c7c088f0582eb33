import { sql, type Kysely } from 'kysely';

/**
 * "The variances about this device" as an index lookup (src/variances/reevaluate.ts, the
 * dashboard's device page): one row per (variance, device it names), written with the variance
 * by `writePlan` (src/variances/lifecycle.ts).
 *
 * Migration 0009 served that question with a GIN index on `variance.devices`, but PostgreSQL
 * estimates `jsonb @>` selectivity with a fixed guess and scanned the table instead: about 3 ms
 * per lookup at 6,000 variances, two lookups per sync. A plain B-tree on (vendor, device_key)
 * is one probe whatever the number of variances. The GIN index goes: nothing reads it any more
 * and every check run paid to maintain it.
 *
 * `advisory_xact_lock_within(key1, key2, wait_ms)`: an advisory transaction lock that gives up
 * after `wait_ms` (SQLSTATE 55P03) and leaves `lock_timeout` as it was. A sync's re-evaluation
 * takes the variance lock this way in one round trip instead of three (SET LOCAL, lock, reset).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE variance_device (
      vendor      text    NOT NULL,
      device_key  text    NOT NULL,
      variance_id integer NOT NULL REFERENCES variance (id) ON DELETE CASCADE,
      PRIMARY KEY (vendor, device_key, variance_id)
    )`.execute(db);
  await sql`CREATE INDEX ix_variance_device_variance ON variance_device (variance_id)`.execute(db);
  await sql`
    INSERT INTO variance_device (vendor, device_key, variance_id)
    SELECT DISTINCT d->>'vendor', d->>'device_key', v.id
      FROM variance v, jsonb_array_elements(v.devices) d
     WHERE d->>'vendor' IS NOT NULL AND d->>'device_key' IS NOT NULL`.execute(db);
  await sql`DROP INDEX ix_variance_devices`.execute(db);
  await sql`
    CREATE FUNCTION advisory_xact_lock_within(p_key1 integer, p_key2 integer, p_wait_ms integer) RETURNS void
    LANGUAGE plpgsql AS $fn$
    DECLARE
      v_previous text := current_setting('lock_timeout');
    BEGIN
      PERFORM set_config('lock_timeout', p_wait_ms || 'ms', true);
      PERFORM pg_advisory_xact_lock(p_key1, p_key2);
      PERFORM set_config('lock_timeout', v_previous, true);
    END
    $fn$`.execute(db);
}
