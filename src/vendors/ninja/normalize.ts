/**
 * The one function that turns a raw NinjaOne device (from `/v2/devices-detailed` or
 * `/v2/device/{id}`) into snapshot columns. Pure: no I/O, no clock. Organization and location
 * names come from maps the caller built once per run (`listOrganizations`/`listLocations`).
 * Every string (attributes, looked-up names and the stored raw row, keys included) is made safe
 * for PostgreSQL first, so one odd device can never fail a run.
 */
import { NO_ATTRIBUTES, type NormalizeFailure as SharedFailure, type NormalizeResult as SharedResult } from '../../inventory/device.js';
import { canonicalHostname } from '../../inventory/hostname.js';
import { bool, int, pgSafeJson, pgSafeText, text } from '../values.js';
import type { NinjaDevice } from './schema.js';

export type NormalizeFailure = SharedFailure<'missing_device_id' | 'missing_hostname'>;
/**
 * `sanitized`: how many strings of the device (values and keys, plus its organization and
 * location names) had NUL or lone surrogates removed — for the collector's log.
 */
export type NormalizeResult = SharedResult<'missing_device_id' | 'missing_hostname'> & { readonly sanitized: number };

export interface NinjaReferences {
  readonly organizations: ReadonlyMap<number, string>;
  readonly locations: ReadonlyMap<number, string>;
}

/**
 * NinjaOne timestamps are epoch *seconds* as floats (`1689605132.309`). Values too large to be
 * seconds are taken as milliseconds (some SDK fixtures use them). The result is UTC, never the
 * server's local time.
 */
export function epochToIso(value: unknown): string | null {
  let n: number | null = null;
  if (typeof value === 'number' && Number.isFinite(value)) n = value;
  else if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) n = Number(value.trim());
  if (n === null || n <= 0) return null;
  const ms = n >= 1e12 ? n : n * 1000;
  const date = new Date(Math.round(ms));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * Firmware serial placeholders: values OEMs leave in the SMBIOS table instead of a serial.
 * Compared case-insensitively after trimming and collapsing spaces; a serial of only zeros,
 * or only punctuation, is a placeholder too. Storing them would make unrelated machines look
 * like one device.
 */
export const SERIAL_PLACEHOLDERS: ReadonlySet<string> = new Set([
  'to be filled by o.e.m.',
  'to be filled by oem',
  'system serial number',
  'chassis serial number',
  'default string',
  'serial number',
  'none',
  'null',
  'n/a',
  'na',
  'not specified',
  'not applicable',
  'not available',
  'invalid',
  'unknown',
  'oem',
  '123456789',
  '0123456789',
  '1234567890',
]);

export function serialOrNull(value: unknown): string | null {
  const t = text(value);
  if (t === null) return null;
  const key = t.toLowerCase().replace(/\s+/g, ' ');
  if (SERIAL_PLACEHOLDERS.has(key) || /^0+$/.test(key) || /^[\s.\-_/*#]+$/.test(key)) return null;
  return t;
}

const SERVER_CLASSES = new Set(['WINDOWS_SERVER', 'LINUX_SERVER', 'MAC_SERVER', 'VMWARE_VM_HOST', 'HYPERV_VMM_HOST']);
const WORKSTATION_CLASSES = new Set(['WINDOWS_WORKSTATION', 'MAC', 'LINUX_WORKSTATION']);
const GUEST_CLASSES = new Set(['VMWARE_VM_GUEST', 'HYPERV_VMM_GUEST']);

/**
 * `server`, `workstation` or `other` from `nodeClass`, the vendor's own classification. Name
 * heuristics ("dc", "app", "pc" in the hostname) misclassify too much to be used at all.
 * VM guests, NMS devices (NMS_SERVER included: an SNMP-monitored box, not an agent), mobiles and
 * cloud targets are `other`; null when the device has no class.
 */
export function ninjaDeviceType(nodeClass: string | null, deviceType: string | null): string | null {
  const cls = nodeClass?.toUpperCase() ?? null;
  if (cls === null) return deviceType?.toLowerCase() === 'vmguest' ? 'other' : null;
  if (SERVER_CLASSES.has(cls) || (cls.endsWith('_SERVER') && !cls.startsWith('NMS_'))) return 'server';
  if (WORKSTATION_CLASSES.has(cls)) return 'workstation';
  return 'other';
}

/** Both hypervisors' guests (older collectors forgot HYPERV_VMM_GUEST); null when nothing says. */
export function isVmGuest(nodeClass: string | null, deviceType: string | null): boolean | null {
  if (nodeClass === null && deviceType === null) return null;
  return GUEST_CLASSES.has(nodeClass?.toUpperCase() ?? '') || deviceType?.toLowerCase() === 'vmguest';
}

/**
 * Normalizes one NinjaOne device.
 *
 * - identity: the numeric `id` (stable across renames and DNS-suffix changes; never the hostname);
 * - hostname: `dnsName` (usually the FQDN), else `systemName` (the ≤15-character NetBIOS name);
 * - spare: "spare" in the display name or in the location name resolved from `locationId`.
 *
 * @example
 *   const r = normalizeNinjaDevice(row, { organizations: orgNames, locations: locationNames });
 *   if (r.ok) r.device.vendorDeviceKey; // '1042'
 */
export function normalizeNinjaDevice(input: NinjaDevice, refs: NinjaReferences): NormalizeResult {
  // Everything below reads the safe copy, so attributes and `raw` agree.
  const { value: row, changed } = pgSafeJson(input);
  let sanitized = changed;
  /** A name from the reference maps (vendor text too), made safe and counted. */
  const safeName = (name: string | undefined): string | null => {
    if (name === undefined) return null;
    const safe = pgSafeText(name);
    if (safe !== name) sanitized++;
    return safe;
  };
  const id = int(row.id);
  if (id === null) {
    return { ok: false, sanitized, error: { code: 'missing_device_id', message: 'NinjaOne device has no numeric id' } };
  }
  const systemName = text(row.systemName);
  const hostname = text(row.dnsName) ?? systemName;
  if (hostname === null) {
    return { ok: false, sanitized, error: { code: 'missing_hostname', message: `NinjaOne device ${id} has neither dnsName nor systemName` } };
  }
  const organizationId = int(row.organizationId);
  const locationId = int(row.locationId);
  const displayName = text(row.displayName);
  const locationName = locationId === null ? null : safeName(refs.locations.get(locationId));
  const organizationName = organizationId === null ? null : safeName(refs.organizations.get(organizationId));
  const nodeClass = text(row.nodeClass);
  const deviceType = text(row.deviceType);
  const spare = [displayName, locationName].some((name) => name !== null && name.toLowerCase().includes('spare'));
  const offline = bool(row.offline);
  const pending = text(row.approvalStatus)?.toUpperCase() === 'PENDING';
  return {
    ok: true,
    sanitized,
    device: {
      vendorDeviceKey: String(id),
      raw: row,
      attributes: {
        ...NO_ATTRIBUTES,
        hostname,
        canonical_hostname: canonicalHostname(hostname),
        // Unlike ThreatLocker, no fallback: an unnamed NinjaOne device has no display name.
        display_name: displayName,
        organization_name: organizationName,
        organization_id: organizationId === null ? null : String(organizationId),
        location_name: locationName,
        os_name: text(row.os?.name),
        device_status: pending ? 'pending' : offline === null ? null : offline ? 'offline' : 'online',
        last_online: epochToIso(row.lastContact),
        agent_install_timestamp: epochToIso(row.created),
        device_type_name: ninjaDeviceType(nodeClass, deviceType),
        billable_status_name: spare ? 'spare' : 'billable',
        node_class: nodeClass,
        is_vm_guest: isVmGuest(nodeClass, deviceType),
        system_name: systemName,
        system_manufacturer: text(row.system?.manufacturer),
        system_model: text(row.system?.model),
        // Some agents leave serialNumber empty and report only the BIOS serial.
        serial_number: serialOrNull(row.system?.serialNumber) ?? serialOrNull(row.system?.biosSerialNumber),
        last_logged_in_user: text(row.lastLoggedInUser),
        public_ip: text(row.publicIP),
      },
    },
  };
}
