/**
 * The demo world renders each catalogue machine in both fakes with the differences real fleets
 * have (case, FQDNs, 15-character NetBIOS names, reinstalls, spares moved to the MSP, VM guests).
 * The catalogue says which machines are in both tools: an answer the checks never computed.
 */
import { describe, expect, it } from 'vitest';
import type { SnapshotAttributes } from '../../src/db/schema.js';
import { buildCatalogue } from '../../src/fakes/catalogue.js';
import { generateNinjaFleet } from '../../src/fakes/ninja/index.js';
import { generateThreatLockerFleet } from '../../src/fakes/threatlocker/index.js';
import type { VendorKey } from '../../src/inventory/vendors.js';
import { runChecks } from '../../src/variances/checks.js';
import type { DayDevice } from '../../src/variances/types.js';
import { normalizeNinjaDevice } from '../../src/vendors/ninja/normalize.js';
import { ninjaDeviceSchema } from '../../src/vendors/ninja/schema.js';
import { normalizeThreatLockerComputer } from '../../src/vendors/threatlocker/normalize.js';
import { threatLockerComputerSchema } from '../../src/vendors/threatlocker/schema.js';

/** A stored snapshot row as the checks read it. */
function dayDevice(vendor: VendorKey, deviceKey: string, a: SnapshotAttributes): DayDevice {
  return {
    vendor,
    deviceKey,
    hostname: a.hostname,
    canonicalHostname: a.canonical_hostname,
    displayName: a.display_name,
    organizationName: a.organization_name,
    organizationId: a.organization_id,
    locationName: a.location_name,
    lastContact: a.last_online,
    nodeClass: a.node_class,
    isVmGuest: a.is_vm_guest,
    systemName: a.system_name,
    billableStatus: a.billable_status_name,
  };
}

describe.each([
  [7, 400],
  [21, 250],
])('demo world, seed %i, %i machines', (seed, size) => {
  const catalogue = buildCatalogue({ seed, size });
  const ninjaFleet = generateNinjaFleet({ seed, size });
  const refs = {
    organizations: new Map(ninjaFleet.organizations.map((o) => [o.id, o.name])),
    locations: new Map(ninjaFleet.locations.map((l) => [l.id, l.name])),
  };
  const ninja = ninjaFleet.devices.flatMap((row) => {
    const r = normalizeNinjaDevice(ninjaDeviceSchema.parse(row), refs);
    return r.ok ? [dayDevice('ninja', r.device.vendorDeviceKey, r.device.attributes)] : [];
  });
  const threatlocker = generateThreatLockerFleet({ seed, size }).computers.flatMap((row) => {
    const r = normalizeThreatLockerComputer(threatLockerComputerSchema.parse(row));
    return r.ok ? [dayDevice('threatlocker', r.device.vendorDeviceKey, r.device.attributes)] : [];
  });
  const result = runChecks({
    date: catalogue.now.toISOString().slice(0, 10),
    devices: { threatlocker, ninja },
    links: [],
    settings: { staleDays: 30, spareAllowedLocations: [] },
  });
  const inBoth = catalogue.machines.filter((m) => m.inThreatLocker && m.inNinja && !m.deleted).map((m) => m.hostname.toLowerCase());

  it('pairs every machine the catalogue puts in both tools', () => {
    const paired = new Set(result.pairs.map((p) => p.security.canonicalHostname));
    expect(inBoth.filter((name) => !paired.has(name))).toEqual([]);
  });

  it('reports no machine of both tools as MISSING_NINJA', () => {
    const missing = new Set(result.variances.filter((v) => v.type === 'MISSING_NINJA').map((v) => v.hostname));
    expect(inBoth.filter((name) => missing.has(name))).toEqual([]);
  });

  it('links every organization by name (ThreatLocker slugs included)', () => {
    expect(result.unmappedOrganizations).toEqual({ threatlocker: [], ninja: [] });
  });

  it('reports each reinstalled machine once as a duplicate in each tool that lists it twice', () => {
    const reinstalled = catalogue.machines.filter((m) => m.reinstalledAtMs !== null);
    const duplicates = (type: string) => result.variances.filter((v) => v.type === type).map((v) => v.hostname).sort();
    // ThreatLocker keeps a deleted machine's records; NinjaOne drops them.
    expect(duplicates('DUPLICATE_TL')).toEqual(reinstalled.filter((m) => m.inThreatLocker).map((m) => m.hostname.toLowerCase()).sort());
    expect(duplicates('DUPLICATE_NINJA')).toEqual(reinstalled.filter((m) => m.inNinja && !m.deleted).map((m) => m.hostname.toLowerCase()).sort());
  });
});
