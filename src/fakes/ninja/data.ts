/**
 * Renders catalogue machines as NinjaOne API v2 records: the exact keys and casing of
 * vendor-apis.md §2.5–2.6, with the data quirks real tenants have (§3.2 "Field fidelity").
 * Keys NinjaOne does not send (`status`, `publicIp`, `user`, top-level `domain`, `network`,
 * `locationName`, `agentInstallTimestamp`) are never emitted, so a client reading them gets
 * nothing here either.
 *
 * The same catalogue feeds the ThreatLocker fake, so one machine shows up in both tools, with
 * the differences real fleets have: a 15-character upper-case NetBIOS `systemName`, a `dnsName`
 * that is sometimes lower-case and sometimes missing, machines only one tool knows, a second
 * device id after an agent reinstall, spares parked in a "spare" location.
 */
import { buildCatalogue, organizationName, type CatalogueOrganization, type OsFamily, type PhysicalMachine, type Person } from '../catalogue.js';
import { PITFALL_NINJA_ID_BASE, type PitfallDevice } from '../pitfalls.js';
import { createRng, type Rng } from '../rng.js';

export const NINJA_NODE_CLASSES = [
  'WINDOWS_SERVER',
  'WINDOWS_WORKSTATION',
  'LINUX_WORKSTATION',
  'LINUX_SERVER',
  'MAC',
  'MAC_SERVER',
  'ANDROID',
  'APPLE_IOS',
  'APPLE_IPADOS',
  'VMWARE_VM_HOST',
  'VMWARE_VM_GUEST',
  'HYPERV_VMM_HOST',
  'HYPERV_VMM_GUEST',
  'CLOUD_MONITOR_TARGET',
  'NMS_SWITCH',
  'NMS_ROUTER',
  'NMS_FIREWALL',
  'NMS_PRIVATE_NETWORK_GATEWAY',
  'NMS_PRINTER',
  'NMS_SCANNER',
  'NMS_DIAL_MANAGER',
  'NMS_WAP',
  'NMS_IPSLA',
  'NMS_COMPUTER',
  'NMS_VM_HOST',
  'NMS_APPLIANCE',
  'NMS_OTHER',
  'NMS_SERVER',
  'NMS_PHONE',
  'NMS_VIRTUAL_MACHINE',
  'NMS_NETWORK_MANAGEMENT_AGENT',
] as const;
export type NinjaNodeClass = (typeof NINJA_NODE_CLASSES)[number];

export type NodeApprovalMode = 'AUTOMATIC' | 'MANUAL' | 'REJECT';

/** One row of `/v2/organizations`. */
export interface FakeNinjaOrganization {
  id: number;
  name: string;
  description: string;
  nodeApprovalMode: NodeApprovalMode;
  tags: string[];
  fields: Record<string, unknown>;
  userData: Record<string, unknown>;
}

/** One row of `/v2/locations` (NinjaOne's "site"; one level under an organization). */
export interface FakeNinjaLocation {
  id: number;
  organizationId: number;
  name: string;
  address: string;
  description: string;
  tags: string[];
  fields: Record<string, unknown>;
  userData: Record<string, unknown>;
}

export interface FakeNinjaOs {
  manufacturer: string;
  name: string;
  architecture: string;
  /** Epoch seconds. */
  lastBootTime: number;
  buildNumber: string;
  releaseId: string;
  servicePackMajorVersion: number;
  servicePackMinorVersion: number;
  locale: string;
  language: string;
  needsReboot: boolean;
}

export interface FakeNinjaSystem {
  name: string;
  manufacturer: string;
  model: string;
  biosSerialNumber: string;
  serialNumber: string;
  domain: string;
  domainRole: string;
  numberOfProcessors: number;
  totalPhysicalMemory: number;
  virtualMachine: boolean;
  chassisType: 'UNKNOWN' | 'DESKTOP' | 'LAPTOP' | 'MOBILE';
}

/**
 * One row of `/v2/devices-detailed` (and `/v2/device/{id}`). Optional keys are omitted from the
 * JSON when undefined, the way NinjaOne omits them (e.g. `displayName` when never set).
 */
export interface FakeNinjaDevice {
  id: number;
  /** VM guests point at their host; NMS devices at the agent that polls them. */
  parentDeviceId?: number;
  organizationId: number;
  locationId: number;
  nodeClass: NinjaNodeClass;
  nodeRoleId: number;
  rolePolicyId: number;
  policyId?: number;
  approvalStatus: 'APPROVED' | 'PENDING';
  /** The online state; NinjaOne has no `status` key. */
  offline: boolean;
  displayName?: string;
  /** NetBIOS name on Windows: upper-case, at most 15 characters. */
  systemName?: string;
  /** The DNS name, usually the FQDN; lower-case on some agents, missing on others. */
  dnsName?: string;
  netbiosName?: string;
  /** Epoch seconds with a fraction, as NinjaOne sends them. */
  created: number;
  lastContact: number;
  lastUpdate: number;
  userData: Record<string, unknown>;
  tags: string[];
  fields: Record<string, unknown>;
  /** Entries may hold `a|b` pairs or be `""`. */
  ipAddresses?: string[];
  macAddresses?: string[];
  /** Capital "IP": `publicIp` is not a NinjaOne key. */
  publicIP?: string;
  os?: FakeNinjaOs;
  system?: FakeNinjaSystem;
  memory?: { capacity: number };
  processors?: { architecture: string; maxClockSpeed: number; clockSpeed: number; name: string; numCores: number; numLogicalCores: number }[];
  volumes?: { name: string; label: string; deviceType: string; fileSystem: string; autoMount: boolean; compressed: boolean; capacity: number; freeSpace: number; serialNumber: string }[];
  lastLoggedInUser?: string;
  /** `AGENT`, `VMGUEST`, `VMHOST` or `NMS` (compared case-insensitively by clients). */
  deviceType: string;
  notes?: { text: string }[];
}

/** Keys of the basic device record served by `/v2/devices` (GO `Device`, NK `Device`). */
export const BASIC_DEVICE_KEYS = [
  'id',
  'parentDeviceId',
  'organizationId',
  'locationId',
  'nodeClass',
  'nodeRoleId',
  'rolePolicyId',
  'policyId',
  'approvalStatus',
  'offline',
  'displayName',
  'systemName',
  'dnsName',
  'netbiosName',
  'created',
  'lastContact',
  'lastUpdate',
  'userData',
  'tags',
  'fields',
] as const satisfies readonly (keyof FakeNinjaDevice)[];

export interface NinjaFleet {
  /** One per catalogue organization, in catalogue order (the MSP first); ids do not depend on the fleet size. */
  readonly organizations: FakeNinjaOrganization[];
  readonly locations: FakeNinjaLocation[];
  /** Sorted by id; ids grow with `created`, as NinjaOne assigns them. */
  readonly devices: FakeNinjaDevice[];
}

/** The MSP keeps machines it took back in its own stock location; ESH's billing rule knows it by name. */
export const MSP_SPARE_LOCATION = 'ES Spare';
/** Every client organisation has a location for machines waiting to be reissued. */
export const CLIENT_SPARE_LOCATION = 'Spare Shelf';

const DAY_MS = 86_400_000;
/** Epoch seconds with millisecond fraction, e.g. 1689605132.309 (never milliseconds). */
const epoch = (ms: number): number => Math.round(ms) / 1000;

const RELEASE_IDS: Record<string, string> = { '26100': '24H2', '22631': '23H2', '19045': '22H2', '20348': '21H2', '17763': '1809', '14393': '1607' };
const ROLE_IDS: Partial<Record<NinjaNodeClass, number>> = {
  WINDOWS_WORKSTATION: 1,
  WINDOWS_SERVER: 2,
  MAC: 3,
  LINUX_SERVER: 4,
  LINUX_WORKSTATION: 5,
  VMWARE_VM_HOST: 6,
  VMWARE_VM_GUEST: 7,
  HYPERV_VMM_HOST: 8,
  HYPERV_VMM_GUEST: 9,
};
const NMS_KINDS: readonly (readonly [NinjaNodeClass, string, string])[] = [
  ['NMS_SWITCH', 'SW', 'Core Switch'],
  ['NMS_FIREWALL', 'FW', 'Firewall'],
  ['NMS_PRINTER', 'PRN', 'Printer'],
  ['NMS_WAP', 'WAP', 'Access Point'],
];
type Processors = NonNullable<FakeNinjaDevice['processors']>;
type Volumes = NonNullable<FakeNinjaDevice['volumes']>;
/**
 * Empty containers and hardware detail nobody asserts on are shared (and frozen) by generated
 * devices: 100,000 copies would cost more generation time than everything else a device
 * carries. Change a device through the admin API, which replaces values instead of mutating them.
 */
const EMPTY_OBJECT: Record<string, unknown> = Object.freeze({});
const EMPTY_LIST = Object.freeze([]) as unknown as never[];
const memoryOf = (gib: number): { capacity: number } => Object.freeze({ capacity: gib * 1_073_741_824 });
const MEMORY_8G = memoryOf(8);
const MEMORY_16G = memoryOf(16);
const MEMORY_64G = memoryOf(64);
const frozenList = <T extends object>(...items: T[]): T[] => Object.freeze(items.map((i) => Object.freeze(i))) as T[];
const PROCESSORS: Record<OsFamily, Processors> = {
  windows: frozenList({ architecture: 'x64', maxClockSpeed: 3100, clockSpeed: 3100, name: 'Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz', numCores: 6, numLogicalCores: 12 }),
  macos: frozenList({ architecture: 'arm64', maxClockSpeed: 3490, clockSpeed: 3490, name: 'Apple M2 Pro', numCores: 10, numLogicalCores: 10 }),
  linux: frozenList({ architecture: 'x64', maxClockSpeed: 2900, clockSpeed: 2900, name: 'Intel(R) Xeon(R) Silver 4310 CPU @ 2.10GHz', numCores: 4, numLogicalCores: 8 }),
};
const volume = { deviceType: 'Local Disk', autoMount: true, compressed: false, capacity: 511_000_000_000, freeSpace: 300_000_000_000 };
const VOLUMES: Record<OsFamily, Volumes> = {
  windows: frozenList({ ...volume, name: 'C:', label: 'OS', fileSystem: 'NTFS', serialNumber: 'A1B2C3D4' }),
  macos: frozenList({ ...volume, name: '/', label: 'Macintosh HD', fileSystem: 'APFS', serialNumber: '' }),
  linux: frozenList({ ...volume, name: '/', label: '', fileSystem: 'ext4', serialNumber: '' }),
};

/**
 * @example
 *   const { organizations, locations, devices } = generateNinjaFleet({ seed: 1, size: 700 });
 *   organizations[0].name; // 'Summit Managed Services' (the MSP)
 */
export function generateNinjaFleet({ seed, size, now, pitfalls }: { seed: number; size: number; now?: Date; pitfalls?: boolean }): NinjaFleet {
  const catalogue = buildCatalogue({ seed, size, now, pitfalls });
  const nowMs = catalogue.now.getTime();
  // A stream of its own, so rendering choices never shift the vendor-neutral catalogue.
  const rng = createRng(seed ^ 0x4e4a);
  const { organizations, locations, orgIdByName, siteIds, spareLocationIds } = renderTenancy(catalogue.organizations);
  const mspName = catalogue.organizations[0]?.name ?? '';

  // Windows servers that host Hyper-V guests: the first one of each organization.
  const hyperVHost = new Map<string, PhysicalMachine>();
  for (const m of catalogue.machines) {
    if (m.inNinja && !m.deleted && m.kind === 'server' && m.os.family === 'windows' && !hyperVHost.has(m.org)) hyperVHost.set(m.org, m);
  }

  const drafts: Draft[] = [];
  const syntheticHosts = new Map<string, Draft>();
  const hostFor = (org: CatalogueOrganization, cls: 'VMWARE_VM_HOST' | 'HYPERV_VMM_HOST'): Draft => {
    const key = `${org.name}\u0000${cls}`;
    let host = syntheticHosts.get(key);
    if (!host) {
      const site = org.sites[0] as CatalogueOrganization['sites'][number];
      host = { device: virtualizationHost(rng, org, cls, orgIdByName.get(org.name) as number, siteIds.get(`${org.name}\u0000${site.name}`) as number, site, nowMs), parent: null };
      syntheticHosts.set(key, host);
      drafts.push(host);
    }
    return host;
  };
  const byMachine = new Map<PhysicalMachine, Draft>();
  const usedHyperVHosts = new Set<PhysicalMachine>();
  const orgByName = new Map(catalogue.organizations.map((o) => [o.name, o]));

  for (const m of catalogue.machines) {
    const org = orgByName.get(m.org) as CatalogueOrganization;
    // NMS devices are discovered by an agent's network scan: roughly one per 40 machines.
    if (m.index % 40 === 17) drafts.push(nmsDevice(rng, m, org, orgIdByName, siteIds, nowMs));
    // Ninja drops a device for good when it is deleted; ThreatLocker keeps a deleted record.
    if (!m.inNinja || m.deleted) continue;
    const place = placement(rng, m, mspName, orgIdByName, siteIds, spareLocationIds);
    const rendered = renderMachine(rng, m, place, nowMs, drafts.length, catalogue.consistent);
    for (const device of rendered) {
      const draft: Draft = { device, parent: null };
      if (m.kind === 'vm-guest') {
        const hyperV = device.nodeClass === 'HYPERV_VMM_GUEST';
        const hostMachine = hyperV ? hyperVHost.get(m.org) : undefined;
        if (hostMachine) usedHyperVHosts.add(hostMachine);
        draft.parent = hostMachine ? { machine: hostMachine } : { draft: hostFor(org, hyperV ? 'HYPERV_VMM_HOST' : 'VMWARE_VM_HOST') };
      }
      drafts.push(draft);
      byMachine.set(m, draft);
    }
  }
  // A Windows server with Hyper-V guests is a Hyper-V host to NinjaOne.
  for (const host of usedHyperVHosts) {
    const d = byMachine.get(host)?.device;
    if (d) {
      d.nodeClass = 'HYPERV_VMM_HOST';
      d.nodeRoleId = ROLE_IDS.HYPERV_VMM_HOST as number;
      d.deviceType = 'VMHOST';
    }
  }

  // NinjaOne numbers devices as they enrol: ids follow `created`, with gaps left by removed devices.
  // Array.prototype.sort is stable, so equal `created` values keep the catalogue order.
  const ordered = [...drafts].sort((a, b) => a.device.created - b.device.created);
  let id = rng.int(1, 20);
  for (const d of ordered) {
    d.device.id = id;
    id += rng.int(1, 4);
  }
  if (id >= PITFALL_NINJA_ID_BASE) throw new Error(`fleet too large: device ids reach the pitfall range (${PITFALL_NINJA_ID_BASE})`);
  const firstAgentOfOrg = new Map<number, number>();
  for (const d of ordered) {
    if (d.device.deviceType === 'AGENT' && !firstAgentOfOrg.has(d.device.organizationId)) firstAgentOfOrg.set(d.device.organizationId, d.device.id);
  }
  for (const d of ordered) {
    if (d.parent) {
      const parent = 'draft' in d.parent ? d.parent.draft : byMachine.get(d.parent.machine);
      if (parent) d.device.parentDeviceId = parent.device.id;
    } else if (d.device.deviceType === 'NMS') {
      const poller = firstAgentOfOrg.get(d.device.organizationId);
      if (poller !== undefined) d.device.parentDeviceId = poller;
    }
  }
  const locationIds = new Map(locations.map((l) => [`${l.organizationId}\u0000${l.name}`, l.id]));
  const pitfallDevices = catalogue.pitfalls.flatMap((c) => c.records.flatMap((r) => (r.vendor === 'ninja' ? [r] : []))).map((p) => {
    const organizationId = orgIdByName.get(p.org) as number;
    const locationId = locationIds.get(`${organizationId}\u0000${p.location}`);
    if (locationId === undefined) throw new Error(`pitfall device ${p.id}: no location "${p.location}" in ${p.org}`);
    return renderPitfall(p, organizationId, locationId, nowMs);
  });
  return { organizations, locations, devices: [...ordered.map((d) => d.device), ...pitfallDevices] };
}

interface Draft {
  readonly device: FakeNinjaDevice;
  /** Resolved to `parentDeviceId` once ids are assigned. */
  parent: { machine: PhysicalMachine } | { draft: Draft } | null;
}

interface Placement {
  readonly organizationId: number;
  readonly locationId: number;
  /** Parked in a spare location, so the display name need not say so. */
  readonly inSpareLocation: boolean;
}

function renderTenancy(orgs: readonly CatalogueOrganization[]) {
  const organizations: FakeNinjaOrganization[] = [];
  const locations: FakeNinjaLocation[] = [];
  const orgIdByName = new Map<string, number>();
  const siteIds = new Map<string, number>();
  const spareLocationIds = new Map<string, number>();
  orgs.forEach((org, o) => {
    const id = o + 1;
    orgIdByName.set(org.name, id);
    organizations.push({
      id,
      name: organizationName(org, 'ninja'),
      description: org.parent === null ? 'Internal IT' : '',
      // One client approves every new device by hand, so PENDING devices have a reason to exist.
      nodeApprovalMode: org.code === 'MLL' ? 'MANUAL' : 'AUTOMATIC',
      tags: [],
      fields: {},
      userData: {},
    });
    const names = [...org.sites.map((s) => s.name), org.parent === null ? MSP_SPARE_LOCATION : CLIENT_SPARE_LOCATION];
    for (const name of names) {
      const location = baseLocation(locations.length + 1, id, name);
      locations.push(location);
      if (name === MSP_SPARE_LOCATION || name === CLIENT_SPARE_LOCATION) spareLocationIds.set(org.name, location.id);
      else siteIds.set(`${org.name}\u0000${name}`, location.id);
    }
  });
  return { organizations, locations, orgIdByName, siteIds, spareLocationIds };
}

export function baseLocation(id: number, organizationId: number, name: string): FakeNinjaLocation {
  return { id, organizationId, name, address: '', description: '', tags: [], fields: {}, userData: {} };
}

export function baseOrganization(id: number, name: string): FakeNinjaOrganization {
  return { id, name, description: '', nodeApprovalMode: 'AUTOMATIC', tags: [], fields: {}, userData: {} };
}

/**
 * Spares go one of three ways: taken back to the MSP's "ES Spare" stock (so the two tools then
 * disagree about the organization), parked on the client's spare shelf, or left in place with
 * "SPARE" in the display name.
 */
function placement(
  rng: Rng,
  m: PhysicalMachine,
  mspName: string,
  orgIds: ReadonlyMap<string, number>,
  siteIds: ReadonlyMap<string, number>,
  spareIds: ReadonlyMap<string, number>,
): Placement {
  const home = { organizationId: orgIds.get(m.org) as number, locationId: siteIds.get(`${m.org}\u0000${m.site}`) as number, inSpareLocation: false };
  if (!m.spare || m.index < 10) return home; // the catalogue's forced spare keeps "SPARE" in its name
  const roll = rng.int(0, 2);
  if (roll === 0) return { organizationId: orgIds.get(mspName) as number, locationId: spareIds.get(mspName) as number, inSpareLocation: true };
  if (roll === 1) return { ...home, locationId: spareIds.get(m.org) as number, inSpareLocation: true };
  return home;
}

/** A plausible, healthy Windows workstation; generated devices and admin-added ones start from it. */
export function baseDevice(id: number, organizationId: number, locationId: number, systemName: string, atMs: number): FakeNinjaDevice {
  const at = epoch(atMs);
  return {
    id,
    organizationId,
    locationId,
    nodeClass: 'WINDOWS_WORKSTATION',
    nodeRoleId: ROLE_IDS.WINDOWS_WORKSTATION as number,
    rolePolicyId: 101,
    policyId: 101,
    approvalStatus: 'APPROVED',
    offline: false,
    displayName: systemName,
    systemName,
    dnsName: systemName.toLowerCase(),
    netbiosName: systemName,
    created: at,
    lastContact: at,
    lastUpdate: at,
    userData: {},
    tags: [],
    fields: {},
    ipAddresses: ['10.0.0.20'],
    macAddresses: ['00:15:5D:00:00:01'],
    publicIP: '203.0.113.10',
    os: {
      manufacturer: 'Microsoft Corporation',
      name: 'Windows 11 Pro',
      architecture: '64-bit',
      lastBootTime: at,
      buildNumber: '26100',
      releaseId: '24H2',
      servicePackMajorVersion: 0,
      servicePackMinorVersion: 0,
      locale: 'en-US',
      language: 'English',
      needsReboot: false,
    },
    system: {
      name: systemName,
      manufacturer: 'Dell Inc.',
      model: 'OptiPlex 7090',
      biosSerialNumber: 'ABC1234',
      serialNumber: 'ABC1234',
      domain: 'WORKGROUP',
      domainRole: 'STANDALONE_WORKSTATION',
      numberOfProcessors: 1,
      totalPhysicalMemory: 17_179_869_184,
      virtualMachine: false,
      chassisType: 'DESKTOP',
    },
    memory: { capacity: 17_179_869_184 },
    processors: PROCESSORS.windows,
    volumes: VOLUMES.windows,
    lastLoggedInUser: '',
    deviceType: 'AGENT',
    notes: [],
  };
}

function nodeClassOf(m: PhysicalMachine): NinjaNodeClass {
  if (m.kind === 'vm-guest') return m.manufacturer.startsWith('VMware') ? 'VMWARE_VM_GUEST' : 'HYPERV_VMM_GUEST';
  if (m.os.family === 'macos') return m.kind === 'server' ? 'MAC_SERVER' : 'MAC';
  if (m.os.family === 'linux') return m.kind === 'server' ? 'LINUX_SERVER' : 'LINUX_WORKSTATION';
  return m.kind === 'server' ? 'WINDOWS_SERVER' : 'WINDOWS_WORKSTATION';
}

/**
 * Names as the agent reports them. Windows: `systemName` is the NetBIOS name (upper-case, cut
 * at 15 characters, so `AEC-027396194353` becomes `AEC-02739619435`) and `dnsName` the FQDN,
 * lower-case on about half the agents and missing on some. macOS and Linux have no NetBIOS
 * limit: `systemName` is the host name as-is.
 */
function names(rng: Rng, m: PhysicalMachine): { systemName: string; dnsName: string | undefined } {
  if (m.os.family !== 'windows') {
    const dns = m.os.family === 'macos' ? `${m.hostname}.local` : m.hostname;
    return { systemName: m.hostname, dnsName: rng.chance(0.15) ? undefined : dns };
  }
  const systemName = m.hostname.toUpperCase().slice(0, 15);
  const fqdn = m.domain === null ? m.hostname : `${m.hostname}.${m.domain}`;
  // The catalogue's first machine is the documented truncation case and keeps its DNS name.
  const missing = m.index !== 0 && rng.chance(m.hostname.length > 15 ? 0.3 : 0.06);
  return { systemName, dnsName: missing ? undefined : m.index === 0 || rng.chance(0.5) ? fqdn.toLowerCase() : fqdn };
}

function renderMachine(rng: Rng, m: PhysicalMachine, place: Placement, nowMs: number, position: number, consistent: boolean): FakeNinjaDevice[] {
  const { systemName, dnsName } = names(rng, m);
  const stale = nowMs - m.lastSeenAtMs > 2 * DAY_MS;
  // An agent that is online has just talked to NinjaOne; many workstations are simply switched off.
  const online = !stale && !m.neverCheckedIn && rng.chance(0.6);
  const lastSeen = online ? nowMs - rng.int(5_000, 240_000) : m.lastSeenAtMs;
  const render = (createdMs: number, lastMs: number, isOnline: boolean, pending: boolean, slot: number): FakeNinjaDevice =>
    renderDevice(rng, m, place, { systemName, dnsName, createdMs, lastMs, online: isOnline, pending, slot, consistent });
  // Never-approved agents and (spaced, so every fleet has some) a few others wait in PENDING.
  const pending = m.neverCheckedIn || position % 150 === 61;
  if (m.reinstalledAtMs === null) return [render(m.enrolledAtMs, pending ? m.enrolledAtMs : lastSeen, online && !pending, pending, position)];
  // A reinstall enrols a new device id; the old one goes quiet when the new one appears.
  return [
    render(m.enrolledAtMs, m.reinstalledAtMs, false, false, position),
    render(m.reinstalledAtMs + rng.int(60_000, 240_000), lastSeen, online, false, position + 1),
  ];
}

interface RenderArgs {
  readonly systemName: string;
  readonly dnsName: string | undefined;
  readonly createdMs: number;
  readonly lastMs: number;
  readonly online: boolean;
  readonly pending: boolean;
  /** Position in the fleet, for quirks spaced so that every fleet of 100+ devices has some. */
  readonly slot: number;
  /** The catalogue's ordinary machines must agree with ThreatLocker (buildCatalogue). */
  readonly consistent: boolean;
}

function renderDevice(rng: Rng, m: PhysicalMachine, place: Placement, a: RenderArgs): FakeNinjaDevice {
  const nodeClass = nodeClassOf(m);
  const role = ROLE_IDS[nodeClass] ?? 1;
  const family = m.os.family;
  const lastMs = Math.max(a.lastMs, a.createdMs);
  const domainShort = m.domain === null ? null : (m.domain.split('.')[0] ?? '').toUpperCase();
  const buildNumber = family === 'windows' ? (m.os.build.split('.')[2] ?? '') : m.os.build;
  const memory = m.kind === 'server' ? MEMORY_64G : m.kind === 'vm-guest' ? MEMORY_8G : MEMORY_16G;
  const serialNumber = a.slot % 100 === 55 || rng.chance(0.02) ? '' : m.serial;
  // One literal in the key order of baseDevice(): 100,000 devices share one object shape.
  return {
    id: 0,
    organizationId: place.organizationId,
    locationId: place.locationId,
    nodeClass,
    nodeRoleId: role,
    rolePolicyId: 100 + role,
    policyId: 100 + role,
    approvalStatus: a.pending ? 'PENDING' : 'APPROVED',
    offline: !a.online,
    displayName: a.consistent ? consistentDisplayName(m) : displayName(rng, m, place, a.slot),
    systemName: a.systemName,
    dnsName: a.dnsName,
    netbiosName: family === 'windows' ? a.systemName : undefined,
    created: epoch(a.createdMs),
    lastContact: epoch(lastMs),
    lastUpdate: epoch(lastMs + rng.int(0, 90_000)),
    userData: EMPTY_OBJECT,
    tags: EMPTY_LIST,
    fields: EMPTY_OBJECT,
    ipAddresses: ipAddresses(rng, m.localIp, a.slot),
    macAddresses: [m.macAddress],
    publicIP: a.pending ? '' : m.publicIp,
    os: {
      manufacturer: family === 'windows' ? 'Microsoft Corporation' : family === 'macos' ? 'Apple Inc.' : m.os.name.startsWith('Ubuntu') ? 'Canonical Ltd.' : 'Red Hat, Inc.',
      name: m.os.name,
      architecture: family === 'macos' ? 'arm64' : family === 'windows' ? '64-bit' : 'x86_64',
      lastBootTime: epoch(Math.max(a.createdMs, lastMs - rng.int(3_600_000, 20 * DAY_MS))),
      buildNumber,
      releaseId: RELEASE_IDS[buildNumber] ?? '',
      servicePackMajorVersion: 0,
      servicePackMinorVersion: 0,
      locale: 'en-US',
      language: 'English',
      needsReboot: rng.chance(0.08),
    },
    system: {
      name: a.systemName,
      manufacturer: m.manufacturer,
      model: m.model,
      // Some agents report only the BIOS serial and send `serialNumber: ""`.
      biosSerialNumber: m.serial,
      serialNumber,
      domain: m.domain ?? 'WORKGROUP',
      domainRole: m.domain === null ? 'STANDALONE_WORKSTATION' : m.kind === 'server' || m.kind === 'vm-guest' ? 'MEMBER_SERVER' : 'MEMBER_WORKSTATION',
      numberOfProcessors: 1,
      totalPhysicalMemory: memory.capacity,
      virtualMachine: m.kind === 'vm-guest',
      chassisType: m.kind === 'laptop' ? 'LAPTOP' : m.kind === 'workstation' ? 'DESKTOP' : 'UNKNOWN',
    },
    memory,
    processors: PROCESSORS[family],
    volumes: VOLUMES[family],
    lastLoggedInUser: a.pending ? undefined : lastUser(m, domainShort),
    deviceType: m.kind === 'vm-guest' ? 'VMGUEST' : 'AGENT',
    notes: EMPTY_LIST,
  };
}

/** Local addresses; some agents report an `IPv4|IPv6` pair in one entry, or an empty entry. */
function ipAddresses(rng: Rng, localIp: string, slot: number): string[] {
  const paired = slot % 100 === 23 || rng.chance(0.1);
  const out = [paired ? `${localIp}|fe80::${rng.hex(4)}:${rng.hex(4)}` : localIp];
  if (slot % 100 === 89 || rng.chance(0.05)) out.push('');
  return out;
}

/**
 * Technicians write `HOST | User` (the same convention as ThreatLocker's computer name, kept in
 * step by hand, so sometimes out of step); many devices were never named (key omitted) and some
 * names were cleared (`""`).
 */
function displayName(rng: Rng, m: PhysicalMachine, place: Placement, slot: number): string | undefined {
  if (slot % 100 === 42) return undefined;
  if (slot % 100 === 77) return '';
  if (m.previousUser) return place.inSpareLocation && rng.chance(0.5) ? undefined : `${m.hostname} | SPARE - was ${fullName(m.previousUser)}`;
  const roll = rng.next();
  if (m.user) return roll < 0.7 ? `${m.hostname} | ${fullName(m.user)}` : roll < 0.9 ? undefined : roll < 0.95 ? '' : m.hostname;
  return roll < 0.5 ? undefined : m.hostname;
}

/**
 * The convention ThreatLocker's fake follows in a consistent catalogue: `HOST | User` for a
 * user's machine, none for the others (ThreatLocker then shows its default, the hostname).
 */
function consistentDisplayName(m: PhysicalMachine): string | undefined {
  return m.user ? `${m.hostname} | ${fullName(m.user)}` : undefined;
}

function fullName(p: Person): string {
  return p.nickname === null ? `${p.first} ${p.last}` : `${p.first} "${p.nickname}" ${p.last}`;
}

/** `DOMAIN\user`; cloud-joined Windows machines report `AzureAD\FirstLast`. */
function lastUser(m: PhysicalMachine, domainShort: string | null): string {
  const person = m.user ?? m.previousUser;
  if (m.os.family !== 'windows') return person ? person.first.toLowerCase() : 'root';
  if (!person) return `${domainShort ?? m.hostname.toUpperCase().slice(0, 15)}\\Administrator`;
  return domainShort === null ? `AzureAD\\${person.first}${person.last}` : `${domainShort}\\${person.first.toLowerCase()}.${person.last.toLowerCase()}`;
}

/**
 * A pitfall case's device, exactly as the case describes it (pitfalls.ts): an agent, an ESXi
 * host, a host-monitored VM (no agent: no NetBIOS name, no logged-in user) or a network device
 * (no `os`, no `system`).
 */
function renderPitfall(p: PitfallDevice, organizationId: number, locationId: number, nowMs: number): FakeNinjaDevice {
  const ago = (days: number): number => nowMs - Math.round(days * DAY_MS);
  const device = baseDevice(p.id, organizationId, locationId, p.systemName, ago(p.createdDaysAgo));
  const role = ROLE_IDS[p.nodeClass] ?? 40;
  const lastMs = ago(p.lastContactDaysAgo);
  const nms = p.nodeClass.startsWith('NMS_');
  const windows = p.nodeClass.startsWith('WINDOWS');
  Object.assign(device, {
    parentDeviceId: p.parentId,
    nodeClass: p.nodeClass,
    nodeRoleId: role,
    rolePolicyId: 100 + role,
    policyId: nms ? undefined : 100 + role,
    // An agent that has talked to NinjaOne within the last minutes is online.
    offline: p.lastContactDaysAgo > 0.01,
    displayName: p.displayName,
    dnsName: p.dnsName,
    netbiosName: windows ? p.systemName : undefined,
    lastContact: epoch(lastMs),
    lastUpdate: epoch(lastMs),
    deviceType: nms ? 'NMS' : p.nodeClass === 'VMWARE_VM_GUEST' ? 'VMGUEST' : p.nodeClass === 'VMWARE_VM_HOST' ? 'VMHOST' : 'AGENT',
    lastLoggedInUser: windows ? `${p.systemName}\\Administrator` : p.nodeClass === 'VMWARE_VM_GUEST' ? undefined : 'root',
  } satisfies Partial<FakeNinjaDevice>);
  if (nms) {
    for (const key of ['os', 'system', 'memory', 'processors', 'volumes', 'lastLoggedInUser', 'notes', 'dnsName', 'publicIP'] as const) delete device[key];
    return device;
  }
  const os = device.os as FakeNinjaOs;
  const system = device.system as FakeNinjaSystem;
  // A Windows machine in a domain reports it; its DNS name is then the FQDN.
  const dot = p.dnsName?.indexOf('.') ?? -1;
  const domain = windows && p.dnsName !== undefined && dot > 0 ? p.dnsName.slice(dot + 1).toLowerCase() : null;
  if (p.nodeClass === 'WINDOWS_SERVER') device.os = { ...os, name: 'Windows Server 2022 Standard', buildNumber: '20348', releaseId: '21H2' };
  if (p.nodeClass === 'MAC') device.os = { ...os, manufacturer: 'Apple Inc.', name: 'macOS 15.3', architecture: 'arm64', buildNumber: '24D60', releaseId: '' };
  if (p.nodeClass === 'LINUX_SERVER') device.os = { ...os, manufacturer: 'Canonical Ltd.', name: 'Ubuntu 22.04.4 LTS', architecture: 'x86_64', buildNumber: '5.15.0-119-generic', releaseId: '' };
  if (p.nodeClass === 'VMWARE_VM_HOST') device.os = { ...os, manufacturer: 'VMware, Inc.', name: 'VMware ESXi 8.0.2', buildNumber: '22380479', releaseId: '' };
  device.system = {
    ...system,
    name: p.systemName,
    serialNumber: `PF${p.id}`,
    biosSerialNumber: `PF${p.id}`,
    ...(p.virtualMachine ? { manufacturer: 'VMware, Inc.', model: 'VMware Virtual Platform', chassisType: 'UNKNOWN' as const } : {}),
    ...(p.nodeClass === 'MAC' ? { manufacturer: 'Apple Inc.', model: 'Mac14,2', chassisType: 'LAPTOP' as const } : {}),
    ...(p.nodeClass === 'WINDOWS_SERVER' && !p.virtualMachine ? { model: 'PowerEdge R650', chassisType: 'UNKNOWN' as const } : {}),
    domain: domain ?? 'WORKGROUP',
    domainRole: domain === null ? 'STANDALONE_WORKSTATION' : p.nodeClass === 'WINDOWS_WORKSTATION' ? 'MEMBER_WORKSTATION' : 'MEMBER_SERVER',
    virtualMachine: p.virtualMachine,
  };
  return device;
}

/** An ESXi or Hyper-V host that exists only in NinjaOne (no ThreatLocker agent runs on ESXi). */
function virtualizationHost(
  rng: Rng,
  org: CatalogueOrganization,
  nodeClass: 'VMWARE_VM_HOST' | 'HYPERV_VMM_HOST',
  organizationId: number,
  locationId: number,
  site: CatalogueOrganization['sites'][number],
  nowMs: number,
): FakeNinjaDevice {
  const vmware = nodeClass === 'VMWARE_VM_HOST';
  const name = `${org.code}-${vmware ? 'ESX' : 'HV'}01`;
  const createdMs = nowMs - rng.int(900, 1500) * DAY_MS;
  const device = baseDevice(0, organizationId, locationId, name, createdMs);
  const serial = rng.alnum(10);
  Object.assign(device, {
    nodeClass,
    nodeRoleId: ROLE_IDS[nodeClass] as number,
    rolePolicyId: 100 + (ROLE_IDS[nodeClass] as number),
    policyId: 100 + (ROLE_IDS[nodeClass] as number),
    displayName: vmware ? `${name} (ESXi)` : undefined,
    dnsName: org.domain === null ? name.toLowerCase() : `${name.toLowerCase()}.${org.domain}`,
    netbiosName: vmware ? undefined : name,
    lastContact: epoch(nowMs - rng.int(5_000, 120_000)),
    lastUpdate: epoch(nowMs - rng.int(5_000, 120_000)),
    ipAddresses: [`${site.subnet}.${rng.int(2, 19)}`],
    macAddresses: [rng.hex(12).toUpperCase().replace(/(..)(?!$)/g, '$1:')],
    publicIP: site.publicIp,
    lastLoggedInUser: vmware ? 'root' : `${org.code}\\Administrator`,
    deviceType: 'VMHOST',
  } satisfies Partial<FakeNinjaDevice>);
  device.os = { ...(device.os as FakeNinjaOs), manufacturer: vmware ? 'VMware, Inc.' : 'Microsoft Corporation', name: vmware ? 'VMware ESXi 8.0.2' : 'Windows Server 2022 Datacenter', buildNumber: vmware ? '22380479' : '20348', releaseId: vmware ? '' : '21H2' };
  device.system = { ...(device.system as FakeNinjaSystem), manufacturer: 'Dell Inc.', model: 'PowerEdge R750', serialNumber: serial, biosSerialNumber: serial, chassisType: 'UNKNOWN', domainRole: 'MEMBER_SERVER' };
  return device;
}

/** A switch, firewall, printer or access point found by a network scan: no `os`, no `system`. */
function nmsDevice(
  rng: Rng,
  m: PhysicalMachine,
  org: CatalogueOrganization,
  orgIds: ReadonlyMap<string, number>,
  siteIds: ReadonlyMap<string, number>,
  nowMs: number,
): Draft {
  const [nodeClass, suffix, label] = NMS_KINDS[Math.floor(m.index / 40) % NMS_KINDS.length] as (typeof NMS_KINDS)[number];
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the rule ignores that the assertion types the `??` result
  const site = org.sites.find((s) => s.name === m.site) ?? (org.sites[0] as CatalogueOrganization['sites'][number]);
  const createdMs = nowMs - rng.int(30, 1200) * DAY_MS;
  const lastMs = nowMs - rng.int(5_000, 600_000);
  const name = `${org.code}-${suffix}${String(Math.floor(m.index / 40) + 1).padStart(2, '0')}`;
  const device: FakeNinjaDevice = {
    id: 0,
    organizationId: orgIds.get(org.name) as number,
    locationId: siteIds.get(`${org.name}\u0000${site.name}`) as number,
    nodeClass,
    nodeRoleId: 40 + NMS_KINDS.findIndex(([c]) => c === nodeClass),
    rolePolicyId: 140,
    approvalStatus: 'APPROVED',
    offline: rng.chance(0.1),
    displayName: `${site.name} ${label}`,
    systemName: name,
    created: epoch(createdMs),
    lastContact: epoch(lastMs),
    lastUpdate: epoch(lastMs),
    userData: {},
    tags: [],
    fields: {},
    ipAddresses: [`${site.subnet}.${rng.int(1, 19)}`],
    macAddresses: [rng.hex(12).toUpperCase().replace(/(..)(?!$)/g, '$1:')],
    deviceType: 'NMS',
  };
  return { device, parent: null };
}
