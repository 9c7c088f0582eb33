/**
 * The audit trail of every sync-device and update-name attempt, successful or not.
 */
import { sql, type Kysely } from 'kysely';
import type { DB, NewDeviceSyncLog } from '../db/schema.js';

export async function recordSyncAttempt(db: Kysely<DB>, entry: NewDeviceSyncLog): Promise<number> {
  const row = await db.insertInto('device_sync_log').values(entry).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export interface SyncHistoryQuery {
  readonly computerId?: string | undefined;
  readonly hostname?: string | undefined;
  readonly limit: number;
}

/** Attempts newest first, filtered by the computer id asked for or matched, and/or hostname. */
export async function listSyncHistory(db: Kysely<DB>, q: SyncHistoryQuery) {
  let query = db.selectFrom('device_sync_log').selectAll();
  if (q.computerId) {
    const id = q.computerId.toLowerCase();
    query = query.where((eb) =>
      eb.or([eb(sql`lower(requested_computer_id)`, '=', id), eb(sql`lower(matched_computer_id)`, '=', id)]),
    );
  }
  if (q.hostname) {
    const h = q.hostname.toLowerCase();
    query = query.where((eb) =>
      eb.or([eb(sql`lower(requested_hostname)`, '=', h), eb(sql`lower(matched_hostname)`, '=', h)]),
    );
  }
  return query.orderBy('requested_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
}
