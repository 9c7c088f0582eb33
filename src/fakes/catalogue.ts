/**
 * The demo world every fake vendor draws from: client organisations and the physical machines
 * they own. It is vendor-neutral on purpose: each fake renders the same machine in its own shape
 * (ThreatLocker upper-cases names and may add the DNS suffix, NinjaOne truncates to 15
 * characters…), so one machine shows up in both tools with the differences real fleets have.
 *
 * Deterministic: the same seed and size give the same catalogue, and the catalogue for size N is
 * a prefix of the one for size N + 1 (organisations and sites are drawn before any machine).
 *
 * With `pitfalls`, the catalogue also carries the labelled pitfall cases (pitfalls.ts) and its
 * ordinary machines are made consistent across the tools, so that every variance the fleet
 * produces is one a pitfall label names: see {@link buildCatalogue}.
 */
import type { VendorKey } from '../inventory/vendors.js';
import { buildPitfalls, type PitfallCase } from './pitfalls.js';
import { createRng, type Rng } from './rng.js';

export type MachineKind = 'workstation' | 'laptop' | 'server' | 'vm-guest';
export type OsFamily = 'windows' | 'macos' | 'linux';

export interface Person {
  readonly first: string;
  readonly last: string;
  /** Written between quotes in display names, e.g. `Truman "TK" Bates`. */
  readonly nickname: string | null;
}

export interface CatalogueSite {
  readonly name: string;
  readonly publicIp: string;
  /** First three octets of the site LAN, e.g. `10.4.1`. */
  readonly subnet: string;
}

export interface CatalogueOrganization {
  readonly name: string;
  /** Upper-case prefix the client's technicians put in hostnames. */
  readonly code: string;
  /** Active Directory DNS domain; null for cloud-joined clients. */
  readonly domain: string | null;
  /** Who manages it: the MSP for a client, a client for its division, null for the MSP itself. */
  readonly parent: string | null;
  readonly sites: readonly CatalogueSite[];
  /** How a tool spells the name when it differs (e.g. `Acme, Inc.` vs `ACME Inc`); default `name`. */
  readonly vendorNames?: Readonly<Partial<Record<VendorKey, string>>>;
}

/** The name `vendor` shows for an organization. */
export function organizationName(org: CatalogueOrganization, vendor: VendorKey): string {
  return org.vendorNames?.[vendor] ?? org.name;
}

export interface PhysicalMachine {
  /** Position in the catalogue; stable for a given seed. */
  readonly index: number;
  readonly org: string;
  readonly site: string;
  /** Short machine name as the OS knows it; mostly upper-case, may exceed 15 characters. */
  readonly hostname: string;
  readonly domain: string | null;
  /** Null on servers, VM guests and spares. */
  readonly user: Person | null;
  /** The last person who used a spare machine. */
  readonly previousUser: Person | null;
  readonly kind: MachineKind;
  readonly os: { readonly family: OsFamily; readonly name: string; readonly build: string };
  readonly manufacturer: string;
  readonly model: string;
  /** Sometimes an OEM placeholder such as `To be filled by O.E.M.`. */
  readonly serial: string;
  readonly macAddress: string;
  readonly publicIp: string;
  readonly localIp: string;
  readonly enrolledAtMs: number;
  readonly lastSeenAtMs: number;
  /** When the agents were reinstalled (vendors then list the machine twice); null if never. */
  readonly reinstalledAtMs: number | null;
  readonly spare: boolean;
  readonly inThreatLocker: boolean;
  readonly inNinja: boolean;
  /** The agent was installed but never reported in. */
  readonly neverCheckedIn: boolean;
  /** Decommissioned: vendors keep it as a deleted record. */
  readonly deleted: boolean;
}

export interface Catalogue {
  readonly now: Date;
  /** The ordinary organizations first, then those only pitfall cases use. */
  readonly organizations: readonly CatalogueOrganization[];
  readonly machines: readonly PhysicalMachine[];
  /** Empty unless the `pitfalls` option was given. */
  readonly pitfalls: readonly PitfallCase[];
  /**
   * True with `pitfalls`: ordinary machines are rendered the same way by both tools (one
   * display-name convention, no reinstall duplicates, no spares, known to both), so they produce
   * no variance and the pitfall labels are the complete list.
   */
  readonly consistent: boolean;
}

export interface CatalogueOptions {
  seed: number;
  size: number;
  /** The instant the data is "as of"; fixed by default so that output never depends on the day. */
  now?: Date;
  /** Add the labelled pitfall cases and make ordinary machines consistent (default false). */
  pitfalls?: boolean;
}

export const CATALOGUE_NOW = new Date('2026-03-10T12:00:00Z');
const MSP_NAME = 'Summit Managed Services';

type OrgSpec = Omit<CatalogueOrganization, 'sites'> & { weight: number; siteNames: string[] };
const ORG_SPECS: readonly OrgSpec[] = [
  { name: MSP_NAME, code: 'SMS', domain: 'summit.local', parent: null, weight: 2, siteNames: ['Head Office'] },
  { name: 'Rigby Financial Group', code: 'RFG', domain: 'rigbyfg.local', parent: MSP_NAME, weight: 14, siteNames: ['Main Office', 'Elm Street Branch'] },
  { name: 'Chill Co Refrigeration', code: 'CHI', domain: null, parent: MSP_NAME, weight: 10, siteNames: ['Headquarters', 'Warehouse'] },
  { name: 'Aspen Engineering Collective', code: 'AEC', domain: 'aec.corp.local', parent: MSP_NAME, weight: 12, siteNames: ['Denver', 'Boulder'] },
  { name: 'Harbor Dental Partners', code: 'HDP', domain: null, parent: MSP_NAME, weight: 5, siteNames: ['Admin Office'] },
  { name: 'Harbor Dental - Eastside', code: 'HDE', domain: null, parent: 'Harbor Dental Partners', weight: 3, siteNames: ['Eastside Clinic'] },
  { name: 'Harbor Dental - Westside', code: 'HDW', domain: null, parent: 'Harbor Dental Partners', weight: 3, siteNames: ['Westside Clinic'] },
  { name: 'Meridian Law LLP', code: 'MLL', domain: 'meridianlaw.local', parent: MSP_NAME, weight: 8, siteNames: ['Downtown'] },
  { name: 'Northwind Logistics', code: 'NWL', domain: 'corp.local', parent: MSP_NAME, weight: 12, siteNames: ['Distribution Center', 'Head Office'] },
  { name: 'Northwind Logistics - Fleet Ops', code: 'NWF', domain: 'corp.local', parent: 'Northwind Logistics', weight: 4, siteNames: ['Fleet Yard'] },
  { name: 'Cedar Pediatrics', code: 'CPD', domain: null, parent: MSP_NAME, weight: 5, siteNames: ['Clinic'] },
  { name: 'Bluebird Nonprofit Alliance', code: 'BNA', domain: null, parent: MSP_NAME, weight: 4, siteNames: ['Office'] },
  // Signed but not deployed yet: clients must cope with an organisation that owns nothing.
  { name: 'Newfield Dental Lab', code: 'NDL', domain: null, parent: MSP_NAME, weight: 0, siteNames: ['Lab'] },
];

const FIRST = ['Tami', 'Gerard', 'Blake', 'Maria', 'Ahmed', 'Jenny', 'Carlos', 'Priya', 'Owen', 'Grace', 'Liam', 'Sofia', 'Noah', 'Hannah', 'Mateo', 'Chloe', 'Ethan', 'Aisha', 'Lucas', 'Emma', 'Diego', 'Zoe', 'Marcus', 'Ivy', 'Samuel', 'Nora', 'Victor', 'Leah', 'Caleb', 'Ruth'];
const LAST = ['Miller', 'Finnegan', 'Thomas', 'Garcia', 'Khan', 'Nguyen', 'Rossi', 'Patel', 'Walsh', 'Kim', 'Okafor', 'Silva', 'Brooks', 'Larsen', 'Cohen', 'Dubois', 'Young', 'Haddad', 'Moreau', 'Schmidt', 'Lopez', 'Novak', 'Reyes', 'Price', 'Fischer', 'Ward', 'Ito', 'Bennett', 'Hughes', 'Quinn'];
const NICKNAMED: readonly Person[] = [
  { first: 'Truman', last: 'Bates', nickname: 'TK' },
  { first: 'Robert', last: 'Lee', nickname: 'Bobby' },
  { first: 'Katherine', last: 'Osei', nickname: 'Kat' },
];

const KINDS: readonly (readonly [MachineKind, number])[] = [['workstation', 50], ['laptop', 32], ['server', 10], ['vm-guest', 8]];
const FAMILIES: Record<MachineKind, readonly (readonly [OsFamily, number])[]> = {
  workstation: [['windows', 95], ['macos', 5]],
  laptop: [['windows', 83], ['macos', 17]],
  server: [['windows', 80], ['linux', 20]],
  'vm-guest': [['windows', 70], ['linux', 30]],
};
/** [name, build prefix]; Windows builds get a random revision appended. */
const OS_NAMES: Record<'client' | 'server' | 'macos' | 'linux', readonly (readonly [string, string])[]> = {
  client: [['Windows 11 Pro', '10.0.26100.'], ['Windows 11 Business', '10.0.22631.'], ['Windows 10 Pro', '10.0.19045.'], ['Windows 11 Enterprise', '10.0.26100.']],
  server: [['Windows Server 2022 Standard', '10.0.20348.'], ['Windows Server 2019 Standard', '10.0.17763.'], ['Windows Server 2016 Datacenter', '10.0.14393.']],
  macos: [['macOS 14.6.1', '23G93'], ['macOS 15.3', '24D60']],
  linux: [['Ubuntu 22.04.4 LTS', '5.15.0-119-generic'], ['Red Hat Enterprise Linux 9.4', '5.14.0-427.el9.x86_64']],
};
type Hardware = readonly [manufacturer: string, model: string, serialLength: number];
const HARDWARE: Record<MachineKind | 'mac', readonly Hardware[]> = {
  workstation: [['Dell Inc.', 'OptiPlex 7090', 7], ['HP', 'HP EliteDesk 800 G6 SFF', 10], ['LENOVO', 'ThinkCentre M70q Gen 3', 8]],
  laptop: [['Dell Inc.', 'Latitude 5440', 7], ['LENOVO', 'ThinkPad T14 Gen 3', 8], ['HP', 'HP EliteBook 840 G8', 10]],
  server: [['Dell Inc.', 'PowerEdge R650', 7], ['HPE', 'ProLiant DL380 Gen10', 10]],
  'vm-guest': [['VMware, Inc.', 'VMware Virtual Platform', 12], ['Microsoft Corporation', 'Virtual Machine', 12]],
  mac: [['Apple Inc.', 'MacBookPro18,3', 10], ['Apple Inc.', 'iMac21,1', 10]],
};
/** Home-built desktops whose firmware reports a placeholder instead of a serial. */
const WHITE_BOX: Hardware = ['ASUS', 'System Product Name', 0];
const SERIAL_PLACEHOLDERS = ['To be filled by O.E.M.', 'System Serial Number', 'Default string'];

/**
 * The first machines each carry one rare quirk, so that even a small catalogue contains every
 * case the vendor quirk list (vendor-apis.md §3.1, §4) asks tests to cover.
 */
const FORCED_QUIRKS = ['long-hostname', 'nickname', 'spare', 'reinstalled', 'never-checked-in', 'deleted', 'domain-server', 'mac', 'linux'] as const;
type Quirk = (typeof FORCED_QUIRKS)[number];

const DAY_MS = 86_400_000;
const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Builds the catalogue. With `pitfalls`, ordinary machines are first drawn exactly as without
 * them (the same names, organizations and hardware), then made consistent: every machine is
 * known to both tools, none was reinstalled, decommissioned or left without a check-in, and
 * spares are back with their users. Machines that vary anyway (FQDNs, lower-case DNS names,
 * NetBIOS truncation, stale machines known to both tools, VM guests, network
 * devices, PENDING approvals) still do, since none of that is a variance. The
 * variance-producing quirks live in the pitfall cases instead, each one labelled.
 */
export function buildCatalogue({ seed, size, now = CATALOGUE_NOW, pitfalls = false }: CatalogueOptions): Catalogue {
  const rng = createRng(seed);
  const orgWeights = ORG_SPECS.map(({ weight, siteNames, ...org }, o) => {
    const sites = siteNames.map((name, s) => ({
      name,
      publicIp: `${rng.int(23, 216)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(2, 254)}`,
      subnet: `10.${o}.${s + 1}`,
    }));
    return [{ ...org, sites }, weight] as const;
  });
  const organizations = orgWeights.map(([org]) => org);
  const byCode = (code: string): CatalogueOrganization => organizations.find((o) => o.code === code) as CatalogueOrganization;
  const hostnames = new HostnameRegistry();
  const machines: PhysicalMachine[] = [];
  for (let index = 0; index < size; index++) {
    const quirk: Quirk | undefined = FORCED_QUIRKS[index];
    const machine = buildMachine(rng, index, quirk, now.getTime(), hostnames, quirk === 'long-hostname' ? byCode('AEC') : quirk === 'domain-server' ? byCode('NWL') : rng.weighted(orgWeights));
    machines.push(pitfalls ? consistent(machine) : machine);
  }
  if (!pitfalls) return { now, organizations, machines, pitfalls: [], consistent: false };
  const world = buildPitfalls(seed);
  return { now, organizations: [...organizations, ...world.organizations], machines, pitfalls: world.cases, consistent: true };
}

/** An ordinary machine as both tools agree about it (see buildCatalogue). */
function consistent(m: PhysicalMachine): PhysicalMachine {
  return {
    ...m,
    user: m.user ?? m.previousUser,
    previousUser: null,
    spare: false,
    reinstalledAtMs: null,
    inThreatLocker: true,
    inNinja: true,
    neverCheckedIn: false,
    deleted: false,
  };
}

function buildMachine(rng: Rng, index: number, quirk: Quirk | undefined, nowMs: number, hostnames: HostnameRegistry, org: CatalogueOrganization): PhysicalMachine {
  const kind: MachineKind =
    quirk === 'domain-server' || quirk === 'linux' ? 'server' : quirk === 'mac' ? 'laptop' : quirk ? 'workstation' : rng.weighted(KINDS);
  const family: OsFamily = quirk === 'mac' ? 'macos' : quirk === 'linux' ? 'linux' : quirk ? 'windows' : rng.weighted(FAMILIES[kind]);
  const site = rng.pick(org.sites);
  const hasUser = kind === 'workstation' || kind === 'laptop';
  const spare = quirk === 'spare' || (hasUser && !quirk && rng.chance(0.03));
  const person = quirk === 'nickname' ? NICKNAMED[0]! : quirk === 'spare' ? { first: 'Blake', last: 'Thomas', nickname: null } : randomPerson(rng);
  const user = hasUser && !spare ? person : null;
  const previousUser = spare ? person : null;

  const osChoices = family === 'windows' ? (hasUser ? OS_NAMES.client : OS_NAMES.server) : OS_NAMES[family];
  const [osName, buildPrefix] = rng.pick(osChoices);
  const build = family === 'windows' ? `${buildPrefix}${rng.int(1000, 6000)}` : buildPrefix;
  const [manufacturer, model, serialLength] =
    kind === 'workstation' && family === 'windows' && rng.chance(0.03) ? WHITE_BOX : rng.pick(HARDWARE[family === 'macos' ? 'mac' : kind]);

  const enrolledAtMs = nowMs - rng.int(20, 1400) * DAY_MS - rng.int(0, DAY_MS);
  const deleted = quirk === 'deleted' || (!quirk && rng.chance(0.015));
  const stale = deleted || rng.chance(0.15);
  const lastSeenAtMs = Math.max(enrolledAtMs + DAY_MS, nowMs - (stale ? rng.int(3, 200) * DAY_MS : 0) - rng.int(60_000, 1.5 * DAY_MS));
  const reinstalled = quirk === 'reinstalled' || (!quirk && rng.chance(0.015));
  const inThreatLocker = quirk !== undefined || rng.chance(0.93);
  return {
    index,
    org: org.name,
    site: site.name,
    hostname: hostnames.claim(quirk === 'long-hostname' ? 'AEC-027396194353' : quirk === 'domain-server' ? 'SERVER-01' : hostnameFor(rng, org, kind, family, person)),
    domain: family === 'windows' ? org.domain : null,
    user,
    previousUser,
    kind,
    os: { family, name: osName, build },
    manufacturer,
    model,
    serial: serialLength === 0 ? rng.pick(SERIAL_PLACEHOLDERS) : rng.alnum(serialLength),
    macAddress: rng.hex(12).toUpperCase().replace(/(..)(?!$)/g, '$1:'),
    publicIp: site.publicIp,
    localIp: `${site.subnet}.${rng.int(20, 250)}`,
    enrolledAtMs,
    lastSeenAtMs,
    reinstalledAtMs: reinstalled ? enrolledAtMs + Math.floor((lastSeenAtMs - enrolledAtMs) * (0.3 + rng.next() * 0.6)) : null,
    spare,
    inThreatLocker,
    // Every machine is known to at least one tool, or it would not be in an inventory at all.
    inNinja: quirk !== undefined || !inThreatLocker || rng.chance(0.9),
    neverCheckedIn: quirk === 'never-checked-in' || (!quirk && rng.chance(0.01)),
    deleted,
  };
}

function randomPerson(rng: Rng): Person {
  return rng.chance(0.005) ? rng.pick(NICKNAMED) : { first: rng.pick(FIRST), last: rng.pick(LAST), nickname: null };
}

function hostnameFor(rng: Rng, org: CatalogueOrganization, kind: MachineKind, family: OsFamily, person: Person): string {
  if (family === 'macos') return `${person.first}s-${kind === 'laptop' ? 'MacBook-Pro' : 'iMac'}`;
  if (family === 'linux') return `${org.code.toLowerCase()}-${rng.pick(['web', 'db', 'nas', 'util'])}${pad(rng.int(1, 20))}`;
  if (kind === 'server') return `${org.code}-${rng.pick(['DC', 'FS', 'SQL', 'APP', 'RDS'])}${pad(rng.int(1, 20))}`;
  if (kind === 'vm-guest') return `${org.code}-VM${pad(rng.int(1, 200), 3)}`;
  // Some OEM images name machines after the asset tag, which overflows NetBIOS's 15 characters.
  return rng.chance(0.03) ? `${org.code}-0${rng.int(10_000, 99_999)}${rng.int(100_000, 999_999)}` : `${org.code}-${rng.alnum(7)}`;
}

/** Keeps hostnames unique (case-insensitively) the way macOS does: `Name`, `Name-2`, `Name-3`… */
class HostnameRegistry {
  private readonly taken = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();

  claim(base: string): string {
    let candidate = base;
    while (this.taken.has(candidate.toLowerCase())) {
      const n = this.nextSuffix.get(base) ?? 2;
      this.nextSuffix.set(base, n + 1);
      candidate = `${base}-${n}`;
    }
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}
