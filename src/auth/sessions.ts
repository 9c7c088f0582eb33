/**
 * Dashboard sessions: a key is exchanged once for a random session token kept in an HttpOnly
 * cookie. Only the token's SHA-256 is stored; sign-out sets `ended_at` (server-side), and a
 * revoked or expired key ends its sessions' use at once (checked on every lookup).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { sha256Hex, type Principal } from './keys.js';

/** A working day and then some: the dashboard asks for the key again after it. */
export const SESSION_HOURS = 12;
export const SESSION_COOKIE = 'ih_session';

export async function createSession(db: Kysely<DB>, principal: Principal, now: Date): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3_600_000);
  await db.insertInto('api_session').values({ hash: sha256Hex(token), key_id: principal.keyId, created_at: now, expires_at: expiresAt }).execute();
  return { token, expiresAt };
}

/** The principal of a live session (its key neither revoked nor expired), or null. */
export async function sessionPrincipal(db: Kysely<DB>, token: string, now: Date): Promise<Principal | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const row = await db
    .selectFrom('api_session as s')
    .innerJoin('api_key as k', 'k.id', 's.key_id')
    .select(['k.id', 'k.name', 'k.scopes'])
    .where('s.hash', '=', sha256Hex(token))
    .where('s.ended_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('k.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('k.expires_at', 'is', null), eb('k.expires_at', '>', now)]))
    .executeTakeFirst();
  return row ? { keyId: row.id, keyName: row.name, scopes: row.scopes, via: 'session' } : null;
}

export async function endSession(db: Kysely<DB>, token: string, now: Date): Promise<void> {
  await db.updateTable('api_session').set({ ended_at: now }).where('hash', '=', sha256Hex(token)).where('ended_at', 'is', null).execute();
}
