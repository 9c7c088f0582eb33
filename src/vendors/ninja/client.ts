/**
 * NinjaOne public API v2 client (vendor-apis.md §2).
 *
 * - OAuth 2.0: `client_credentials` (scope `monitoring`, enough to read inventory), or the
 *   `refresh_token` grant when a refresh token is configured.
 * - Refresh tokens rotate: presenting one spends it. A refresh-token exchange is therefore never
 *   retried blindly (a reset or a 5xx may come after NinjaOne rotated): it runs once, under the
 *   {@link RefreshTokenStore}'s lock (one exchange at a time across every process sharing the
 *   store), reading the newest stored token first and saving the new one by compare-and-swap
 *   before its access token is used. After a failed exchange the stored token is read again,
 *   and only a token different from the one just presented is tried.
 * - One access token is shared by every call until shortly before it expires (never one token
 *   exchange per request); concurrent callers wait for the same token request; a process that
 *   waited for another one's refresh uses the access token that refresh stored; a 401 drops the
 *   token and retries the call once with a new one.
 * - Lists are keyset-paged with `pageSize` and `after=<last id>` (bare arrays, no totals); a short
 *   or empty page ends paging.
 * - Every method takes {@link CallOptions} last; token requests made for a call get the same.
 */
import type { HostnameLookup, VendorClient } from '../client.js';
import { parseNumericId } from '../../ids.js';
import type { Logger } from 'pino';
import { canonicalHostname } from '../../inventory/hostname.js';
import { ninjaBaseUrl } from '../base-url.js';
import {
  VendorError,
  VendorHttp,
  type CallOptions,
  type RetryPolicy,
  type VendorFailureKind,
  type VendorRequest,
  type VendorResponse,
} from '../http.js';
import type { VendorCallObserver } from '../../observability/metrics.js';
import {
  ninjaDeviceListSchema,
  ninjaDeviceSchema,
  ninjaDeviceSearchSchema,
  ninjaLocationListSchema,
  ninjaOrganizationListSchema,
  ninjaTokenSchema,
  type NinjaDevice,
} from './schema.js';

/** What a {@link RefreshTokenStore} holds for the chain. */
export interface StoredTokens {
  /** The newest refresh token of the chain; undefined when none is stored yet. */
  readonly refreshToken: string | undefined;
  /** The access token last obtained with the chain (shared by every holder of the store). */
  readonly accessToken?: { readonly value: string; readonly expiresAt: number } | undefined;
}

/** The store while its lock is held. */
export interface TokenLease {
  /** The stored tokens, read now. */
  read(): Promise<StoredTokens>;
  /**
   * Stores `next` only if the stored refresh token is still `spent` (undefined: none stored
   * yet) — compare-and-swap. Answers false, storing nothing, when it was replaced meanwhile.
   */
  swap(spent: string | undefined, next: { readonly refreshToken: string; readonly accessToken: string; readonly expiresAt: number }): Promise<boolean>;
}

/** Where the rotating refresh token lives between runs and processes (the database in production). */
export interface RefreshTokenStore {
  /**
   * Runs `work` while no other holder of this store — in this process or another one sharing
   * it — is inside `withLock`: read the stored token, exchange it, save the new one.
   */
  withLock<T>(work: (lease: TokenLease) => Promise<T>): Promise<T>;
}

/** Runs tasks one at a time, in call order (a failed task does not stop the queue). */
export function serialQueue(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<void> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };
}

/** A store that keeps the tokens in memory only; `current()` shows the stored refresh token. */
export function memoryTokenStore(initial?: string): RefreshTokenStore & { current(): string | undefined; put(token: string): void } {
  let stored: StoredTokens = { refreshToken: initial };
  const queue = serialQueue();
  const lease: TokenLease = {
    read: async () => stored,
    swap: async (spent, next) => {
      if (stored.refreshToken !== spent) return false;
      stored = { refreshToken: next.refreshToken, accessToken: { value: next.accessToken, expiresAt: next.expiresAt } };
      return true;
    },
  };
  return {
    withLock: (work) => queue(() => work(lease)),
    current: () => stored.refreshToken,
    put: (token) => {
      stored = { refreshToken: token };
    },
  };
}

export interface NinjaClientOptions {
  /** The instance base, e.g. `https://app.ninjarmm.com` (see `ninjaBaseUrl`: `/api`, `/v2` are dropped). */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Initial refresh token, used when the store holds none. */
  readonly refreshToken?: string | undefined;
  /** Where rotated tokens go; without one, a configured refresh token lives in memory. */
  readonly tokenStore?: RefreshTokenStore | undefined;
  /** Scopes asked for with `client_credentials` (default `monitoring`). */
  readonly scope?: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Retries of API calls and of the `client_credentials` grant; refresh-token exchanges are never retried. */
  readonly retry?: RetryPolicy;
  /** Metrics of every HTTP attempt (src/observability/metrics.ts). */
  readonly observer?: VendorCallObserver | undefined;
  /** Epoch milliseconds (default `Date.now`): decides when a token is renewed. */
  readonly now?: () => number;
}

/** Page size for full listings: large pages keep a 100,000-device walk to 100 requests. */
export const NINJA_PAGE_SIZE = 1000;
/** Devices asked for by one hostname search; the details of the matches take one more request. */
export const NINJA_SEARCH_LIMIT = 200;

/** HT, GO, CIPP and RZ use this path; `/oauth/token` also exists. */
const TOKEN_PATH = '/ws/oauth/token';
/** Renew this long before `expires_in` runs out, so a token never expires between check and use. */
const RENEW_EARLY_MS = 60_000;
/** Token failures (besides 401/403) that mean the credentials or the request for them are wrong, not that NinjaOne is down. */
const CREDENTIAL_FAILURES: ReadonlySet<VendorFailureKind> = new Set(['request', 'rejected', 'not_found', 'malformed']);
/** A refresh-token exchange is sent once: a retry could present a token NinjaOne already spent. */
const EXCHANGE_ONCE: RetryPolicy = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

interface CachedToken {
  readonly value: string;
  /** Epoch ms after which the token is renewed instead of used. */
  readonly renewAt: number;
}

type ListSchema<T> = { safeParse(body: unknown): { success: true; data: T[] } | { success: false } };

/** Remembers the last few values (secrets to redact, access tokens NinjaOne refused). */
class Recent {
  private readonly items: string[] = [];
  add(value: string): void {
    if (this.items.includes(value)) return;
    this.items.push(value);
    if (this.items.length > 8) this.items.shift();
  }
  has(value: string): boolean {
    return this.items.includes(value);
  }
  all(): readonly string[] {
    return this.items;
  }
}

/** Waits for `promise`, but stops at once when `signal` aborts (with the signal's reason). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error); // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors -- the call's own rejection, passed on unchanged
      },
    );
  });
}

export class NinjaClient implements VendorClient<NinjaDevice, number> {
  private readonly http: VendorHttp;
  /** The same, without retries: refresh-token exchanges only. */
  private readonly exchangeHttp: VendorHttp;
  private readonly store: RefreshTokenStore | undefined;
  private readonly now: () => number;
  private cached: CachedToken | null = null;
  private pending: { readonly token: Promise<CachedToken>; readonly signal: AbortSignal | undefined } | null = null;
  /** The newest refresh token this client knows (for redaction). */
  private refreshToken: string | undefined;
  /** Refresh tokens this client saw NinjaOne rotate away: never presented again, whatever the store says. */
  private readonly spent = new Recent();
  /** Tokens held earlier: still never shown, even once spent. */
  private readonly retired = new Recent();
  /** Access tokens NinjaOne answered 401 to: never adopted from the store again. */
  private readonly refused = new Recent();

  constructor(private readonly options: NinjaClientOptions) {
    this.now = options.now ?? Date.now;
    this.refreshToken = options.refreshToken;
    this.store = options.tokenStore ?? (options.refreshToken ? memoryTokenStore(options.refreshToken) : undefined);
    const common = {
      vendor: 'NinjaOne' as const,
      baseUrl: ninjaBaseUrl(options.baseUrl),
      timeoutMs: options.timeoutMs,
      logger: options.logger,
      secrets: () => [options.clientSecret, this.refreshToken ?? '', this.cached?.value ?? '', ...this.retired.all()],
      observer: options.observer,
    };
    this.http = new VendorHttp({ ...common, retry: options.retry });
    this.exchangeHttp = new VendorHttp({ ...common, retry: EXCHANGE_ONCE, connections: 2 });
  }

  // --- tokens --------------------------------------------------------------------------------

  /** The cached access token, or a new one; concurrent callers share one token request. */
  private async accessToken(options: CallOptions): Promise<string> {
    for (;;) {
      if (this.cached && this.now() < this.cached.renewAt) return this.cached.value;
      if (!this.pending) {
        const token = this.obtainToken(options).finally(() => {
          this.pending = null;
        });
        this.pending = { token, signal: options.signal };
      }
      const pending = this.pending;
      try {
        return (await unlessAborted(pending.token, options.signal)).value;
      } catch (error) {
        // The shared request was cancelled by the caller that started it, not by this one: ask again.
        if (pending.signal?.aborted && !options.signal?.aborted) continue;
        throw error;
      }
    }
  }

  private obtainToken(options: CallOptions): Promise<CachedToken> {
    const store = this.store;
    if (!store) return this.clientCredentials(options);
    return store.withLock((lease) => this.refreshUnderLock(lease, options));
  }

  private async clientCredentials(options: CallOptions): Promise<CachedToken> {
    const { clientId, clientSecret } = this.options;
    const form = { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: this.options.scope ?? 'monitoring' };
    // Nothing is spent by this grant, so it keeps the normal retries.
    const res = await this.tokenCall(this.http, form, options);
    const token = this.parseToken(res);
    return this.adopt(token.access_token, this.expiry(token.expires_in), 'client_credentials', false);
  }

  /**
   * One refresh, with the store locked: use an access token another holder obtained while this
   * one waited; otherwise exchange the newest stored refresh token — once — and save the
   * rotated one by compare-and-swap before its access token is used.
   */
  private async refreshUnderLock(lease: TokenLease, options: CallOptions): Promise<CachedToken> {
    const { logger } = this.options;
    const stored = await lease.read();
    const shared = stored.accessToken;
    if (shared && !this.refused.has(shared.value) && this.now() + RENEW_EARLY_MS < shared.expiresAt) {
      if (stored.refreshToken) this.learn(stored.refreshToken);
      logger.debug({ vendor: 'NinjaOne' }, 'vendor token taken from the token store');
      return this.adopt(shared.value, shared.expiresAt, 'stored', false);
    }
    let expected = stored.refreshToken;
    let presented = stored.refreshToken ?? this.options.refreshToken;
    if (stored.refreshToken !== undefined && this.spent.has(stored.refreshToken) && this.refreshToken !== undefined && !this.spent.has(this.refreshToken)) {
      // The store holds a token this client already spent (its save failed, or the row was
      // reset to the configured token): the live one is ours; it replaces the stored one.
      presented = this.refreshToken;
    }
    if (presented === undefined) return this.clientCredentials(options);
    const tried = new Set<string>();
    for (;;) {
      tried.add(presented);
      this.learn(presented);
      const { clientId, clientSecret } = this.options;
      const form = { grant_type: 'refresh_token', refresh_token: presented, client_id: clientId, client_secret: clientSecret };
      let token: ReturnType<NinjaClient['parseToken']>;
      try {
        token = this.parseToken(await this.tokenCall(this.exchangeHttp, form, options));
      } catch (error) {
        if (!(error instanceof VendorError)) throw error; // cancelled: the signal's reason
        // NinjaOne may have spent `presented` before this failure (a reply lost to a reset, a
        // gateway error after the backend answered): read the store again and try only a
        // token that has not been presented yet.
        const again = await lease.read();
        if (again.refreshToken !== undefined && !tried.has(again.refreshToken)) {
          logger.warn({ vendor: 'NinjaOne', kind: error.kind }, 'vendor token exchange failed; the token store holds a newer refresh token, using it');
          expected = again.refreshToken;
          presented = again.refreshToken;
          continue;
        }
        if (error.kind === 'unavailable' || error.kind === 'timeout') {
          throw new VendorError(
            'NinjaOne',
            error.kind,
            `${error.message}; the refresh token was not presented again (NinjaOne may already have rotated it)`,
            error.httpStatus,
            error.attempts,
          );
        }
        throw error;
      }
      const next = typeof token.refresh_token === 'string' && token.refresh_token !== '' ? token.refresh_token : presented;
      const rotated = next !== presented;
      const expiresAt = this.expiry(token.expires_in);
      if (rotated) {
        this.spent.add(presented);
        this.retired.add(presented);
        this.learn(next);
      }
      // Saved before the access token is used: a crash from here on never leaves only a spent token stored.
      const saved = await lease.swap(expected, { refreshToken: next, accessToken: token.access_token, expiresAt });
      if (!saved) {
        // Someone replaced the chain without the lock (an older hub version, a manual edit): theirs wins.
        const theirs = await lease.read();
        if (theirs.refreshToken) this.learn(theirs.refreshToken);
        logger.warn({ vendor: 'NinjaOne' }, 'vendor refresh token was replaced in the token store during the exchange; keeping the stored one');
      }
      return this.adopt(token.access_token, expiresAt, 'refresh_token', rotated);
    }
  }

  private async tokenCall(http: VendorHttp, form: Record<string, string>, options: CallOptions): Promise<VendorResponse> {
    try {
      return await this.send(http, { method: 'POST', path: TOKEN_PATH, form, operation: 'token' }, options);
    } catch (error) {
      // A refused token request means the credentials need attention; an outage or a timeout
      // keeps its own kind, so nobody rotates good credentials because NinjaOne was down.
      if (error instanceof VendorError && CREDENTIAL_FAILURES.has(error.kind)) {
        throw new VendorError('NinjaOne', 'auth', error.message, error.httpStatus, error.attempts);
      }
      throw error;
    }
  }

  private parseToken(res: VendorResponse) {
    const parsed = ninjaTokenSchema.safeParse(res.body);
    if (!parsed.success) throw new VendorError('NinjaOne', 'auth', 'NinjaOne token endpoint did not answer an access token', res.status, 1);
    return parsed.data;
  }

  /** Epoch ms at which a token answered now with `expires_in` runs out (default one hour). */
  private expiry(expiresIn: unknown): number {
    const ttlSeconds = Number(expiresIn ?? 3600);
    return this.now() + (Number.isFinite(ttlSeconds) && ttlSeconds > 0 ? ttlSeconds : 3600) * 1000;
  }

  private adopt(value: string, expiresAt: number, grant: string, rotated: boolean): CachedToken {
    const now = this.now();
    const lifetimeMs = Math.max(0, expiresAt - now);
    // Renew a minute early, but never use less than half the lifetime (short-lived test tokens).
    const renewAt = now + Math.max(lifetimeMs - RENEW_EARLY_MS, lifetimeMs / 2);
    this.options.logger.debug({ vendor: 'NinjaOne', grant, rotated, expiresInS: Math.round(lifetimeMs / 1000) }, 'vendor token obtained');
    if (this.cached && this.cached.value !== value) this.retired.add(this.cached.value);
    this.cached = { value, renewAt };
    return this.cached;
  }

  private learn(refreshToken: string): void {
    if (this.refreshToken !== undefined && this.refreshToken !== refreshToken) this.retired.add(this.refreshToken);
    this.refreshToken = refreshToken;
  }

  private send(http: VendorHttp, req: VendorRequest, options: CallOptions, allowNotFound = false): Promise<VendorResponse> {
    const sendOptions: CallOptions & { allowNotFound?: boolean } = { ...options, allowNotFound };
    return http.send(req, sendOptions);
  }

  /** A GET with the bearer token; a 401 (token expired or revoked early) renews it and retries once. */
  private async get(
    path: string,
    operation: string,
    query: Record<string, string | number> | undefined,
    options: CallOptions,
    allowNotFound = false,
  ): Promise<VendorResponse> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken(options);
      try {
        return await this.send(this.http, { method: 'GET', path, query, headers: { Authorization: `Bearer ${token}` }, operation }, options, allowNotFound);
      } catch (error) {
        if (attempt > 1 || !(error instanceof VendorError) || error.httpStatus !== 401) throw error;
        this.refused.add(token);
        // Another caller may already have replaced it; only drop the token that failed.
        if (this.cached?.value === token) {
          this.retired.add(token);
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
  private async *pages<T extends { id?: unknown }>(
    path: string,
    operation: string,
    schema: ListSchema<T>,
    pageSize: number,
    options: CallOptions,
  ): AsyncGenerator<T[], void, undefined> {
    let after: number | undefined;
    for (;;) {
      const res = await this.get(path, operation, after === undefined ? { pageSize } : { pageSize, after }, options);
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
  async *list(pageSize = NINJA_PAGE_SIZE, options: CallOptions = {}): AsyncGenerator<NinjaDevice[], void, undefined> {
    yield* this.pages('/v2/devices-detailed', 'devices-detailed', ninjaDeviceListSchema, pageSize, options);
  }

  /** Organization id → name, every page. A failure is an error, never an empty map. */
  async listOrganizations(options: CallOptions = {}): Promise<Map<number, string>> {
    return this.nameMap(this.pages('/v2/organizations', 'organizations', ninjaOrganizationListSchema, NINJA_PAGE_SIZE, options));
  }

  /** Location id → name across all organizations, every page. A failure is an error, never an empty map. */
  async listLocations(options: CallOptions = {}): Promise<Map<number, string>> {
    return this.nameMap(this.pages('/v2/locations', 'locations', ninjaLocationListSchema, NINJA_PAGE_SIZE, options));
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
  async findById(id: number, options: CallOptions = {}): Promise<NinjaDevice | null> {
    const res = await this.get(`/v2/device/${encodeURIComponent(String(id))}`, 'device', undefined, options, true);
    if (res.status === 404) return null;
    const parsed = ninjaDeviceSchema.safeParse(res.body);
    if (!parsed.success) throw new VendorError('NinjaOne', 'malformed', 'NinjaOne device did not answer a device record', res.status, 1);
    // A server answering for another id must not make us adopt the wrong device.
    return parseNumericId(parsed.data.id) === id ? parsed.data : null;
  }

  /**
   * Devices whose hostname is `hostname` (short or FQDN, any case), in the detailed shape: at
   * most two requests. NinjaOne's device search (`/v2/devices/search`, a substring search over
   * the device names) is asked for the canonical short name, so an FQDN and a short name find
   * each other; among the results, an exact case-insensitive match on `systemName` or
   * `dnsName` wins, and only if none matches exactly, a match on the canonical short name. The
   * details of the matches then come in one `devices-detailed` request filtered by id.
   *
   * The search endpoint is not in the reference this client follows, and a public NinjaOne
   * client notes that it does not accept client-credentials tokens; it answers then as an
   * auth failure (HUB_ERR_VENDOR_AUTH). Nothing in the hub calls this yet: it keeps the two
   * vendors' clients the same shape for a NinjaOne sync to come, which must check it first.
   */
  async findByHostname(hostname: string, options: CallOptions = {}): Promise<HostnameLookup<NinjaDevice>> {
    const wanted = hostname.trim().toLowerCase();
    const canonical = canonicalHostname(wanted);
    if (canonical === '') return { devices: [], matchedBy: null };
    const res = await this.get('/v2/devices/search', 'devices-search', { q: canonical, limit: NINJA_SEARCH_LIMIT }, options);
    const parsed = ninjaDeviceSearchSchema.safeParse(res.body);
    if (!parsed.success) throw new VendorError('NinjaOne', 'malformed', 'NinjaOne devices-search did not answer a device list', res.status, 1);
    const candidates = parsed.data.devices;
    const names = (d: NinjaDevice) => [d.systemName, d.dnsName].filter((n): n is string => typeof n === 'string' && n.trim() !== '');
    const exact = candidates.filter((d) => names(d).some((n) => n.trim().toLowerCase() === wanted));
    const matched = exact.length > 0 ? exact : candidates.filter((d) => names(d).some((n) => canonicalHostname(n) === canonical));
    const ids = [...new Set(matched.map((d) => parseNumericId(d.id)).filter((id): id is number => id !== null))];
    if (ids.length === 0) return { devices: [], matchedBy: null };
    const details = await this.get('/v2/devices-detailed', 'devices-detailed', { df: `id in (${ids.join(',')})`, pageSize: ids.length }, options);
    const rows = ninjaDeviceListSchema.safeParse(details.body);
    if (!rows.success) throw new VendorError('NinjaOne', 'malformed', 'NinjaOne devices-detailed did not answer a list', details.status, 1);
    // Only the ids asked for, in the search's order: a server ignoring `df` cannot add devices.
    const byId = new Map(rows.data.map((d) => [parseNumericId(d.id), d]));
    const devices = ids.map((id) => byId.get(id)).filter((d): d is NinjaDevice => d !== undefined);
    return { devices, matchedBy: devices.length === 0 ? null : exact.length > 0 ? 'hostname' : 'canonical_hostname' };
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.exchangeHttp.close()]);
  }
}
