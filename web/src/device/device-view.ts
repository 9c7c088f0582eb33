/**
 * What the device page shows, computed from GET /api/devices/:vendor/:key without React: the
 * side-by-side field rows, the words for values, vendors and sync results. Pure, so
 * test/web/device-view.test.ts checks it directly.
 */
import type { paths } from '../api/schema.js';

export type DeviceView = paths['/api/devices/{vendor}/{key}']['get']['responses'][200]['content']['application/json'];
export type Snapshot = NonNullable<DeviceView['latest']>;
export type Vendor = DeviceView['vendor'];
export type SyncAnswer = paths['/api/threatlocker/sync-device']['post']['responses'][200]['content']['application/json'];

export const VENDOR_LABEL: Readonly<Record<Vendor, string>> = { threatlocker: 'ThreatLocker', ninja: 'NinjaOne' };

export function isVendor(value: string): value is Vendor {
  return value === 'threatlocker' || value === 'ninja';
}

export function otherVendor(vendor: Vendor): Vendor {
  return vendor === 'threatlocker' ? 'ninja' : 'threatlocker';
}

/**
 * Every snapshot field in the order shown, with the name people read. The first five are the
 * ones both tools fill with one meaning (the API's `differences` come from them).
 */
export const FIELD_LABELS: Readonly<Record<string, string>> = {
  hostname: 'Hostname',
  canonical_hostname: 'Canonical hostname',
  display_name: 'Display name',
  organization_name: 'Organization',
  os_name: 'Operating system',
  location_name: 'Location / site',
  organization_id: 'Organization id',
  device_status: 'Status',
  last_online: 'Last online',
  agent_install_timestamp: 'Agent installed',
  computer_group: 'Computer group',
  security_mode: 'Security mode',
  deny_count_1d: 'Denies (1 day)',
  deny_count_3d: 'Denies (3 days)',
  deny_count_7d: 'Denies (7 days)',
  install_date: 'Install date',
  is_locked_out: 'Locked out',
  is_isolated: 'Isolated',
  agent_version: 'Agent version',
  has_checked_in: 'Has checked in',
  device_type_name: 'Device type',
  billable_status_name: 'Billable status',
  node_class: 'Node class',
  is_vm_guest: 'Virtual machine',
  system_name: 'System name',
  system_manufacturer: 'Manufacturer',
  system_model: 'Model',
  serial_number: 'Serial number',
  last_logged_in_user: 'Last logged-in user',
  public_ip: 'Public IP',
  source: 'Stored by',
};

export function fieldLabel(field: string): string {
  return FIELD_LABELS[field] ?? field;
}

/** A stored value in words: `—` for none, Yes/No for flags. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** An ISO timestamp as `2026-03-10 15:00 UTC` (the same for everyone, whatever their zone). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export interface FieldRow {
  readonly field: string;
  readonly label: string;
  /** The device's own value, then its counterpart's (undefined: no counterpart). */
  readonly own: unknown;
  readonly other: unknown;
  /** One of the API's `differences`: the values differ between the pair on `matched_on`. */
  readonly differs: boolean;
}

/**
 * The side-by-side rows: every field either side fills (both empty: left out), compared
 * fields first; `differs` is what the API says, not a comparison made here.
 */
export function fieldRows(view: Pick<DeviceView, 'latest' | 'counterpart' | 'differences'>): FieldRow[] {
  const own: Partial<Record<string, unknown>> = view.latest ?? {};
  const other: Partial<Record<string, unknown>> | undefined = view.counterpart?.latest;
  const differences = new Set(view.differences);
  const rows: FieldRow[] = [];
  for (const field of Object.keys(FIELD_LABELS)) {
    if (field === 'source') continue;
    const a = own[field];
    const b = other?.[field];
    const empty = (v: unknown) => v === null || v === undefined || v === '';
    if (empty(a) && empty(b) && !differences.has(field)) continue;
    rows.push({ field, label: fieldLabel(field), own: a, other: other ? b : undefined, differs: differences.has(field) });
  }
  return rows;
}

/** What a match quality means, for someone who has not read the matching rules. */
export const MATCH_QUALITY_TEXT: Readonly<Record<string, string>> = {
  exact: 'exact match (same hostname, same customer)',
  truncated: 'matched on the 15-character NetBIOS name (one tool cuts long hostnames)',
  cross_org: 'matched by hostname across different customers',
};

/** The toast after a sync: what ThreatLocker has now and what became of the variances. */
export function describeSync(answer: SyncAnswer): string {
  const { device } = answer;
  const name =
    device.previous_display_name !== null && device.previous_display_name !== device.display_name
      ? `display name changed from "${device.previous_display_name}" to "${device.display_name}"`
      : `display name "${device.display_name}"`;
  let variances: string;
  if (answer.variances) {
    const n = (list: readonly unknown[], word: string) => `${list.length} ${word}`;
    variances = `Variances: ${n(answer.variances.resolved, 'resolved')}, ${n(answer.variances.still_open, 'still open')}, ${n(answer.variances.opened, 'opened')}.`;
  } else {
    variances = answer.variances_message ?? 'Variances were not re-checked.';
  }
  return `Synced ${device.hostname} from ThreatLocker (${answer.snapshot_date}): ${name}. ${variances}`;
}

/** What a variance event says happened, in words. */
export const EVENT_TEXT: Readonly<Record<string, string>> = {
  opened: 'Opened by a check',
  seen: 'Seen again with changed details',
  resolved_auto: 'Resolved by a check',
  resolved: 'Resolved',
  reopened: 'Reopened',
  accepted: 'Accepted',
  acceptance_expired: 'Acceptance expired',
};

export const OUTCOME_TEXT: Readonly<Record<string, string>> = {
  success: 'Succeeded',
  not_found: 'Not found in ThreatLocker',
  vendor_error: 'ThreatLocker failed',
  invalid_device: 'ThreatLocker returned an unusable row',
  failed: 'Failed',
};
