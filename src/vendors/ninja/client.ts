/**
 * NinjaOne public API v2 client (vendor-apis.md §2).
 *
 * - OAuth 2.0: `client_credentials` (scope `monitoring`, enough to read inventory), or the
 *   `refresh_token` grant when a refresh token is configured. Refresh tokens rotate: each new
 *   one is saved through the {@link RefreshTokenStore} before its access token is used, so a
 *   crash can never leave us holding only a spent credential.
 * - One access token is shared by every call until shortly before it expires (never one token
 *   exchange per request); concurrent callers wait for the same token request; a 401 drops the
 *   token and retries the call once with a new one.
 * - Lists are keyset-paged with `pageSize` and `after=<last id>` (bare arrays, no totals); a short
 *   or empty page ends paging.
 */
import type { VendorClient } from '../client.js';
import { parseNumericId } from '../../ids.js';
import type { Logger } from 'pino';
import { VendorError, VendorHttp, type RetryPolicy, type VendorFailureKind, type VendorResponse } from '../http.js';
import {
  ninjaDeviceListSchema,
  ninjaDeviceSchema,
  ninjaLocationListSchema,
  ninjaOrganizationListSchema,
  ninjaTokenSchema,
  type NinjaDevice,
} from './schema.js';

/** Where a rotating refresh token lives between runs (the database in production). */
export interface RefreshTokenStore {
  load(): Promise<string | undefined>;
  save(token: string): Promise<void>;
}

/** A store that keeps the token in memory only; `current()` shows what was last saved. */
export function memoryTokenStore(initial?: string): RefreshTokenStore & { current(): string | undefined } {
  let token = initial;
  return {
    load: async () => token,
    save: async (next) => {
      token = next;
    },
    current: () => token,
  };
}

export interface NinjaClientOptions {
  /** The instance base, e.g. `https://app.ninjarmm.com` (a trailing `/api`, `/v2` or `/api/v2` is dropped). */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Initial refresh token; a token in `tokenStore` is newer and wins. */
  readonly refreshToken?: string | undefined;
  readonly tokenStore?: RefreshTokenStore | undefined;
  /** Scopes asked for with `client_credentials` (default `monitoring`). */
  readonly scope?: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly retry?: RetryPolicy;
}

/** Page size for full listings: large pages keep a 100,000-device walk to 100 requests. */
export const NINJA_PAGE_SIZE = 1000;

/** HT, GO, CIPP and RZ use this path; `/oauth/token` also exists. */
const TOKEN_PATH = '/ws/oauth/token';
/** Renew this long before `expires_in` runs out, so a token never expires between check and use. */
const RENEW_EARLY_MS = 60_000;
/** Token failures (besides 401/403) that mean the credentials or the request for them are wrong, not that NinjaOne is down. */
const CREDENTIAL_FAILURES: ReadonlySet<VendorFailureKind> = new Set(['request', 'rejected', 'not_found', 'malformed']);

/** Accepts `https://host`, `https://host/`, `…/api`, `…/v2` and `…/api/v2`. */
export function normalizeNinjaBaseUrl(raw: string): string {
  const url = new URL(raw);
  url.pathname = url.pathname.replace(/\/+$/, '').replace(/(?:\/api)?(?:\/v2)?$/i, '');
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

interface CachedToken {
  readonly value: string;
  /** Epoch ms after which the token is renewed instead of used. */
  readonly renewAt: number;
}

type ListSchema<T> = { safeParse(body: unknown): { success: true; data: T[] } | { success: false } };

// findByHostname arrives with the parallel-surface work (issue 6, item 24).
export class NinjaClient implements Omit<VendorClient<NinjaDevice, number>, 'findByHostname'> {
  private readonly http: VendorHttp;
  private readonly store: RefreshTokenStore | undefined;
  private cached: CachedToken | null = null;
  private pending: Promise<CachedToken> | null = null;
  private refreshToken: string | undefined;
  private storeLoaded = false;
  /** Tokens held earlier: still never shown, even once spent (bounded; rotation happens hourly at most). */
  private readonly retired: string[] = [];

  constructor(private readonly options: NinjaClientOptions) {
    this.refreshToken = options.refreshToken;
    this.store = options.tokenStore ?? (options.refreshToken ? memoryTokenStore(options.refreshToken) : undefined);
    this.http = new VendorHttp({
      vendor: 'NinjaOne',
      baseUrl: normalizeNinjaBaseUrl(options.baseUrl),
      timeoutMs: options.timeoutMs,
      logger: options.logger,
      retry: options.retry,
      secrets: () => [options.clientSecret, this.refreshToken ?? '', this.cached?.value ?? '', ...this.retired],
    });
  }

  // --- tokens --------------------------------------------------------------------------------

  /** The cached access token, or a new one; concurrent callers share one token request. */
  private async accessToken(): Promise<string> {
    if (this.cached && Date.now() < this.cached.renewAt) return this.cached.value;
    this.pending ??= this.requestToken().finally(() => {
      this.pending = null;
    });
    return (await this.pending).value;
  }

  private async currentRefreshToken(): Promise<string | undefined> {
    if (!this.storeLoaded && this.store) {
      this.refreshToken = (await this.store.load()) ?? this.refreshToken;
      this.storeLoaded = true;
    }
    return this.refreshToken;
  }

  private async requestToken(): Promise<CachedToken> {
    const { clientId, clientSecret, logger } = this.options;
    const refresh = await this.currentRefreshToken();
    const form: Record<string, string> = refresh
      ? { grant_type: 'refresh_token', refresh_token: refresh, client_id: clientId, client_secret: clientSecret }
      : { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: this.options.scope ?? 'monitoring' };
    let res: VendorResponse;
    try {
      res = await this.http.send({ method: 'POST', path: TOKEN_PATH, form, operation: 'token' });
    } catch (error) {
      // A refused token request means the credentials need attention; an outage or a timeout
      // keeps its own kind, so nobody rotates good credentials because NinjaOne was down.
      if (error instanceof VendorError && CREDENTIAL_FAILURES.has(error.kind)) {
        throw new VendorError('NinjaOne', 'auth', error.message, error.httpStatus, error.attempts);
      }
      throw error;
    }
    const parsed = ninjaTokenSchema.safeParse(res.body);
    if (!parsed.success) throw new VendorError('NinjaOne', 'auth', 'NinjaOne token endpoint did not answer an access token', res.status, 1);
    const token = parsed.data;
    const rotated = refresh !== undefined && typeof token.refresh_token === 'string' && token.refresh_token !== '' && token.refresh_token !== refresh;
    if (rotated) {
      this.retire(refresh);
      // Kept in memory first, so that if saving fails the next attempt presents the live token.
      this.refreshToken = token.refresh_token as string;
      await (this.store as RefreshTokenStore).save(token.refresh_token as string);
    }
    const ttlSeconds = Number(token.expires_in ?? 3600);
    const lifetimeMs = (Number.isFinite(ttlSeconds) && ttlSeconds > 0 ? ttlSeconds : 3600) * 1000;
    // Renew a minute early, but never use less than half the lifetime (short-lived test tokens).
    const renewAt = Date.now() + Math.max(lifetimeMs - RENEW_EARLY_MS, lifetimeMs / 2);
    logger.debug({ vendor: 'NinjaOne', grant: form.grant_type, rotated, expiresInS: lifetimeMs / 1000 }, 'vendor token obtained');
    if (this.cached) this.retire(this.cached.value);
    this.cached = { value: token.access_token, renewAt };
    return this.cached;
  }

  private retire(token: string): void {
    this.retired.push(token);
    if (this.retired.length > 8) this.retired.shift();
  }

  /** A GET with the bearer token; a 401 (token expired or revoked early) renews it and retries once. */
  private async get(path: string, operation: string, query?: Record<string, number>, opts: { allowNotFound?: boolean } = {}): Promise<VendorResponse> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      try {
        return await this.http.send({ method: 'GET', path, query, headers: { Authorization: `Bearer ${token}` }, operation }, opts);
      } catch (error) {
        if (attempt > 1 || !(error instanceof VendorError) || error.httpStatus !== 401) throw error;
        // Another caller may already have replaced it; only drop the token that failed.
        if (this.cached?.value === token) {
          this.retire(token);
          this.cached = null;
        }
        this.options.logger.info({ vendor: 'NinjaOne', op: operation }, 'vendor access token rejected, renewing');
      }
    }
  }

  // --- lists ---------------------------------------------------------------------------------

  /**
   * Keyset paging: `after` is the last id of the previous page. Each page's last id must exceed
   * the previous one; a server that ignores `after` would otherwise loop over page one forever.
   */
  private async *pages<T extends { id?: unknown }>(path: string, operation: string, schema: ListSchema<T>, pageSize: number): AsyncGenerator<T[], void, undefined> {
    let after: number | undefined;
    for (;;) {
      const res = await this.get(path, operation, after === undefined ? { pageSize } : { pageSize, after });
      const parsed = schema.safeParse(res.body);
      if (!parsed.success) throw new VendorError('NinjaOne', 'malformed', `NinjaOne ${operation} did not answer a list`, res.status, 1);
      const rows = parsed.data;
      if (rows.length === 0) return;
      const last = parseNumericId(rows[rows.length - 1]?.id);
      if (last === null) throw new VendorError('NinjaOne', 'malformed', `NinjaOne ${operation} answered a row without a numeric id`, res.status, 1);
      if (after !== undefined && last <= after) {
        throw new VendorError('NinjaOne', 'malformed', `NinjaOne ${operation} ignored after=${after} (page ends at id ${last})`, res.status, 1);
      }
      yield rows;
      if (rows.length < pageSize) return;
      after = last;
    }
  }

  /**
   * Every device with its details, page by page in id order (one request per page; no
   * per-device calls).
   *
   * @example
   *   for await (const page of client.list()) for (const d of page) normalizeNinjaDevice(d, refs);
   */
  async *list(pageSize = NINJA_PAGE_SIZE): AsyncGenerator<NinjaDevice[], void, undefined> {
    yield* this.pages('/v2/devices-detailed', 'devices-detailed', ninjaDeviceListSchema, pageSize);
  }

  /** Organization id → name, every page. A failure is an error, never an empty map. */
  async listOrganizations(): Promise<Map<number, string>> {
    return this.nameMap(this.pages('/v2/organizations', 'organizations', ninjaOrganizationListSchema, NINJA_PAGE_SIZE));
  }

  /** Location id → name across all organizations, every page. A failure is an error, never an empty map. */
  async listLocations(): Promise<Map<number, string>> {
    return this.nameMap(this.pages('/v2/locations', 'locations', ninjaLocationListSchema, NINJA_PAGE_SIZE));
  }

  private async nameMap(pages: AsyncGenerator<{ id?: unknown; name?: string | null | undefined }[]>): Promise<Map<number, string>> {
    const map = new Map<number, string>();
    for await (const page of pages) {
      for (const row of page) {
        const id = parseNumericId(row.id);
        const name = row.name?.trim();
        if (id !== null && name) map.set(id, name);
      }
    }
    return map;
  }

  /** One device in the detailed shape; `null` when NinjaOne has no device with that id. */
  async findById(id: number): Promise<NinjaDevice | null> {
    const res = await this.get(`/v2/device/${encodeURIComponent(String(id))}`, 'device', undefined, { allowNotFound: true });
    if (res.status === 404) return null;
    const parsed = ninjaDeviceSchema.safeParse(res.body);
    if (!parsed.success) throw new VendorError('NinjaOne', 'malformed', 'NinjaOne device did not answer a device record', res.status, 1);
    // A server answering for another id must not make us adopt the wrong device.
    return parseNumericId(parsed.data.id) === id ? parsed.data : null;
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
