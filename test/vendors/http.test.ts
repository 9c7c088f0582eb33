/**
 * Vendor HTTP: Retry-After and backoff arithmetic, secret masking, and — over real HTTP against
 * the fake ThreatLocker — masking of echoed keys, cancellation and the overall deadline.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeThreatLocker, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';
import {
  backoffDelay,
  maskSecrets,
  parseRetryAfter,
  VendorError,
  VendorHttp,
  type RetryPolicy,
  type VendorRequest,
} from '../../src/vendors/http.js';

/** How long `vi.waitFor` polls for an event (not a pass/fail time limit: a busy machine may be slow). */
const WAIT = { timeout: 15_000, interval: 10 };

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-10T15:00:00Z');
  it.each([
    ['3', 3000],
    ['0', 0],
    [' 2 ', 2000],
    ['1.5', 1500],
    ['Tue, 10 Mar 2026 15:00:05 GMT', 5000],
    ['Tue, 10 Mar 2026 14:59:00 GMT', 0], // in the past: retry now
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('backoffDelay (full jitter)', () => {
  const policy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 };
  it('grows exponentially and stays within [0, ceiling]', () => {
    expect(backoffDelay(policy, 1, () => 1)).toBe(100);
    expect(backoffDelay(policy, 2, () => 1)).toBe(200);
    expect(backoffDelay(policy, 3, () => 1)).toBe(400);
    expect(backoffDelay(policy, 2, () => 0)).toBe(0);
    expect(backoffDelay(policy, 2, () => 0.5)).toBe(100);
  });
  it('is capped', () => {
    expect(backoffDelay(policy, 10, () => 1)).toBe(1000);
  });
});

describe('maskSecrets', () => {
  const key = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
  it.each([
    ['as sent', `key ${key} refused`, 'key [redacted] refused'],
    ['upper-cased', `key ${key.toUpperCase()} refused`, 'key [redacted] refused'],
    ['mixed case, twice', `${key.slice(0, 10).toUpperCase()}${key.slice(10)} and ${key}`, '[redacted] and [redacted]'],
    ['URL-encoded', `refresh_token=${encodeURIComponent('tok/en+=value')}`, 'refresh_token=[redacted]'],
    ['regex characters in a secret', 'secret (a+b)* here', 'secret [redacted] here'],
  ])('masks a secret %s', (_case, text, expected) => {
    expect(maskSecrets(text, [key, 'tok/en+=value', '(a+b)*'])).toBe(expected);
  });

  it('masks the longer of two overlapping secrets whole and ignores very short ones', () => {
    expect(maskSecrets('abcdefgh', ['abcd', 'abcdefgh'])).toBe('[redacted]');
    expect(maskSecrets('a cat', ['cat', ''])).toBe('a cat');
  });
});

/** True when any 8 consecutive characters of `secret` appear in `text`, in any letter case. */
function leaksPart(text: string, secret: string): boolean {
  const haystack = text.toLowerCase();
  for (let i = 0; i + 8 <= secret.length; i++) if (haystack.includes(secret.slice(i, i + 8).toLowerCase())) return true;
  return false;
}

describe('VendorHttp against the fake ThreatLocker', () => {
  let fake: FakeThreatLocker;
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void logLines.push(l) });
  const open: VendorHttp[] = [];

  function client(options: { timeoutMs?: number; retry?: RetryPolicy } = {}): VendorHttp {
    const http = new VendorHttp({
      vendor: 'ThreatLocker',
      baseUrl: fake.baseUrl,
      timeoutMs: options.timeoutMs ?? 5_000,
      logger,
      retry: options.retry ?? { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 60_000 },
      secrets: () => [fake.apiKey],
    });
    open.push(http);
    return http;
  }
  const listRequest = (): VendorRequest => ({
    method: 'POST',
    path: '/Computer/ComputerGetByAllParameters',
    json: { pageSize: 5 },
    headers: { Authorization: fake.apiKey },
    operation: 'ComputerGetByAllParameters',
  });
  const failure = (p: Promise<unknown>) => p.then(() => expect.fail('the call succeeded'), (e: unknown) => e);

  beforeAll(async () => {
    fake = await startFakeThreatLocker({ fleetSize: 20 });
  });
  afterAll(async () => {
    await Promise.all(open.map((h) => h.close()));
    await fake.close();
  });
  beforeEach(() => {
    fake.admin.reset();
    logLines.length = 0;
  });

  describe('secrets in vendor error bodies (masked first, then cut)', () => {
    // 200 characters are kept: a key starting at 180 straddles the cut.
    it.each([
      ['straddling the cut', { prefix: 180 }],
      ['straddling the cut, upper-cased', { prefix: 180, letterCase: 'upper' as const }],
      ['at the start, upper-cased', { prefix: 0, letterCase: 'upper' as const }],
      ['just before the cut', { prefix: 130 }],
    ])('never keeps any part of a key echoed %s', async (_case, echo) => {
      fake.admin.injectFault({ kind: 'echo-credential', status: 500, ...echo });
      const err = (await failure(client().send(listRequest()))) as VendorError;
      expect(err).toBeInstanceOf(VendorError);
      expect(err).toMatchObject({ kind: 'unavailable', httpStatus: 500 });
      expect(err.message).toContain('[redacted]');
      expect(leaksPart(JSON.stringify({ message: err.message, details: err.details }), fake.apiKey)).toBe(false);
      expect(leaksPart(logLines.join('\n'), fake.apiKey)).toBe(false);
    });

    it('masks a gateway page (not JSON) before cutting it', async () => {
      // The key starts at character 190: it straddles the cut.
      const page = `<html><body>upstream said: ${'x'.repeat(162)} ${fake.apiKey.toUpperCase()}</body></html>`;
      expect(page.indexOf(fake.apiKey.toUpperCase())).toBe(190);
      fake.admin.injectFault({ kind: 'status', status: 502, body: page, times: null });
      const err = (await failure(client().send(listRequest()))) as VendorError;
      expect(err).toMatchObject({ kind: 'unavailable', httpStatus: 502, attempts: 3 });
      expect(err.message).toContain('upstream said');
      expect(leaksPart(err.message, fake.apiKey)).toBe(false);
      expect(leaksPart(logLines.join('\n'), fake.apiKey)).toBe(false);
    });
  });

  describe('cancellation', () => {
    it('aborts the request in flight at once and rejects with the signal’s own reason', async () => {
      fake.admin.injectFault({ kind: 'delay', ms: 60_000 });
      const controller = new AbortController();
      const events: string[] = [];
      const call = client()
        .send(listRequest(), { signal: controller.signal })
        .then(
          () => events.push('resolved'),
          (e: unknown) => {
            // Still unanswered by the fake when the call gave up: the abort, not an answer or a timeout, ended it.
            events.push(`rejected while fake status=${String(fake.admin.requests()[0]?.status)}`);
            return e;
          },
        );
      await vi.waitFor(() => expect(fake.admin.requestCount()).toBe(1), WAIT);
      events.push('abort');
      controller.abort();
      const err = await call;
      expect(err).toBe(controller.signal.reason);
      expect(err).toMatchObject({ name: 'AbortError' });
      expect(err).not.toBeInstanceOf(VendorError);
      expect(events).toEqual(['abort', 'rejected while fake status=null']);
      await vi.waitFor(() => expect(fake.admin.requests()[0]?.closedBeforeAnswer).toBe(true), WAIT);
      expect(fake.admin.requestCount()).toBe(1);
    });

    it('aborts a wait between attempts at once, with no further attempt', async () => {
      fake.admin.injectFault({ kind: 'status', status: 429, retryAfter: '60' });
      const controller = new AbortController();
      const call = failure(client().send(listRequest(), { signal: controller.signal }));
      await vi.waitFor(() => expect(logLines.join('\n')).toContain('vendor call failed, retrying'), WAIT);
      controller.abort(new DOMException('shutting down', 'AbortError'));
      const err = await call;
      expect(err).toBe(controller.signal.reason);
      expect(fake.admin.requests().map((r) => r.status)).toEqual([429]);
    });

    it('sends nothing for a signal that is already aborted', async () => {
      const reason = new DOMException('cancelled', 'AbortError');
      expect(await failure(client().send(listRequest(), { signal: AbortSignal.abort(reason) }))).toBe(reason);
      expect(fake.admin.requestCount()).toBe(0);
    });
  });

  describe('deadline', () => {
    it('fails fast when Retry-After ends after the deadline, with the wait in the error', async () => {
      fake.admin.injectFault({ kind: 'status', status: 429, retryAfter: '120', times: null });
      const err = (await failure(client().send(listRequest(), { deadline: Date.now() + 20_000 }))) as VendorError;
      expect(err).toBeInstanceOf(VendorError);
      expect(err).toMatchObject({ kind: 'rate_limited', code: 'HUB_ERR_VENDOR_RATE_LIMITED', httpStatus: 429, attempts: 1 });
      expect(err.details).toMatchObject({ retry_after_seconds: 120 });
      expect(err.message).toMatch(/wait 120 s \(Retry-After\).*deadline/);
      expect(fake.admin.requestCount()).toBe(1);
    });

    it('waits for a Retry-After that ends before the deadline', async () => {
      fake.admin.injectFault({ kind: 'status', status: 429, retryAfter: '0' });
      const res = await client().send(listRequest(), { deadline: Date.now() + 20_000 });
      expect(res.status).toBe(200);
      expect(fake.admin.requests().map((r) => r.status)).toEqual([429, 200]);
    });

    it('a deadline already passed is a timeout, and nothing is sent', async () => {
      const err = (await failure(client().send(listRequest(), { deadline: Date.now() - 1 }))) as VendorError;
      expect(err).toMatchObject({ kind: 'timeout', code: 'HUB_ERR_VENDOR_TIMEOUT', attempts: 0 });
      expect(err.message).toMatch(/deadline passed/);
      expect(fake.admin.requestCount()).toBe(0);
    });

    it('bounds the attempt in flight by the time left, not by the per-attempt timeout', async () => {
      fake.admin.injectFault({ kind: 'delay', ms: 60_000 });
      // The per-attempt timeout (60 s) would outlast the test; only the deadline can end it.
      const err = (await failure(client({ timeoutMs: 60_000 }).send(listRequest(), { deadline: Date.now() + 300 }))) as VendorError;
      expect(err).toMatchObject({ kind: 'timeout', attempts: 1 });
      expect(err.message).toMatch(/before the deadline/);
      expect(fake.admin.requests().map((r) => r.status)).toEqual([null]);
    });
  });
});
