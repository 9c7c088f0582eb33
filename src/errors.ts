/**
 * The one registry of error codes. Each code has an HTTP status and a one-line meaning
 * (documented in docs/api.md). Codes are append-only: clients match on them, never on text.
 */
export const ERROR_CODES = {
  HUB_ERR_VALIDATION: { status: 400, meaning: 'The request is malformed or a field is invalid.' },
  HUB_ERR_ROUTE_NOT_FOUND: { status: 404, meaning: 'No such endpoint.' },
  HUB_ERR_PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The request body is larger than allowed.' },
  HUB_ERR_DEVICE_NOT_FOUND: { status: 404, meaning: 'The vendor has no device with the given identifiers.' },
  HUB_ERR_VENDOR_AUTH: { status: 500, meaning: 'The vendor rejected our credentials (401/403).' },
  HUB_ERR_VENDOR_NOT_FOUND: { status: 500, meaning: 'The vendor answered 404 for a resource it should have.' },
  HUB_ERR_VENDOR_REJECTED: { status: 422, meaning: 'The vendor refused the change as invalid (e.g. 417 Invalid Computer Name).' },
  HUB_ERR_VENDOR_RATE_LIMITED: { status: 500, meaning: 'The vendor kept answering 429 after every retry.' },
  HUB_ERR_VENDOR_UNAVAILABLE: { status: 500, meaning: 'The vendor failed (5xx or connection error) after every retry.' },
  HUB_ERR_VENDOR_TIMEOUT: { status: 500, meaning: 'The vendor did not answer within the configured timeout.' },
  HUB_ERR_VENDOR_MALFORMED: { status: 500, meaning: 'The vendor answered with data we cannot use.' },
  HUB_ERR_VENDOR_REQUEST: { status: 500, meaning: 'The vendor refused our request (another 4xx).' },
  HUB_ERR_COLLECTOR_BUSY: { status: 409, meaning: 'A run of that collector is already queued or running.' },
  HUB_ERR_RUN_NOT_FOUND: { status: 404, meaning: 'No collector batch or job with that id.' },
  HUB_ERR_RUN_ENDED: { status: 409, meaning: 'The job already ended; there is nothing to cancel.' },
  HUB_ERR_VENDOR_NOT_CONFIGURED: { status: 503, meaning: 'That vendor is not configured on this hub (set its variables and restart).' },
  HUB_ERR_DATABASE_MODE: { status: 409, meaning: 'The database is a demo database and this hub uses real vendors (or the reverse); nothing was written.' },
  HUB_ERR_DATABASE: { status: 500, meaning: 'The database failed; the change was rolled back.' },
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
