/**
 * What every vendor normalizer produces: the vendor's stable id, the snapshot columns, and the
 * raw row. Vendor-neutral, so the store and the collectors never depend on one vendor.
 */
import type { SnapshotAttributes } from '../db/schema.js';

export interface NormalizedDevice {
  /** The stable vendor id: ThreatLocker `computerId` (lower-case), NinjaOne numeric `id`. */
  readonly vendorDeviceKey: string;
  readonly attributes: SnapshotAttributes;
  /** The vendor's row exactly as received, stored in `device_snapshot.raw`. */
  readonly raw: unknown;
}

/** Why a vendor row could not become a device (each normalizer names its own codes). */
export interface NormalizeFailure<Code extends string = string> {
  readonly code: Code;
  readonly message: string;
}

/** What a normalizer returns: a device, or a typed failure — never an exception. */
export type NormalizeResult<Code extends string = string> =
  | { readonly ok: true; readonly device: NormalizedDevice }
  | { readonly ok: false; readonly error: NormalizeFailure<Code> };

/** Every optional snapshot column set to null; a normalizer fills the ones its vendor has. */
export const NO_ATTRIBUTES: Readonly<Omit<SnapshotAttributes, 'hostname' | 'canonical_hostname'>> = Object.freeze({
  display_name: null,
  organization_name: null,
  os_name: null,
  device_status: null,
  last_online: null,
  agent_install_timestamp: null,
  organization_id: null,
  computer_group: null,
  security_mode: null,
  deny_count_1d: null,
  deny_count_3d: null,
  deny_count_7d: null,
  install_date: null,
  is_locked_out: null,
  is_isolated: null,
  agent_version: null,
  has_checked_in: null,
  location_name: null,
  device_type_name: null,
  billable_status_name: null,
  node_class: null,
  is_vm_guest: null,
  system_name: null,
  system_manufacturer: null,
  system_model: null,
  serial_number: null,
  last_logged_in_user: null,
  public_ip: null,
});
