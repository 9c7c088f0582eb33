/**
 * Pairing one day's security-agent computers with the same day's RMM devices. Pure, one pass in
 * memory: every lookup goes through maps keyed by name, never a loop over the other fleet.
 * The decisions (docs/variances.md, "Matching"):
 *
 * 1. Per role, devices are grouped by (organization, name key). A host-monitored VM guest record
 *    next to an agent record of the same name is a second view of that machine and is set
 *    aside. Two or more left are duplicates: only the most recent one takes part in pairing.
 * 2. Pairing is greedy over candidates in a total order: linked organizations, then unmapped,
 *    then moved (both mapped, to others); within each, an exact name before a truncated one;
 *    then the most recent security computer picks first, and picks its most recent candidate;
 *    device keys break what is left. Same input, same pairs, whatever the input order.
 */
import { compareText, isMapped, organizationRelation, type OrganizationMapping } from './organizations.js';
import { rulesOf } from './rules.js';
import type { DayDevice, MatchQuality, OrganizationRelation, Pair, VendorRole } from './types.js';

/** Two or more devices of one role with one name key in one organization (agent reinstalls). */
export interface DuplicateGroup {
  readonly role: VendorRole;
  readonly organization: string | null;
  readonly canonicalHostname: string;
  /** Most recent first; `members[0]` is the one that took part in pairing. */
  readonly members: readonly DayDevice[];
}

export interface MatchResult {
  /** Sorted by the security device key. */
  readonly pairs: readonly Pair[];
  /** Devices that took part in pairing and found no partner (duplicate leftovers and views excluded). */
  readonly unpairedSecurity: readonly DayDevice[];
  readonly unpairedRmm: readonly DayDevice[];
  readonly duplicates: Readonly<Record<VendorRole, readonly DuplicateGroup[]>>;
  /** Secondary records set aside because an agent record of the same name and organization exists. */
  readonly views: readonly DayDevice[];
}

/** A device with what matching reads from it, computed once. */
interface Entry {
  readonly device: DayDevice;
  readonly key: string;
  readonly truncatedKey: string | null;
  /** Last contact in epoch ms; -Infinity when never (or unreadable), so it sorts oldest. */
  readonly contactMs: number;
  partner: Entry | null;
}

/** A list of candidates, most recent first, read from the front; taken entries are skipped. */
interface Cursor {
  readonly items: Entry[];
  next: number;
}

/** Last contact in epoch ms; -Infinity when absent or unreadable. */
export function contactMs(device: DayDevice): number {
  if (device.lastContact === null) return -Infinity;
  const ms = Date.parse(device.lastContact);
  return Number.isNaN(ms) ? -Infinity : ms;
}

/** Most recent first, then by device key: a total order for one vendor's devices. */
function byRecency(a: Entry, b: Entry): number {
  if (a.contactMs !== b.contactMs) return a.contactMs > b.contactMs ? -1 : 1;
  return compareText(a.device.deviceKey, b.device.deviceKey);
}

function byDeviceKey(a: DayDevice, b: DayDevice): number {
  return compareText(a.deviceKey, b.deviceKey);
}

const groupKey = (organization: string | null, key: string): string => `${organization ?? ''}\u0000${key}`;

interface Prepared {
  /** The devices that take part in pairing, most recent first. */
  readonly primaries: Entry[];
  readonly duplicates: DuplicateGroup[];
  readonly views: DayDevice[];
}

/** Step 1 for one role: name keys, views set aside, duplicate groups, the primaries. */
function prepare(role: VendorRole, devices: readonly DayDevice[]): Prepared {
  const groups = new Map<string, Entry[]>();
  for (const device of devices) {
    const rules = rulesOf(device);
    const entry: Entry = { device, key: rules.nameKey(device), truncatedKey: rules.truncatedNameKey(device), contactMs: contactMs(device), partner: null };
    const k = groupKey(device.organizationName, entry.key);
    const group = groups.get(k);
    if (group) group.push(entry);
    else groups.set(k, [entry]);
  }
  const primaries: Entry[] = [];
  const duplicates: DuplicateGroup[] = [];
  const views: DayDevice[] = [];
  for (const group of groups.values()) {
    let members = group;
    if (group.length > 1) {
      const agents = group.filter((e) => !rulesOf(e.device).isSecondaryView(e.device));
      // Only views (no agent record): they stand for the machine themselves.
      if (agents.length > 0 && agents.length < group.length) {
        for (const e of group) if (!agents.includes(e)) views.push(e.device);
        members = agents;
      }
    }
    members.sort(byRecency);
    const [latest] = members;
    if (latest === undefined) continue;
    primaries.push(latest);
    if (members.length > 1) {
      duplicates.push({ role, organization: latest.device.organizationName, canonicalHostname: latest.key, members: members.map((e) => e.device) });
    }
  }
  primaries.sort(byRecency);
  duplicates.sort((a, b) => compareText(a.organization ?? '', b.organization ?? '') || compareText(a.canonicalHostname, b.canonicalHostname));
  views.sort(byDeviceKey);
  return { primaries, duplicates, views };
}

function addTo(index: Map<string, Cursor>, key: string, entry: Entry): void {
  const cursor = index.get(key);
  if (cursor) cursor.items.push(entry);
  else index.set(key, { items: [entry], next: 0 });
}

/** The first entry of the list not yet paired (the list is most recent first). */
function head(cursor: Cursor | undefined): Entry | undefined {
  if (!cursor) return undefined;
  while (cursor.next < cursor.items.length && cursor.items[cursor.next]?.partner !== null) cursor.next++;
  return cursor.items[cursor.next];
}

/** RMM primaries indexed every way a phase looks them up; lists keep the most-recent-first order. */
interface RmmIndex {
  readonly all: Map<string, Cursor>;
  readonly byOrganization: Map<string, Cursor>;
  readonly unmapped: Map<string, Cursor>;
}

function indexRmm(entries: readonly Entry[], mapping: OrganizationMapping, keyOf: (e: Entry) => string | null): RmmIndex {
  const index: RmmIndex = { all: new Map(), byOrganization: new Map(), unmapped: new Map() };
  for (const e of entries) {
    const key = keyOf(e);
    if (key === null) continue;
    const organization = e.device.organizationName;
    addTo(index.all, key, e);
    if (organization !== null) addTo(index.byOrganization, groupKey(organization, key), e);
    if (!isMapped(mapping, 'rmm', organization)) addTo(index.unmapped, key, e);
  }
  return index;
}

type Phase = readonly [relation: OrganizationRelation, name: Pair['nameMatch']];
/** The preference order: organizations first, then exact before truncated. */
const PHASES: readonly Phase[] = [
  ['linked', 'exact'],
  ['linked', 'truncated'],
  ['unmapped', 'exact'],
  ['unmapped', 'truncated'],
  ['moved', 'exact'],
  ['moved', 'truncated'],
];

/**
 * Pairs security-agent computers with RMM devices of the same snapshot date; each device pairs
 * at most once. See docs/variances.md for every rule, with examples.
 *
 * @example
 *   const mapping = buildOrganizationMapping({ security: tlOrgs, rmm: ninjaOrgs }, links);
 *   const { pairs, unpairedSecurity } = matchDevices(threatlocker, ninja, mapping);
 */
export function matchDevices(security: readonly DayDevice[], rmm: readonly DayDevice[], organizations: OrganizationMapping): MatchResult {
  const sec = prepare('security', security);
  const ninja = prepare('rmm', rmm);
  const exact = indexRmm(ninja.primaries, organizations, (e) => e.key);
  const truncated = indexRmm(ninja.primaries, organizations, (e) => e.truncatedKey);
  // The length an RMM may cut names to (NetBIOS: 15); one per RMM vendor, read from its rules.
  const cutLength = ninja.primaries.reduce<number | null>((found, e) => found ?? rulesOf(e.device).truncationLength, null);

  const pairs: Pair[] = [];
  for (const [relation, nameMatch] of PHASES) {
    const index = nameMatch === 'exact' ? exact : truncated;
    for (const s of sec.primaries) {
      if (s.partner !== null) continue;
      let lookup: string | null = s.key;
      if (nameMatch === 'truncated') lookup = cutLength !== null && s.key.length > cutLength ? s.key.slice(0, cutLength) : null;
      if (lookup === null) continue;
      const r = candidate(relation, s, lookup, index, organizations);
      if (r === undefined) continue;
      s.partner = r;
      r.partner = s;
      const organizationsOfPair = organizationRelation(organizations, s.device.organizationName, r.device.organizationName);
      const quality: MatchQuality = organizationsOfPair === 'linked' ? nameMatch : 'cross_org';
      pairs.push({ security: s.device, rmm: r.device, quality, nameMatch, organizations: organizationsOfPair });
    }
  }
  pairs.sort((a, b) => byDeviceKey(a.security, b.security));
  const unpaired = (entries: readonly Entry[]): DayDevice[] => entries.filter((e) => e.partner === null).map((e) => e.device).sort(byDeviceKey);
  return {
    pairs,
    unpairedSecurity: unpaired(sec.primaries),
    unpairedRmm: unpaired(ninja.primaries),
    duplicates: { security: sec.duplicates, rmm: ninja.duplicates },
    views: [...sec.views, ...ninja.views].sort((a, b) => compareText(a.vendor, b.vendor) || byDeviceKey(a, b)),
  };
}

/** The best free RMM candidate for `s` in one phase, or undefined. */
function candidate(relation: OrganizationRelation, s: Entry, lookup: string, index: RmmIndex, organizations: OrganizationMapping): Entry | undefined {
  const organization = s.device.organizationName;
  const mapped = isMapped(organizations, 'security', organization);
  switch (relation) {
    case 'linked': {
      if (organization === null) return undefined;
      let best: Entry | undefined;
      for (const rmmOrganization of organizations.links.get(organization) ?? []) {
        const e = head(index.byOrganization.get(groupKey(rmmOrganization, lookup)));
        if (e !== undefined && (best === undefined || byRecency(e, best) < 0)) best = e;
      }
      return best;
    }
    case 'unmapped':
      // An unmapped organization can be anyone's: any namesake will do; a mapped one only
      // takes a namesake whose own organization is unmapped.
      return head((mapped ? index.unmapped : index.all).get(lookup));
    case 'moved':
      // Every free namesake left is in a mapped organization not linked to this one: the
      // earlier phases would have taken it otherwise.
      return mapped ? head(index.all.get(lookup)) : undefined;
  }
}
