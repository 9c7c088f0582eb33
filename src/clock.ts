/**
 * The one place that decides what "now" and "today" are.
 *
 * `today()` is the calendar date in the configured business time zone, returned as a
 * `YYYY-MM-DD` string: a JS `Date` would silently shift the day when serialized in another zone.
 */
export interface Clock {
  now(): Date;
  /** Business date (`YYYY-MM-DD`) in the clock's time zone. */
  today(): string;
  readonly timeZone: string;
}

/** Building an Intl formatter costs far more than using one; keep one per zone. */
const formatters = new Map<string, Intl.DateTimeFormat>();
/** The last answer per zone and the minute it is for (a sync asks for today on every call). */
const lastDate = new Map<string, { minute: number; date: string }>();
const MINUTE_MS = 60_000;

/**
 * Formats an instant as the calendar date it falls on in `timeZone`. Answers are cached per
 * minute: every time zone in use today is offset from UTC by whole minutes (quarter hours in
 * fact), so a date never changes within one.
 */
export function dateInZone(instant: Date, timeZone: string): string {
  const minute = Math.floor(instant.getTime() / MINUTE_MS);
  const last = lastDate.get(timeZone);
  if (last?.minute === minute) return last.date;
  let f = formatters.get(timeZone);
  if (!f) {
    // en-CA formats as YYYY-MM-DD.
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  const date = f.format(instant);
  lastDate.set(timeZone, { minute, date });
  return date;
}

export function systemClock(timeZone: string): Clock {
  return {
    timeZone,
    now: () => new Date(),
    today: () => dateInZone(new Date(), timeZone),
  };
}

/**
 * A clock for tests: starts at `start` and only moves when told to.
 *
 * @example
 *   const clock = fixedClock('2026-03-01T05:30:00Z', 'America/Chicago');
 *   clock.today(); // '2026-02-28' (still the previous evening in Chicago)
 */
export function fixedClock(start: string | Date, timeZone = 'UTC'): Clock & { set(at: string | Date): void } {
  let current = new Date(start);
  return {
    timeZone,
    now: () => new Date(current),
    today: () => dateInZone(current, timeZone),
    set(at) {
      current = new Date(at);
    },
  };
}

/** Adds whole days to a `YYYY-MM-DD` date (calendar arithmetic, no time zone involved). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
