/**
 * API keys: creation, listing, revocation and verification. The CLI (`inventory-hub keys …`)
 * and the admin API (`/api/keys`) call these same functions.
 *
 * A key reads `ih_<id>_<secret>`: `id` (12 hex characters, not secret) finds the row in one
 * probe; `secret` is 32 random bytes (base64url). Only SHA-256 of the whole key is stored. A
 * plain hash is enough here, unlike passwords: a 256-bit random secret cannot be guessed or
 * brute-forced from its hash, so a slow KDF would only add milliseconds to every request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ApiScope, DB } from '../db/schema.js';
import { API_SCOPES } from '../db/schema.js';
import { HubError } from '../errors.js';

export { API_SCOPES, type ApiScope };

/** What a verified key (or session) lets the request do, and whom to name for it. */
export interface Principal {
  readonly keyId: string;
  readonly keyName: string;
  readonly scopes: readonly ApiScope[];
  /** How the request authenticated: a session cookie must pass the Origin check on mutations. */
  readonly via: 'key' | 'session';
}

export interface ApiKeyInfo {
  readonly id: string;
  readonly name: string;
  readonly scopes: ApiScope[];
  readonly created_at: string;
  readonly last_used_at: string | null;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
}

const KEY_RE = /^ih_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Parses a comma-separated scope list ("read,operate"); throws HUB_ERR_VALIDATION naming the bad one. */
export function parseScopes(value: string | readonly string[]): ApiScope[] {
  const items = (typeof value === 'string' ? value.split(',') : value).map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (items.length === 0) throw new HubError('HUB_ERR_VALIDATION', `scope is required (one or more of ${API_SCOPES.join(', ')})`, { field: 'scope' });
  for (const s of items) {
    if (!(API_SCOPES as readonly string[]).includes(s)) {
      throw new HubError('HUB_ERR_VALIDATION', `unknown scope "${s}" (one or more of ${API_SCOPES.join(', ')})`, { field: 'scope' });
    }
  }
  return [...new Set(items as ApiScope[])];
}

function info(row: { id: string; name: string; scopes: ApiScope[]; created_at: Date; last_used_at: Date | null; expires_at: Date | null; revoked_at: Date | null }): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    expires_at: row.expires_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
  };
}

export interface NewKey {
  readonly name: string;
  readonly scopes: readonly ApiScope[];
  readonly expiresAt?: Date | null | undefined;
}

/**
 * Creates a key and returns it with the one and only copy of its secret.
 *
 * @example
 *   const { key, info } = await createApiKey(db, { name: 'ci', scopes: ['read'] }, new Date());
 */
export async function createApiKey(db: Kysely<DB>, input: NewKey, now: Date): Promise<{ key: string; info: ApiKeyInfo }> {
  const name = input.name.trim();
  if (name === '' || name.length > 100) throw new HubError('HUB_ERR_VALIDATION', 'name is required (at most 100 characters)', { field: 'name' });
  if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
    throw new HubError('HUB_ERR_VALIDATION', 'expires must be in the future', { field: 'expires' });
  }
  const id = randomBytes(6).toString('hex');
  const key = `ih_${id}_${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('api_key')
    .values({ id, name, scopes: [...input.scopes], hash: sha256Hex(key), created_at: now, expires_at: input.expiresAt ?? null })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key, info: info(row) };
}

export async function listApiKeys(db: Kysely<DB>): Promise<ApiKeyInfo[]> {
  const rows = await db.selectFrom('api_key').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map(info);
}

/** Revokes a key (and ends its sessions). Returns undefined when there is no such key. */
export async function revokeApiKey(db: Kysely<DB>, id: string, now: Date): Promise<ApiKeyInfo | undefined> {
  const row = await db
    .updateTable('api_key')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(now)) }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  await db.updateTable('api_session').set({ ended_at: now }).where('key_id', '=', id).where('ended_at', 'is', null).execute();
  return info(row);
}

/** Keys that can be used now (neither revoked nor expired). */
export async function countUsableKeys(db: Kysely<DB>, now: Date): Promise<number> {
  const r = await db
    .selectFrom('api_key')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Compared against when the id is unknown, so unknown and known keys cost the same. */
const DUMMY_HASH = Buffer.from(sha256Hex('ih_000000000000_unknown'), 'hex');

interface CachedKey {
  readonly row: { id: string; name: string; scopes: ApiScope[]; hash: Buffer; expires_at: Date | null; revoked_at: Date | null } | null;
  readonly loadedAt: number;
}

/**
 * Verifies presented keys. Rows are cached for `cacheMs` (a revocation through the API clears
 * its entry at once; one through the CLI, in another process, is seen within `cacheMs`), and
 * `last_used_at` is written at most once a minute per key: authentication then costs a hash
 * and a map lookup, not a database round trip, on the sync path.
 */
export class KeyVerifier {
  private readonly cache = new Map<string, CachedKey>();
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly onError: (err: unknown) => void,
    private readonly cacheMs = 5_000,
    private readonly lastUsedEveryMs = 60_000,
  ) {}

  forget(id: string): void {
    this.cache.delete(id);
  }

  private async load(id: string): Promise<CachedKey['row']> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.loadedAt < this.cacheMs) return hit.row;
    const r = await this.db.selectFrom('api_key').select(['id', 'name', 'scopes', 'hash', 'expires_at', 'revoked_at']).where('id', '=', id).executeTakeFirst();
    const row = r ? { ...r, hash: Buffer.from(r.hash, 'hex') } : null;
    // Unknown ids are cached too, bounded: a flood of made-up ids must not grow memory for ever.
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { row, loadedAt: Date.now() });
    return row;
  }

  /**
   * The principal for `presented`, or null. Unknown, malformed, revoked and expired keys all
   * come back as null after the same work (a hash and one constant-time comparison), so
   * neither the answer nor its timing tells them apart.
   */
  async verify(presented: string, now: Date): Promise<Principal | null> {
    const m = KEY_RE.exec(presented);
    const hash = Buffer.from(sha256Hex(presented), 'hex');
    const row = m?.[1] ? await this.load(m[1]) : null;
    const equal = timingSafeEqual(hash, row ? row.hash : DUMMY_HASH);
    if (!row || !equal || row.revoked_at !== null || (row.expires_at !== null && row.expires_at.getTime() <= now.getTime())) return null;
    this.touch(row.id, now);
    return { keyId: row.id, keyName: row.name, scopes: row.scopes, via: 'key' };
  }

  private touch(id: string, now: Date): void {
    const last = this.lastWritten.get(id);
    if (last !== undefined && now.getTime() - last < this.lastUsedEveryMs && now.getTime() >= last) return;
    this.lastWritten.set(id, now.getTime());
    this.db
      .updateTable('api_key')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .execute()
      .catch(this.onError);
  }
}
