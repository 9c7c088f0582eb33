/**
 * The one registry of error codes. Each code has an HTTP status and a one-line meaning
 * (documented in docs/api.md). Codes are append-only: clients match on them, never on text.
 */
export const ERROR_CODES = {
  HUB_ERR_VALIDATION: { status: 400, meaning: 'The request is malformed or a field is invalid.' },
  HUB_ERR_ROUTE_NOT_FOUND: { status: 404, meaning: 'No such endpoint.' },
  HUB_ERR_PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The request body is larger than allowed.' },
  HUB_ERR_HEADERS_TOO_LARGE: { status: 431, meaning: 'The request headers are larger than allowed.' },
  HUB_ERR_REQUEST_TIMEOUT: { status: 408, meaning: 'The request was not received in full within the time allowed.' },
  HUB_ERR_REQUEST_CANCELLED: { status: 499, meaning: 'The client disconnected before the answer; the work stopped.' },
  HUB_ERR_DEVICE_NOT_FOUND: { status: 404, meaning: 'The vendor has no device with the given identifiers (device page: the hub never stored it).' },
  HUB_ERR_VENDOR_AUTH: { status: 500, meaning: 'The vendor rejected our credentials (401/403).' },
  HUB_ERR_VENDOR_NOT_FOUND: { status: 500, meaning: 'The vendor answered 404 for a resource it should have.' },
  HUB_ERR_VENDOR_REJECTED: { status: 422, meaning: 'The vendor refused the change as invalid (e.g. 417 Invalid Computer Name).' },
  HUB_ERR_VENDOR_RATE_LIMITED: { status: 500, meaning: 'The vendor kept answering 429 after every retry.' },
  HUB_ERR_VENDOR_UNAVAILABLE: { status: 500, meaning: 'The vendor failed (5xx or connection error) after every retry.' },
  HUB_ERR_VENDOR_TIMEOUT: { status: 500, meaning: "The vendor did not answer within the configured timeout or the request's deadline." },
  HUB_ERR_VENDOR_MALFORMED: { status: 500, meaning: 'The vendor answered with data we cannot use.' },
  HUB_ERR_VENDOR_REQUEST: { status: 500, meaning: 'The vendor refused our request (another 4xx).' },
  HUB_ERR_HOSTNAME_TOO_BROAD: { status: 422, meaning: 'The hostname matches more vendor devices than one lookup reads; give the device id or the full hostname.' },
  HUB_ERR_COLLECTOR_BUSY: { status: 409, meaning: 'A run of that collector is already queued or running.' },
  HUB_ERR_RUN_NOT_FOUND: { status: 404, meaning: 'No collector batch or job with that id.' },
  HUB_ERR_RUN_ENDED: { status: 409, meaning: 'The job already ended; there is nothing to cancel.' },
  HUB_ERR_VENDOR_NOT_CONFIGURED: { status: 503, meaning: 'That vendor is not configured on this hub (set its variables and restart).' },
  HUB_ERR_DATABASE_MODE: { status: 409, meaning: 'The database is a demo database and this hub uses real vendors (or the reverse); nothing was written.' },
  HUB_ERR_VARIANCE_NOT_FOUND: { status: 404, meaning: 'No variance with that id.' },
  HUB_ERR_VARIANCE_TRANSITION: { status: 409, meaning: "The variance's status does not allow that action (e.g. resolving a resolved variance)." },
  HUB_ERR_VARIANCES_INCOMPLETE_DAY: { status: 409, meaning: 'A vendor has no completed collection for that day; the check was not run and nothing changed.' },
  HUB_ERR_VARIANCES_DATE_BEHIND: { status: 409, meaning: 'A check over a later day has already run; an earlier day cannot be checked any more.' },
  HUB_ERR_VARIANCE_REPORT_NOT_FOUND: { status: 404, meaning: 'No variance check completed over that day (or none has run yet), so there is no report of it.' },
  HUB_ERR_EXPORT_TOO_LARGE: { status: 422, meaning: 'More rows match than one export holds; narrow the filter.' },
  HUB_ERR_ORGANIZATION_LINK_NOT_FOUND: { status: 404, meaning: 'No organization link for that pair of organizations.' },
  HUB_ERR_DATABASE: { status: 503, meaning: 'The database failed or cannot be reached; any change was rolled back.' },
  HUB_ERR_SHUTTING_DOWN: { status: 503, meaning: 'The hub is shutting down and takes no new requests; try again (another instance, or this one after its restart).' },
  HUB_ERR_UNAUTHENTICATED: { status: 401, meaning: 'No API key or session was given, or it is unknown, revoked or expired.' },
  HUB_ERR_FORBIDDEN: { status: 403, meaning: "The key lacks the route's scope (named in `scope`), or a cookie-authenticated change came from another origin." },
  HUB_ERR_RATE_LIMITED: { status: 429, meaning: 'Too many requests from this key (or address); wait the Retry-After seconds.' },
  HUB_ERR_KEY_NOT_FOUND: { status: 404, meaning: 'No API key with that id.' },
  HUB_ERR_INTERNAL: { status: 500, meaning: 'An unexpected error; see the server log.' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** An error that carries a registry code. Its message is safe to show to API clients. */
export class HubError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HubError';
  }

  get status(): number {
    return statusOf(this.code);
  }
}

/** Node socket errors that mean "the database server cannot be reached". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * SQLSTATEs that mean the server is not taking work: class 08 (connection exception),
 * 57P01–57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too many
 * connections), 3D000 (the database does not exist).
 */
function unavailableSqlState(code: string): boolean {
  return /^08[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' || code === '3D000';
}

/**
 * The pool and driver errors that come without any code: pg's pool after `end()` or out of
 * connect time, a connection dropped mid-query, and PGlite closing or closed. Matching their
 * text is the only way to recognise them; nothing else is classified by message.
 */
const UNCODED_UNAVAILABLE = [
  /^Cannot use a pool after calling end on the pool$/,
  /^timeout exceeded when trying to connect$/,
  /^Connection terminated( unexpectedly| due to connection timeout)?$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^PGlite is clos(ed|ing)$/,
  /^driver has already been destroyed$/,
];

/**
 * Whether `err` says the database is unavailable (down, restarting, unreachable, closed) rather
 * than that one statement failed. The one place that decides it: the HTTP layer answers these
 * with 503 `HUB_ERR_DATABASE`, whatever endpoint hit them.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (depth > 5 || typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (UNREACHABLE_CODES.has(e.code) || unavailableSqlState(e.code))) return true;
  if (typeof e.message === 'string' && (e.code === undefined || e.code === null)) {
    const message = e.message;
    if (UNCODED_UNAVAILABLE.some((re) => re.test(message))) return true;
  }
  // Connecting to "localhost" tries every address; Node reports them together.
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
