/**
 * Day devices for the variance tests, shaped the way the normalizers store them: ThreatLocker's
 * display name defaults to its hostname; NinjaOne's hostname is the DNS name when there is one,
 * else the NetBIOS `systemName`.
 */
import { canonicalHostname } from '../../src/inventory/hostname.js';
import type { DayDevice } from '../../src/variances/types.js';

export const RIGBY = 'Rigby Financial Group';
export const CHILL = 'Chill Co Refrigeration';
export const SUMMIT = 'Summit Managed Services';

/** Check date of every test: staleness is measured from 2026-03-11T00:00:00Z. */
export const DATE = '2026-03-10';
export const RECENT = '2026-03-10T08:00:00.000Z';

type Overrides = Partial<Omit<DayDevice, 'vendor' | 'deviceKey' | 'hostname' | 'canonicalHostname'>>;

/** A ThreatLocker computer (display name = hostname, as when never renamed). */
export function tl(deviceKey: string, hostname: string, overrides: Overrides = {}): DayDevice {
  return {
    vendor: 'threatlocker',
    deviceKey,
    hostname,
    canonicalHostname: canonicalHostname(hostname),
    displayName: hostname,
    organizationName: RIGBY,
    organizationId: null,
    locationName: null,
    lastContact: RECENT,
    nodeClass: null,
    isVmGuest: null,
    systemName: null,
    billableStatus: null,
    ...overrides,
  };
}

/**
 * A NinjaOne device with a DNS name (`hostname`); `systemName` is its NetBIOS name, upper-case and
 * cut at 15 characters, as Windows reports it.
 */
export function nj(deviceKey: string, hostname: string, overrides: Overrides = {}): DayDevice {
  const short = hostname.split('.')[0] ?? hostname;
  return {
    vendor: 'ninja',
    deviceKey,
    hostname,
    canonicalHostname: canonicalHostname(hostname),
    displayName: null,
    organizationName: RIGBY,
    organizationId: null,
    locationName: 'Main Office',
    lastContact: RECENT,
    nodeClass: 'WINDOWS_WORKSTATION',
    isVmGuest: false,
    systemName: short.toUpperCase().slice(0, 15),
    billableStatus: 'billable',
    ...overrides,
  };
}

/** A NinjaOne device without a DNS name: its hostname is its NetBIOS `systemName`. */
export function njNetbios(deviceKey: string, systemName: string, overrides: Overrides = {}): DayDevice {
  return { ...nj(deviceKey, systemName, overrides), systemName };
}

/** `days` days (and `hours` hours) before the end of DATE, as the normalizers write it. */
export function beforeEndOfDate(days: number, hours = 0): string {
  return new Date(Date.UTC(2026, 2, 11) - days * 86_400_000 - hours * 3_600_000).toISOString();
}

/** A seeded Fisher–Yates shuffle (mulberry32), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const random = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
