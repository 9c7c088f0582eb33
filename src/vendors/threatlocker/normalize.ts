/**
 * The one function that turns a raw ThreatLocker computer row into snapshot columns.
 * Used by sync-device and by the collector, so both always agree. Pure: no I/O, no clock.
 * Every string (attributes and the stored raw row, keys included) is made safe for PostgreSQL
 * first, so one odd row can never fail a run.
 */
import { NO_ATTRIBUTES, type NormalizeFailure as SharedFailure, type NormalizeResult as SharedResult } from '../../inventory/device.js';
import { canonicalHostname } from '../../inventory/hostname.js';
import { bool, int, pgSafeJson, text } from '../values.js';
import type { ThreatLockerComputer } from './schema.js';

export type NormalizeFailure = SharedFailure<'missing_computer_id' | 'missing_hostname'>;
/**
 * `sanitized`: how many strings of the row (values and keys) had NUL or lone surrogates
 * removed — the collector logs it per page.
 */
export type NormalizeResult = SharedResult<'missing_computer_id' | 'missing_hostname'> & { readonly sanitized: number };

/**
 * Converts a vendor timestamp to an ISO-8601 UTC string.
 * ThreatLocker sends ISO strings ending in `Z` (with or without fractions); a string without
 * an offset is taken as UTC (the API's documented zone), never as the server's local time.
 * Numbers are epoch seconds (or milliseconds when too large to be seconds).
 */
export function toUtcIso(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const ms = Math.abs(value) >= 1e12 ? value : value * 1000;
    return new Date(ms).toISOString();
  }
  const t = text(value);
  if (t === null) return null;
  let iso: string;
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) iso = `${t}T00:00:00Z`;
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(t)) {
    iso = t.replace(' ', 'T');
    if (!/(?:z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
  } else return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/**
 * Device status. The live list has no `status` key; when a row does carry one (older captures,
 * `status`/`deviceStatus`), it is compared as a whole word — a substring test would read
 * "inactive" and "disconnected" as active. Otherwise the row's own flags decide.
 */
export function threatLockerStatus(row: ThreatLockerComputer): string {
  const r = row as Record<string, unknown>;
  const declared = text(r.status) ?? text(r.deviceStatus);
  if (declared !== null) {
    const v = declared.toLowerCase();
    if (['active', 'online', 'connected'].includes(v)) return 'active';
    if (['inactive', 'offline', 'disconnected'].includes(v)) return 'inactive';
    return v;
  }
  if (bool(row.isDeleted) === true) return 'deleted';
  if (bool(row.hasAtLeastOneCheckin) === false || text(row.lastCheckin) === null) return 'never_checked_in';
  return 'active';
}

/**
 * Normalizes one ThreatLocker computer.
 *
 * @example
 *   const r = normalizeThreatLockerComputer({ computerId: 'c3…', hostname: 'HOST', computerName: 'HOST | Ann' });
 *   if (r.ok) r.device.attributes.display_name; // 'HOST | Ann'
 */
export function normalizeThreatLockerComputer(input: ThreatLockerComputer): NormalizeResult {
  // Everything below reads the safe copy, so attributes and `raw` agree.
  const { value: row, changed: sanitized } = pgSafeJson(input);
  const computerId = text(row.computerId);
  if (computerId === null) {
    return { ok: false, sanitized, error: { code: 'missing_computer_id', message: 'ThreatLocker computer row has no computerId' } };
  }
  const hostname = text(row.hostname);
  if (hostname === null) {
    return {
      ok: false,
      sanitized,
      error: { code: 'missing_hostname', message: `ThreatLocker computer ${computerId} has no hostname` },
    };
  }
  // GUIDs are compared case-insensitively by the vendor; one spelling keeps one identity.
  const key = computerId.toLowerCase();
  const installed = toUtcIso(row.installDate);
  return {
    ok: true,
    sanitized,
    device: {
      vendorDeviceKey: key,
      raw: row,
      attributes: {
        ...NO_ATTRIBUTES,
        hostname,
        canonical_hostname: canonicalHostname(hostname),
        // The editable portal name; when never set, the portal itself shows the hostname.
        display_name: text(row.computerName) ?? hostname,
        // `organization` is the live key; `organizationName` only appears in older captures.
        organization_name: text(row.organization) ?? text(row.organizationName),
        // Real values carry a trailing space ("Windows 11 Business ").
        os_name: text(row.operatingSystem),
        device_status: threatLockerStatus(row),
        last_online: toUtcIso(row.lastCheckin),
        agent_install_timestamp: installed,
        organization_id: text(row.organizationId),
        computer_group: text(row.group),
        security_mode: text(row.mode),
        deny_count_1d: int(row.denyCountOneDay),
        deny_count_3d: int(row.denyCountThreeDays),
        deny_count_7d: int(row.denyCountSevenDays),
        install_date: installed,
        is_locked_out: bool(row.isLockedOut),
        is_isolated: bool(row.isIsolated),
        agent_version: text(row.threatLockerVersion),
        has_checked_in: bool(row.hasAtLeastOneCheckin),
      },
    },
  };
}
