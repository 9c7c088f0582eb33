import { describe, expect, it } from 'vitest';
import { normalizeThreatLockerComputer, threatLockerStatus, toUtcIso } from '../../src/vendors/threatlocker/normalize.js';
import type { ThreatLockerComputer } from '../../src/vendors/threatlocker/schema.js';

const ID = 'C3FDE5E9-1111-4222-8333-944455556666';

function norm(row: Record<string, unknown>) {
  const r = normalizeThreatLockerComputer({ computerId: ID, hostname: 'RFG-DYP6X14', ...row });
  if (!r.ok) throw new Error(r.error.message);
  return r.device;
}

describe('normalizeThreatLockerComputer', () => {
  it.each([
    // [case, row overrides, expected attribute subset]
    ['HOST | User display name', { computerName: 'RFG-DYP6X14 | Tami Miller' }, { display_name: 'RFG-DYP6X14 | Tami Miller', canonical_hostname: 'rfg-dyp6x14' }],
    ['null computerName falls back to hostname', { computerName: null }, { display_name: 'RFG-DYP6X14' }],
    ['blank computerName falls back to hostname', { computerName: '   ' }, { display_name: 'RFG-DYP6X14' }],
    ['quotes survive', { computerName: 'TK-PC | Truman "TK" Bates' }, { display_name: 'TK-PC | Truman "TK" Bates' }],
    ['trailing spaces trimmed from OS', { operatingSystem: 'Windows 11 Business ' }, { os_name: 'Windows 11 Business' }],
    ['FQDN hostname keeps the hostname, canonical is short', { hostname: 'SERVER-01.corp.local' }, { hostname: 'SERVER-01.corp.local', canonical_hostname: 'server-01' }],
    ['hostname longer than 15 characters is not truncated', { hostname: 'AEC-027396194353' }, { canonical_hostname: 'aec-027396194353' }],
    ['pipe inside the hostname', { hostname: 'HOST | User' }, { hostname: 'HOST | User', canonical_hostname: 'host' }],
    ['hostname with surrounding spaces', { hostname: '  WS-01  ' }, { hostname: 'WS-01' }],
    ['organization is the live key', { organization: 'Rigby Financial Group' }, { organization_name: 'Rigby Financial Group' }],
    ['organizationName only as fallback', { organizationName: 'Old Capture Co' }, { organization_name: 'Old Capture Co' }],
    ['organization wins over organizationName', { organization: 'Live', organizationName: 'Old' }, { organization_name: 'Live' }],
    ['no organization at all', {}, { organization_name: null }],
    ['lastCheckin to UTC with fractions', { lastCheckin: '2025-09-06T02:43:57.435815Z' }, { last_online: '2025-09-06T02:43:57.435Z' }],
    ['lastCheckin without zone is UTC', { lastCheckin: '2025-09-06T02:43:00' }, { last_online: '2025-09-06T02:43:00.000Z' }],
    ['lastCheckin with offset converted', { lastCheckin: '2025-09-06T02:43:00-05:00' }, { last_online: '2025-09-06T07:43:00.000Z' }],
    ['unparseable timestamps are null', { lastCheckin: 'yesterday', installDate: '' }, { last_online: null, install_date: null }],
    ['group, mode, version', { group: 'Workstations', mode: 'Secure', threatLockerVersion: '10.3.4.3791/10.3.0.907AMD64' }, { computer_group: 'Workstations', security_mode: 'Secure', agent_version: '10.3.4.3791/10.3.0.907AMD64' }],
    ['deny counts as numbers or numeric strings', { denyCountOneDay: 3, denyCountThreeDays: '12', denyCountSevenDays: 'n/a' }, { deny_count_1d: 3, deny_count_3d: 12, deny_count_7d: null }],
    ['flags from booleans and strings', { isLockedOut: 'false', isIsolated: true, hasAtLeastOneCheckin: 1 }, { is_locked_out: false, is_isolated: true, has_checked_in: true }],
  ])('%s', (_name, row, expected) => {
    expect(norm(row).attributes).toMatchObject(expected);
  });

  it('keys the identity by lower-case computerId and keeps the raw row', () => {
    const row = { computerId: ID, hostname: 'H', extraVendorField: [1, 2] };
    const d = norm(row);
    expect(d.vendorDeviceKey).toBe(ID.toLowerCase());
    expect(d.raw).toEqual(row);
  });

  it.each([
    ['missing computerId', { computerId: null }, 'missing_computer_id'],
    ['blank computerId', { computerId: ' ' }, 'missing_computer_id'],
    ['missing hostname', { hostname: null }, 'missing_hostname'],
    ['blank hostname', { hostname: '' }, 'missing_hostname'],
  ])('%s is a typed error', (_name, row, code) => {
    const r = normalizeThreatLockerComputer({ computerId: ID, hostname: 'X', ...row });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });
});

describe('threatLockerStatus', () => {
  it.each([
    [{ status: 'Active' }, 'active'],
    [{ status: 'inactive' }, 'inactive'],
    [{ status: 'Disconnected' }, 'inactive'],
    [{ status: 'online' }, 'active'],
    [{ deviceStatus: 'OFFLINE' }, 'inactive'],
    [{ status: 'Pending' }, 'pending'],
    [{ isDeleted: true, lastCheckin: '2025-01-01T00:00:00Z' }, 'deleted'],
    [{ hasAtLeastOneCheckin: false, lastCheckin: null }, 'never_checked_in'],
    [{ lastCheckin: null }, 'never_checked_in'],
    [{ lastCheckin: '2025-01-01T00:00:00Z', hasAtLeastOneCheckin: true }, 'active'],
  ])('%j → %s', (row, expected) => {
    expect(threatLockerStatus(row as ThreatLockerComputer)).toBe(expected);
  });
});

describe('toUtcIso', () => {
  it.each([
    [1689605132.309, '2023-07-17T14:45:32.309Z'],
    [1689605132309, '2023-07-17T14:45:32.309Z'],
    ['2025-09-06', '2025-09-06T00:00:00.000Z'],
    ['2025-13-45T00:00:00Z', null],
    [null, null],
  ])('%j → %s', (input, expected) => {
    expect(toUtcIso(input)).toBe(expected);
  });
});
