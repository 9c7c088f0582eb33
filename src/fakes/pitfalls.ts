/**
 * Pitfall cases: small, named situations where matching ThreatLocker computers to NinjaOne
 * devices is easy to get wrong, each labelled with exactly the variances it must produce.
 * A test collects them through the real collectors, runs the checks and compares what it finds
 * with the labels (recall and precision); demo mode serves them so that its variance list shows
 * every kind of disagreement.
 *
 * Unlike catalogue machines, a case is written per vendor: the point of most cases is that the
 * two tools say different things about one machine (a truncated name, another customer, a
 * second record after a reinstall). Each fake renders its own vendor's records faithfully
 * (vendor-apis.md §1.3, §2.5); the keys a label names are fixed here, so a label can name them:
 * ThreatLocker `computerId`s come from a seeded generator, NinjaOne ids from a reserved range
 * above every id a generated fleet uses (NinjaOne numbers devices as they enrol, so a pitfall's
 * id does not follow its `created` time; nothing reads ids as enrolment order).
 *
 * The rules the labels follow (the variance checks implement the same ones):
 * - match on the canonical hostname (cut at `|`, trim, cut at the first `.`, lower-case); a
 *   NinjaOne device known only by its NetBIOS `systemName` of exactly 15 characters matches a
 *   longer ThreatLocker name that starts with it; two full names never match on a prefix;
 * - organizations whose names differ only in case, punctuation, spacing or a trailing
 *   Inc/LLC/Ltd/Corp are one customer; two customers may each have a machine of one name;
 * - a host-monitored VMWARE_VM_GUEST record and an agent device of one name in one customer are
 *   one machine (ThreatLocker pairs with the agent device);
 * - a device not seen for more than 30 days is never reported missing;
 * - spares may keep ThreatLocker only in an allowed location (`ES Spare`).
 */
import type { VendorKey } from '../inventory/vendors.js';
import type { VarianceType } from '../variances/types.js';
import type { CatalogueOrganization, MachineKind, OsFamily } from './catalogue.js';
import { createRng } from './rng.js';

/** NinjaOne ids of pitfall devices start here: far above any id a generated fleet reaches. */
export const PITFALL_NINJA_ID_BASE = 5_000_000;
/** The location whose spares may keep ThreatLocker (the checks' VARIANCE_SPARE_ALLOWED_LOCATIONS). */
export const PITFALL_SPARE_ALLOWED_LOCATION = 'ES Spare';
/** A client's shelf of machines waiting to be reissued: spare, and not allowed to keep ThreatLocker. */
export const PITFALL_SPARE_SHELF = 'Spare Shelf';
/** Days a device may go unseen and still be reported missing (the checks' VARIANCE_STALE_DAYS). */
export const PITFALL_STALE_DAYS = 30;

/** Classes pitfall devices use; a subset of NinjaOne's `nodeClass` values. */
export type PitfallNodeClass =
  | 'WINDOWS_WORKSTATION'
  | 'WINDOWS_SERVER'
  | 'MAC'
  | 'LINUX_SERVER'
  | 'VMWARE_VM_GUEST'
  | 'VMWARE_VM_HOST'
  | 'NMS_SWITCH'
  | 'NMS_PRINTER';

/** One ThreatLocker computer of a case. Times are days before the catalogue's `now`. */
export interface PitfallComputer {
  readonly vendor: 'threatlocker';
  /** Lower-case GUID. */
  readonly computerId: string;
  /** Catalogue organization name (rendered with its ThreatLocker name). */
  readonly org: string;
  /** As the agent reports it: may be an FQDN, lower-case, or carry `| User` (older rows). */
  readonly hostname: string;
  /** The portal's editable name; null when never set (the portal then shows the hostname). */
  readonly computerName: string | null;
  readonly family: OsFamily;
  readonly kind: MachineKind;
  readonly addedDaysAgo: number;
  /** Null: never checked in. */
  readonly lastCheckinDaysAgo: number | null;
}

/** One NinjaOne device of a case. Times are days before the catalogue's `now`. */
export interface PitfallDevice {
  readonly vendor: 'ninja';
  readonly id: number;
  /** Catalogue organization name (rendered with its NinjaOne name). */
  readonly org: string;
  /** A site of the organization, or a spare location. */
  readonly location: string;
  readonly nodeClass: PitfallNodeClass;
  /** NetBIOS name on Windows (upper-case, at most 15 characters); the host name elsewhere. */
  readonly systemName: string;
  /** Undefined: the agent sent none (the hub then uses `systemName`). */
  readonly dnsName: string | undefined;
  /** Undefined: never set (key omitted); `''`: cleared. */
  readonly displayName: string | undefined;
  readonly createdDaysAgo: number;
  readonly lastContactDaysAgo: number;
  /** An agent running inside a virtual machine. */
  readonly virtualMachine: boolean;
  /** VM guests: their host; network devices: the agent that polls them. */
  readonly parentId: number | undefined;
}

export type PitfallRecord = PitfallComputer | PitfallDevice;

/** A device as a label names it: `threatlocker:<computerId>` or `ninja:<id>`. */
export type DeviceRef = `${VendorKey}:${string}`;

/** One variance a case must produce: its type and the devices it is about. */
export interface ExpectedVariance {
  readonly type: VarianceType;
  /** The subject devices, sorted (see {@link SUBJECT_VENDORS}). */
  readonly subject: readonly DeviceRef[];
}

export interface PitfallCase {
  /** Short, unique, kebab-case. */
  readonly name: string;
  /** What the case is about and why it must produce what it does. */
  readonly description: string;
  readonly records: readonly PitfallRecord[];
  /** Exactly the variances the case must produce; empty when it must produce none. */
  readonly expected: readonly ExpectedVariance[];
}

export interface PitfallLabel {
  readonly case: string;
  readonly expected: readonly ExpectedVariance[];
}

export interface PitfallWorld {
  /** Organizations only the pitfall cases use, each with the name each tool gives it. */
  readonly organizations: readonly CatalogueOrganization[];
  readonly cases: readonly PitfallCase[];
}

/**
 * Which vendors' devices make up a variance's subject. A variance may name more devices (the
 * other tool's device, for context); a label compares only these.
 */
export const SUBJECT_VENDORS: Readonly<Record<VarianceType, readonly VendorKey[]>> = Object.freeze({
  MISSING_NINJA: ['threatlocker'],
  MISSING_THREATLOCKER: ['ninja'],
  DUPLICATE_TL: ['threatlocker'],
  DUPLICATE_NINJA: ['ninja'],
  SPARE_MISMATCH: ['threatlocker', 'ninja'],
  DISPLAY_NAME_MISMATCH: ['threatlocker', 'ninja'],
  SITE_MISMATCH: ['threatlocker', 'ninja'],
});

/**
 * The subject of a variance as reported (e.g. by `GET /api/variances`), comparable with a label's.
 *
 * @example
 *   varianceSubject('MISSING_NINJA', [{ vendor: 'threatlocker', device_key: 'c3fd…' }]); // ['threatlocker:c3fd…']
 */
export function varianceSubject(type: VarianceType, devices: readonly { readonly vendor: string; readonly device_key: string }[]): DeviceRef[] {
  const vendors: readonly string[] = SUBJECT_VENDORS[type];
  return [...new Set(devices.filter((d) => vendors.includes(d.vendor)).map((d) => `${d.vendor}:${d.device_key}` as DeviceRef))].sort();
}

/** One string per expected variance, for comparing lists: `TYPE ref ref…`. */
export function varianceKey(v: ExpectedVariance): string {
  return [v.type, ...v.subject].join(' ');
}

const refOf = (r: PitfallRecord): DeviceRef => (r.vendor === 'threatlocker' ? `threatlocker:${r.computerId}` : `ninja:${r.id}`);

/** Organizations that exist only for pitfall cases; `vendorNames` spell them differently per tool. */
const PITFALL_ORGS: readonly Omit<CatalogueOrganization, 'sites'>[] = [
  { name: 'Acme Inc', code: 'ACM', domain: null, parent: 'Summit Managed Services', vendorNames: { threatlocker: 'Acme, Inc.', ninja: 'ACME Inc' } },
  {
    name: 'Quarry Point Logistics',
    code: 'QPL',
    domain: 'quarrypoint.local',
    parent: 'Summit Managed Services',
    vendorNames: { threatlocker: 'Quarry Point Logistics LLC', ninja: 'Quarry Point Logistics' },
  },
];
const PITFALL_SITES: Readonly<Record<string, readonly string[]>> = { ACM: ['Plant 1'], QPL: ['Dock Office'] };

/**
 * The pitfall cases of a catalogue. Deterministic: the same seed gives the same cases and keys
 * (the seed only chooses the ThreatLocker computerIds; names and times are fixed).
 *
 * @example
 *   const { cases } = buildPitfalls(1);
 *   cases.find((c) => c.name === 'threatlocker-only')?.expected; // [{ type: 'MISSING_NINJA', subject: ['threatlocker:…'] }]
 */
export function buildPitfalls(seed: number): PitfallWorld {
  // A stream of its own, so the ordinary catalogue never shifts when pitfalls are added.
  const rng = createRng(seed ^ 0x7069_7466);
  const organizations = PITFALL_ORGS.map((org, o): CatalogueOrganization => ({
    ...org,
    sites: (PITFALL_SITES[org.code] ?? []).map((name, s) => ({ name, publicIp: `198.51.100.${10 * o + s + 10}`, subnet: `10.${200 + o}.${s + 1}` })),
  }));
  let nextId = PITFALL_NINJA_ID_BASE;

  const FRESH = 0.1; // ThreatLocker: checked in a couple of hours ago
  const ONLINE = 0.002; // NinjaOne: an online agent talked to it minutes ago
  const tl = (org: string, hostname: string, computerName: string | null, more: Partial<PitfallComputer> = {}): PitfallComputer => ({
    vendor: 'threatlocker',
    computerId: rng.guid(),
    org,
    hostname,
    computerName,
    family: 'windows',
    kind: 'workstation',
    addedDaysAgo: 300,
    lastCheckinDaysAgo: FRESH,
    ...more,
  });
  const nj = (org: string, location: string, systemName: string, dnsName: string | undefined, displayName: string | undefined, more: Partial<PitfallDevice> = {}): PitfallDevice => ({
    vendor: 'ninja',
    id: nextId++,
    org,
    location,
    nodeClass: 'WINDOWS_WORKSTATION',
    systemName,
    dnsName,
    displayName,
    createdDaysAgo: 300,
    lastContactDaysAgo: ONLINE,
    virtualMachine: false,
    parentId: undefined,
    ...more,
  });
  const cases: PitfallCase[] = [];
  const add = (name: string, description: string, records: PitfallRecord[], expected: [VarianceType, ...PitfallRecord[]][] = []): void => {
    cases.push({ name, description, records, expected: expected.map(([type, ...devices]) => ({ type, subject: devices.map(refOf).sort() })) });
  };

  const RFG = 'Rigby Financial Group';
  const CHI = 'Chill Co Refrigeration';
  const AEC = 'Aspen Engineering Collective';
  const HDP = 'Harbor Dental Partners';
  const HDE = 'Harbor Dental - Eastside';
  const HDW = 'Harbor Dental - Westside';
  const MLL = 'Meridian Law LLP';
  const NWL = 'Northwind Logistics';
  const CPD = 'Cedar Pediatrics';
  const BNA = 'Bluebird Nonprofit Alliance';
  const SMS = 'Summit Managed Services';
  const ACM = 'Acme Inc';
  const QPL = 'Quarry Point Logistics';

  // --- Names that must meet ------------------------------------------------------------------
  add('exact-match', 'The same name and display name in both tools: nothing to report.', [
    tl(RFG, 'RFG-ACCT01', 'RFG-ACCT01 | Dana Whitfield'),
    nj(RFG, 'Main Office', 'RFG-ACCT01', 'rfg-acct01.rigbyfg.local', 'RFG-ACCT01 | Dana Whitfield'),
  ]);
  add('fqdn-and-default-names', 'ThreatLocker reports the FQDN and keeps its default name (the hostname); NinjaOne has a lower-case DNS name and no display name: one machine, and upstream does not flag the names.', [
    tl(NWL, 'NWL-PRINTSRV.corp.local', null, { kind: 'server' }),
    nj(NWL, 'Head Office', 'NWL-PRINTSRV', 'nwl-printsrv.corp.local', undefined, { nodeClass: 'WINDOWS_SERVER' }),
  ]);
  add('case-and-whitespace', 'A lower-case hostname in ThreatLocker; display names that differ only in case and a trailing space.', [
    tl(CHI, 'chi-kiosk02', 'CHI-KIOSK02 | Shop Floor'),
    nj(CHI, 'Warehouse', 'CHI-KIOSK02', 'CHI-KIOSK02', 'chi-kiosk02 | shop floor '),
  ]);
  add('pipe-in-hostname', 'An older ThreatLocker row carries "HOST | User" in the hostname field itself.', [
    tl(CHI, 'CHI-DISPATCH1 | Marco Ruiz', 'CHI-DISPATCH1 | Marco Ruiz'),
    nj(CHI, 'Headquarters', 'CHI-DISPATCH1', 'chi-dispatch1', 'CHI-DISPATCH1 | Marco Ruiz'),
  ]);
  add('netbios-truncation', 'NinjaOne knows the machine only by its 15-character NetBIOS name; ThreatLocker has the full 17-character name: one machine.', [
    tl(AEC, 'AEC-RENDERNODE042', 'AEC-RENDERNODE042 | Render Farm'),
    nj(AEC, 'Denver', 'AEC-RENDERNODE0', undefined, 'AEC-RENDERNODE042 | Render Farm'),
  ]);
  {
    const computer = tl(MLL, 'MLL-DOCKETPC12A7', 'MLL-DOCKETPC12A7 | Ruth Ward');
    const device = nj(MLL, 'Downtown', 'MLL-DOCKETPC12', undefined, undefined);
    add('fourteen-character-name', 'A 14-character NetBIOS name is complete, never a truncation: MLL-DOCKETPC12 and MLL-DOCKETPC12A7 are two machines, each missing from the other tool.', [computer, device], [
      ['MISSING_NINJA', computer],
      ['MISSING_THREATLOCKER', device],
    ]);
  }
  add('truncation-collision', 'Two machines whose names share their first 15 characters (one NetBIOS name in NinjaOne); both tools have the full names, so each pairs with its own and nothing is a duplicate.', [
    tl(QPL, 'QP-NUC150BX25100031', 'QP-NUC150BX25100031 | Dock 1'),
    tl(QPL, 'QP-NUC150BX25100035', 'QP-NUC150BX25100035 | Dock 5'),
    nj(QPL, 'Dock Office', 'QP-NUC150BX2510', 'QP-NUC150BX25100031.quarrypoint.local', 'QP-NUC150BX25100031 | Dock 1'),
    nj(QPL, 'Dock Office', 'QP-NUC150BX2510', 'qp-nuc150bx25100035.quarrypoint.local', 'QP-NUC150BX25100035 | Dock 5'),
  ]);
  add('organization-name-variants', 'The customer is "Acme, Inc." in ThreatLocker and "ACME Inc" in NinjaOne: one organization.', [
    tl(ACM, 'ACM-OPS01', 'ACM-OPS01 | Lena Park'),
    nj(ACM, 'Plant 1', 'ACM-OPS01', 'ACM-OPS01', 'ACM-OPS01 | Lena Park'),
  ]);
  add('one-name-two-customers', 'Two customers each have a FRONTDESK: two machines, each paired within its own customer; not duplicates.', [
    tl(CPD, 'FRONTDESK', 'FRONTDESK | Reception'),
    nj(CPD, 'Clinic', 'FRONTDESK', 'FRONTDESK', 'FRONTDESK | Reception'),
    tl(BNA, 'FRONTDESK', 'FRONTDESK | Volunteer Desk'),
    nj(BNA, 'Office', 'FRONTDESK', 'frontdesk', 'FRONTDESK | Volunteer Desk'),
  ]);

  // --- Duplicates ----------------------------------------------------------------------------
  {
    const old = tl(CPD, 'CPD-EXAMRM2', 'CPD-EXAMRM2 | Exam Room 2', { addedDaysAgo: 400, lastCheckinDaysAgo: 45 });
    const fresh = tl(CPD, 'CPD-EXAMRM2', 'CPD-EXAMRM2 | Exam Room 2', { addedDaysAgo: 44.998 });
    add('reinstall-duplicate-threatlocker', 'The agent was reinstalled: ThreatLocker lists a new computerId beside the old one, which stopped checking in 45 days ago. One duplicate group; the old row is not missing from NinjaOne.', [
      old,
      fresh,
      nj(CPD, 'Clinic', 'CPD-EXAMRM2', 'CPD-EXAMRM2', 'CPD-EXAMRM2 | Exam Room 2'),
    ], [['DUPLICATE_TL', old, fresh]]);
  }
  {
    const old = nj(BNA, 'Office', 'BNA-LAPTOP07', 'bna-laptop07', 'BNA-LAPTOP07 | Grace Kim', { createdDaysAgo: 500, lastContactDaysAgo: 60 });
    const fresh = nj(BNA, 'Office', 'BNA-LAPTOP07', 'bna-laptop07', 'BNA-LAPTOP07 | Grace Kim', { createdDaysAgo: 59.998 });
    add('reinstall-duplicate-ninja', 'NinjaOne re-enrolled the machine under a new id; the old device went quiet 60 days ago. One duplicate group; the old device is not missing from ThreatLocker.', [
      tl(BNA, 'BNA-LAPTOP07', 'BNA-LAPTOP07 | Grace Kim', { kind: 'laptop' }),
      old,
      fresh,
    ], [['DUPLICATE_NINJA', old, fresh]]);
  }

  // --- Virtual machines and devices without an agent -----------------------------------------
  const esx = nj(NWL, 'Distribution Center', 'NWL-ESX07', 'nwl-esx07.corp.local', 'NWL-ESX07 (ESXi)', { nodeClass: 'VMWARE_VM_HOST' });
  const guest = (systemName: string): PitfallDevice =>
    nj(NWL, 'Distribution Center', systemName, undefined, `${systemName} (vSphere)`, { nodeClass: 'VMWARE_VM_GUEST', virtualMachine: true, parentId: esx.id });
  add('vm-host-and-network-devices', 'An ESXi host and two network devices in NinjaOne only: none of them can run ThreatLocker.', [
    esx,
    nj(NWL, 'Distribution Center', 'NWL-CORESW2', undefined, 'Distribution Center Core Switch', { nodeClass: 'NMS_SWITCH' }),
    nj(NWL, 'Head Office', 'NWL-MFP3', undefined, 'Head Office Printer', { nodeClass: 'NMS_PRINTER' }),
  ]);
  add('vm-guest-two-views', 'The host-monitored VMWARE_VM_GUEST record and the agent inside the VM are one machine; ThreatLocker pairs with the agent device.', [
    guest('NWL-APPVM07'),
    nj(NWL, 'Distribution Center', 'NWL-APPVM07', 'nwl-appvm07.corp.local', undefined, { nodeClass: 'WINDOWS_SERVER', virtualMachine: true }),
    tl(NWL, 'NWL-APPVM07', null, { kind: 'vm-guest' }),
  ]);
  {
    const agent = nj(NWL, 'Distribution Center', 'NWL-SQLVM03', 'nwl-sqlvm03.corp.local', undefined, { nodeClass: 'WINDOWS_SERVER', virtualMachine: true });
    add('vm-guest-agent-without-threatlocker', 'A VM with a NinjaOne agent and no ThreatLocker: the agent device is missing ThreatLocker (its host-monitored record is not).', [guest('NWL-SQLVM03'), agent], [
      ['MISSING_THREATLOCKER', agent],
    ]);
  }
  add('vm-guest-host-monitored-only', 'A VM NinjaOne sees only through its host (no agent): not expected to run ThreatLocker.', [guest('NWL-TESTVM12')]);

  // --- Spares --------------------------------------------------------------------------------
  {
    const computer = tl(HDP, 'HDP-OPS03', 'HDP-OPS03 | SPARE - was Leo Grant', { lastCheckinDaysAgo: 2 });
    const device = nj(HDP, PITFALL_SPARE_SHELF, 'HDP-OPS03', 'HDP-OPS03', 'HDP-OPS03 | SPARE - was Leo Grant', { lastContactDaysAgo: 2 });
    add('spare-location-with-threatlocker', 'A machine on the spare shelf still runs ThreatLocker.', [computer, device], [['SPARE_MISMATCH', computer, device]]);
  }
  {
    const computer = tl(RFG, 'RFG-LOANER2', 'RFG-LOANER2 | SPARE - was Owen Walsh', { kind: 'laptop' });
    const device = nj(RFG, 'Elm Street Branch', 'RFG-LOANER2', 'rfg-loaner2.rigbyfg.local', 'RFG-LOANER2 | SPARE - was Owen Walsh');
    add('spare-name-with-threatlocker', 'A machine whose NinjaOne display name says SPARE still runs ThreatLocker.', [computer, device], [['SPARE_MISMATCH', computer, device]]);
  }
  add('spare-in-allowed-location', "A spare in the MSP's ES Spare stock keeps ThreatLocker for remote access: allowed.", [
    tl(SMS, 'SMS-STOCK11', 'SMS-STOCK11 | SPARE - loaner pool', { kind: 'laptop' }),
    nj(SMS, PITFALL_SPARE_ALLOWED_LOCATION, 'SMS-STOCK11', 'sms-stock11.summit.local', 'SMS-STOCK11 | SPARE - loaner pool'),
  ]);
  add('spare-without-threatlocker', 'A spare without ThreatLocker is as it should be.', [
    nj(HDW, PITFALL_SPARE_SHELF, 'HDW-FRONT02', 'HDW-FRONT02', 'HDW-FRONT02 | SPARE - was Ivy Price'),
  ]);

  // --- Display names -------------------------------------------------------------------------
  {
    const computer = tl(RFG, 'RFG-TELLER4', 'RFG-TELLER4 | Maria Garcia');
    const device = nj(RFG, 'Main Office', 'RFG-TELLER4', 'rfg-teller4.rigbyfg.local', 'RFG-TELLER4 | Sofia Silva');
    add('display-name-differs', 'The machine was reissued and renamed in NinjaOne only.', [computer, device], [['DISPLAY_NAME_MISMATCH', computer, device]]);
  }
  {
    const computer = tl(MLL, 'MLL-RECEPT2', 'MLL-RECEPT2 | Front Desk');
    const device = nj(MLL, 'Downtown', 'MLL-RECEPT2', 'mll-recept2.meridianlaw.local', '');
    add('display-name-blank-in-ninja', 'NinjaOne\'s display name was cleared while ThreatLocker has a custom name (the exclusion needs ThreatLocker\'s default name).', [computer, device], [
      ['DISPLAY_NAME_MISMATCH', computer, device],
    ]);
  }
  {
    const computer = tl(AEC, 'AEC-SURVEY05', 'AEC-SURVEY05', { kind: 'laptop' });
    const device = nj(AEC, 'Boulder', 'AEC-SURVEY05', 'aec-survey05.aec.corp.local', 'AEC-SURVEY05 | Field Tablet');
    add('display-name-default-in-threatlocker', 'ThreatLocker still shows its default name (the hostname) while NinjaOne has a custom one.', [computer, device], [
      ['DISPLAY_NAME_MISMATCH', computer, device],
    ]);
  }
  add('display-name-upstream-exclusion', 'NinjaOne has no display name (key omitted) and ThreatLocker shows its default name: not a mismatch.', [
    tl(HDP, 'HDP-XRAY01', 'HDP-XRAY01'),
    nj(HDP, 'Admin Office', 'HDP-XRAY01', 'HDP-XRAY01', undefined),
  ]);
  add('display-name-both-unset', 'ThreatLocker never named it (computerName null) and NinjaOne\'s name was cleared: not a mismatch.', [
    tl(HDE, 'HDE-STERIL1', null),
    nj(HDE, 'Eastside Clinic', 'HDE-STERIL1', 'hde-steril1', ''),
  ]);

  // --- Customers and staleness ---------------------------------------------------------------
  {
    const computer = tl(HDE, 'HDE-HYGIENE2', 'HDE-HYGIENE2 | Chair 2');
    const device = nj(HDW, 'Westside Clinic', 'HDE-HYGIENE2', 'HDE-HYGIENE2', 'HDE-HYGIENE2 | Chair 2');
    add('moved-customer-one-tool', 'The machine moved to the Westside clinic in NinjaOne only; ThreatLocker still files it under Eastside.', [computer, device], [
      ['SITE_MISMATCH', computer, device],
    ]);
  }
  add('stale-threatlocker-only', 'A ThreatLocker computer not seen for 120 days, unknown to NinjaOne: decommissioned, not missing.', [
    tl(AEC, 'AEC-OLDCAD3', 'AEC-OLDCAD3 | Plotter Room', { addedDaysAgo: 900, lastCheckinDaysAgo: 120 }),
  ]);
  add('stale-ninja-only', 'A NinjaOne device not seen for 75 days, unknown to ThreatLocker: decommissioned, not missing.', [
    nj(RFG, 'Main Office', 'RFG-RETIRED9', 'rfg-retired9.rigbyfg.local', 'RFG-RETIRED9 | Old Scanner PC', { createdDaysAgo: 1000, lastContactDaysAgo: 75 }),
  ]);
  {
    const computer = tl(CHI, 'CHI-YARDPC4', 'CHI-YARDPC4 | Yard Office');
    add('threatlocker-only', 'A machine protected by ThreatLocker that NinjaOne does not manage.', [computer], [['MISSING_NINJA', computer]]);
  }
  {
    const device = nj(MLL, 'Downtown', 'MLL-INTERN06', 'mll-intern06.meridianlaw.local', 'MLL-INTERN06 | Summer Intern');
    add('ninja-only', 'A managed workstation without ThreatLocker.', [device], [['MISSING_THREATLOCKER', device]]);
  }
  {
    const device = nj(BNA, 'Office', 'BNA-DONOR02', 'bna-donor02', 'BNA-DONOR02 | Donor Relations', { lastContactDaysAgo: 20 });
    add('ninja-only-recently-offline', 'Offline for 20 days, within the 30-day window: still missing ThreatLocker.', [device], [['MISSING_THREATLOCKER', device]]);
  }
  {
    const device = nj(AEC, 'Boulder', 'Noras-MacBook-Air', 'Noras-MacBook-Air.local', undefined, { nodeClass: 'MAC' });
    add('mac-without-threatlocker', 'A Mac (no NetBIOS name, 17 characters) managed without ThreatLocker.', [device], [['MISSING_THREATLOCKER', device]]);
  }
  {
    const device = nj(AEC, 'Denver', 'aec-git01', 'aec-git01', undefined, { nodeClass: 'LINUX_SERVER' });
    add('linux-server-without-threatlocker', 'A Linux server managed without ThreatLocker.', [device], [['MISSING_THREATLOCKER', device]]);
  }
  return { organizations, cases };
}

/**
 * The labels of a catalogue's pitfall cases: for each case, exactly the variances it must
 * produce. Ordinary catalogue machines produce none when pitfalls are on (see buildCatalogue).
 *
 * @example
 *   const labels = pitfallLabels({ seed: 1 });
 *   labels.flatMap((l) => l.expected).length; // every variance the fleet must produce
 */
export function pitfallLabels({ seed }: { seed: number }): PitfallLabel[] {
  return buildPitfalls(seed).cases.map((c) => ({ case: c.name, expected: c.expected }));
}
