/**
 * Renders catalogue machines as ThreatLocker Portal API rows: the live list-row shape and key
 * casing of vendor-apis.md §1.3, with the data quirks real tenants have (§3.1 "Data generator").
 * Keys the live API does not send (`organizationName`, `computerGroupName`, `ipAddress`,
 * `status`) are never emitted, so a client that reads them fails against the fake too.
 */
import { buildCatalogue, organizationName, type PhysicalMachine, type Person } from '../catalogue.js';
import type { PitfallComputer } from '../pitfalls.js';
import { createRng, type Rng } from '../rng.js';

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

const COMPUTER_GROUPS = ['Workstations', 'Servers', 'Mac Computers', 'Linux Servers'] as const;
export type ComputerGroupName = (typeof COMPUTER_GROUPS)[number];

export interface FakeOrganization {
  readonly organizationId: string;
  /** Null for the MSP root. */
  readonly parentId: string | null;
  /** The portal's short name: a slug for some organisations, the display name for others. */
  readonly name: string;
  readonly displayName: string;
  readonly dateAdded: string;
  readonly computerGroupIds: Readonly<Record<ComputerGroupName, string>>;
}

/** One row of `ComputerGetByAllParameters`. Nullable where the live API has sent null. */
export interface FakeComputer {
  computerId: string | null;
  computerName: string | null;
  hostname: string | null;
  name: string | null;
  group: string | null;
  computerGroupId: string | null;
  organizationId: string | null;
  organization: string | null;
  parentId: string;
  /** 1 Windows, 2 macOS, 3 Linux. */
  osType: number;
  operatingSystem: string | null;
  ipOperatingSystem: string;
  action: string | null;
  mode: string | null;
  lastCheckin: string | null;
  dateAdded: string;
  installDate: string | null;
  startDateTime: string;
  lastCheckinIPAddress: string;
  lastCheckinLocalIPAddresses: string[];
  username: string;
  threatLockerVersion: string | null;
  serviceVersion: string | null;
  versionMajor: number;
  versionMinor: number;
  denyCountOneDay: number;
  denyCountThreeDays: number;
  denyCountSevenDays: number;
  manualCount: number;
  progressBarLearning: number;
  maintenanceTypeId: number;
  hasAtLeastOneCheckin: boolean;
  isDeleted: boolean;
  isIsolated: boolean;
  isLockedOut: boolean;
  isLockDownMode: boolean;
  isTamperProtectionDisabled: boolean;
  isReadyToSecure: boolean;
  isNeededReview: boolean;
  restartComputerNeeded: boolean;
  hasUnknownVersion: boolean;
  driverStatusString: string;
  maintenanceEndDate: string | null;
  /** Set per response: the live API repeats the total match count on every row. */
  totalRows: number;
}

export interface ThreatLockerFleet {
  /** The MSP root comes first; the tree does not depend on the fleet size. */
  readonly organizations: FakeOrganization[];
  readonly computers: FakeComputer[];
}

const ACTIONS: readonly (readonly [string, number])[] = [['Secure', 76], ['Learning', 10], ['Installation', 8], ['MonitorOnly', 6]];
const WINDOWS_VERSIONS = [['10.3.4.3791', '10.3.0.907'], ['10.2.1.2210', '10.2.0.850'], ['9.8.3.1502', '9.8.0.700']] as const;
const OS_TYPES = { windows: 1, macos: 2, linux: 3 } as const;

/** ISO-8601 UTC as the portal writes it: whole seconds, or a 6-digit fraction on some rows. */
function isoUtc(ms: number, fraction?: string): string {
  return `${new Date(ms).toISOString().slice(0, 19)}${fraction ? `.${fraction}` : ''}Z`;
}

/**
 * @example
 *   const { organizations, computers } = generateThreatLockerFleet({ seed: 1, size: 700 });
 *   organizations[0].displayName; // 'Summit Managed Services' (the MSP root)
 */
export function generateThreatLockerFleet({ seed, size, now, pitfalls }: { seed: number; size: number; now?: Date; pitfalls?: boolean }): ThreatLockerFleet {
  const catalogue = buildCatalogue({ seed, size, now, pitfalls });
  // A stream of its own, so rendering choices never shift the vendor-neutral catalogue.
  const rng = createRng(seed ^ 0x544c);
  const idByName = new Map<string, string>();
  const organizations = catalogue.organizations.map((org, o): FakeOrganization => {
    const organizationId = rng.guid();
    idByName.set(org.name, organizationId);
    const displayName = organizationName(org, 'threatlocker');
    return {
      organizationId,
      parentId: org.parent === null ? null : (idByName.get(org.parent) ?? null),
      // Half the tenants were created with a slug, so `name` ≠ `displayName` for them.
      name: o % 2 === 1 ? displayName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') : displayName,
      displayName,
      dateAdded: isoUtc(catalogue.now.getTime() - (1500 - o * 40) * 86_400_000),
      computerGroupIds: Object.fromEntries(COMPUTER_GROUPS.map((g) => [g, rng.guid()])) as Record<ComputerGroupName, string>,
    };
  });
  const orgByName = new Map(catalogue.organizations.map((org, o) => [org.name, organizations[o] as FakeOrganization]));
  let fqdnShown = false;
  const computers: FakeComputer[] = [];
  for (const machine of catalogue.machines) {
    if (!machine.inThreatLocker) continue;
    const org = orgByName.get(machine.org) as FakeOrganization;
    // Some domain servers report their FQDN as the hostname; the first one always does.
    const fqdn: boolean = machine.kind === 'server' && machine.domain !== null && (!fqdnShown || rng.chance(0.3));
    fqdnShown ||= fqdn;
    const hostname = fqdn ? `${machine.hostname}.${machine.domain}` : machine.hostname;
    const rows =
      machine.reinstalledAtMs === null
        ? [renderComputer(rng, machine, org, hostname, machine.enrolledAtMs, machine.lastSeenAtMs, catalogue.consistent)]
        : // A reinstall registers a new computerId; the old row stops checking in when it begins.
          [
            renderComputer(rng, machine, org, hostname, machine.enrolledAtMs, machine.reinstalledAtMs, catalogue.consistent),
            renderComputer(rng, machine, org, hostname, machine.reinstalledAtMs + rng.int(60_000, 240_000), machine.lastSeenAtMs, catalogue.consistent),
          ];
    for (const row of rows) {
      // Spaced rather than random, so that every fleet of 100+ rows has some of each. A consistent
      // catalogue keeps a user's name: the portal's default would differ from NinjaOne's.
      if (computers.length % 100 === 42) Object.assign(row, catalogue.consistent && machine.user ? { group: null } : { computerName: null, group: null });
      if (computers.length % 100 === 77) Object.assign(row, { action: null, mode: null, threatLockerVersion: null });
      computers.push(row);
    }
  }
  const nowMs = catalogue.now.getTime();
  for (const record of catalogue.pitfalls.flatMap((c) => c.records)) {
    if (record.vendor === 'threatlocker') computers.push(renderPitfall(record, orgByName.get(record.org) as FakeOrganization, nowMs));
  }
  return { organizations, computers };
}

/** A pitfall case's computer, exactly as the case describes it (pitfalls.ts). */
function renderPitfall(p: PitfallComputer, org: FakeOrganization, nowMs: number): FakeComputer {
  const ago = (days: number): number => nowMs - Math.round(days * 86_400_000);
  const group: ComputerGroupName =
    p.family === 'macos' ? 'Mac Computers' : p.family === 'linux' ? 'Linux Servers' : p.kind === 'server' || p.kind === 'vm-guest' ? 'Servers' : 'Workstations';
  const checkedIn = p.lastCheckinDaysAgo !== null;
  return {
    ...baseComputer(org, p.computerId, p.hostname, ago(p.addedDaysAgo)),
    computerName: p.computerName,
    name: p.hostname.split('|', 1)[0]?.trim() ?? p.hostname,
    group,
    computerGroupId: org.computerGroupIds[group],
    osType: OS_TYPES[p.family],
    operatingSystem: group === 'Servers' ? 'Windows Server 2022 Standard ' : p.family === 'windows' ? 'Windows 11 Pro ' : p.family === 'macos' ? 'macOS 15.3' : 'Ubuntu 22.04.4 LTS',
    lastCheckin: p.lastCheckinDaysAgo === null ? null : isoUtc(ago(p.lastCheckinDaysAgo)),
    hasAtLeastOneCheckin: checkedIn,
    lastCheckinIPAddress: checkedIn ? '198.51.100.20' : '',
    driverStatusString: checkedIn ? 'Active' : '',
  };
}

/**
 * A plausible, healthy Windows workstation row; generated rows and rows added through the admin
 * API both start from it.
 */
export function baseComputer(org: FakeOrganization, computerId: string | null, hostname: string | null, atMs: number): FakeComputer {
  const at = isoUtc(atMs);
  return {
    computerId,
    computerName: hostname,
    hostname,
    name: hostname,
    group: 'Workstations',
    computerGroupId: org.computerGroupIds.Workstations,
    organizationId: org.organizationId,
    organization: org.displayName,
    parentId: '',
    osType: 1,
    operatingSystem: 'Windows 11 Pro ',
    ipOperatingSystem: '10.0.26100.4946',
    action: 'Secure',
    mode: 'Secure',
    lastCheckin: at,
    dateAdded: at,
    installDate: null,
    startDateTime: at,
    lastCheckinIPAddress: '203.0.113.10',
    lastCheckinLocalIPAddresses: [],
    username: '',
    threatLockerVersion: `${WINDOWS_VERSIONS[0][0]}/${WINDOWS_VERSIONS[0][1]}AMD64`,
    serviceVersion: WINDOWS_VERSIONS[0][0],
    versionMajor: 10,
    versionMinor: 3,
    denyCountOneDay: 0,
    denyCountThreeDays: 0,
    denyCountSevenDays: 0,
    manualCount: 0,
    progressBarLearning: 0,
    maintenanceTypeId: 1,
    hasAtLeastOneCheckin: true,
    isDeleted: false,
    isIsolated: false,
    isLockedOut: false,
    isLockDownMode: false,
    isTamperProtectionDisabled: false,
    isReadyToSecure: false,
    isNeededReview: false,
    restartComputerNeeded: false,
    hasUnknownVersion: false,
    driverStatusString: 'Active',
    maintenanceEndDate: null,
    totalRows: 0,
  };
}

function renderComputer(rng: Rng, m: PhysicalMachine, org: FakeOrganization, hostname: string, addedMs: number, lastMs: number, consistent: boolean): FakeComputer {
  const family = m.os.family;
  const group: ComputerGroupName =
    family === 'macos' ? 'Mac Computers' : family === 'linux' ? 'Linux Servers' : m.kind === 'server' || m.kind === 'vm-guest' ? 'Servers' : 'Workstations';
  const action = rng.weighted(ACTIONS);
  const [service, driver] = family === 'windows' ? rng.pick(WINDOWS_VERSIONS) : ['3.4.2.410', ''];
  const [major, minor] = service.split('.').map(Number);
  const oneDay = rng.chance(0.15) ? rng.int(1, 6) : 0;
  const threeDays = oneDay + (rng.chance(0.25) ? rng.int(1, 12) : 0);
  const checkedIn = !m.neverCheckedIn;
  return {
    ...baseComputer(org, rng.guid(), hostname, addedMs),
    computerName: displayName(rng, m, hostname, consistent),
    group,
    computerGroupId: org.computerGroupIds[group],
    osType: OS_TYPES[family],
    // The live API pads some Windows edition names with a trailing space.
    operatingSystem: family === 'windows' && rng.chance(0.6) ? `${m.os.name} ` : m.os.name,
    ipOperatingSystem: m.os.build,
    action,
    mode: action === 'Learning' || action === 'Installation' ? 'Learning' : 'Secure',
    lastCheckin: checkedIn ? isoUtc(lastMs, rng.chance(0.4) ? String(rng.int(0, 999_999)).padStart(6, '0') : undefined) : null,
    installDate: rng.chance(0.3) ? isoUtc(addedMs) : null,
    lastCheckinIPAddress: checkedIn ? m.publicIp : '',
    username: checkedIn ? username(m) : '',
    threatLockerVersion: family === 'windows' ? `${service}/${driver}AMD64` : service,
    serviceVersion: service,
    versionMajor: major ?? 0,
    versionMinor: minor ?? 0,
    denyCountOneDay: oneDay,
    denyCountThreeDays: threeDays,
    denyCountSevenDays: threeDays + (rng.chance(0.3) ? rng.int(1, 20) : 0),
    progressBarLearning: action === 'Learning' ? rng.int(5, 95) : 0,
    hasAtLeastOneCheckin: checkedIn,
    isDeleted: m.deleted,
    isIsolated: rng.chance(0.005),
    isLockedOut: rng.chance(0.005),
    isReadyToSecure: action === 'Learning' && rng.chance(0.5),
    isNeededReview: rng.chance(0.05),
    restartComputerNeeded: rng.chance(0.04),
    driverStatusString: checkedIn ? 'Active' : '',
  };
}

/**
 * `HOST | First Last`, `HOST | SPARE - was …`, or just `HOST` (the portal's default name). In a
 * consistent catalogue every user's machine is named after its user, as NinjaOne's is.
 */
function displayName(rng: Rng, m: PhysicalMachine, hostname: string, consistent: boolean): string {
  if (m.previousUser) return `${m.hostname} | SPARE - was ${fullName(m.previousUser)}`;
  if (m.user && (m.user.nickname !== null || rng.chance(0.88) || consistent)) return `${m.hostname} | ${fullName(m.user)}`;
  return hostname;
}

function fullName(p: Person): string {
  return p.nickname === null ? `${p.first} ${p.last}` : `${p.first} "${p.nickname}" ${p.last}`;
}

/** Last logged-on user as `DOMAIN\USER`; cloud-joined machines report `AZUREAD\…`. */
function username(m: PhysicalMachine): string {
  const person = m.user ?? m.previousUser;
  if (m.os.family !== 'windows') return person ? person.first.toLowerCase() : 'root';
  const domain = m.domain === null ? 'AZUREAD' : (m.domain.split('.')[0] ?? '').toUpperCase();
  return `${domain}\\${person ? `${person.first}${person.last}`.toUpperCase() : 'ADMINISTRATOR'}`;
}
