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
  /** In pairing order (phase, then most recent first): the same for the same input. */
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
  /** `lastContact` as a sortable instant (see `recencyKey`). */
  readonly recency: string;
  /** Its organization is linked to at least one of the other tool's. */
  readonly mapped: boolean;
  partner: Entry | null;
}

/**
 * Several candidates under one name, most recent first, read from the front; taken ones are
 * skipped. Long lists (one generic name in many customers) get per-organization and unmapped
 * sub-lists on first use, so a lookup never walks every namesake.
 */
interface Cursor {
  readonly items: Entry[];
  next: number;
  byOrganization?: Map<string, Cursor>;
  unmapped?: Cursor;
}
/** One name's candidates: a single entry (the usual case, no list allocated) or a cursor. */
type Slot = Entry | Cursor;

/** Lists up to this long are scanned; longer ones get sub-lists. */
const SCAN_LIMIT = 16;

/**
 * `lastContact` as a string that sorts by instant: the normalizers' `toISOString()` form
 * (`2026-03-10T08:00:00.000Z`) as it is, any other RFC 3339 form converted to it, '' when never
 * or unreadable (sorts oldest). Strings, not numbers: the usual form needs no parsing, which
 * counts at 100k devices.
 *
 * @example recencyKey({ lastContact: '2026-03-10T03:00:00-05:00', … }) // '2026-03-10T08:00:00.000Z'
 */
export function recencyKey(device: DayDevice): string {
  const value = device.lastContact;
  if (value === null) return '';
  if (value.length === 24 && value.charCodeAt(23) === 90 /* Z */ && value.charCodeAt(10) === 84 /* T */) return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

/** Most recent first, then by device key: a total order for one vendor's devices. */
function byRecency(a: Entry, b: Entry): number {
  if (a.recency !== b.recency) return a.recency > b.recency ? -1 : 1;
  return compareText(a.device.deviceKey, b.device.deviceKey);
}

function byDeviceKey(a: DayDevice, b: DayDevice): number {
  return compareText(a.deviceKey, b.deviceKey);
}

const isCursor = (slot: Slot): slot is Cursor => 'items' in slot;
const cursorOf = (items: Entry[]): Cursor => ({ items, next: 0 });

function push(map: Map<string, Slot>, key: string, entry: Entry): void {
  const slot = map.get(key);
  if (slot === undefined) map.set(key, entry);
  else if (isCursor(slot)) slot.items.push(entry);
  else map.set(key, cursorOf([slot, entry]));
}

/** Sorts every list most recent first (lists are built in input order). */
function sortSlots(map: Map<string, Slot>): void {
  for (const slot of map.values()) if (isCursor(slot)) slot.items.sort(byRecency);
}

interface Prepared {
  /** The devices that take part in pairing, most recent first. */
  readonly primaries: Entry[];
  /** The primaries by name key (one per organization), most recent first. */
  readonly byKey: Map<string, Slot>;
  readonly duplicates: DuplicateGroup[];
  readonly views: DayDevice[];
}

/**
 * Step 1 for one role: name keys; within one (organization, name), views set aside and
 * duplicates reduced to their most recent member. One map operation per device: names are
 * nearly always unique, so organizations are only compared among namesakes.
 */
function prepare(role: VendorRole, devices: readonly DayDevice[], organizations: OrganizationMapping): Prepared {
  const byKey = new Map<string, Slot>();
  for (const device of devices) {
    const rules = rulesOf(device);
    const entry: Entry = {
      device,
      key: rules.nameKey(device),
      truncatedKey: rules.truncatedNameKey(device),
      recency: recencyKey(device),
      mapped: isMapped(organizations, role, device.organizationName),
      partner: null,
    };
    push(byKey, entry.key, entry);
  }
  const primaries: Entry[] = [];
  const duplicates: DuplicateGroup[] = [];
  const views: DayDevice[] = [];
  for (const [key, slot] of byKey) {
    if (!isCursor(slot)) {
      primaries.push(slot);
      continue;
    }
    const byOrganization = new Map<string, Entry[]>();
    for (const e of slot.items) {
      const organization = e.device.organizationName ?? '';
      const group = byOrganization.get(organization);
      if (group) group.push(e);
      else byOrganization.set(organization, [e]);
    }
    const kept: Entry[] = [];
    for (const group of byOrganization.values()) {
      let members = group.filter((e) => !rulesOf(e.device).isSecondaryView(e.device));
      if (members.length === 0) members = group; // only views, no agent record: they stand for the machine
      else if (members.length < group.length) for (const e of group) if (!members.includes(e)) views.push(e.device);
      members.sort(byRecency);
      const [latest] = members;
      if (latest === undefined) continue;
      kept.push(latest);
      if (members.length > 1) duplicates.push({ role, organization: latest.device.organizationName, canonicalHostname: key, members: members.map((e) => e.device) });
    }
    primaries.push(...kept);
    const [only] = kept;
    if (kept.length === 1 && only !== undefined) byKey.set(key, only);
    else byKey.set(key, cursorOf(kept.sort(byRecency)));
  }
  duplicates.sort((a, b) => compareText(a.organization ?? '', b.organization ?? '') || compareText(a.canonicalHostname, b.canonicalHostname));
  views.sort(byDeviceKey);
  return { primaries, byKey, duplicates, views };
}

/** The most recent free entry of a slot that `accept` takes. */
function first(slot: Slot | undefined, accept: (e: Entry) => boolean): Entry | undefined {
  if (slot === undefined) return undefined;
  if (!isCursor(slot)) return slot.partner === null && accept(slot) ? slot : undefined;
  while (slot.next < slot.items.length && slot.items[slot.next]?.partner !== null) slot.next++;
  for (let i = slot.next; i < slot.items.length; i++) {
    const e = slot.items[i];
    if (e !== undefined && e.partner === null && accept(e)) return e;
  }
  return undefined;
}

/** The most recent free entry of a slot in one organization. */
function firstInOrganization(slot: Slot | undefined, organization: string): Entry | undefined {
  if (slot === undefined || !isCursor(slot) || slot.items.length <= SCAN_LIMIT) return first(slot, (e) => e.device.organizationName === organization);
  if (!slot.byOrganization) {
    slot.byOrganization = new Map();
    for (const e of slot.items) if (e.device.organizationName !== null) push(slot.byOrganization, e.device.organizationName, e);
  }
  const sub = slot.byOrganization.get(organization);
  return sub === undefined ? undefined : first(sub, () => true);
}

/** The most recent free entry of a slot whose organization is linked to nothing. */
function firstUnmapped(slot: Slot | undefined): Entry | undefined {
  if (slot === undefined || !isCursor(slot) || slot.items.length <= SCAN_LIMIT) return first(slot, (e) => !e.mapped);
  slot.unmapped ??= cursorOf(slot.items.filter((e) => !e.mapped));
  return first(slot.unmapped, () => true);
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
  const sec = prepare('security', security, organizations);
  const other = prepare('rmm', rmm, organizations);
  // The security side picks in recency order: the most recent computer picks first.
  sec.primaries.sort(byRecency);
  const truncated = new Map<string, Slot>();
  for (const e of other.primaries) if (e.truncatedKey !== null) push(truncated, e.truncatedKey, e);
  sortSlots(truncated);
  // The length the RMM may cut names to (NetBIOS: 15), from its rules.
  const cutLength = other.primaries.reduce<number | null>((found, e) => found ?? rulesOf(e.device).truncationLength, null);

  const pairs: Pair[] = [];
  for (const [relation, nameMatch] of PHASES) {
    const index = nameMatch === 'exact' ? other.byKey : truncated;
    for (const s of sec.primaries) {
      if (s.partner !== null) continue;
      let lookup: string | null = s.key;
      if (nameMatch === 'truncated') lookup = cutLength !== null && s.key.length > cutLength ? s.key.slice(0, cutLength) : null;
      if (lookup === null) continue;
      const r = candidate(relation, s, index.get(lookup), organizations);
      if (r === undefined) continue;
      s.partner = r;
      r.partner = s;
      const organizationsOfPair = organizationRelation(organizations, s.device.organizationName, r.device.organizationName);
      const quality: MatchQuality = organizationsOfPair === 'linked' ? nameMatch : 'cross_org';
      pairs.push({ security: s.device, rmm: r.device, quality, nameMatch, organizations: organizationsOfPair });
    }
  }
  const unpaired = (entries: readonly Entry[]): DayDevice[] => entries.filter((e) => e.partner === null).map((e) => e.device).sort(byDeviceKey);
  return {
    pairs,
    unpairedSecurity: unpaired(sec.primaries),
    unpairedRmm: unpaired(other.primaries),
    duplicates: { security: sec.duplicates, rmm: other.duplicates },
    views: [...sec.views, ...other.views].sort((a, b) => compareText(a.vendor, b.vendor) || byDeviceKey(a, b)),
  };
}

/** The best free RMM candidate for `s` among its namesakes in one phase, or undefined. */
function candidate(relation: OrganizationRelation, s: Entry, slot: Slot | undefined, organizations: OrganizationMapping): Entry | undefined {
  if (slot === undefined) return undefined;
  switch (relation) {
    case 'linked': {
      const organization = s.device.organizationName;
      if (organization === null) return undefined;
      let best: Entry | undefined;
      for (const rmmOrganization of organizations.links.get(organization) ?? []) {
        const e = firstInOrganization(slot, rmmOrganization);
        if (e !== undefined && (best === undefined || byRecency(e, best) < 0)) best = e;
      }
      return best;
    }
    case 'unmapped':
      // An unmapped organization can be anyone's: any namesake will do; a mapped one only
      // takes a namesake whose own organization is unmapped.
      return s.mapped ? firstUnmapped(slot) : first(slot, () => true);
    case 'moved':
      // Every free namesake left is in a mapped organization not linked to this one: the
      // earlier phases would have taken it otherwise.
      return s.mapped ? first(slot, () => true) : undefined;
  }
}
