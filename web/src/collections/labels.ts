/** The names people know the collectors by, and run figures in words. */

const COLLECTOR_LABELS: Readonly<Record<string, string>> = {
  'threatlocker-collector': 'ThreatLocker',
  'ninja-collector': 'NinjaOne',
  threatlocker: 'ThreatLocker',
  ninja: 'NinjaOne',
};

/** `threatlocker-collector` → `ThreatLocker`; an unknown name is shown as it is. */
export function collectorLabel(jobName: string): string {
  return COLLECTOR_LABELS[jobName] ?? jobName;
}

const STATUS_LABELS: Readonly<Record<string, string>> = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}

/** A progress figure as a whole percent in 0–100 (null: not known yet). */
export function percent(value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  return Math.round(Math.min(100, Math.max(0, value)));
}

/** Seconds in words: `45 s`, `3 min 12 s`, `1 h 4 min`. */
export function durationText(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** An RFC 3339 time in the reader's locale and zone; `—` when absent. */
export function timeText(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}
