import { sql, type Kysely } from 'kysely';

/**
 * A collection gives a device it sees for the first time an identity id at once, reserved
 * from device_identity's sequence, and writes its row into the run's day table like any other
 * (src/inventory/day-swap.ts). `collector_staging` keeps only which identities the run must
 * register once its fetch is accepted: the key and the reserved id, no longer the whole row.
 *
 * A collection of the previous version running during the upgrade loses its staged rows and
 * fails (its process is being replaced anyway); the next run starts afresh.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE collector_staging`.execute(db);
  await sql`
    CREATE UNLOGGED TABLE collector_staging (
      job_id varchar(50) NOT NULL,
      vendor_device_key text NOT NULL,
      device_identity_id integer NOT NULL,
      PRIMARY KEY (job_id, vendor_device_key)
    )`.execute(db);
}
