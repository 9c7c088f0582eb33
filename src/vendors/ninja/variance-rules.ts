/**
 * NinjaOne's part in matching and the variance rules (the RMM: the record of what exists).
 * Reads only the snapshot columns `normalize.ts` wrote, so both agree on what a class or a spare is.
 */
import type { DayDevice, VendorVarianceRules } from '../../variances/types.js';

/** A Windows NetBIOS name (NinjaOne `systemName`) holds at most 15 characters. */
export const NETBIOS_LENGTH = 15;

/**
 * Node classes of machines that run an agent and should run ThreatLocker: Windows, macOS and Linux
 * workstations and servers. A VM guest with an agent reports one of these classes, so it is
 * included. Not here: host-monitored guests (`VMWARE_VM_GUEST`, `HYPERV_VMM_GUEST` — records the
 * hypervisor reports, no agent), VM hosts (`VMWARE_VM_HOST` is ESXi, `HYPERV_VMM_HOST`), network
 * devices (`NMS_*`), mobiles and cloud monitor targets.
 */
export const PROTECTED_NODE_CLASSES: ReadonlySet<string> = new Set([
  'WINDOWS_WORKSTATION',
  'WINDOWS_SERVER',
  'MAC',
  'MAC_SERVER',
  'LINUX_WORKSTATION',
  'LINUX_SERVER',
]);

/** Guests seen through their hypervisor (vCenter/ESXi, Hyper-V host), not through an agent of their own. */
export const HOST_MONITORED_GUEST_CLASSES: ReadonlySet<string> = new Set(['VMWARE_VM_GUEST', 'HYPERV_VMM_GUEST']);

const nodeClass = (device: DayDevice): string => device.nodeClass?.toUpperCase() ?? '';

export function shouldBeProtected(device: DayDevice): boolean {
  return PROTECTED_NODE_CLASSES.has(nodeClass(device));
}

/** `billable_status_name` is `spare` when the display or location name says so (normalize.ts). */
export function isSpare(device: DayDevice): boolean {
  return device.billableStatus?.toLowerCase() === 'spare';
}

/**
 * The NetBIOS key: the device's hostname *is* its `systemName` (NinjaOne had no DNS name) and that
 * name is exactly 15 characters, so it may be a longer name cut short. A shorter NetBIOS name is
 * complete, and a device with a DNS name has its full name already. The comparison is exact on
 * purpose: a DNS name that only differs in case (`chi-abcdefghijk` vs `CHI-ABCDEFGHIJK`) is a
 * DNS name, hence complete.
 *
 * @example netbiosKey({ hostname: 'AEC-02739619435', systemName: 'AEC-02739619435', … }) // 'aec-02739619435'
 */
export function netbiosKey(device: DayDevice): string | null {
  if (device.systemName === null || device.hostname !== device.systemName) return null;
  return device.canonicalHostname.length === NETBIOS_LENGTH ? device.canonicalHostname : null;
}

export const ninjaVarianceRules: VendorVarianceRules = Object.freeze({
  vendor: 'ninja',
  label: 'NinjaOne',
  nameKey: (device: DayDevice) => device.canonicalHostname,
  truncationLength: NETBIOS_LENGTH,
  truncatedNameKey: netbiosKey,
  expectsCounterpart: (device: DayDevice) => shouldBeProtected(device) && !isSpare(device),
  isSpare,
  isSecondaryView: (device: DayDevice) => HOST_MONITORED_GUEST_CLASSES.has(nodeClass(device)),
});
