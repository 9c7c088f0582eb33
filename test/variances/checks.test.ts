import { describe, expect, it } from 'vitest';
import { runChecks, staleCutoff } from '../../src/variances/checks.js';
import type { CheckInput, CheckResult, DayDevice, FoundVariance, OrganizationLink } from '../../src/variances/types.js';
import { beforeEndOfDate, CHILL, DATE, nj, njNetbios, RIGBY, shuffled, SUMMIT, tl } from './devices.js';

const SETTINGS = { staleDays: 30, spareAllowedLocations: ['ES Spare'] };

function check(threatlocker: DayDevice[], ninja: DayDevice[], options: { links?: OrganizationLink[]; settings?: Partial<CheckInput['settings']> } = {}): CheckResult {
  return runChecks({ date: DATE, devices: { threatlocker, ninja }, links: options.links ?? [], settings: { ...SETTINGS, ...options.settings } });
}

/** `TYPE subjectKey`, the way a failing row is easiest to read. */
const found = (result: CheckResult): string[] => result.variances.map((v) => `${v.type} ${v.subjectKey}`);

function only(result: CheckResult, type: FoundVariance['type']): FoundVariance {
  const matching = result.variances.filter((v) => v.type === type);
  expect(matching).toHaveLength(1);
  return matching[0] as FoundVariance;
}

interface Row {
  name: string;
  threatlocker: DayDevice[];
  ninja: DayDevice[];
  links?: OrganizationLink[];
  settings?: Partial<CheckInput['settings']>;
  expected: string[];
}

/** Filler devices that make SUMMIT and CHILL mapped organizations in both tools. */
const MAPPED_ELSEWHERE = {
  threatlocker: [tl('fill-s', 'SMS-FILL', { organizationName: SUMMIT }), tl('fill-c', 'CHI-FILL', { organizationName: CHILL })],
  ninja: [nj('fill-s', 'SMS-FILL', { organizationName: SUMMIT }), nj('fill-c', 'CHI-FILL', { organizationName: CHILL })],
};

const rows: Row[] = [
  // MISSING_NINJA
  { name: 'a recent computer with no NinjaOne device is MISSING_NINJA', threatlocker: [tl('t1', 'RFG-A')], ninja: [], expected: ['MISSING_NINJA MISSING_NINJA:threatlocker:t1'] },
  { name: 'a paired computer is not missing', threatlocker: [tl('t1', 'RFG-A')], ninja: [nj('1', 'rfg-a.rigbyfg.local')], expected: [] },
  {
    name: 'a computer last seen 31 days before the end of the date is stale, not missing',
    threatlocker: [tl('t1', 'RFG-A', { lastContact: beforeEndOfDate(31) })],
    ninja: [],
    expected: [],
  },
  {
    name: 'a computer seen exactly 30 days before the end of the date is still missing',
    threatlocker: [tl('t1', 'RFG-A', { lastContact: beforeEndOfDate(30) })],
    ninja: [],
    expected: ['MISSING_NINJA MISSING_NINJA:threatlocker:t1'],
  },
  {
    name: 'a computer seen 30 days and one hour before the end of the date is stale',
    threatlocker: [tl('t1', 'RFG-A', { lastContact: beforeEndOfDate(30, 1) })],
    ninja: [],
    expected: [],
  },
  { name: 'a computer that never checked in is not missing', threatlocker: [tl('t1', 'RFG-A', { lastContact: null })], ninja: [], expected: [] },
  {
    name: 'staleDays comes from the settings',
    threatlocker: [tl('t1', 'RFG-A', { lastContact: beforeEndOfDate(8) })],
    ninja: [],
    settings: { staleDays: 7 },
    expected: [],
  },
  {
    name: 'a long name whose NetBIOS device exists is not missing (truncated pair)',
    threatlocker: [tl('t1', 'AEC-027396194353')],
    ninja: [njNetbios('1', 'AEC-02739619435')],
    expected: [],
  },
  {
    name: 'a long name and a 14-character NetBIOS name: both missing',
    threatlocker: [tl('t1', 'AEC-02739619435X')],
    ninja: [njNetbios('1', 'AEC-0273961943')],
    expected: ['MISSING_NINJA MISSING_NINJA:threatlocker:t1', 'MISSING_THREATLOCKER MISSING_THREATLOCKER:ninja:1'],
  },
  {
    name: 'truncation collision: the older of two long names is MISSING_NINJA',
    threatlocker: [tl('t1', 'QP-NUC150BX25100031'), tl('t2', 'QP-NUC150BX25100035', { lastContact: beforeEndOfDate(2) })],
    ninja: [njNetbios('1', 'QP-NUC150BX2510')],
    expected: ['MISSING_NINJA MISSING_NINJA:threatlocker:t2'],
  },
  {
    name: 'FRONTDESK in two customers, NinjaOne knows only one: the other is MISSING_NINJA',
    threatlocker: [tl('t1', 'FRONTDESK', { organizationName: RIGBY }), tl('t2', 'FRONTDESK', { organizationName: CHILL })],
    ninja: [nj('1', 'FRONTDESK', { organizationName: RIGBY }), nj('2', 'CHI-SW01', { organizationName: CHILL, nodeClass: 'NMS_SWITCH' })],
    expected: ['MISSING_NINJA MISSING_NINJA:threatlocker:t2'],
  },
  // MISSING_THREATLOCKER
  ...['WINDOWS_WORKSTATION', 'WINDOWS_SERVER', 'MAC', 'MAC_SERVER', 'LINUX_WORKSTATION', 'LINUX_SERVER'].map((nodeClass) => ({
    name: `${nodeClass} without ThreatLocker is MISSING_THREATLOCKER`,
    threatlocker: [],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { nodeClass })],
    expected: ['MISSING_THREATLOCKER MISSING_THREATLOCKER:ninja:1'],
  })),
  {
    name: 'a VM guest with an agent (WINDOWS_SERVER) is MISSING_THREATLOCKER',
    threatlocker: [],
    ninja: [nj('1', 'rfg-vm001.rigbyfg.local', { nodeClass: 'WINDOWS_SERVER', isVmGuest: true })],
    expected: ['MISSING_THREATLOCKER MISSING_THREATLOCKER:ninja:1'],
  },
  ...['VMWARE_VM_GUEST', 'HYPERV_VMM_GUEST', 'VMWARE_VM_HOST', 'HYPERV_VMM_HOST', 'NMS_SWITCH', 'NMS_SERVER', 'NMS_PRINTER', 'ANDROID', 'CLOUD_MONITOR_TARGET'].map(
    (nodeClass) => ({ name: `${nodeClass} is never MISSING_THREATLOCKER`, threatlocker: [], ninja: [nj('1', 'RFG-NET01', { nodeClass })], expected: [] }),
  ),
  { name: 'a device without a node class is never MISSING_THREATLOCKER', threatlocker: [], ninja: [nj('1', 'RFG-A', { nodeClass: null })], expected: [] },
  { name: 'a spare is never MISSING_THREATLOCKER', threatlocker: [], ninja: [nj('1', 'rfg-a.rigbyfg.local', { billableStatus: 'spare' })], expected: [] },
  {
    name: 'a device last contacted 31 days ago is stale, not MISSING_THREATLOCKER',
    threatlocker: [],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { lastContact: beforeEndOfDate(31) })],
    expected: [],
  },
  { name: 'a device never contacted is not MISSING_THREATLOCKER', threatlocker: [], ninja: [nj('1', 'rfg-a.rigbyfg.local', { lastContact: null })], expected: [] },
  {
    name: 'a current device whose only computer is stale is paired, not missing',
    threatlocker: [tl('t1', 'RFG-A', { lastContact: beforeEndOfDate(90) })],
    ninja: [nj('1', 'rfg-a.rigbyfg.local')],
    expected: [],
  },
  // DUPLICATE_TL
  {
    name: 'agent reinstall in ThreatLocker: one DUPLICATE_TL; the stale leftover is not missing',
    threatlocker: [tl('t-old', 'RFG-A', { lastContact: beforeEndOfDate(60) }), tl('t-new', 'RFG-A | Ann Lee')],
    ninja: [nj('1', 'rfg-a.rigbyfg.local')],
    expected: [`DUPLICATE_TL DUPLICATE_TL:Rigby%20Financial%20Group:rfg-a`],
  },
  {
    name: 'reinstall duplicates without any NinjaOne device: the latest is MISSING_NINJA, the leftover is not',
    threatlocker: [tl('t-old', 'RFG-A', { lastContact: beforeEndOfDate(2) }), tl('t-new', 'RFG-A.rigbyfg.local')],
    ninja: [],
    expected: ['MISSING_NINJA MISSING_NINJA:threatlocker:t-new', `DUPLICATE_TL DUPLICATE_TL:Rigby%20Financial%20Group:rfg-a`],
  },
  {
    name: 'three computers of one name: still one DUPLICATE_TL',
    threatlocker: [tl('t1', 'RFG-A'), tl('t2', 'RFG-A'), tl('t3', 'rfg-a')],
    ninja: [nj('1', 'RFG-A')],
    expected: [`DUPLICATE_TL DUPLICATE_TL:Rigby%20Financial%20Group:rfg-a`],
  },
  {
    name: 'one name in two customers is not a duplicate',
    threatlocker: [tl('t1', 'FRONTDESK', { organizationName: RIGBY }), tl('t2', 'FRONTDESK', { organizationName: CHILL })],
    ninja: [nj('1', 'FRONTDESK', { organizationName: RIGBY }), nj('2', 'FRONTDESK', { organizationName: CHILL })],
    expected: [],
  },
  // DUPLICATE_NINJA
  {
    name: 'agent reinstall in NinjaOne: one DUPLICATE_NINJA; the leftover is not missing',
    threatlocker: [tl('t1', 'RFG-A')],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { lastContact: beforeEndOfDate(20) }), nj('2', 'RFG-A')],
    expected: [`DUPLICATE_NINJA DUPLICATE_NINJA:Rigby%20Financial%20Group:rfg-a`],
  },
  {
    name: 'a VMWARE_VM_GUEST record and an agent device of one name: no duplicate, nothing missing',
    threatlocker: [tl('t1', 'RFG-VM001')],
    ninja: [nj('1', 'RFG-VM001', { nodeClass: 'VMWARE_VM_GUEST', isVmGuest: true }), nj('2', 'rfg-vm001.rigbyfg.local', { nodeClass: 'WINDOWS_SERVER' })],
    expected: [],
  },
  {
    name: 'a VMWARE_VM_GUEST record and an agent device without ThreatLocker: only the agent device is missing',
    threatlocker: [],
    ninja: [nj('1', 'RFG-VM001', { nodeClass: 'VMWARE_VM_GUEST', isVmGuest: true }), nj('2', 'rfg-vm001.rigbyfg.local', { nodeClass: 'WINDOWS_SERVER' })],
    expected: ['MISSING_THREATLOCKER MISSING_THREATLOCKER:ninja:2'],
  },
  {
    name: 'a VM guest record alone with ThreatLocker: paired, nothing missing',
    threatlocker: [tl('t1', 'RFG-VM001')],
    ninja: [nj('1', 'RFG-VM001', { nodeClass: 'VMWARE_VM_GUEST', isVmGuest: true })],
    expected: [],
  },
  // SPARE_MISMATCH
  {
    name: 'a spare with ThreatLocker is SPARE_MISMATCH',
    threatlocker: [tl('t1', 'RFG-A')],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { billableStatus: 'spare', locationName: 'Spare Shelf' })],
    expected: ['SPARE_MISMATCH SPARE_MISMATCH:threatlocker:t1:ninja:1'],
  },
  {
    name: 'a spare in an allowed location may keep ThreatLocker (names compared case-insensitively)',
    threatlocker: [tl('t1', 'RFG-A')],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { billableStatus: 'spare', locationName: ' es spare ' })],
    expected: [],
  },
  {
    name: 'with no allowed locations every spare with ThreatLocker is a mismatch',
    threatlocker: [tl('t1', 'RFG-A')],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { billableStatus: 'spare', locationName: 'ES Spare' })],
    settings: { spareAllowedLocations: [] },
    expected: ['SPARE_MISMATCH SPARE_MISMATCH:threatlocker:t1:ninja:1'],
  },
  {
    name: 'a spare without a location is a mismatch',
    threatlocker: [tl('t1', 'RFG-A')],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { billableStatus: 'spare', locationName: null })],
    expected: ['SPARE_MISMATCH SPARE_MISMATCH:threatlocker:t1:ninja:1'],
  },
  {
    name: 'a stale spare on a shelf still holding a ThreatLocker licence is a mismatch',
    threatlocker: [tl('t1', 'RFG-A', { lastContact: beforeEndOfDate(120) })],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { billableStatus: 'spare', locationName: 'Spare Shelf', lastContact: beforeEndOfDate(100) })],
    expected: ['SPARE_MISMATCH SPARE_MISMATCH:threatlocker:t1:ninja:1'],
  },
  { name: 'a billable device with ThreatLocker is fine', threatlocker: [tl('t1', 'RFG-A')], ninja: [nj('1', 'rfg-a.rigbyfg.local')], expected: [] },
  // DISPLAY_NAME_MISMATCH
  {
    name: 'display names equal but for case and spaces: no mismatch',
    threatlocker: [tl('t1', 'RFG-A', { displayName: 'RFG-A | Ann Lee ' })],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { displayName: ' rfg-a | ann lee' })],
    expected: [],
  },
  {
    name: 'display names that differ are DISPLAY_NAME_MISMATCH',
    threatlocker: [tl('t1', 'RFG-A', { displayName: 'RFG-A | Ann Lee' })],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { displayName: 'RFG-A | Bob Stone' })],
    expected: ['DISPLAY_NAME_MISMATCH DISPLAY_NAME_MISMATCH:threatlocker:t1:ninja:1'],
  },
  {
    name: 'internal whitespace counts: "A  B" differs from "A B"',
    threatlocker: [tl('t1', 'RFG-A', { displayName: 'RFG-A |  Ann' })],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { displayName: 'RFG-A | Ann' })],
    expected: ['DISPLAY_NAME_MISMATCH DISPLAY_NAME_MISMATCH:threatlocker:t1:ninja:1'],
  },
  {
    name: 'upstream exclusion: NinjaOne has no name and ThreatLocker shows its hostname',
    threatlocker: [tl('t1', 'RFG-A', { displayName: 'RFG-A' })],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { displayName: null })],
    expected: [],
  },
  {
    name: 'upstream exclusion with a blank NinjaOne name and a different case',
    threatlocker: [tl('t1', 'RFG-A', { displayName: 'rfg-a ' })],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { displayName: '   ' })],
    expected: [],
  },
  {
    name: 'upstream exclusion with an FQDN hostname shown as the display name',
    threatlocker: [tl('t1', 'SERVER-01.corp.local', { displayName: 'SERVER-01.corp.local' })],
    ninja: [nj('1', 'SERVER-01', { displayName: null })],
    expected: [],
  },
  {
    name: 'NinjaOne has no name but ThreatLocker has a custom one: mismatch',
    threatlocker: [tl('t1', 'RFG-A', { displayName: 'RFG-A | Ann Lee' })],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { displayName: null })],
    expected: ['DISPLAY_NAME_MISMATCH DISPLAY_NAME_MISMATCH:threatlocker:t1:ninja:1'],
  },
  {
    name: 'NinjaOne has a name and ThreatLocker shows its hostname: mismatch (the exclusion needs a blank NinjaOne name)',
    threatlocker: [tl('t1', 'RFG-A', { displayName: 'RFG-A' })],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { displayName: 'RFG-A | Ann Lee' })],
    expected: ['DISPLAY_NAME_MISMATCH DISPLAY_NAME_MISMATCH:threatlocker:t1:ninja:1'],
  },
  // SITE_MISMATCH
  {
    name: 'a device moved to another mapped customer in one tool is SITE_MISMATCH',
    threatlocker: [tl('t1', 'RFG-A', { organizationName: RIGBY }), ...MAPPED_ELSEWHERE.threatlocker],
    ninja: [nj('1', 'rfg-a.rigbyfg.local', { organizationName: SUMMIT }), nj('r', 'RFG-FILL', { organizationName: RIGBY }), ...MAPPED_ELSEWHERE.ninja],
    expected: ['MISSING_THREATLOCKER MISSING_THREATLOCKER:ninja:r', 'SITE_MISMATCH SITE_MISMATCH:threatlocker:t1:ninja:1'],
  },
  {
    name: 'a pair across an unmapped organization is not SITE_MISMATCH',
    threatlocker: [tl('t1', 'ACME-01', { organizationName: 'Acme Holdings' })],
    ninja: [nj('1', 'ACME-01', { organizationName: RIGBY })],
    expected: [],
  },
  {
    name: 'a pair in linked organizations is not SITE_MISMATCH',
    threatlocker: [tl('t1', 'RFG-A', { organizationName: 'rigby-financial-group' })],
    ninja: [nj('1', 'RFG-A', { organizationName: RIGBY })],
    expected: [],
  },
  {
    name: 'one pair can carry several variances at once',
    threatlocker: [tl('t1', 'RFG-A', { organizationName: RIGBY, displayName: 'RFG-A | Ann' }), ...MAPPED_ELSEWHERE.threatlocker],
    ninja: [
      nj('1', 'rfg-a.rigbyfg.local', { organizationName: SUMMIT, billableStatus: 'spare', locationName: 'Spare Shelf', displayName: 'RFG-A | SPARE' }),
      nj('r', 'RFG-FILL', { organizationName: RIGBY, nodeClass: 'NMS_SWITCH' }),
      ...MAPPED_ELSEWHERE.ninja,
    ],
    expected: [
      'SPARE_MISMATCH SPARE_MISMATCH:threatlocker:t1:ninja:1',
      'DISPLAY_NAME_MISMATCH DISPLAY_NAME_MISMATCH:threatlocker:t1:ninja:1',
      'SITE_MISMATCH SITE_MISMATCH:threatlocker:t1:ninja:1',
    ],
  },
];

describe('runChecks', () => {
  it.each(rows)('$name', (row) => {
    const result = check(row.threatlocker, row.ninja, { links: row.links, settings: row.settings });
    expect(found(result)).toEqual(row.expected);
  });

  it('reports types in VARIANCE_TYPES order and gives the same result whatever the input order', () => {
    const threatlocker = rows.flatMap((row, i) => row.threatlocker.map((d) => ({ ...d, deviceKey: `${i}/${d.deviceKey}`, organizationName: `${d.organizationName ?? ''} ${i}` })));
    const ninja = rows.flatMap((row, i) => row.ninja.map((d) => ({ ...d, deviceKey: `${i}/${d.deviceKey}`, organizationName: `${d.organizationName ?? ''} ${i}` })));
    const reference = check(threatlocker, ninja);
    const types = reference.variances.map((v) => v.type);
    expect(new Set(types)).toEqual(new Set(['MISSING_NINJA', 'MISSING_THREATLOCKER', 'DUPLICATE_TL', 'DUPLICATE_NINJA', 'SPARE_MISMATCH', 'DISPLAY_NAME_MISMATCH']));
    expect(types).toEqual([...types].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)));
    for (const seed of [11, 12, 13]) expect(check(shuffled(threatlocker, seed), shuffled(ninja, seed + 100))).toEqual(reference);
  });
  const ORDER = ['MISSING_NINJA', 'MISSING_THREATLOCKER', 'DUPLICATE_TL', 'DUPLICATE_NINJA', 'SPARE_MISMATCH', 'DISPLAY_NAME_MISMATCH', 'SITE_MISMATCH'];

  it('MISSING_NINJA names the computer, its evidence and a hint; namesakes paired elsewhere are listed', () => {
    const result = check(
      [tl('t1', 'FRONTDESK', { organizationName: RIGBY }), tl('t2', 'FRONTDESK | Reception', { organizationName: CHILL, lastContact: '2026-03-09T10:00:00.000Z' })],
      [nj('7', 'frontdesk.rigbyfg.local', { organizationName: RIGBY }), nj('8', 'CHI-FILL', { organizationName: CHILL })],
    );
    expect(only(result, 'MISSING_NINJA')).toEqual({
      type: 'MISSING_NINJA',
      subjectKey: 'MISSING_NINJA:threatlocker:t2',
      hostname: 'frontdesk',
      organization: CHILL,
      matchQuality: null,
      devices: [{ vendor: 'threatlocker', device_key: 't2', hostname: 'FRONTDESK | Reception', display_name: 'FRONTDESK | Reception', organization_name: CHILL, location_name: null }],
      evidence: {
        hostname: 'FRONTDESK | Reception',
        last_contact: '2026-03-09T10:00:00.000Z',
        namesakes: [{ vendor: 'ninja', device_key: '7', hostname: 'frontdesk.rigbyfg.local', organization_name: RIGBY, paired_with: 't1' }],
      },
      hint: 'Install the NinjaOne agent on frontdesk, or remove it from ThreatLocker if the machine is retired',
    });
  });

  it('MISSING_NINJA after a truncation collision lists the NetBIOS namesake and its partner', () => {
    const result = check([tl('t1', 'QP-NUC150BX25100031'), tl('t2', 'QP-NUC150BX25100035', { lastContact: beforeEndOfDate(1) })], [njNetbios('5', 'QP-NUC150BX2510')]);
    expect(only(result, 'MISSING_NINJA').evidence.namesakes).toEqual([
      { vendor: 'ninja', device_key: '5', hostname: 'QP-NUC150BX2510', organization_name: RIGBY, paired_with: 't1' },
    ]);
  });

  it('MISSING_THREATLOCKER carries the node class and last contact', () => {
    const result = check([], [nj('42', 'RFG-SRV01.rigbyfg.local', { nodeClass: 'WINDOWS_SERVER', lastContact: '2026-03-01T00:00:00.000Z' })]);
    const v = only(result, 'MISSING_THREATLOCKER');
    expect([v.hostname, v.organization, v.evidence.node_class, v.evidence.last_contact, v.evidence.namesakes]).toEqual([
      'rfg-srv01',
      RIGBY,
      'WINDOWS_SERVER',
      '2026-03-01T00:00:00.000Z',
      [],
    ]);
    expect(v.hint).toBe('Install ThreatLocker on rfg-srv01, or mark it spare in NinjaOne if it is not in use');
  });

  it('DUPLICATE_TL lists every computer, most recent first, and says which checked in last', () => {
    const result = check(
      [
        tl('aaa', 'RFG-A', { lastContact: '2026-01-05T00:00:00.000Z' }),
        tl('ccc', 'RFG-A | Ann', { lastContact: '2026-03-10T07:00:00.000Z' }),
        tl('bbb', 'rfg-a.rigbyfg.local', { lastContact: '2026-02-01T00:00:00.000Z' }),
      ],
      [nj('1', 'RFG-A')],
    );
    const v = only(result, 'DUPLICATE_TL');
    expect(v.subjectKey).toBe('DUPLICATE_TL:Rigby%20Financial%20Group:rfg-a');
    expect([v.hostname, v.organization]).toEqual(['rfg-a', RIGBY]);
    expect(v.devices.map((d) => d.device_key)).toEqual(['ccc', 'bbb', 'aaa']);
    expect(v.evidence).toEqual({
      count: 3,
      latest_device_key: 'ccc',
      latest_contact: '2026-03-10T07:00:00.000Z',
      members: [
        { device_key: 'ccc', hostname: 'RFG-A | Ann', last_contact: '2026-03-10T07:00:00.000Z' },
        { device_key: 'bbb', hostname: 'rfg-a.rigbyfg.local', last_contact: '2026-02-01T00:00:00.000Z' },
        { device_key: 'aaa', hostname: 'RFG-A', last_contact: '2026-01-05T00:00:00.000Z' },
      ],
    });
    expect(v.hint).toBe('Remove the 2 older ThreatLocker records of rfg-a; keep ccc, the last to check in');
  });

  it('DISPLAY_NAME_MISMATCH carries both names and the ThreatLocker computer id and hostname for the rename', () => {
    const result = check(
      [tl('c3f0', 'RFG-A.rigbyfg.local', { displayName: 'RFG-A | Ann' })],
      [nj('1042', 'rfg-a.rigbyfg.local', { displayName: 'RFG-A | Ann Lee' })],
    );
    const v = only(result, 'DISPLAY_NAME_MISMATCH');
    expect(v.matchQuality).toBe('exact');
    expect(v.evidence).toEqual({
      security_display_name: 'RFG-A | Ann',
      rmm_display_name: 'RFG-A | Ann Lee',
      security_vendor: 'threatlocker',
      security_device_key: 'c3f0',
      security_hostname: 'RFG-A.rigbyfg.local',
      rmm_device_key: '1042',
      rmm_hostname: 'rfg-a.rigbyfg.local',
    });
    expect(v.hint).toBe('Rename in ThreatLocker to the NinjaOne name "RFG-A | Ann Lee", then sync');
    expect(v.devices.map((d) => `${d.vendor}:${d.device_key}`)).toEqual(['threatlocker:c3f0', 'ninja:1042']);
  });

  it('DISPLAY_NAME_MISMATCH with a blank NinjaOne name asks for a NinjaOne name instead', () => {
    const v = only(check([tl('t1', 'RFG-A', { displayName: 'RFG-A | Ann' })], [nj('1', 'RFG-A', { displayName: '' })]), 'DISPLAY_NAME_MISMATCH');
    expect(v.hint).toBe('Set the display name in NinjaOne (ThreatLocker shows "RFG-A | Ann"), then sync');
  });

  it('a truncated pair reports its match quality', () => {
    const v = only(check([tl('t1', 'AEC-027396194353', { displayName: 'AEC-027396194353 | Ann' })], [njNetbios('1', 'AEC-02739619435', { displayName: 'Other' })]), 'DISPLAY_NAME_MISMATCH');
    expect([v.matchQuality, v.hostname]).toEqual(['truncated', 'aec-027396194353']);
  });

  it('SPARE_MISMATCH carries the status, the location and the allowed locations', () => {
    const v = only(check([tl('t1', 'RFG-A')], [nj('1', 'RFG-A', { billableStatus: 'spare', locationName: 'Spare Shelf', displayName: 'RFG-A' })]), 'SPARE_MISMATCH');
    expect(v.evidence).toMatchObject({ rmm_billable_status: 'spare', rmm_location_name: 'Spare Shelf', spare_allowed_locations: ['ES Spare'], security_device_key: 't1' });
    expect(v.hint).toBe('Remove ThreatLocker from spare rfg-a, or move it to a spare location that may keep ThreatLocker');
  });

  it('SITE_MISMATCH names both organizations and what each is linked to', () => {
    const result = check(
      [tl('t1', 'RFG-A', { organizationName: RIGBY }), tl('t2', 'SMS-1', { organizationName: 'Summit Managed Services, Inc.' })],
      [nj('1', 'RFG-A', { organizationName: SUMMIT }), nj('2', 'RFG-B', { organizationName: 'Rigby Financial Group, LLC' })],
    );
    const v = only(result, 'SITE_MISMATCH');
    expect([v.matchQuality, v.organization]).toEqual(['cross_org', RIGBY]);
    expect(v.evidence).toEqual({
      security_organization: RIGBY,
      rmm_organization: SUMMIT,
      security_organization_linked_to: ['Rigby Financial Group, LLC'],
      rmm_organization_linked_to: ['Summit Managed Services, Inc.'],
    });
    expect(v.hint).toBe(`Move rfg-a to one customer: ThreatLocker has it in "${RIGBY}", NinjaOne in "${SUMMIT}"`);
  });

  it('a pair across unmapped organizations lists the organizations as unmapped instead', () => {
    const result = check(
      [tl('t1', 'ACME-01', { organizationName: 'Acme Holdings' }), tl('t2', 'RFG-A')],
      [nj('1', 'ACME-01', { organizationName: 'Zeta Partners' }), nj('2', 'RFG-A')],
    );
    expect(result.variances).toEqual([]);
    expect(result.pairs.map((p) => `${p.security.deviceKey}~${p.rmm.deviceKey} ${p.quality}`).sort()).toEqual(['t1~1 cross_org', 't2~2 exact']);
    expect(result.unmappedOrganizations).toEqual({ threatlocker: ['Acme Holdings'], ninja: ['Zeta Partners'] });
  });

  it('explicit links from the input are used', () => {
    const links: OrganizationLink[] = [{ threatlockerOrganization: 'Acme Holdings', ninjaOrganization: 'Zeta Partners', kind: 'link' }];
    const result = check([tl('t1', 'ACME-01', { organizationName: 'Acme Holdings' })], [nj('1', 'ACME-01', { organizationName: 'Zeta Partners' })], { links });
    expect(result.pairs.map((p) => p.quality)).toEqual(['exact']);
    expect(result.unmappedOrganizations).toEqual({ threatlocker: [], ninja: [] });
  });

  it('lists every stale device of both tools, paired or not', () => {
    const result = check(
      [tl('t1', 'RFG-A', { lastContact: beforeEndOfDate(45) }), tl('t2', 'RFG-B'), tl('t3', 'RFG-C', { lastContact: null })],
      [nj('1', 'RFG-A'), nj('2', 'RFG-D', { lastContact: beforeEndOfDate(31) })],
    );
    expect(result.stale.map((d) => `${d.vendor}:${d.deviceKey}`)).toEqual(['ninja:2', 'threatlocker:t1', 'threatlocker:t3']);
    expect(found(result)).toEqual(['MISSING_NINJA MISSING_NINJA:threatlocker:t2']);
  });

  it('subject keys stay the same across days for the same devices', () => {
    const day1 = check([tl('t1', 'RFG-A', { displayName: 'X' })], [nj('1', 'RFG-A', { displayName: 'Y', lastContact: '2026-03-09T00:00:00.000Z' })]);
    const day2 = runChecks({
      date: '2026-03-11',
      devices: { threatlocker: [tl('t1', 'RFG-A', { displayName: 'X2' })], ninja: [nj('1', 'rfg-a.rigbyfg.local', { displayName: 'Y' })] },
      links: [],
      settings: SETTINGS,
    });
    expect(day2.variances.map((v) => v.subjectKey)).toEqual(day1.variances.map((v) => v.subjectKey));
  });

  it('rejects a malformed date or staleDays', () => {
    expect(() => runChecks({ date: '10/03/2026', devices: { threatlocker: [], ninja: [] }, links: [], settings: SETTINGS })).toThrow(RangeError);
    expect(() => staleCutoff(DATE, -1)).toThrow(RangeError);
  });

  it('staleCutoff is staleDays before the end of the date (UTC)', () => {
    expect(staleCutoff('2026-03-10', 30)).toBe('2026-02-09T00:00:00.000Z');
    expect(staleCutoff('2024-03-01', 1)).toBe('2024-03-01T00:00:00.000Z');
  });
});
