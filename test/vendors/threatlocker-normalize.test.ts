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

describe('PostgreSQL-safe strings', () => {
  const LONE_HIGH = '\ud800';
  const LONE_LOW = '\udc00';
  it.each([
    // [case, row overrides, expected attribute subset, strings changed]
    ['NUL in computerName', { computerName: 'PC-1 |\u0000 Ann' }, { display_name: 'PC-1 | Ann' }, 1],
    ['lone high surrogate in computerName', { computerName: `PC-1 | Ann${LONE_HIGH}` }, { display_name: 'PC-1 | Ann' }, 1],
    ['lone low surrogate first', { computerName: `${LONE_LOW}PC-1` }, { display_name: 'PC-1' }, 1],
    ['NUL and a lone surrogate in one value count once', { computerName: `A\u0000B${LONE_HIGH}C` }, { display_name: 'ABC' }, 1],
    ['a valid surrogate pair (emoji) is kept', { computerName: 'PC-1 | 🚀 lab' }, { display_name: 'PC-1 | 🚀 lab' }, 0],
    ['NUL in the hostname', { hostname: 'WS\u0000-01' }, { hostname: 'WS-01', canonical_hostname: 'ws-01' }, 1],
    ['a name that was only NUL falls back to the hostname', { computerName: '\u0000\u0000' }, { display_name: 'RFG-DYP6X14' }, 1],
    ['several fields', { organization: 'Org\u0000', operatingSystem: `Win${LONE_LOW} 11 `, group: 'G' }, { organization_name: 'Org', os_name: 'Win 11', computer_group: 'G' }, 2],
    ['clean row', { computerName: 'Plain | Name' }, { display_name: 'Plain | Name' }, 0],
  ])('%s', (_name, row, expected, changed) => {
    const r = normalizeThreatLockerComputer({ computerId: ID, hostname: 'RFG-DYP6X14', ...row });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.device.attributes).toMatchObject(expected);
    expect(r.sanitized).toBe(changed);
    expect(JSON.stringify(r.device)).not.toMatch(/\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/);
  });

  it('cleans the raw row recursively, keys too, and leaves a clean row untouched', () => {
    const row = {
      computerId: ID,
      hostname: 'H',
      [`bad\u0000key`]: 1,
      lastCheckinLocalIPAddresses: ['10.0.0.1', `10.0.0.2${LONE_HIGH}`],
      nested: { deeper: [{ note: 'x\u0000y' }], fine: 'ok' },
    };
    const r = normalizeThreatLockerComputer(row);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.sanitized).toBe(3);
    expect(r.device.raw).toEqual({
      computerId: ID,
      hostname: 'H',
      badkey: 1,
      lastCheckinLocalIPAddresses: ['10.0.0.1', '10.0.0.2'],
      nested: { deeper: [{ note: 'xy' }], fine: 'ok' },
    });
    // The caller's row is not modified.
    expect(row.nested.deeper[0]?.note).toBe('x\u0000y');
    const clean = { computerId: ID, hostname: 'H', list: [1, { a: 'b' }] };
    const c = normalizeThreatLockerComputer(clean);
    expect(c).toMatchObject({ ok: true, sanitized: 0 });
    if (c.ok) expect(c.device.raw).toBe(clean);
  });

  it('counts what it changed on a skipped row too', () => {
    const r = normalizeThreatLockerComputer({ computerId: ID, hostname: '\u0000' });
    expect(r).toMatchObject({ ok: false, sanitized: 1, error: { code: 'missing_hostname' } });
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
