import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../src/vendors/http.js';

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
