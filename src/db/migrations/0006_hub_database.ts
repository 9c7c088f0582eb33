import { sql, type Kysely } from 'kysely';

/**
 * What a database is for: one row, written on first use. `demo` when demo mode created it
 * (made-up devices), `real` when a hub with vendor credentials used it first. Demo mode never
 * writes into a `real` database and real collections and syncs never write into a `demo` one
 * (src/demo.ts, claimDatabase). No row: a database nothing has written to since this migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE hub_database (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      mode text NOT NULL CHECK (mode IN ('demo', 'real')),
      marked_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}
