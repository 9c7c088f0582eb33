/**
 * The databases every integration suite runs on: PGlite always, PostgreSQL when
 * TEST_DATABASE_URL is set. Each suite gets its own throwaway PostgreSQL database, so test
 * files can run in parallel without seeing each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest, openDatabase, type Database, type DatabaseKind } from '../../src/db/database.js';

export const TEST_DATABASES: readonly DatabaseKind[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestDatabase extends Database {
  /** Empties every data table (vendor rows stay). */
  truncate(): Promise<void>;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function openTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  let database: Database;
  let drop: (() => Promise<void>) | undefined;
  if (kind === 'postgres') {
    const base = process.env.TEST_DATABASE_URL;
    if (!base) throw new Error('TEST_DATABASE_URL is not set');
    const name = `ih_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    database = await openDatabase({ databaseUrl: url.toString(), poolSize: 30 });
    drop = () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } else {
    database = await openDatabase({ dataDir: 'memory://' });
  }
  await migrateToLatest(database.db);
  return {
    ...database,
    async truncate() {
      await sql`TRUNCATE device_sync_log, device_snapshot, snapshot_day, device_identity, job_runs, job_batches,
                         collector_staging, schedule_claims, vendor_token, hub_database, variance_event, variance_observation,
                         variance, variance_run, organization_link, audit_log, api_session, api_key RESTART IDENTITY CASCADE`.execute(database.db);
      // Each vendor-day is a table of its own (migration 0004): a clean slate has none.
      const { rows } = await sql<{ name: string }>`
        SELECT relname AS name FROM pg_class
         WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relname ~ '^device_snapshot_v[0-9]+_'`.execute(database.db);
      for (const { name } of rows) await sql`DROP TABLE ${sql.id(name)}`.execute(database.db);
    },
    async close() {
      await database.close();
      await drop?.();
    },
  };
}
