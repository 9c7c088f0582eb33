/**
 * The variance rules over one day: pure, nothing stored. Reads both fleets, pairs them
 * (match.ts), and reports where the tools disagree. Rules speak of roles (security agent, RMM);
 * what a vendor means by a spare or a protectable device comes from its rule module.
 * Every rule, with an example, is in docs/variances.md.
 */
import { compareText, buildOrganizationMapping, type OrganizationMapping } from './organizations.js';
import { matchDevices, recencyKey, type DuplicateGroup } from './match.js';
import { rulesOf, VARIANCE_RULES, vendorOf } from './rules.js';
import type { VendorKey } from '../inventory/vendors.js';
import {
  VARIANCE_TYPES,
  VENDOR_ROLES,
  type CheckInput,
  type CheckResult,
  type DayDevice,
  type FoundVariance,
  type Pair,
  type VarianceDeviceRef,
  type VarianceType,
  type VendorRole,
} from './types.js';

const DAY_MS = 86_400_000;

/** A device of this role with no counterpart in the other tool. */
const MISSING: Readonly<Record<VendorRole, VarianceType>> = { security: 'MISSING_NINJA', rmm: 'MISSING_THREATLOCKER' };
const DUPLICATE: Readonly<Record<VendorRole, VarianceType>> = { security: 'DUPLICATE_TL', rmm: 'DUPLICATE_NINJA' };
const OTHER: Readonly<Record<VendorRole, VendorRole>> = { security: 'rmm', rmm: 'security' };

/**
 * The instant before which a device is stale: `staleDays` days before the end of `date`, as an
 * ISO string (compared with `recencyKey`). The end of the day is taken in UTC; the business time
 * zone moves it by hours, not days. A device seen exactly at the cutoff is not stale.
 *
 * @example staleCutoff('2026-03-10', 30) // '2026-02-09T00:00:00.000Z'
 */
export function staleCutoff(date: string, staleDays: number): string {
  const start = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : NaN;
  if (Number.isNaN(start)) throw new RangeError(`check date must be YYYY-MM-DD, got "${date}"`);
  if (!Number.isFinite(staleDays) || staleDays < 0) throw new RangeError(`staleDays must be a number ≥ 0, got ${staleDays}`);
  return new Date(start + DAY_MS - staleDays * DAY_MS).toISOString();
}

/**
 * Runs every variance rule over one day.
 *
 * @example
 *   const result = runChecks({ date: '2026-03-10', devices: { threatlocker, ninja }, links, settings: { staleDays: 30, spareAllowedLocations: ['ES Spare'] } });
 *   result.variances.filter((v) => v.type === 'MISSING_NINJA');
 */
export function runChecks(input: CheckInput): CheckResult {
  const cutoff = staleCutoff(input.date, input.settings.staleDays);
  // Never seen ('') sorts before any cutoff: stale.
  const isStale = (device: DayDevice): boolean => recencyKey(device) < cutoff;
  const vendors = { security: vendorOf('security'), rmm: vendorOf('rmm') };
  const fleets: Record<VendorRole, readonly DayDevice[]> = { security: input.devices[vendors.security], rmm: input.devices[vendors.rmm] };
  const known = input.organizations;
  const organizations = buildOrganizationMapping(
    {
      security: organizationNames(fleets.security, known?.[vendors.security]),
      rmm: organizationNames(fleets.rmm, known?.[vendors.rmm]),
    },
    input.links,
  );
  const match = matchDevices(fleets.security, fleets.rmm, organizations);
  const labels = { security: VARIANCE_RULES[vendors.security].label, rmm: VARIANCE_RULES[vendors.rmm].label };
  const found = new Map<VarianceType, FoundVariance[]>(VARIANCE_TYPES.map((type) => [type, []]));
  const report = (variance: FoundVariance): void => {
    found.get(variance.type)?.push(variance);
  };

  const unpaired: Record<VendorRole, readonly DayDevice[]> = { security: match.unpairedSecurity, rmm: match.unpairedRmm };
  // Stale devices and devices the other tool need not know (spares, network devices…) are never missing.
  const missingDevices = (role: VendorRole): DayDevice[] => unpaired[role].filter((d) => !isStale(d) && rulesOf(d).expectsCounterpart(d));
  const missingByRole: Record<VendorRole, DayDevice[]> = { security: missingDevices('security'), rmm: missingDevices('rmm') };
  const namesakes = namesakeIndex(fleets, missingByRole, match.pairs);
  for (const role of ['security', 'rmm'] as const) {
    for (const device of missingByRole[role]) report(missing(role, device, namesakes, labels));
    for (const group of match.duplicates[role]) report(duplicate(role, group, labels));
  }

  const allowed = new Set(input.settings.spareAllowedLocations.map((l) => l.trim().toLowerCase()));
  for (const pair of match.pairs) {
    if (rulesOf(pair.rmm).isSpare(pair.rmm) && !allowed.has(pair.rmm.locationName?.trim().toLowerCase() ?? '')) {
      report(spareMismatch(pair, input.settings.spareAllowedLocations, labels));
    }
    const names = displayNames(pair);
    if (names !== null) report(displayNameMismatch(pair, names, labels));
    if (pair.organizations === 'moved') report(siteMismatch(pair, organizations, labels));
  }

  // By type in VARIANCE_TYPES order; within a type in a deterministic order (device key,
  // organization and name, or pairing order), so no sort of the whole list is needed.
  const variances = VARIANCE_TYPES.flatMap((type) => found.get(type) ?? []);
  const stale = [...fleets.security, ...fleets.rmm].filter(isStale).sort((a, b) => compareText(a.vendor, b.vendor) || compareText(a.deviceKey, b.deviceKey));
  return {
    variances,
    pairs: match.pairs,
    stale,
    // Keyed by vendor for the API; every vendor has a role, so every key is filled.
    unmappedOrganizations: Object.fromEntries(
      (Object.keys(VENDOR_ROLES) as VendorKey[]).map((vendor) => [vendor, organizations.unmapped[VENDOR_ROLES[vendor]]]),
    ) as Record<VendorKey, readonly string[]>,
  };
}

type Labels = Readonly<Record<VendorRole, string>>;

/** The organizations the devices carry, plus those known to exist on the day (`CheckInput.organizations`). */
export function organizationNames(devices: readonly DayDevice[], known: readonly string[] = []): Set<string> {
  const names = new Set<string>(known);
  for (const d of devices) if (d.organizationName !== null) names.add(d.organizationName);
  return names;
}

export function deviceRef(device: DayDevice): VarianceDeviceRef {
  return {
    vendor: device.vendor,
    device_key: device.deviceKey,
    hostname: device.hostname,
    display_name: device.displayName,
    organization_name: device.organizationName,
    location_name: device.locationName,
  };
}

/** `TYPE:vendor:key[:vendor:key]`: stable while the same devices are concerned. */
function pairSubject(type: VarianceType, pair: Pair): string {
  return `${type}:${pair.security.vendor}:${pair.security.deviceKey}:${pair.rmm.vendor}:${pair.rmm.deviceKey}`;
}

/** Who else carries a missing device's name in the other tool, for its evidence. */
interface NamesakeIndex {
  readonly byKey: Readonly<Record<VendorRole, ReadonlyMap<string, DayDevice[]>>>;
  /** Security names longer than the RMM cut length, by their cut prefix. */
  readonly securityByPrefix: ReadonlyMap<string, DayDevice[]>;
  /** The length the RMM may cut names to; null when it never does. */
  readonly cut: number | null;
  readonly partner: ReadonlyMap<DayDevice, DayDevice>;
}

/**
 * Indexes only the names the missing devices carry: one scan of each fleet with a set lookup,
 * no list for the thousands of names nobody asks about.
 */
function namesakeIndex(fleets: Readonly<Record<VendorRole, readonly DayDevice[]>>, missing: Readonly<Record<VendorRole, readonly DayDevice[]>>, pairs: readonly Pair[]): NamesakeIndex {
  const cut = fleets.rmm.reduce<number | null>((found, d) => found ?? rulesOf(d).truncationLength, null);
  // Names wanted from each role's fleet: the missing devices of the other role, plus (for the
  // RMM) the NetBIOS prefix a long security name may have been cut to.
  const wanted = { security: new Set<string>(), rmm: new Set<string>() };
  const wantedPrefixes = new Set<string>();
  for (const d of missing.security) {
    const key = rulesOf(d).nameKey(d);
    wanted.rmm.add(key);
    if (cut !== null && key.length > cut) wanted.rmm.add(key.slice(0, cut));
  }
  for (const d of missing.rmm) {
    wanted.security.add(rulesOf(d).nameKey(d));
    const truncated = rulesOf(d).truncatedNameKey(d);
    if (truncated !== null) wantedPrefixes.add(truncated);
  }
  const push = (map: Map<string, DayDevice[]>, key: string, d: DayDevice): void => {
    const list = map.get(key);
    if (list) list.push(d);
    else map.set(key, [d]);
  };
  const byKey = { security: new Map<string, DayDevice[]>(), rmm: new Map<string, DayDevice[]>() };
  const securityByPrefix = new Map<string, DayDevice[]>();
  for (const role of ['security', 'rmm'] as const) {
    if (wanted[role].size === 0 && (role === 'rmm' || wantedPrefixes.size === 0)) continue;
    for (const d of fleets[role]) {
      const key = rulesOf(d).nameKey(d);
      if (wanted[role].has(key)) push(byKey[role], key, d);
      if (role === 'security' && cut !== null && key.length > cut && wantedPrefixes.has(key.slice(0, cut))) push(securityByPrefix, key.slice(0, cut), d);
    }
  }
  const partner = new Map<DayDevice, DayDevice>();
  if (missing.security.length + missing.rmm.length > 0) {
    for (const p of pairs) {
      partner.set(p.security, p.rmm);
      partner.set(p.rmm, p.security);
    }
  }
  return { byKey, securityByPrefix, cut, partner };
}

function namesakesOf(role: VendorRole, device: DayDevice, index: NamesakeIndex): Record<string, unknown>[] {
  const rules = rulesOf(device);
  const key = rules.nameKey(device);
  const found = [...(index.byKey[OTHER[role]].get(key) ?? [])];
  if (role === 'security') {
    // An RMM device whose cut-short (NetBIOS) name starts this longer name.
    if (index.cut !== null && key.length > index.cut) {
      const prefix = key.slice(0, index.cut);
      for (const d of index.byKey.rmm.get(prefix) ?? []) if (rulesOf(d).truncatedNameKey(d) === prefix) found.push(d);
    }
  } else {
    const truncated = rules.truncatedNameKey(device);
    if (truncated !== null) found.push(...(index.securityByPrefix.get(truncated) ?? []));
  }
  return found
    .sort((a, b) => compareText(a.deviceKey, b.deviceKey))
    .map((d) => ({
      vendor: d.vendor,
      device_key: d.deviceKey,
      hostname: d.hostname,
      organization_name: d.organizationName,
      paired_with: index.partner.get(d)?.deviceKey ?? null,
    }));
}

function missing(role: VendorRole, device: DayDevice, index: NamesakeIndex, labels: Labels): FoundVariance {
  const type = MISSING[role];
  const host = device.canonicalHostname;
  const hint =
    role === 'security'
      ? `Install the ${labels.rmm} agent on ${host}, or remove it from ${labels.security} if the machine is retired`
      : `Install ${labels.security} on ${host}, or mark it spare in ${labels.rmm} if it is not in use`;
  return {
    type,
    subjectKey: `${type}:${device.vendor}:${device.deviceKey}`,
    hostname: host,
    organization: device.organizationName,
    matchQuality: null,
    devices: [deviceRef(device)],
    evidence: {
      hostname: device.hostname,
      last_contact: device.lastContact,
      ...(role === 'rmm' ? { node_class: device.nodeClass } : {}),
      namesakes: namesakesOf(role, device, index),
    },
    hint,
  };
}

function duplicate(role: VendorRole, group: DuplicateGroup, labels: Labels): FoundVariance {
  const type = DUPLICATE[role];
  const [latest] = group.members;
  const older = group.members.length - 1;
  return {
    type,
    // Organization names are free text: encoded, so the separator stays unambiguous.
    subjectKey: `${type}:${encodeURIComponent(group.organization ?? '')}:${group.canonicalHostname}`,
    hostname: group.canonicalHostname,
    organization: group.organization,
    matchQuality: null,
    devices: group.members.map(deviceRef),
    evidence: {
      count: group.members.length,
      latest_device_key: latest?.deviceKey ?? null,
      latest_contact: latest?.lastContact ?? null,
      members: group.members.map((d) => ({ device_key: d.deviceKey, hostname: d.hostname, last_contact: d.lastContact })),
    },
    hint: `Remove the ${older} older ${labels[role]} record${older === 1 ? '' : 's'} of ${group.canonicalHostname}; keep ${latest?.deviceKey ?? '?'}, the last to check in`,
  };
}

function pairVariance(type: VarianceType, pair: Pair, evidence: Record<string, unknown>, hint: string): FoundVariance {
  return {
    type,
    subjectKey: pairSubject(type, pair),
    hostname: pair.security.canonicalHostname,
    // The security agent's organization: the customer whose licence the computer uses.
    organization: pair.security.organizationName ?? pair.rmm.organizationName,
    matchQuality: pair.quality,
    devices: [deviceRef(pair.security), deviceRef(pair.rmm)],
    evidence,
    hint,
  };
}

function spareMismatch(pair: Pair, allowedLocations: readonly string[], labels: Labels): FoundVariance {
  return pairVariance(
    'SPARE_MISMATCH',
    pair,
    {
      rmm_billable_status: pair.rmm.billableStatus,
      rmm_location_name: pair.rmm.locationName,
      rmm_display_name: pair.rmm.displayName,
      spare_allowed_locations: allowedLocations,
      security_device_key: pair.security.deviceKey,
      security_last_contact: pair.security.lastContact,
    },
    `Remove ${labels.security} from spare ${pair.security.canonicalHostname}, or move it to a spare location that may keep ${labels.security}`,
  );
}

const fold = (name: string | null): string => name?.trim().toLowerCase() ?? '';

/**
 * The two display names when they differ after trim and case folding, else null. Not a
 * mismatch: the RMM has no display name and the security agent shows its default, the hostname
 * (it has simply never been named).
 */
export function displayNames(pair: Pair): { security: string | null; rmm: string | null } | null {
  const security = fold(pair.security.displayName);
  const rmm = fold(pair.rmm.displayName);
  if (security === rmm) return null;
  if (rmm === '' && security === fold(pair.security.hostname)) return null;
  return { security: pair.security.displayName, rmm: pair.rmm.displayName };
}

function displayNameMismatch(pair: Pair, names: { security: string | null; rmm: string | null }, labels: Labels): FoundVariance {
  const rmmBlank = fold(names.rmm) === '';
  return pairVariance(
    'DISPLAY_NAME_MISMATCH',
    pair,
    {
      security_display_name: names.security,
      rmm_display_name: names.rmm,
      security_vendor: pair.security.vendor,
      security_device_key: pair.security.deviceKey,
      security_hostname: pair.security.hostname,
      rmm_device_key: pair.rmm.deviceKey,
      rmm_hostname: pair.rmm.hostname,
    },
    rmmBlank
      ? `Set the display name in ${labels.rmm} (${labels.security} shows "${names.security ?? ''}"), then sync`
      : `Rename in ${labels.security} to the ${labels.rmm} name "${names.rmm ?? ''}", then sync`,
  );
}

function siteMismatch(pair: Pair, organizations: OrganizationMapping, labels: Labels): FoundVariance {
  const securityOrg = pair.security.organizationName ?? '';
  const rmmOrg = pair.rmm.organizationName ?? '';
  const linkedRmm = [...(organizations.links.get(securityOrg) ?? [])].sort(compareText);
  const linkedSecurity = [...(organizations.rmmLinks.get(rmmOrg) ?? [])].sort(compareText);
  return pairVariance(
    'SITE_MISMATCH',
    pair,
    {
      security_organization: pair.security.organizationName,
      rmm_organization: pair.rmm.organizationName,
      security_organization_linked_to: linkedRmm,
      rmm_organization_linked_to: linkedSecurity,
    },
    `Move ${pair.security.canonicalHostname} to one customer: ${labels.security} has it in "${securityOrg}", ${labels.rmm} in "${rmmOrg}"`,
  );
}
