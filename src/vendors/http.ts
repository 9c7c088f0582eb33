/**
 * Shared vendor HTTP: one keep-alive connection pool per vendor client, a per-attempt timeout,
 * bounded retries with exponential backoff and full jitter, `Retry-After` honoured (seconds or
 * HTTP date, capped), and typed failures whose messages never contain credentials.
 *
 * The retry loop is written here rather than taken from undici's RetryAgent because that agent
 * has no jitter, retries only idempotent verbs (ThreatLocker searches are POSTs), and offers no
 * hook to log or count attempts; p-retry cannot take its delay from a response header.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Logger } from 'pino';
import { HubError, type ErrorCode } from '../errors.js';

export type VendorName = 'ThreatLocker' | 'NinjaOne';

export type VendorFailureKind =
  | 'auth'
  | 'not_found'
  | 'rejected'
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'malformed'
  | 'request';

const KIND_CODES: Record<VendorFailureKind, ErrorCode> = {
  auth: 'HUB_ERR_VENDOR_AUTH',
  not_found: 'HUB_ERR_VENDOR_NOT_FOUND',
  rejected: 'HUB_ERR_VENDOR_REJECTED',
  rate_limited: 'HUB_ERR_VENDOR_RATE_LIMITED',
  unavailable: 'HUB_ERR_VENDOR_UNAVAILABLE',
  timeout: 'HUB_ERR_VENDOR_TIMEOUT',
  malformed: 'HUB_ERR_VENDOR_MALFORMED',
  request: 'HUB_ERR_VENDOR_REQUEST',
};

/** A vendor call that failed for a known reason. `message` is safe for API clients and logs. */
export class VendorError extends HubError {
  constructor(
    readonly vendor: VendorName,
    readonly kind: VendorFailureKind,
    message: string,
    readonly httpStatus: number | undefined,
    readonly attempts: number,
  ) {
    super(KIND_CODES[kind], message, { vendor, kind, http_status: httpStatus ?? null, attempts });
    this.name = 'VendorError';
  }
}

export interface RetryPolicy {
  /** Total attempts including the first (≥ 1). */
  readonly maxAttempts: number;
  /** First backoff step; doubles each retry, then a random point in [0, step] is used (full jitter). */
  readonly baseDelayMs: number;
  /** Upper bound for any single wait, including one asked for by `Retry-After`. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 30_000 };

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Transport errors worth another attempt: the peer dropped or refused the connection. */
const RETRYABLE_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

export interface VendorHttpOptions {
  readonly vendor: VendorName;
  /** Prefix for every path, without a trailing slash. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly retry?: RetryPolicy;
  readonly logger: Logger;
  /** Values that must never appear in an error message or log line (API keys, tokens). */
  readonly secrets?: () => readonly string[];
  /** Connections kept open to the vendor (default 16). */
  readonly connections?: number;
}

/**
 * How a caller bounds a vendor call (every client method takes it last): cancellation from the
 * request, run or shutdown, and an overall deadline that retries and waits count against.
 */
export interface CallOptions {
  /** Aborts the call at once, including an attempt in flight or a wait between attempts. */
  readonly signal?: AbortSignal | undefined;
  /** Epoch milliseconds (`Date.now()` scale) by which the whole operation must be over. */
  readonly deadline?: number | undefined;
}

export interface VendorRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path after the base URL, starting with `/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Serialized as JSON. */
  readonly json?: unknown;
  /** Serialized as `application/x-www-form-urlencoded`. */
  readonly form?: Readonly<Record<string, string>>;
  /** A short name for logs ("ComputerGetByAllParameters"). */
  readonly operation: string;
}

export interface VendorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON; `null` for an empty body or a literal `null`. */
  readonly body: unknown;
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Full-jitter exponential backoff: a random wait in [0, base·2^(retry-1)], capped. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(random() * ceiling);
}

const invalidJson = Symbol('invalid-json');

function headerValue(headers: VendorResponse['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class VendorHttp {
  private readonly agent: Agent;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: VendorHttpOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.agent = new Agent({
      connections: options.connections ?? 16,
      keepAliveTimeout: 10_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connectTimeout: Math.min(options.timeoutMs, 10_000),
    });
  }

  get vendor(): VendorName {
    return this.options.vendor;
  }

  /** Replaces every configured secret in `text` with `[redacted]`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.options.secrets?.() ?? []) {
      if (secret.length >= 4) out = out.split(secret).join('[redacted]');
    }
    return out;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /**
   * Sends a request, retrying transient failures. Resolves with any status below 400 (and with
   * a 404 when `allowNotFound` is set); throws {@link VendorError} for everything else.
   */
  async send(req: VendorRequest, opts: { allowNotFound?: boolean } = {}): Promise<VendorResponse> {
    const { vendor, logger } = this.options;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let outcome: { error: VendorError; retryable: boolean; waitMs?: number | undefined };
      try {
        const response = await this.once(req);
        const ms = Math.round(performance.now() - started);
        logger.debug({ vendor, op: req.operation, status: response.status, ms, attempt }, 'vendor call');
        if (response.status < 400 || (response.status === 404 && opts.allowNotFound)) return response;
        outcome = this.classifyStatus(req, response, attempt);
      } catch (err) {
        outcome = this.classifyTransport(req, err, attempt);
      }
      if (!outcome.retryable || attempt >= this.retry.maxAttempts) throw outcome.error;
      const wait = Math.min(this.retry.maxDelayMs, outcome.waitMs ?? backoffDelay(this.retry, attempt));
      logger.warn(
        { vendor, op: req.operation, attempt, kind: outcome.error.kind, status: outcome.error.httpStatus, waitMs: wait },
        'vendor call failed, retrying',
      );
      await sleep(wait);
    }
  }

  private async once(req: VendorRequest): Promise<VendorResponse> {
    const url = new URL(this.options.baseUrl + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    }
    const res = await request(url, {
      method: req.method,
      headers,
      body,
      dispatcher: this.agent,
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const text = await res.body.text();
    let parsed: unknown = null;
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        // Gateways answer 502/503 with HTML; keep a short excerpt for the error message.
        parsed = res.statusCode >= 400 ? { __text: text.slice(0, 200) } : invalidJson;
      }
    }
    if (parsed === invalidJson) {
      throw new VendorError(
        this.options.vendor,
        'malformed',
        `${this.options.vendor} ${req.operation} answered ${res.statusCode} with a body that is not JSON`,
        res.statusCode,
        1,
      );
    }
    return { status: res.statusCode, headers: res.headers, body: parsed };
  }

  private vendorMessage(body: unknown): string | undefined {
    if (body && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      const m = b.Message ?? b.message ?? b.errorMessage ?? b.error_description ?? b.error ?? b.__text;
      if (typeof m === 'string' && m.trim() !== '') return this.redact(m.trim()).slice(0, 200);
    }
    return undefined;
  }

  private classifyStatus(req: VendorRequest, res: VendorResponse, attempt: number) {
    const { vendor } = this.options;
    const detail = this.vendorMessage(res.body);
    const suffix = detail ? `: ${detail}` : '';
    const s = res.status;
    const make = (kind: VendorFailureKind, text: string) =>
      new VendorError(vendor, kind, `${vendor} ${req.operation} ${text} (HTTP ${s})${suffix}`, s, attempt);
    if (s === 429) {
      return {
        error: make('rate_limited', 'was rate limited'),
        retryable: true,
        waitMs: parseRetryAfter(headerValue(res.headers, 'retry-after')),
      };
    }
    if (RETRYABLE_STATUS.has(s)) return { error: make('unavailable', 'is unavailable'), retryable: true };
    if (s === 401 || s === 403) return { error: make('auth', 'rejected the credentials'), retryable: false };
    if (s === 404) return { error: make('not_found', 'answered not found'), retryable: false };
    // ThreatLocker reports validation failures as 417 Expectation Failed.
    if (s === 417 || s === 422) return { error: make('rejected', 'rejected the request as invalid'), retryable: false };
    if (s >= 500) return { error: make('unavailable', 'failed'), retryable: false };
    return { error: make('request', 'refused the request'), retryable: false };
  }

  private classifyTransport(req: VendorRequest, err: unknown, attempt: number) {
    const { vendor, timeoutMs } = this.options;
    if (err instanceof VendorError) return { error: err, retryable: false };
    // Anything can be thrown, null and undefined included.
    const e = err as { name?: string; code?: string; message?: string } | null | undefined;
    if (
      e?.name === 'TimeoutError' ||
      e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
      e?.code === 'UND_ERR_BODY_TIMEOUT' ||
      e?.code === 'UND_ERR_CONNECT_TIMEOUT'
    ) {
      return {
        error: new VendorError(vendor, 'timeout', `${vendor} ${req.operation} did not answer within ${timeoutMs} ms`, undefined, attempt),
        retryable: false,
      };
    }
    const code = e?.code ?? e?.name ?? 'unknown error';
    return {
      error: new VendorError(
        vendor,
        'unavailable',
        `${vendor} ${req.operation} could not be reached (${this.redact(String(code))})`,
        undefined,
        attempt,
      ),
      retryable: RETRYABLE_ERROR_CODES.has(String(e?.code)),
    };
  }
}

