/**
 * NinjaOne's rotating refresh token, kept in the `vendor_token` row with the access token it
 * last bought, shared by every hub process on the database (`serve`, `collect ninja`).
 *
 * Refreshes are serialized on that row: "read the stored token → exchange it → save the new
 * one" runs under the lock, and the save is a compare-and-swap on the token that was spent, so
 * two processes never present the same token and a late writer never overwrites a newer one.
 *
 * - PostgreSQL: a transaction holding `SELECT … FOR UPDATE` on the row for the whole exchange
 *   (one pooled connection; other queries use the others). The row is created first (from the
 *   configured token) so that there is always a row to lock, even before the first rotation.
 * - PGlite: one connection per process, and a second process cannot open the same data
 *   directory, so an in-process queue per database is the lock. A transaction held across the
 *   HTTP exchange would stall every other query of the process (the driver hands its single
 *   connection to one transaction at a time) and deadlock any query made inside the exchange.
 *
 * The stored chain descends from the token in the configuration; its fingerprint is stored
 * with it, so configuring a new token (after re-authorizing) starts a new chain instead of
 * being shadowed by the old one.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import { serialQueue, type RefreshTokenStore, type StoredTokens, type TokenLease } from './client.js';

const fingerprint = (token: string | undefined) => createHash('sha256').update(token ?? '').digest('hex');

/** One queue per PGlite database handle: every client of the process on that handle shares it. */
const queues = new WeakMap<object, ReturnType<typeof serialQueue>>();

/**
 * @example
 *   const store = databaseTokenStore(database, vendorIds.ninja, config.ninja.refreshToken, () => clock.now());
 *   new NinjaClient({ ...config.ninja, tokenStore: store, logger });
 */
export function databaseTokenStore(
  database: Pick<Database, 'db' | 'kind'>,
  vendorId: number,
  configured: string | undefined,
  now: () => Date,
): RefreshTokenStore {
  const seed = fingerprint(configured);
  const { db } = database;

  const lease = (ex: Kysely<DB> | Transaction<DB>, forUpdate: boolean): TokenLease => ({
    async read(): Promise<StoredTokens> {
      let query = ex
        .selectFrom('vendor_token')
        .select(['refresh_token', 'seed_sha256', 'access_token', 'access_expires_at'])
        .where('vendor_id', '=', vendorId);
      if (forUpdate) query = query.forUpdate();
      const row = await query.executeTakeFirst();
      if (row && row.seed_sha256 === seed) {
        const access = row.access_token !== null && row.access_expires_at !== null ? { value: row.access_token, expiresAt: row.access_expires_at.getTime() } : undefined;
        return { refreshToken: row.refresh_token, accessToken: access };
      }
      if (configured === undefined) return { refreshToken: undefined };
      // A row from another configured token (or none): the configured token starts the chain.
      await ex
        .insertInto('vendor_token')
        .values({ vendor_id: vendorId, refresh_token: configured, seed_sha256: seed, updated_at: now(), access_token: null, access_expires_at: null })
        .onConflict((oc) =>
          oc.column('vendor_id').doUpdateSet({ refresh_token: configured, seed_sha256: seed, updated_at: now(), access_token: null, access_expires_at: null }),
        )
        .execute();
      return { refreshToken: configured };
    },
    async swap(spent, next) {
      const values = { refresh_token: next.refreshToken, access_token: next.accessToken, access_expires_at: new Date(next.expiresAt), updated_at: now() };
      if (spent === undefined) {
        const inserted = await ex
          .insertInto('vendor_token')
          .values({ vendor_id: vendorId, seed_sha256: seed, ...values })
          .onConflict((oc) => oc.column('vendor_id').doNothing())
          .executeTakeFirst();
        return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
      }
      const updated = await ex
        .updateTable('vendor_token')
        .set(values)
        .where('vendor_id', '=', vendorId)
        .where('seed_sha256', '=', seed)
        .where('refresh_token', '=', spent)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },
  });

  if (database.kind === 'pglite') {
    let queue = queues.get(db);
    if (!queue) {
      queue = serialQueue();
      queues.set(db, queue);
    }
    const run = queue;
    return { withLock: (work) => run(() => work(lease(db, false))) };
  }

  return {
    withLock: (work) =>
      db.transaction().execute(async (trx) => {
        // Make sure there is a row to lock: `FOR UPDATE` on a missing row locks nothing, and two
        // processes would then both exchange the configured token. A concurrent insert waits
        // here until the first transaction ends.
        if (configured !== undefined) {
          await trx
            .insertInto('vendor_token')
            .values({ vendor_id: vendorId, refresh_token: configured, seed_sha256: seed, updated_at: now(), access_token: null, access_expires_at: null })
            .onConflict((oc) => oc.column('vendor_id').doNothing())
            .execute();
        }
        return work(lease(trx, true));
      }),
  };
}
