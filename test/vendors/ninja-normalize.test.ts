import { describe, expect, it } from 'vitest';
import { generateNinjaFleet } from '../../src/fakes/ninja/index.js';
import { NO_ATTRIBUTES } from '../../src/inventory/device.js';
import { epochToIso, isVmGuest, ninjaDeviceType, normalizeNinjaDevice, serialOrNull } from '../../src/vendors/ninja/normalize.js';
import type { NinjaDevice } from '../../src/vendors/ninja/schema.js';

const refs = {
  organizations: new Map([
    [2, 'Rigby Financial Group'],
    [1, 'Summit Managed Services'],
  ]),
  locations: new Map([
    [3, 'Main Office'],
    [2, 'ES Spare'],
    [5, 'Spare Shelf'],
  ]),
};

/** A typical detailed record; each case overrides what it is about. */
const BASE = {
  id: 1042,
  organizationId: 2,
  locationId: 3,
  nodeClass: 'WINDOWS_WORKSTATION',
  approvalStatus: 'APPROVED',
  offline: false,
  displayName: 'RFG-DYP6X14 | Tami Miller',
  systemName: 'RFG-DYP6X14',
  dnsName: 'RFG-DYP6X14.rigbyfg.local',
  created: 1689605132.309,
  lastContact: 1773143886.282,
  publicIP: '174.137.4.56',
  os: { name: 'Windows 11 Pro', buildNumber: '26100' },
  system: { manufacturer: 'Dell Inc.', model: 'OptiPlex 7090', serialNumber: 'ABC1234', biosSerialNumber: 'ABC1234' },
  lastLoggedInUser: 'RIGBYFG\\tami.miller',
  deviceType: 'AGENT',
};

function norm(row: Record<string, unknown>) {
  const r = normalizeNinjaDevice({ ...BASE, ...row }, refs);
  if (!r.ok) throw new Error(r.error.message);
  return r.device;
}

describe('normalizeNinjaDevice', () => {
  it('maps a typical device to every NinjaOne column', () => {
    const d = norm({});
    expect(d.vendorDeviceKey).toBe('1042');
    expect(d.attributes).toEqual({
      ...NO_ATTRIBUTES,
      hostname: 'RFG-DYP6X14.rigbyfg.local',
      canonical_hostname: 'rfg-dyp6x14',
      display_name: 'RFG-DYP6X14 | Tami Miller',
      organization_name: 'Rigby Financial Group',
      organization_id: '2',
      location_name: 'Main Office',
      os_name: 'Windows 11 Pro',
      device_status: 'online',
      last_online: '2026-03-10T11:58:06.282Z',
      agent_install_timestamp: '2023-07-17T14:45:32.309Z',
      device_type_name: 'workstation',
      billable_status_name: 'billable',
      node_class: 'WINDOWS_WORKSTATION',
      is_vm_guest: false,
      system_name: 'RFG-DYP6X14',
      system_manufacturer: 'Dell Inc.',
      system_model: 'OptiPlex 7090',
      serial_number: 'ABC1234',
      last_logged_in_user: 'RIGBYFG\\tami.miller',
      public_ip: '174.137.4.56',
    });
    // ThreatLocker-only columns stay null.
    expect([d.attributes.computer_group, d.attributes.security_mode, d.attributes.deny_count_1d, d.attributes.install_date]).toEqual([null, null, null, null]);
  });

  it.each([
    // [case, row overrides, expected attribute subset]
    ['lower-case FQDN dnsName is the hostname', { dnsName: 'rfg-dyp6x14.rigbyfg.local' }, { hostname: 'rfg-dyp6x14.rigbyfg.local', canonical_hostname: 'rfg-dyp6x14' }],
    ['missing dnsName falls back to systemName', { dnsName: undefined }, { hostname: 'RFG-DYP6X14', canonical_hostname: 'rfg-dyp6x14' }],
    ['blank dnsName falls back to systemName', { dnsName: '  ' }, { hostname: 'RFG-DYP6X14' }],
    ['15-character NetBIOS name is kept as sent', { dnsName: null, systemName: 'AEC-02739619435' }, { hostname: 'AEC-02739619435', system_name: 'AEC-02739619435', canonical_hostname: 'aec-02739619435' }],
    ['full DNS name keeps what NetBIOS truncated', { dnsName: 'aec-027396194353.aec.corp.local', systemName: 'AEC-02739619435' }, { hostname: 'aec-027396194353.aec.corp.local', canonical_hostname: 'aec-027396194353' }],
    ['hostname is trimmed', { dnsName: ' ws-01.corp.local ' }, { hostname: 'ws-01.corp.local' }],
    ['displayName missing', { displayName: undefined }, { display_name: null }],
    ['displayName empty', { displayName: '' }, { display_name: null }],
    ['displayName blank', { displayName: '   ' }, { display_name: null }],
    ['displayName trimmed, quotes kept', { displayName: ' TK-PC | Truman "TK" Bates ' }, { display_name: 'TK-PC | Truman "TK" Bates' }],
    ['unknown organization id', { organizationId: 77 }, { organization_name: null, organization_id: '77' }],
    ['no organization id', { organizationId: null }, { organization_name: null, organization_id: null }],
    ['unknown location id', { locationId: 99 }, { location_name: null, billable_status_name: 'billable' }],
    ['spare in the display name', { displayName: 'RFG-DYP6X14 | SPARE - was Blake Thomas' }, { billable_status_name: 'spare' }],
    ['spare location resolved from locationId', { locationId: 5, displayName: undefined }, { location_name: 'Spare Shelf', billable_status_name: 'spare' }],
    ['MSP spare stock', { organizationId: 1, locationId: 2 }, { organization_name: 'Summit Managed Services', location_name: 'ES Spare', billable_status_name: 'spare' }],
    ['"spare" in an unresolved location does not count', { locationId: 6 }, { billable_status_name: 'billable' }],
    ['offline', { offline: true }, { device_status: 'offline' }],
    ['offline key absent', { offline: undefined }, { device_status: null }],
    ['PENDING approval wins over online', { approvalStatus: 'PENDING', offline: false }, { device_status: 'pending' }],
    ['a status key is not NinjaOne’s and is ignored', { status: 'inactive', offline: false }, { device_status: 'online' }],
    ['float epoch seconds to UTC', { lastContact: 1689605132.309 }, { last_online: '2023-07-17T14:45:32.309Z' }],
    ['integer epoch seconds', { created: 1700000000 }, { agent_install_timestamp: '2023-11-14T22:13:20.000Z' }],
    ['epoch milliseconds tolerated', { lastContact: 1689605132309 }, { last_online: '2023-07-17T14:45:32.309Z' }],
    ['missing timestamps', { lastContact: undefined, created: null }, { last_online: null, agent_install_timestamp: null }],
    ['OS name trimmed', { os: { name: ' Windows Server 2022 Standard ' } }, { os_name: 'Windows Server 2022 Standard' }],
    ['NMS device without os or system', { nodeClass: 'NMS_SWITCH', deviceType: 'NMS', os: undefined, system: undefined, dnsName: undefined, systemName: 'RFG-SW01' }, { os_name: null, system_manufacturer: null, system_model: null, serial_number: null, device_type_name: 'other', is_vm_guest: false, hostname: 'RFG-SW01' }],
    ['os and system null', { os: null, system: null }, { os_name: null, serial_number: null }],
    ['serial placeholder falls back to the BIOS serial', { system: { serialNumber: 'To be filled by O.E.M.', biosSerialNumber: 'XYZ987' } }, { serial_number: 'XYZ987' }],
    ['empty serialNumber falls back to the BIOS serial', { system: { serialNumber: '', biosSerialNumber: 'XYZ987' } }, { serial_number: 'XYZ987' }],
    ['both placeholders', { system: { serialNumber: 'System Serial Number', biosSerialNumber: 'Default string' } }, { serial_number: null }],
    ['public IP from publicIP, not publicIp', { publicIP: undefined, publicIp: '1.2.3.4' }, { public_ip: null }],
    ['last user', { lastLoggedInUser: 'AzureAD\\TamiMiller' }, { last_logged_in_user: 'AzureAD\\TamiMiller' }],
    ['numeric id as string', { id: '1042' }, {}],
  ])('%s', (_name, row, expected) => {
    expect(norm(row).attributes).toMatchObject(expected);
  });

  it.each([
    ['WINDOWS_SERVER', 'server', false],
    ['LINUX_SERVER', 'server', false],
    ['MAC_SERVER', 'server', false],
    ['VMWARE_VM_HOST', 'server', false],
    ['HYPERV_VMM_HOST', 'server', false],
    ['WINDOWS_WORKSTATION', 'workstation', false],
    ['MAC', 'workstation', false],
    ['LINUX_WORKSTATION', 'workstation', false],
    ['VMWARE_VM_GUEST', 'other', true],
    ['HYPERV_VMM_GUEST', 'other', true],
    ['NMS_SWITCH', 'other', false],
    ['NMS_SERVER', 'other', false],
    ['ANDROID', 'other', false],
    ['APPLE_IOS', 'other', false],
    ['CLOUD_MONITOR_TARGET', 'other', false],
  ])('classifies nodeClass %s as %s (VM guest: %s), regardless of the name', (nodeClass, type, guest) => {
    // Names that fooled substring heuristics: "DC" in a workstation, "PC" in a server.
    const attrs = norm({ nodeClass, systemName: 'DCOLLINS-PC', dnsName: 'app-srv-pc.corp.local' }).attributes;
    expect([attrs.device_type_name, attrs.is_vm_guest, attrs.node_class]).toEqual([type, guest, nodeClass]);
  });

  it('treats deviceType vmguest as a guest even without a guest nodeClass', () => {
    expect(norm({ nodeClass: 'WINDOWS_SERVER', deviceType: 'VMGUEST' }).attributes.is_vm_guest).toBe(true);
    expect(norm({ nodeClass: undefined, deviceType: 'vmguest' }).attributes).toMatchObject({ is_vm_guest: true, device_type_name: 'other' });
    expect(norm({ nodeClass: undefined, deviceType: undefined }).attributes).toMatchObject({ is_vm_guest: null, device_type_name: null, node_class: null });
  });

  it('keys the identity by the numeric id, never the hostname, and keeps the raw row', () => {
    const row = { ...BASE, extraVendorField: [1, 2] };
    const renamed = normalizeNinjaDevice({ ...row, dnsName: 'other-name.corp.local' }, refs);
    const d = normalizeNinjaDevice(row, refs);
    if (!d.ok || !renamed.ok) throw new Error('expected ok');
    expect(d.device.vendorDeviceKey).toBe('1042');
    expect(renamed.device.vendorDeviceKey).toBe('1042');
    expect(d.device.raw).toBe(row);
  });

  it.each([
    ['missing id', { id: undefined }, 'missing_device_id'],
    ['null id', { id: null }, 'missing_device_id'],
    ['non-numeric id', { id: 'abc' }, 'missing_device_id'],
    ['fractional id', { id: 10.5 }, 'missing_device_id'],
    ['no dnsName and no systemName', { dnsName: undefined, systemName: undefined }, 'missing_hostname'],
    ['blank names', { dnsName: ' ', systemName: '' }, 'missing_hostname'],
  ])('%s is a typed error', (_name, row, code) => {
    const r = normalizeNinjaDevice({ ...BASE, ...row }, refs);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  describe('PostgreSQL-safe strings', () => {
    const LONE_HIGH = '\ud83d';
    const LONE_LOW = '\ude80';
    it.each([
      // [case, row overrides, expected attribute subset, strings changed]
      ['NUL in displayName', { displayName: 'RFG\u0000 | Tami' }, { display_name: 'RFG | Tami' }, 1],
      ['lone surrogate in displayName', { displayName: `RFG | Tami${LONE_HIGH}` }, { display_name: 'RFG | Tami' }, 1],
      ['a whole emoji is kept', { displayName: 'RFG | 🚀' }, { display_name: 'RFG | 🚀' }, 0],
      ['NUL in dnsName', { dnsName: 'rfg\u0000.corp.local' }, { hostname: 'rfg.corp.local', canonical_hostname: 'rfg' }, 1],
      ['nested os and system values', { os: { name: `Win${LONE_LOW} 11` }, system: { manufacturer: 'Dell\u0000', serialNumber: 'S1' } }, { os_name: 'Win 11', system_manufacturer: 'Dell', serial_number: 'S1' }, 2],
      ['a displayName of only NUL is no name', { displayName: '\u0000' }, { display_name: null }, 1],
      ['clean device', {}, { display_name: 'RFG-DYP6X14 | Tami Miller' }, 0],
    ])('%s', (_name, row, expected, changed) => {
      const r = normalizeNinjaDevice({ ...BASE, ...row }, refs);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.device.attributes).toMatchObject(expected);
      expect(r.sanitized).toBe(changed);
    });

    it('cleans organization and location names looked up by id, and counts them', () => {
      const dirty = {
        organizations: new Map([[2, 'Rigby\u0000 Financial']]),
        locations: new Map([[3, `Main${LONE_HIGH} Office`]]),
      };
      const r = normalizeNinjaDevice(BASE, dirty);
      expect(r).toMatchObject({ ok: true, sanitized: 2 });
      if (r.ok) expect(r.device.attributes).toMatchObject({ organization_name: 'Rigby Financial', location_name: 'Main Office' });
    });

    it('cleans the raw device recursively, keys too', () => {
      const row = { ...BASE, ipAddresses: ['10.0.0.1\u0000'], [`k\u0000`]: { [`in${LONE_LOW}ner`]: 'v' } };
      const r = normalizeNinjaDevice(row, refs);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.sanitized).toBe(3);
      expect(r.device.raw).toMatchObject({ ipAddresses: ['10.0.0.1'], k: { inner: 'v' } });
      expect(JSON.stringify(r.device.raw)).not.toMatch(/\\u0000|\\ud[89a-f]/);
    });
  });

  it('normalizes every generated fake device, with the expected spread of values', () => {
    const fleet = generateNinjaFleet({ seed: 3, size: 700 });
    const fleetRefs = {
      organizations: new Map(fleet.organizations.map((o) => [o.id, o.name])),
      locations: new Map(fleet.locations.map((l) => [l.id, l.name])),
    };
    const results = fleet.devices.map((d) => normalizeNinjaDevice(d as unknown as NinjaDevice, fleetRefs));
    const devices = results.map((r) => {
      if (!r.ok) throw new Error(r.error.message);
      return r.device.attributes;
    });
    const values = (pick: (a: (typeof devices)[number]) => unknown) => new Set(devices.map(pick));
    expect(values((a) => a.device_type_name)).toEqual(new Set(['server', 'workstation', 'other']));
    expect(values((a) => a.billable_status_name)).toEqual(new Set(['spare', 'billable']));
    expect(values((a) => a.device_status)).toEqual(new Set(['online', 'offline', 'pending']));
    expect(devices.every((a) => a.organization_name !== null && a.location_name !== null)).toBe(true);
    expect(devices.some((a) => a.serial_number === null)).toBe(true);
    expect(devices.every((a) => a.serial_number === null || !/o\.e\.m|serial number|default string/i.test(a.serial_number))).toBe(true);
  });
});

describe('helpers', () => {
  it.each([
    ['To be filled by O.E.M.', null],
    ['TO BE FILLED BY O.E.M.', null],
    ['To be filled by OEM', null],
    ['System  Serial Number', null],
    ['Default string', null],
    ['0', null],
    ['00000000', null],
    ['None', null],
    ['N/A', null],
    ['Not Specified', null],
    ['Not Applicable', null],
    ['INVALID', null],
    ['123456789', null],
    ['', null],
    ['   ', null],
    ['...', null],
    [undefined, null],
    [' 5CG1234XYZ ', '5CG1234XYZ'],
    ['VMware-56 4d 1a 2b', 'VMware-56 4d 1a 2b'],
    ['0A1', '0A1'],
  ])('serialOrNull(%j) → %j', (value, expected) => {
    expect(serialOrNull(value)).toBe(expected);
  });

  it.each([
    [1689605132.309, '2023-07-17T14:45:32.309Z'],
    [1689605132, '2023-07-17T14:45:32.000Z'],
    [1689605132309, '2023-07-17T14:45:32.309Z'],
    ['1689605132.309', '2023-07-17T14:45:32.309Z'],
    [0, null],
    [-5, null],
    [Number.NaN, null],
    ['2023-07-17', null],
    [null, null],
  ])('epochToIso(%j) → %j', (value, expected) => {
    expect(epochToIso(value)).toBe(expected);
  });

  it('classifies without a device', () => {
    expect(ninjaDeviceType('windows_server', null)).toBe('server');
    expect(ninjaDeviceType('SOMETHING_NEW', null)).toBe('other');
    expect(isVmGuest('hyperv_vmm_guest', null)).toBe(true);
  });
});
