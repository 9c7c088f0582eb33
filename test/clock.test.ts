/**
 * The business date: the calendar date in the configured zone, cached per minute.
 */
import { describe, expect, it } from 'vitest';
import { addDays, dateInZone, fixedClock } from '../src/clock.js';

describe('clock', () => {
  it('gives the date in the zone, not in UTC', () => {
    const clock = fixedClock('2026-03-01T05:30:00Z', 'America/Chicago');
    expect(clock.today()).toBe('2026-02-28');
    clock.set('2026-03-01T06:00:00Z'); // midnight in Chicago (UTC−6)
    expect(clock.today()).toBe('2026-03-01');
  });

  it('changes the date at the last millisecond of a day, whatever was asked just before', () => {
    for (const [zone, midnight] of [
      ['UTC', '2026-03-02T00:00:00.000Z'],
      ['Asia/Kolkata', '2026-03-01T18:30:00.000Z'], // UTC+5:30
      ['Asia/Kathmandu', '2026-03-01T18:15:00.000Z'], // UTC+5:45
    ] as const) {
      const at = Date.parse(midnight);
      expect(dateInZone(new Date(at - 60_001), zone)).toBe('2026-03-01');
      expect(dateInZone(new Date(at - 1), zone)).toBe('2026-03-01');
      expect(dateInZone(new Date(at), zone)).toBe('2026-03-02');
      expect(dateInZone(new Date(at - 1), zone)).toBe('2026-03-01');
    }
  });

  it('keeps zones apart for the same instant', () => {
    const instant = new Date('2026-03-01T23:30:00Z');
    expect(dateInZone(instant, 'UTC')).toBe('2026-03-01');
    expect(dateInZone(instant, 'Asia/Tokyo')).toBe('2026-03-02');
    expect(dateInZone(instant, 'America/Los_Angeles')).toBe('2026-03-01');
    expect(dateInZone(instant, 'UTC')).toBe('2026-03-01');
  });

  it('adds calendar days across months and leap days', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });
});
