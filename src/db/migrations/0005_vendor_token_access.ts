import { sql, type Kysely } from 'kysely';

/**
 * The NinjaOne access token beside the refresh token it came from. Refreshes are serialized on
 * the `vendor_token` row; a process that waited for another one's refresh finds the fresh
 * access token here and uses it, instead of spending the refresh token a second time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE vendor_token
      ADD COLUMN access_token text,
      ADD COLUMN access_expires_at timestamptz`.execute(db);
}
