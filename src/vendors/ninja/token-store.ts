/**
 * NinjaOne's rotating refresh token, kept in the database: every rotation replaces the stored
 * token in one statement, so a crash can never leave the hub holding only a spent token.
 *
 * The stored chain descends from the token in the configuration; its fingerprint is stored
 * with it, so configuring a new token (after re-authorizing) starts a new chain instead of
 * being shadowed by the old one.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { RefreshTokenStore } from './client.js';

const fingerprint = (token: string | undefined) => createHash('sha256').update(token ?? '').digest('hex');

export function databaseTokenStore(db: Kysely<DB>, vendorId: number, configured: string | undefined, now: () => Date): RefreshTokenStore {
  const seed = fingerprint(configured);
  return {
    async load() {
      const row = await db.selectFrom('vendor_token').select(['refresh_token', 'seed_sha256']).where('vendor_id', '=', vendorId).executeTakeFirst();
      return row && row.seed_sha256 === seed ? row.refresh_token : undefined;
    },
    async save(token) {
      await db
        .insertInto('vendor_token')
        .values({ vendor_id: vendorId, refresh_token: token, seed_sha256: seed, updated_at: now() })
        .onConflict((oc) => oc.column('vendor_id').doUpdateSet({ refresh_token: token, seed_sha256: seed, updated_at: now() }))
        .execute();
    },
  };
}
