/**
 * ThreatLocker's part in matching and the variance rules (the security agent). Its `hostname` is
 * the full machine name the agent reports (never cut to 15 characters), so its key is the
 * canonical hostname as stored: `HOST | user` and FQDNs were already reduced by
 * `inventory/hostname.ts`.
 */
import type { DayDevice, VendorVarianceRules } from '../../variances/types.js';

export const threatlockerVarianceRules: VendorVarianceRules = Object.freeze({
  vendor: 'threatlocker',
  label: 'ThreatLocker',
  nameKey: (device: DayDevice) => device.canonicalHostname,
  truncationLength: null,
  truncatedNameKey: () => null,
  // Every computer running the agent is a managed machine, so the RMM should know it.
  expectsCounterpart: () => true,
  // ThreatLocker has no billing notion; spare status comes from the RMM.
  isSpare: () => false,
  isSecondaryView: () => false,
});
