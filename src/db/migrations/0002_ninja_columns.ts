import { sql, type Kysely } from 'kysely';

/** NinjaOne snapshot columns (null on ThreatLocker rows). Names follow the existing reports. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE device_snapshot
      ADD COLUMN location_name text,
      ADD COLUMN device_type_name text,
      ADD COLUMN billable_status_name text,
      ADD COLUMN node_class text,
      ADD COLUMN is_vm_guest boolean,
      ADD COLUMN system_name text,
      ADD COLUMN system_manufacturer text,
      ADD COLUMN system_model text,
      ADD COLUMN serial_number text,
      ADD COLUMN last_logged_in_user text,
      ADD COLUMN public_ip text`.execute(db);
}
