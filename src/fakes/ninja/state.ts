/**
 * The fake NinjaOne's mutable state: id-sorted tables with keyset paging, the fault plan, and
 * the OAuth authority (clients, access tokens, rotating refresh tokens).
 */
import { randomBytes } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// Tables

/**
 * Rows kept sorted by their numeric id, so that `after=<id>` paging is a binary search plus a
 * slice: walking a 100,000-device fleet in pages of 1,000 stays cheap per page.
 */
export class IdTable<T extends { id: number }> {
  private rows: T[] = [];

  /** Takes `rows` as they are (no copy of each row); they are sorted by id. */
  load(rows: readonly T[]): void {
    this.rows = [...rows].sort((a, b) => a.id - b.id);
  }

  all(): readonly T[] {
    return this.rows;
  }

  get size(): number {
    return this.rows.length;
  }

  /** Index of the first row whose id is greater than `after`. */
  private firstAfter(after: number): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.rows[mid] as T).id <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(id: number): T | undefined {
    const i = this.firstAfter(id - 1);
    const row = this.rows[i];
    return row !== undefined && row.id === id ? row : undefined;
  }

  /** Inserts the row in id order, or replaces the row with the same id. */
  put(row: T): T {
    const i = this.firstAfter(row.id - 1);
    if (this.rows[i]?.id === row.id) this.rows[i] = row;
    else this.rows.splice(i, 0, row);
    return row;
  }

  remove(id: number): boolean {
    const i = this.firstAfter(id - 1);
    if (this.rows[i]?.id !== id) return false;
    this.rows.splice(i, 1);
    return true;
  }

  nextId(): number {
    return (this.rows[this.rows.length - 1]?.id ?? 0) + 1;
  }

  /**
   * Up to `limit` rows (all when null) with id > `after` that pass `keep`, in id order. Scans
   * forward from the binary-search position and stops as soon as the page is full.
   */
  page(after: number | null, limit: number | null, keep?: (row: T) => boolean): T[] {
    const start = after === null ? 0 : this.firstAfter(after);
    const max = limit ?? Infinity;
    if (!keep) return this.rows.slice(start, limit === null ? undefined : start + limit);
    const out: T[] = [];
    for (let i = start; i < this.rows.length && out.length < max; i++) {
      const row = this.rows[i] as T;
      if (keep(row)) out.push(row);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// OAuth 2.0 (vendor-apis.md §2.2)

export const NINJA_SCOPES = ['monitoring', 'management', 'control', 'offline_access'] as const;
export type NinjaScope = (typeof NINJA_SCOPES)[number];

export interface OAuthAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export type BearerCheck = { readonly ok: true; readonly scopes: ReadonlySet<string> } | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

const oauthError = (status: number, error: string, description: string): OAuthAnswer => ({ status, body: { error, error_description: description } });
const newToken = (): string => randomBytes(32).toString('base64url');

export interface OAuthOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly ttlSeconds: number;
  /** Issue a refresh token on `client_credentials` when `offline_access` is granted. */
  readonly refreshTokens: boolean;
  /** Epoch milliseconds; tests inject a clock to expire tokens without waiting. */
  readonly now: () => number;
}

/**
 * Access tokens expire after the configured TTL (on the injected clock); refresh tokens do not
 * expire but rotate: every `refresh_token` grant returns a new one and the one presented stops
 * working. Spent refresh tokens are remembered, so tests can prove a client never presents one.
 */
export class OAuthAuthority {
  private readonly access = new Map<string, { scopes: ReadonlySet<string>; expiresAt: number }>();
  private readonly refresh = new Map<string, ReadonlySet<string>>();
  private readonly spent = new Set<string>();
  private spentPresented = 0;

  constructor(private readonly options: OAuthOptions) {}

  /** Handles one token request; `form` is the parsed form body, `basic` an HTTP Basic header's credentials. */
  grant(form: URLSearchParams, basic: { id: string; secret: string } | null): OAuthAnswer {
    const clientId = form.get('client_id') ?? basic?.id;
    const clientSecret = form.get('client_secret') ?? basic?.secret;
    if (clientId !== this.options.clientId || clientSecret !== this.options.clientSecret) {
      return oauthError(401, 'invalid_client', 'Client authentication failed.');
    }
    const grantType = form.get('grant_type');
    const requested = (form.get('scope') ?? '').split(/\s+/).filter((s) => s !== '');
    if (grantType === 'client_credentials') {
      const scopes = requested.length === 0 ? ['monitoring'] : requested.filter((s) => (NINJA_SCOPES as readonly string[]).includes(s));
      if (scopes.length === 0) return oauthError(400, 'invalid_scope', 'None of the requested scopes is allowed for this client.');
      const withRefresh = this.options.refreshTokens && scopes.includes('offline_access');
      return this.issue(new Set(scopes), withRefresh);
    }
    if (grantType === 'refresh_token') {
      const presented = form.get('refresh_token') ?? '';
      const scopes = this.refresh.get(presented);
      if (!scopes) {
        if (this.spent.has(presented)) this.spentPresented++;
        return oauthError(400, 'invalid_grant', 'The refresh token is invalid, expired or was already used.');
      }
      this.refresh.delete(presented); // rotation: the presented token is spent
      this.spent.add(presented);
      const narrowed = requested.length === 0 ? scopes : new Set(requested.filter((s) => scopes.has(s)));
      if (narrowed.size === 0) return oauthError(400, 'invalid_scope', 'The requested scope exceeds the scope of the refresh token.');
      return this.issue(narrowed, true, scopes);
    }
    if (grantType === null || grantType === '') return oauthError(400, 'invalid_request', 'grant_type is required.');
    return oauthError(400, 'unsupported_grant_type', `grant_type ${grantType} is not supported.`);
  }

  private issue(scopes: ReadonlySet<string>, withRefresh: boolean, refreshScopes: ReadonlySet<string> = scopes): OAuthAnswer {
    const accessToken = newToken();
    this.access.set(accessToken, { scopes, expiresAt: this.options.now() + this.options.ttlSeconds * 1000 });
    const body: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.options.ttlSeconds,
      scope: [...scopes].join(' '),
    };
    if (withRefresh) {
      const refreshToken = newToken();
      this.refresh.set(refreshToken, refreshScopes);
      body.refresh_token = refreshToken;
    }
    return { status: 200, body };
  }

  /** A refresh token as an authorization-code flow would have left it (the fake has no login page). */
  issueRefreshToken(scope = 'monitoring offline_access'): string {
    const token = newToken();
    this.refresh.set(token, new Set(scope.split(/\s+/).filter((s) => s !== '')));
    return token;
  }

  /** Checks `Authorization: Bearer <token>` for a call that needs `scope`. */
  check(authorization: string | undefined, scope: NinjaScope): BearerCheck {
    const match = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return { ok: false, status: 401, message: 'Full authentication is required to access this resource.' };
    const token = this.access.get(match[1] as string);
    if (!token) return { ok: false, status: 401, message: 'Invalid access token.' };
    if (this.options.now() >= token.expiresAt) return { ok: false, status: 401, message: 'Access token expired.' };
    if (!token.scopes.has(scope)) return { ok: false, status: 403, message: `The access token lacks the ${scope} scope.` };
    return { ok: true, scopes: token.scopes };
  }

  /** Whether `token` is a refresh token that a `refresh_token` grant would accept now. */
  isLiveRefreshToken(token: string): boolean {
    return this.refresh.has(token);
  }

  /** How many `refresh_token` grants presented a token that an earlier grant had already spent. */
  spentRefreshTokenPresentations(): number {
    return this.spentPresented;
  }

  /** Every access token issued so far expires now; refresh tokens stay valid. */
  expireAllAccessTokens(): void {
    for (const token of this.access.values()) token.expiresAt = 0;
  }
}
