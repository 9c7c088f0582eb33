/**
 * A fake NinjaOne public API v2 (vendor-apis.md §2, checklist §3.2) for tests, benchmarks and
 * demo mode: real HTTP on a local port, OAuth 2.0 with rotating refresh tokens, deterministic
 * data from the shared catalogue, keyset paging, the `df` device filter, the device search,
 * scripted faults (including a reply lost after the request took effect), a request log, an
 * injectable clock, and an admin API (in-process and under `/__admin`).
 *
 * Vendor routes go through one dispatcher instead of Fastify's router so that faults and the
 * request log see every call, including unknown paths and wrong verbs, and so that the same
 * table serves both the `/v2/...` and `/api/v2/...` prefixes clients use.
 */
import { parseNumericId } from '../../ids.js';
import { STATUS_CODES } from 'node:http';
import { fastify, type FastifyReply, type FastifyRequest } from 'fastify';
import { CATALOGUE_NOW } from '../catalogue.js';
import { createRng } from '../rng.js';
import {
  BASIC_DEVICE_KEYS,
  baseDevice,
  baseLocation,
  baseOrganization,
  generateNinjaFleet,
  type FakeNinjaDevice,
  type FakeNinjaLocation,
  type FakeNinjaOrganization,
} from './data.js';
import { registerAdminRoutes } from './admin-routes.js';
import { errorBody, NinjaError, pathId } from './errors.js';
import { DeviceFilterError, parseDeviceFilter, type DevicePredicate } from './filter.js';
import { answer, Delays, loggedHeaders } from '../http.js';
import { applyFault, FaultPlan, type FakeFault } from '../faults.js';
import { IdTable, OAuthAuthority } from './state.js';

export type NinjaOperation =
  | 'token'
  | 'devices'
  | 'devices-detailed'
  | 'devices-search'
  | 'device'
  | 'device-custom-fields'
  | 'organization-devices'
  | 'organizations'
  | 'organizations-detailed'
  | 'organization'
  | 'locations'
  | 'organization-locations';

export type { FakeFault };

export interface FakeRequestLogEntry {
  method: string;
  /** The path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Null for a path NinjaOne does not serve. */
  operation: NinjaOperation | null;
  /** `authorization` is replaced by `[redacted]`. */
  headers: Record<string, string | string[] | undefined>;
  /** Token requests: the form fields, with `client_secret`, `refresh_token` and `code` redacted. */
  body: unknown;
  /** Null when the connection was reset instead of answered. */
  status: number | null;
  at: string;
}

export interface FakeNinjaOptions {
  port?: number;
  host?: string;
  seed?: number;
  /** Catalogue machines to render (default 700); ignored when `devices` is given. */
  fleetSize?: number;
  /** Explicit devices instead of generated ones; missing keys get defaults, keys set to undefined are omitted. */
  devices?: Partial<FakeNinjaDevice>[];
  /**
   * Add the catalogue's labelled pitfall cases (default false); ordinary machines are then
   * consistent with the ThreatLocker fake's (catalogue.ts). Ignored when `devices` is given.
   */
  pitfalls?: boolean;
  /** The instant the data is "as of": generated times and added devices (default: the catalogue's fixed date). Tokens use `now`. */
  asOf?: Date;
  /** Default: derived from the seed. */
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of access tokens (default 3600, as NinjaOne sends). */
  tokenTtlSeconds?: number;
  /** Issue a refresh token on `client_credentials` when `offline_access` is requested (default false). */
  refreshTokens?: boolean;
  /**
   * Rows returned when a list request has no `pageSize` (default null: everything). NinjaOne does
   * not document it; ESH relies on "everything", other clients saw a cap.
   */
  unpagedLimit?: number | null;
  /** The fake's clock in epoch milliseconds (default `Date.now`): access tokens expire on it. */
  now?: () => number;
}

export interface FakeNinjaAdmin {
  /** Back to the initial data; faults and the request log are cleared (issued tokens stay valid). */
  reset(): void;
  /** Shallow copies in id order (nested `os`/`system` objects are shared: change them through `update`). */
  list(): FakeNinjaDevice[];
  /** A deep copy. */
  get(id: number): FakeNinjaDevice | undefined;
  /** Fills defaults (the next free id, the first organization and location…) and returns the stored row. */
  add(row?: Partial<FakeNinjaDevice>): FakeNinjaDevice;
  /** Merges `patch` into the row (top-level keys; `undefined` removes a key); the id never changes. */
  update(id: number, patch: Partial<FakeNinjaDevice>): FakeNinjaDevice | undefined;
  remove(id: number): boolean;
  setOffline(id: number, offline: boolean): FakeNinjaDevice | undefined;
  /** Replaces what `/v2/device/{id}/custom-fields` answers for the device. */
  setCustomFields(id: number, fields: Record<string, unknown>): boolean;
  organizations(): FakeNinjaOrganization[];
  locations(): FakeNinjaLocation[];
  addOrganization(row?: Partial<FakeNinjaOrganization>): FakeNinjaOrganization;
  /** `organizationId` must name an existing organization. */
  addLocation(row: Partial<FakeNinjaLocation> & { organizationId: number }): FakeNinjaLocation;
  /** A refresh token as the authorization-code flow would have produced (default scope `monitoring offline_access`). */
  issueRefreshToken(scope?: string): string;
  /** Every access token issued so far expires now, e.g. between two page requests. */
  expireAllTokens(): void;
  /** Whether a `refresh_token` grant would accept `token` now (it was issued and not yet spent). */
  isLiveRefreshToken(token: string): boolean;
  /** How many refresh-token grants presented a token an earlier grant had already spent. */
  spentRefreshTokenPresentations(): number;
  /**
   * The next `count` requests of `operation` take effect (a token grant rotates the refresh
   * token) but their reply is lost: the connection is reset instead of answered.
   */
  loseReplies(operation: NinjaOperation, count?: number): void;
  /** Ends every pending `delay` fault now (the delayed requests are then served). */
  releaseDelays(): void;
  injectFault(fault: FakeFault): void;
  clearFaults(): void;
  requests(): FakeRequestLogEntry[];
  requestCount(operation?: NinjaOperation): number;
  tokenRequestCount(): number;
  clearRequests(): void;
}

export interface FakeNinja {
  /** `http://host:port`: the instance base, like `https://app.ninjarmm.com`. */
  readonly url: string;
  /** The same as `url`; resources are under `/v2` and `/api/v2`, the token at `/ws/oauth/token`. */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly admin: FakeNinjaAdmin;
  close(): Promise<void>;
}

/** Demo mode runs for days: the request log keeps only the most recent calls. */
const MAX_LOG = 10_000;
const REDACTED_FORM_FIELDS = new Set(['client_secret', 'refresh_token', 'code']);
/** Device keys the device search looks in, in the order a match is reported. */
const SEARCH_KEYS = ['systemName', 'dnsName', 'displayName', 'netbiosName'] as const;

const GATEWAY_PAGE = (status: number): string =>
  `<html>\r\n<head><title>${status} ${STATUS_CODES[status]}</title></head>\r\n<body>\r\n<center><h1>${status} ${STATUS_CODES[status]}</h1></center>\r\n</body>\r\n</html>\r\n`;

/** The body a `status` fault sends when the test gives none: what NinjaOne or its gateway sends. */
function defaultFaultBody(status: number, operation: NinjaOperation): unknown {
  if (status === 502 || status === 503 || status === 504) return GATEWAY_PAGE(status);
  if (operation === 'token' && status < 500) return { error: status === 429 ? 'rate_limited' : 'invalid_request', error_description: STATUS_CODES[status] ?? 'Error' };
  return errorBody(STATUS_CODES[status] ?? 'Error');
}

/**
 * What `/v2/device/{id}/custom-fields` answers when no test set it: Windows agents report the
 * TPM/Secure Boot fields (strings, as NinjaOne stores them); everything else has none.
 */
function defaultCustomFields(device: FakeNinjaDevice): Record<string, unknown> {
  if (device.deviceType !== 'AGENT' || !device.nodeClass.startsWith('WINDOWS')) return {};
  if (device.id % 23 === 0) return { tpmversion: '', secureboot: '', tpmenabled: '' };
  if (device.id % 17 === 0) return { tpmversion: '0.0', secureboot: 'false', tpmenabled: 'false' };
  return { tpmversion: '2.0, 0, 1.38', secureboot: 'true', tpmenabled: 'true' };
}

function basic(device: FakeNinjaDevice): Partial<FakeNinjaDevice> {
  const out: Record<string, unknown> = {};
  for (const key of BASIC_DEVICE_KEYS) if (device[key] !== undefined) out[key] = device[key];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Request reading

type Query = Readonly<Record<string, string>>;
interface Call {
  readonly query: Query;
  /** Path parameter (a numeric id) when the route has one. */
  readonly id: number;
}

function integerParam(query: Query, name: string): number | null {
  const raw = query[name];
  if (raw === undefined || raw === '') return null;
  const n = parseNumericId(raw);
  if (n === null) throw new NinjaError(400, `Parameter ${name} must be a non-negative integer, got "${raw}".`);
  return n;
}

const basicAuth = (header: string | undefined): { id: string; secret: string } | null => {
  const m = /^basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    // RFC 6749 §2.3.1: both parts are form-encoded before being joined.
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
};

// ---------------------------------------------------------------------------------------------
// The server

export async function startFakeNinja(opts: FakeNinjaOptions = {}): Promise<FakeNinja> {
  const { port = 0, host = '127.0.0.1', seed = 1, fleetSize = 700, tokenTtlSeconds = 3600, refreshTokens = false, unpagedLimit = null } = opts;
  const credentials = createRng(seed ^ 0x6f61);
  const clientId = opts.clientId ?? credentials.hex(32);
  const clientSecret = opts.clientSecret ?? credentials.hex(48);
  const fleet = generateNinjaFleet({ seed, size: opts.devices ? 0 : fleetSize, now: opts.asOf, pitfalls: opts.pitfalls === true && !opts.devices });
  const devices = new IdTable<FakeNinjaDevice>();
  const organizations = new IdTable<FakeNinjaOrganization>();
  const locations = new IdTable<FakeNinjaLocation>();
  const customFields = new Map<number, Record<string, unknown>>();
  const oauth = new OAuthAuthority({ clientId, clientSecret, ttlSeconds: tokenTtlSeconds, refreshTokens, now: opts.now ?? Date.now });
  const lostReplies = new Map<NinjaOperation, number>();
  const faults = new FaultPlan();
  const delays = new Delays();
  const { wait } = delays;
  let log: FakeRequestLogEntry[] = [];

  const addDevice = (partial: Partial<FakeNinjaDevice> = {}): FakeNinjaDevice => {
    const id = partial.id ?? devices.nextId();
    if (devices.get(id)) throw new NinjaError(409, `Device ${id} already exists.`);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the rule ignores that the assertion types the `||` result
    const org = (partial.organizationId !== undefined && organizations.get(partial.organizationId)) || (organizations.all()[0] as FakeNinjaOrganization);
    const location =
      (partial.locationId !== undefined && locations.get(partial.locationId)) ||
      locations.all().find((l) => l.organizationId === org.id) ||
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- as above
      (locations.all()[0] as FakeNinjaLocation);
    const name = partial.systemName ?? `ADDED-${String(id).padStart(6, '0')}`;
    return devices.put({ ...baseDevice(id, org.id, location.id, name, (opts.asOf ?? CATALOGUE_NOW).getTime()), ...partial, id });
  };
  const changeDevice = (id: number, patch: Partial<FakeNinjaDevice>): FakeNinjaDevice | undefined => {
    const row = devices.get(id);
    return row && { ...devices.put({ ...row, ...patch, id: row.id }) };
  };

  const admin: FakeNinjaAdmin = {
    reset() {
      organizations.load(fleet.organizations);
      locations.load(fleet.locations);
      devices.load(opts.devices ? [] : fleet.devices);
      opts.devices?.forEach((row) => addDevice(row));
      customFields.clear();
      faults.clear();
      lostReplies.clear();
      log = [];
    },
    list: () => devices.all().map((d) => ({ ...d })),
    get: (id) => {
      const row = devices.get(id);
      return row && structuredClone(row);
    },
    add: (row) => ({ ...addDevice(row) }),
    update: changeDevice,
    remove: (id) => devices.remove(id),
    setOffline: (id, offline) => changeDevice(id, { offline }),
    setCustomFields: (id, fields) => {
      if (!devices.get(id)) return false;
      customFields.set(id, { ...fields });
      return true;
    },
    organizations: () => organizations.all().map((o) => ({ ...o })),
    locations: () => locations.all().map((l) => ({ ...l })),
    addOrganization: (row = {}) => {
      const id = row.id ?? organizations.nextId();
      if (organizations.get(id)) throw new NinjaError(409, `Organization ${id} already exists.`);
      return { ...organizations.put({ ...baseOrganization(id, row.name ?? `Organization ${id}`), ...row, id }) };
    },
    addLocation: (row) => {
      if (!organizations.get(row.organizationId)) throw new NinjaError(404, `Organization ${row.organizationId} not found.`);
      const id = row.id ?? locations.nextId();
      if (locations.get(id)) throw new NinjaError(409, `Location ${id} already exists.`);
      return { ...locations.put({ ...baseLocation(id, row.organizationId, row.name ?? `Location ${id}`), ...row, id }) };
    },
    issueRefreshToken: (scope) => oauth.issueRefreshToken(scope),
    expireAllTokens: () => oauth.expireAllAccessTokens(),
    isLiveRefreshToken: (token) => oauth.isLiveRefreshToken(token),
    spentRefreshTokenPresentations: () => oauth.spentRefreshTokenPresentations(),
    loseReplies: (operation, count = 1) => {
      lostReplies.set(operation, (lostReplies.get(operation) ?? 0) + count);
    },
    releaseDelays: () => delays.releaseAll(),
    injectFault: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    requests: () => log.map((e) => ({ ...e })),
    requestCount: (operation) => log.filter((e) => operation === undefined || e.operation === operation).length,
    tokenRequestCount: () => log.filter((e) => e.operation === 'token').length,
    clearRequests: () => {
      log = [];
    },
  };
  admin.reset();

  // --- NinjaOne operations -----------------------------------------------------------------

  /** `pageSize` caps the page (absent: `unpagedLimit`); `after` is the last id of the previous page. */
  const pageArgs = (query: Query): { after: number | null; size: number | null } => {
    const size = integerParam(query, 'pageSize');
    if (size === 0) throw new NinjaError(400, 'Parameter pageSize must be at least 1.');
    return { after: integerParam(query, 'after'), size: size ?? unpagedLimit };
  };
  const pageOf = <T extends { id: number }>(table: IdTable<T>, query: Query, keep?: (row: T) => boolean): T[] => {
    const { after, size } = pageArgs(query);
    return table.page(after, size, keep);
  };
  const deviceFilter = (query: Query): DevicePredicate | undefined => {
    const df = query.df;
    if (df === undefined || df.trim() === '') return undefined;
    try {
      return parseDeviceFilter(df);
    } catch (error) {
      if (error instanceof DeviceFilterError) throw new NinjaError(400, `Invalid device filter: ${error.message}`);
      throw error;
    }
  };
  const listDevices = (query: Query, keep?: DevicePredicate): FakeNinjaDevice[] => {
    const filter = deviceFilter(query);
    return pageOf(devices, query, keep && filter ? (d) => keep(d) && filter(d) : (keep ?? filter));
  };
  /**
   * `GET /v2/devices/search?q=&limit=`: a case-insensitive substring search over the device's
   * names, answered as `{query, devices}` with basic device records, each saying which key
   * matched (`matchAttr`, `matchAttrValue`). Without `limit` every match comes back.
   */
  const searchDevices = (query: Query): { query: string; devices: Record<string, unknown>[] } => {
    const q = (query.q ?? '').trim();
    if (q === '') throw new NinjaError(400, 'Parameter q is required.');
    const limit = integerParam(query, 'limit');
    if (limit === 0) throw new NinjaError(400, 'Parameter limit must be at least 1.');
    const needle = q.toLowerCase();
    const found: Record<string, unknown>[] = [];
    for (const device of devices.all()) {
      if (limit !== null && found.length >= limit) break;
      const key = SEARCH_KEYS.find((k) => typeof device[k] === 'string' && (device[k]).toLowerCase().includes(needle));
      if (key) found.push({ ...basic(device), matchAttr: key, matchAttrValue: device[key] });
    }
    return { query: q, devices: found };
  };
  const findOrganization = (id: number): FakeNinjaOrganization => {
    const org = organizations.get(id);
    if (!org) throw new NinjaError(404, `Organization ${id} not found.`);
    return org;
  };
  const findDevice = (id: number): FakeNinjaDevice => {
    const device = devices.get(id);
    if (!device) throw new NinjaError(404, `Device ${id} not found.`);
    return device;
  };
  const detailedOrganization = (org: FakeNinjaOrganization) => ({
    ...org,
    locations: locations.all().filter((l) => l.organizationId === org.id),
    policies: [
      { nodeRoleId: 1, policyId: 101 },
      { nodeRoleId: 2, policyId: 102 },
    ],
    settings: { trayicon: { product: 'trayicon', enabled: true }, splashtop: { product: 'splashtop', enabled: false }, teamviewer: { product: 'teamviewer', enabled: false }, backup: { product: 'backup', enabled: false }, psa: { product: 'psa', enabled: false } },
  });

  type Handler = (call: Call) => unknown;
  const ROUTES: readonly { pattern: RegExp; operation: Exclude<NinjaOperation, 'token'>; handle: Handler }[] = [
    { pattern: /^\/v2\/devices$/, operation: 'devices', handle: ({ query }) => listDevices(query).map(basic) },
    { pattern: /^\/v2\/devices-detailed$/, operation: 'devices-detailed', handle: ({ query }) => listDevices(query) },
    { pattern: /^\/v2\/devices\/search$/, operation: 'devices-search', handle: ({ query }) => searchDevices(query) },
    { pattern: /^\/v2\/device\/([^/]+)$/, operation: 'device', handle: ({ id }) => findDevice(id) },
    { pattern: /^\/v2\/device\/([^/]+)\/custom-fields$/, operation: 'device-custom-fields', handle: ({ id }) => customFields.get(id) ?? defaultCustomFields(findDevice(id)) },
    {
      pattern: /^\/v2\/organization\/([^/]+)\/devices$/,
      operation: 'organization-devices',
      handle: ({ id, query }) => {
        const org = findOrganization(id);
        return listDevices(query, (d) => d.organizationId === org.id).map(basic);
      },
    },
    { pattern: /^\/v2\/organizations$/, operation: 'organizations', handle: ({ query }) => pageOf(organizations, query) },
    { pattern: /^\/v2\/organizations-detailed$/, operation: 'organizations-detailed', handle: ({ query }) => pageOf(organizations, query).map(detailedOrganization) },
    { pattern: /^\/v2\/organization\/([^/]+)$/, operation: 'organization', handle: ({ id }) => detailedOrganization(findOrganization(id)) },
    { pattern: /^\/v2\/locations$/, operation: 'locations', handle: ({ query }) => pageOf(locations, query) },
    {
      pattern: /^\/v2\/organization\/([^/]+)\/locations$/,
      operation: 'organization-locations',
      handle: ({ id, query }) => {
        const org = findOrganization(id);
        return pageOf(locations, query, (l) => l.organizationId === org.id);
      },
    },
  ];
  const TOKEN_PATHS = new Set(['/ws/oauth/token', '/oauth/token']);

  /** Both `/v2/...` and `/api/v2/...` are in use (vendor-apis.md §2.1); a trailing slash is tolerated. */
  const resolve = (path: string): { operation: NinjaOperation; route?: (typeof ROUTES)[number]; param?: string } | undefined => {
    const p = path.replace(/\/+$/, '') || '/';
    if (TOKEN_PATHS.has(p)) return { operation: 'token' };
    const api = p.startsWith('/api/v2/') ? p.slice(4) : p;
    for (const route of ROUTES) {
      const m = route.pattern.exec(api);
      if (m) return { operation: route.operation, route, ...(m[1] !== undefined ? { param: m[1] } : {}) };
    }
    return undefined;
  };

  const handleToken = (request: FastifyRequest, form: URLSearchParams | null): { status: number; body: unknown; headers?: Record<string, string> } => {
    if (request.method !== 'POST') return { status: 405, body: { error: 'invalid_request', error_description: 'Use POST.' }, headers: { allow: 'POST' } };
    if (form === null) {
      return { status: 400, body: { error: 'invalid_request', error_description: 'The token endpoint accepts application/x-www-form-urlencoded bodies only.' } };
    }
    const answer = oauth.grant(form, basicAuth(request.headers.authorization));
    return { status: answer.status, body: answer.body, headers: { 'cache-control': 'no-store', pragma: 'no-cache' } };
  };

  const handleVendor = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const [rawPath = '', rawQuery = ''] = request.url.split('?', 2);
    const query: Record<string, string> = Object.fromEntries(new URLSearchParams(rawQuery));
    const resolved = resolve(rawPath);
    const raw = typeof request.body === 'string' ? request.body : '';
    const isForm = /^application\/x-www-form-urlencoded\b/i.test(String(request.headers['content-type'] ?? ''));
    const form = isForm ? new URLSearchParams(raw) : null;
    const entry: FakeRequestLogEntry = {
      method: request.method,
      path: rawPath,
      query,
      operation: resolved?.operation ?? null,
      headers: loggedHeaders(request.headers),
      body: form ? Object.fromEntries([...form].map(([k, v]) => [k, REDACTED_FORM_FIELDS.has(k) ? '[redacted]' : v])) : raw === '' ? null : '[non-form body]',
      status: null,
      at: new Date().toISOString(),
    };
    log.push(entry);
    if (log.length > MAX_LOG) log.shift();
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): FastifyReply =>
      answer(reply, entry, status, payload, headers);
    /** The request took effect; a scripted lost reply resets the connection instead of answering. */
    const deliver = (status: number, payload: unknown, headers: Record<string, string> = {}): FastifyReply => {
      const lose = resolved ? (lostReplies.get(resolved.operation) ?? 0) : 0;
      if (lose > 0 && resolved) {
        lostReplies.set(resolved.operation, lose - 1);
        reply.hijack();
        request.raw.socket.destroy();
        return reply;
      }
      return send(status, payload, headers);
    };
    try {
      if (!resolved) throw new NinjaError(404, `No endpoint matches ${rawPath}.`);
      const fault = faults.take(resolved.operation);
      const defaultBody = (status: number) => defaultFaultBody(status, resolved.operation);
      if ((await applyFault(fault, { request, reply, send, wait, defaultBody })) === 'served') return reply;
      if (!resolved.route) {
        const answer = handleToken(request, form);
        return deliver(answer.status, answer.body, answer.headers);
      }
      if (request.method !== 'GET') throw new NinjaError(405, `Request method '${request.method}' is not supported.`, { allow: 'GET' });
      const auth = oauth.check(request.headers.authorization, 'monitoring');
      if (!auth.ok) {
        throw new NinjaError(auth.status, auth.message, auth.status === 401 ? { 'www-authenticate': 'Bearer error="invalid_token"' } : {});
      }
      const id = resolved.param === undefined ? 0 : pathId(resolved.param);
      return deliver(200, resolved.route.handle({ query, id }));
    } catch (error) {
      if (error instanceof NinjaError) return send(error.status, errorBody(error.message), error.headers);
      return send(500, errorBody('An unexpected error occurred.'));
    }
  };

  // --- HTTP ----------------------------------------------------------------------------------

  const app = fastify({ logger: false, forceCloseConnections: true, exposeHeadRoutes: false });
  // Bodies are read as text and parsed by the handlers, so that a token request in JSON gets
  // NinjaOne's error and still reaches the request log.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, payload, done) => done(null, payload));
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error instanceof NinjaError ? error.status : (error.statusCode ?? 500);
    void reply.code(status).send(errorBody(error.message));
  });
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'], url: '/*', handler: handleVendor });
  registerAdminRoutes(app, admin);

  await app.listen({ port, host });
  const address = app.server.address();
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${typeof address === 'object' && address ? address.port : port}`;
  return {
    url,
    baseUrl: url,
    clientId,
    clientSecret,
    admin,
    async close() {
      delays.releaseAll();
      await app.close();
    },
  };
}
