import { describe, expect, it } from 'vitest';
import { VARIANCE_RULES, vendorOf } from '../../src/variances/rules.js';
import { VENDOR_ROLES } from '../../src/variances/types.js';
import { ninjaVarianceRules as ninja } from '../../src/vendors/ninja/variance-rules.js';
import { threatlockerVarianceRules as threatlocker } from '../../src/vendors/threatlocker/variance-rules.js';
import { nj, njNetbios, tl } from './devices.js';

describe('NinjaOne variance rules', () => {
  it.each([
    ['WINDOWS_WORKSTATION', true],
    ['WINDOWS_SERVER', true],
    ['MAC', true],
    ['MAC_SERVER', true],
    ['LINUX_WORKSTATION', true],
    ['LINUX_SERVER', true],
    ['windows_workstation (any case)', true],
    ['VMWARE_VM_GUEST', false],
    ['HYPERV_VMM_GUEST', false],
    ['VMWARE_VM_HOST', false],
    ['HYPERV_VMM_HOST', false],
    ['NMS_SWITCH', false],
    ['NMS_SERVER', false],
    ['NMS_COMPUTER', false],
    ['NMS_VIRTUAL_MACHINE', false],
    ['ANDROID', false],
    ['APPLE_IOS', false],
    ['CLOUD_MONITOR_TARGET', false],
    [null, false],
  ])('node class %s → should be protected: %s', (nodeClass, expected) => {
    const cls = nodeClass?.split(' ')[0] ?? null;
    expect(ninja.expectsCounterpart(nj('1', 'rfg-a.rigbyfg.local', { nodeClass: cls }))).toBe(expected);
  });

  it('a VM guest with an agent (a workstation or server class) should be protected', () => {
    expect(ninja.expectsCounterpart(nj('1', 'rfg-vm001.rigbyfg.local', { nodeClass: 'WINDOWS_SERVER', isVmGuest: true }))).toBe(true);
  });

  it.each([
    ['spare', true],
    ['SPARE', true],
    ['billable', false],
    [null, false],
  ])('billable status %s → spare: %s (and a spare is not expected in ThreatLocker)', (status, spare) => {
    const device = nj('1', 'rfg-a.rigbyfg.local', { billableStatus: status });
    expect(ninja.isSpare(device)).toBe(spare);
    expect(ninja.expectsCounterpart(device)).toBe(!spare);
  });

  it.each([
    ['15-character NetBIOS name, no DNS name', njNetbios('1', 'AEC-02739619435'), 'aec-02739619435'],
    ['14-character NetBIOS name: complete', njNetbios('1', 'AEC-0273961943'), null],
    ['15-character name with a DNS name: complete', nj('1', 'aec-02739619435.aec.corp.local'), null],
    ['DNS name equal to the NetBIOS name but for case: a DNS name, complete', nj('1', 'chi-abcdefghijk', { systemName: 'CHI-ABCDEFGHIJK' }), null],
    ['no systemName at all', nj('1', 'AEC-02739619435', { systemName: null }), null],
  ])('NetBIOS key: %s', (_case, device, expected) => {
    expect(ninja.truncatedNameKey(device)).toBe(expected);
  });

  it.each([
    ['VMWARE_VM_GUEST', true],
    ['HYPERV_VMM_GUEST', true],
    ['WINDOWS_SERVER', false],
    [null, false],
  ])('%s is a secondary (host-monitored) view: %s', (nodeClass, expected) => {
    expect(ninja.isSecondaryView(nj('1', 'rfg-vm001', { nodeClass }))).toBe(expected);
  });

  it('keys a device by its canonical hostname as stored', () => {
    expect(ninja.nameKey(nj('1', 'RFG-DYP6X14.rigbyfg.local'))).toBe('rfg-dyp6x14');
  });
});

describe('ThreatLocker variance rules', () => {
  it('keys a computer by its canonical hostname and never truncates', () => {
    const computer = tl('t1', 'AEC-027396194353 | Ann Lee');
    expect(threatlocker.nameKey(computer)).toBe('aec-027396194353');
    expect(threatlocker.truncatedNameKey(computer)).toBeNull();
    expect(threatlocker.truncationLength).toBeNull();
  });

  it('expects every computer in the RMM, is never spare and has no secondary views', () => {
    const computer = tl('t1', 'RFG-A');
    expect([threatlocker.expectsCounterpart(computer), threatlocker.isSpare(computer), threatlocker.isSecondaryView(computer)]).toEqual([true, false, false]);
  });
});

describe('vendor registry', () => {
  it('has one rule module per vendor, each for its own vendor, and one vendor per role', () => {
    for (const [vendor, rules] of Object.entries(VARIANCE_RULES)) expect(rules.vendor).toBe(vendor);
    expect(Object.keys(VARIANCE_RULES).sort()).toEqual(Object.keys(VENDOR_ROLES).sort());
    expect([vendorOf('security'), vendorOf('rmm')]).toEqual(['threatlocker', 'ninja']);
  });
});
