/**
 * Shared vendor HTTP: one keep-alive connection pool per vendor client, a per-attempt timeout,
 * bounded retries with exponential backoff and full jitter, `Retry-After` honoured (seconds or
 * HTTP date, capped), an overall deadline and cancellation (see {@link CallOptions}), and typed
 * failures whose messages never contain credentials.
 *
 * Secrets: a vendor's error text is masked first — every configured secret, in any letter case,
 * also URL-encoded — and only then cut to {@link MAX_VENDOR_TEXT} characters, so a key that
 * straddles the cut cannot survive in part. Bodies are never kept verbatim: only the masked,
 * cut message of an error answer reaches an error, and through it logs, API answers and rows.
 *
 * The retry loop is written here rather than taken from undici's RetryAgent / RetryHandler
 * (which does accept POST through `methods` and a custom `retry` function), because:
 *  - one `signal` spans all of its attempts and an aborted attempt is never retried, so a
 *    per-attempt timeout of min(timeout, time left before the deadline) cannot be expressed —
 *    only the Agent's inactivity timers, fixed for every attempt;
 *  - a connection reset in the middle of a body is resumed with a `Range` request (it is built
 *    for downloads); the Portal API's POST answers are not range-able, so such a retry fails
 *    ("server does not support the range header") instead of re-running the request;
 *  - with its default `throwOnError` the body of the last failed answer is dropped (the
 *    vendor's message is lost); without it, the `retry` function must re-decide everything
 *    anyway (which statuses, Retry-After as seconds or date, jitter, the deadline, logging,
 *    counting attempts), leaving the handler nothing but the re-dispatch.
 * p-retry cannot take its delay from a response header.
 */
import { Agent, request } from 'undici';
import type { Logger } from 'pino';
import { HubError, type ErrorCode } from '../errors.js';
import type { VendorCallObserver, VendorOutcome } from '../observability/metrics.js';

/**
 * The vendor's name as people read it, in messages and error details only; code names vendors
 * by `VendorKey` (`threatlocker`, `ninja`).
 */
export type VendorName = 'ThreatLocker' | 'NinjaOne';

export type VendorFailureKind =
  | 'auth'
  | 'not_found'
  | 'rejected'
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'malformed'
  | 'request'
  | 'too_broad';

const KIND_CODES: Record<VendorFailureKind, ErrorCode> = {
  auth: 'HUB_ERR_VENDOR_AUTH',
  not_found: 'HUB_ERR_VENDOR_NOT_FOUND',
  rejected: 'HUB_ERR_VENDOR_REJECTED',
  rate_limited: 'HUB_ERR_VENDOR_RATE_LIMITED',
  unavailable: 'HUB_ERR_VENDOR_UNAVAILABLE',
  timeout: 'HUB_ERR_VENDOR_TIMEOUT',
  malformed: 'HUB_ERR_VENDOR_MALFORMED',
  request: 'HUB_ERR_VENDOR_REQUEST',
  too_broad: 'HUB_ERR_HOSTNAME_TOO_BROAD',
};

/** A vendor call that failed for a known reason. `message` is safe for API clients and logs. */
export class VendorError extends HubError {
  constructor(
    readonly vendor: VendorName,
    readonly kind: VendorFailureKind,
    message: string,
    readonly httpStatus: number | undefined,
    readonly attempts: number,
    /** More facts for API clients, e.g. `retry_after_seconds` when a wait did not fit the deadline. */
    extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(KIND_CODES[kind], message, { vendor, kind, http_status: httpStatus ?? null, attempts, ...extra });
    this.name = 'VendorError';
  }
}

/** The longest excerpt of a vendor's own error text kept in an error message (after masking). */
export const MAX_VENDOR_TEXT = 200;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replaces every secret in `text` with `[redacted]`: in any letter case (a vendor may echo a
 * key upper-cased) and URL-encoded (as a form field is sent). Secrets shorter than 4
 * characters are ignored: masking them would shred ordinary words.
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
  }
  if (forms.size === 0) return text;
  // Longest first, so a secret that contains another is masked whole.
  const pattern = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|');
  return text.replace(new RegExp(pattern, 'gi'), '[redacted]');
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
  /** Told about every attempt and retry (metrics); nothing is recorded without it. */
  readonly observer?: VendorCallObserver | undefined;
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

/** What `send` accepts besides the request: the caller's bounds, and whether a 404 is an answer. */
export interface SendOptions extends CallOptions {
  /** Resolve with a 404 instead of throwing (the caller treats it as "no such thing"). */
  readonly allowNotFound?: boolean;
}

/** How one attempt failed, and whether (and after how long) another is worth it. */
interface Outcome {
  readonly error: VendorError;
  readonly retryable: boolean;
  /** What the vendor asked for (`Retry-After`), uncapped. */
  readonly waitMs?: number | undefined;
}

/** The caller's signal fired: its own reason, so a caller that cancelled recognizes it. */
function cancelled(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Waits `ms`, or rejects with the signal's reason the moment it fires. */
function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's own reason, as fetch does
    if (signal?.aborted) return reject(cancelled(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled(signal as AbortSignal)); // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors -- an abort rejects with the signal's own reason, whatever the caller made it
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const seconds = (ms: number): number => Math.ceil(ms / 1000);

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

  /** Replaces every configured secret in `text` with `[redacted]` (see {@link maskSecrets}). */
  redact(text: string): string {
    return maskSecrets(text, this.options.secrets?.() ?? []);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /**
   * Sends a request, retrying transient failures. Resolves with any status below 400 (and with
   * a 404 when `allowNotFound` is set); throws {@link VendorError} for everything else.
   *
   * With `signal`: its abort ends the attempt in flight or the wait between attempts at once,
   * and the call rejects with the signal's own reason (not a VendorError). With `deadline`:
   * each attempt gets min(timeout, time left); a wait (`Retry-After` or backoff) that would
   * end after the deadline fails at once with the wait in the error (`retry_after_seconds`);
   * a deadline already passed is a `timeout` VendorError.
   *
   * @example
   *   await http.send(req, { signal: request.signal, deadline: Date.now() + 30_000 });
   */
  async send(req: VendorRequest, options: SendOptions = {}): Promise<VendorResponse> {
    const { vendor, logger, observer } = this.options;
    const { signal, deadline } = options;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw cancelled(signal);
      const left = deadline === undefined ? Infinity : deadline - Date.now();
      if (left <= 0) {
        throw new VendorError(vendor, 'timeout', `${vendor} ${req.operation}: the deadline passed before attempt ${attempt}`, undefined, attempt - 1);
      }
      const budgetMs = Math.min(this.options.timeoutMs, left);
      const started = performance.now();
      const observe = (result: VendorOutcome) => observer?.attempt(vendor, req.operation, result, (performance.now() - started) / 1000);
      let outcome: Outcome;
      try {
        const response = await this.once(req, attempt, budgetMs, signal);
        const ms = Math.round(performance.now() - started);
        logger.debug({ vendor, op: req.operation, status: response.status, ms, attempt }, 'vendor call');
        if (response.status < 400 || (response.status === 404 && options.allowNotFound)) {
          observe('ok');
          return response;
        }
        observe('http_error');
        outcome = this.classifyStatus(req, response, attempt);
      } catch (err) {
        if (signal?.aborted) {
          observe('cancelled');
          throw cancelled(signal);
        }
        outcome = this.classifyTransport(req, err, attempt, budgetMs < this.options.timeoutMs);
        // A body that is not JSON was an answer (the vendor's fault), not a transport failure.
        const kind = outcome.error.kind;
        observe(kind === 'timeout' ? 'timeout' : kind === 'malformed' ? 'http_error' : 'network');
      }
      if (!outcome.retryable || attempt >= this.retry.maxAttempts) throw outcome.error;
      const asked = outcome.waitMs;
      const waitMs = Math.min(this.retry.maxDelayMs, asked ?? backoffDelay(this.retry, attempt));
      // The vendor's own wait counts against the deadline uncapped: retrying before it is over
      // would only be refused again.
      if (deadline !== undefined && Date.now() + Math.max(waitMs, asked ?? 0) >= deadline) {
        throw this.pastDeadline(req, outcome, asked ?? waitMs, attempt);
      }
      logger.warn(
        { vendor, op: req.operation, attempt, kind: outcome.error.kind, status: outcome.error.httpStatus, waitMs },
        'vendor call failed, retrying',
      );
      observer?.retry(vendor, req.operation);
      await wait(waitMs, signal);
    }
  }

  /** The failure of a call whose next attempt could only start after its deadline. */
  private pastDeadline(req: VendorRequest, outcome: Outcome, waitMs: number, attempt: number): VendorError {
    const { vendor } = this.options;
    const e = outcome.error;
    const why =
      outcome.waitMs !== undefined
        ? `asked to wait ${seconds(waitMs)} s (Retry-After), which ends after the deadline`
        : `the next attempt (in ${seconds(waitMs)} s) would start after the deadline`;
    const status = e.httpStatus === undefined ? '' : ` (HTTP ${e.httpStatus})`;
    const kind: VendorFailureKind = e.kind === 'rate_limited' || e.kind === 'timeout' ? e.kind : 'unavailable';
    return new VendorError(vendor, kind, `${vendor} ${req.operation} failed${status}; ${why}`, e.httpStatus, attempt, {
      retry_after_seconds: seconds(waitMs),
    });
  }

  /**
   * One attempt, bounded by `budgetMs` and the caller's signal. The attempt's own controller
   * (rather than AbortSignal.any) keeps no listener on a long-lived run signal once it ends.
   */
  private async once(req: VendorRequest, attempt: number, budgetMs: number, signal: AbortSignal | undefined): Promise<VendorResponse> {
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
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('attempt timed out', 'TimeoutError')), budgetMs);
    const onAbort = () => controller.abort(cancelled(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await request(url, { method: req.method, headers, body, dispatcher: this.agent, signal: controller.signal });
      const text = await res.body.text();
      let parsed: unknown = null;
      if (text.trim() !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          // Gateways answer 502/503 with HTML: keep only a masked, cut excerpt, never the body.
          parsed = res.statusCode >= 400 ? { __text: this.excerpt(text) } : invalidJson;
        }
      }
      if (parsed === invalidJson) {
        throw new VendorError(
          this.options.vendor,
          'malformed',
          `${this.options.vendor} ${req.operation} answered ${res.statusCode} with a body that is not JSON`,
          res.statusCode,
          attempt,
        );
      }
      return { status: res.statusCode, headers: res.headers, body: parsed };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Masked first, then cut: a secret straddling the cut cannot survive in part. */
  private excerpt(text: string): string {
    return this.redact(text.trim()).slice(0, MAX_VENDOR_TEXT);
  }

  private vendorMessage(body: unknown): string | undefined {
    if (body && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      const m = b.Message ?? b.message ?? b.errorMessage ?? b.error_description ?? b.error ?? b.__text;
      if (typeof m === 'string' && m.trim() !== '') return this.excerpt(m);
    }
    return undefined;
  }

  private classifyStatus(req: VendorRequest, res: VendorResponse, attempt: number): Outcome {
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

  private classifyTransport(req: VendorRequest, err: unknown, attempt: number, deadlineBound: boolean): Outcome {
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
      const text = deadlineBound ? 'did not answer before the deadline' : `did not answer within ${timeoutMs} ms`;
      return { error: new VendorError(vendor, 'timeout', `${vendor} ${req.operation} ${text}`, undefined, attempt), retryable: false };
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
