/**
 * The vendor rule modules by vendor, and the vendor playing each role. The only place in
 * `variances/` that knows which vendors exist; everything else asks by role.
 */
import type { VendorKey } from '../inventory/vendors.js';
import { ninjaVarianceRules } from '../vendors/ninja/variance-rules.js';
import { threatlockerVarianceRules } from '../vendors/threatlocker/variance-rules.js';
import { VENDOR_ROLES, type DayDevice, type VendorRole, type VendorVarianceRules } from './types.js';

export const VARIANCE_RULES: Readonly<Record<VendorKey, VendorVarianceRules>> = Object.freeze({
  ninja: ninjaVarianceRules,
  threatlocker: threatlockerVarianceRules,
});

export function rulesOf(device: DayDevice): VendorVarianceRules {
  return VARIANCE_RULES[device.vendor];
}

/** The vendor playing `role` (one per role today: checks compare two tools). */
export function vendorOf(role: VendorRole): VendorKey {
  const found = (Object.keys(VENDOR_ROLES) as VendorKey[]).filter((vendor) => VENDOR_ROLES[vendor] === role);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected exactly one vendor with role "${role}", found ${found.length}`);
  return found[0];
}
