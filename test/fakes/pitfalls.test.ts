/**
 * The labelled pitfall cases of the shared catalogue: a deterministic generator, served by both
 * fakes over their real HTTP APIs with the fields each label relies on, and ordinary machines
 * that agree across the tools (so the labels are the complete list of variances).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { buildCatalogue, CATALOGUE_NOW } from '../../src/fakes/catalogue.js';
import { CLIENT_SPARE_LOCATION, generateNinjaFleet, MSP_SPARE_LOCATION, startFakeNinja, type FakeNinja, type FakeNinjaDevice } from '../../src/fakes/ninja/index.js';
import {
  buildPitfalls,
  PITFALL_NINJA_ID_BASE,
  PITFALL_SPARE_ALLOWED_LOCATION,
  PITFALL_SPARE_SHELF,
  pitfallLabels,
  varianceKey,
  varianceSubject,
  type PitfallComputer,
  type PitfallDevice,
} from '../../src/fakes/pitfalls.js';
import { generateThreatLockerFleet, startFakeThreatLocker, type FakeComputer, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';
import { canonicalHostname } from '../../src/inventory/hostname.js';

const SEED = 11;
const SIZE = 120;
const DAY_MS = 86_400_000;

describe('the pitfall generator', () => {
  it('is deterministic: the same seed gives the same cases and keys; another seed other ThreatLocker keys', () => {
    const a = buildPitfalls(SEED);
    expect(buildPitfalls(SEED)).toEqual(a);
    const b = buildPitfalls(SEED + 1);
    expect(b.cases.map((c) => c.name)).toEqual(a.cases.map((c) => c.name));
    const tlKeys = (w: typeof a) => w.cases.flatMap((c) => c.records.flatMap((r) => (r.vendor === 'threatlocker' ? [r.computerId] : [])));
    expect(tlKeys(b)).not.toEqual(tlKeys(a));
    expect(pitfallLabels({ seed: SEED })).toEqual(a.cases.map((c) => ({ case: c.name, expected: c.expected })));
  });

  it('names each case once, keys each device once, and labels only devices of the case itself', () => {
    const { cases } = buildPitfalls(SEED);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    const refs = cases.flatMap((c) => c.records.map((r) => (r.vendor === 'threatlocker' ? `threatlocker:${r.computerId}` : `ninja:${r.id}`)));
    expect(new Set(refs).size).toBe(refs.length);
    for (const c of cases) {
      const own = new Set(c.records.map((r) => (r.vendor === 'threatlocker' ? `threatlocker:${r.computerId}` : `ninja:${r.id}`)));
      for (const v of c.expected) {
        expect(v.subject.length).toBeGreaterThan(0);
        for (const ref of v.subject) expect(own.has(ref), `${c.name}: ${ref}`).toBe(true);
        expect([...v.subject].sort()).toEqual(v.subject);
      }
    }
    for (const r of cases.flatMap((c) => c.records)) {
      if (r.vendor === 'threatlocker') expect(r.computerId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      else expect(r.id).toBeGreaterThanOrEqual(PITFALL_NINJA_ID_BASE);
    }
  });

  it('covers every variance type, and cases that must produce nothing', () => {
    const { cases } = buildPitfalls(SEED);
    const types = new Set(cases.flatMap((c) => c.expected.map((v) => v.type)));
    expect([...types].sort()).toEqual(['DISPLAY_NAME_MISMATCH', 'DUPLICATE_NINJA', 'DUPLICATE_TL', 'MISSING_NINJA', 'MISSING_THREATLOCKER', 'SITE_MISMATCH', 'SPARE_MISMATCH']);
    expect(cases.filter((c) => c.expected.length === 0).length).toBeGreaterThanOrEqual(10);
  });

  it('uses the spare locations the NinjaOne fake renders', () => {
    expect(PITFALL_SPARE_ALLOWED_LOCATION).toBe(MSP_SPARE_LOCATION);
    expect(PITFALL_SPARE_SHELF).toBe(CLIENT_SPARE_LOCATION);
  });

  it('compares reported variances by their subject devices only', () => {
    const devices = [
      { vendor: 'threatlocker', device_key: 'b' },
      { vendor: 'ninja', device_key: '7' },
      { vendor: 'threatlocker', device_key: 'a' },
    ];
    expect(varianceSubject('DUPLICATE_TL', devices)).toEqual(['threatlocker:a', 'threatlocker:b']);
    expect(varianceSubject('SPARE_MISMATCH', devices)).toEqual(['ninja:7', 'threatlocker:a', 'threatlocker:b']);
    expect(varianceKey({ type: 'MISSING_THREATLOCKER', subject: varianceSubject('MISSING_THREATLOCKER', devices) })).toBe('MISSING_THREATLOCKER ninja:7');
  });
});

describe('the catalogue with pitfalls', () => {
  it('draws the same ordinary machines as without, made consistent, and adds the pitfall organizations last', () => {
    const plain = buildCatalogue({ seed: SEED, size: SIZE });
    const withPitfalls = buildCatalogue({ seed: SEED, size: SIZE, pitfalls: true });
    expect(plain.pitfalls).toEqual([]);
    expect(plain.consistent).toBe(false);
    expect(withPitfalls.consistent).toBe(true);
    expect(withPitfalls.machines.map((m) => [m.hostname, m.org, m.kind])).toEqual(plain.machines.map((m) => [m.hostname, m.org, m.kind]));
    expect(withPitfalls.organizations.slice(0, plain.organizations.length)).toEqual(plain.organizations);
    expect(withPitfalls.machines.every((m) => m.inThreatLocker && m.inNinja && !m.spare && !m.deleted && m.reinstalledAtMs === null)).toBe(true);
  });

  it('leaves the fakes’ default fleets as they were', () => {
    const tl = generateThreatLockerFleet({ seed: SEED, size: SIZE });
    const ninja = generateNinjaFleet({ seed: SEED, size: SIZE });
    expect(tl.organizations.map((o) => o.displayName)).not.toContain('Acme, Inc.');
    expect(ninja.devices.every((d) => d.id < PITFALL_NINJA_ID_BASE)).toBe(true);
  });

  it('never gives an ordinary machine the name of a pitfall device', () => {
    const catalogue = buildCatalogue({ seed: SEED, size: 2_000, pitfalls: true });
    const ordinary = new Set(catalogue.machines.map((m) => canonicalHostname(m.hostname)));
    for (const r of catalogue.pitfalls.flatMap((c) => c.records)) {
      expect(ordinary.has(canonicalHostname(r.vendor === 'threatlocker' ? r.hostname : (r.dnsName ?? r.systemName)))).toBe(false);
    }
  });
});

/**
 * Ordinary machines produce no variance: a structural check over the rendered fleets (not a
 * second implementation of the checks): each ordinary computer has one agent device of its name
 * in its customer and they agree on the display name, no customer has two computers or two
 * agents of one name, every ordinary agent has its computer, and nothing is spare.
 */
describe('ordinary machines in a catalogue with pitfalls', () => {
  const tl = generateThreatLockerFleet({ seed: SEED, size: 700, pitfalls: true });
  const ninja = generateNinjaFleet({ seed: SEED, size: 700, pitfalls: true });
  const pitfallKeys = new Set(buildPitfalls(SEED).cases.flatMap((c) => c.records.map((r) => (r.vendor === 'threatlocker' ? r.computerId : String(r.id)))));
  const computers = tl.computers.filter((c) => !pitfallKeys.has(c.computerId as string));
  const orgName = new Map(ninja.organizations.map((o) => [o.id, o.name]));
  const locationName = new Map(ninja.locations.map((l) => [l.id, l.name]));
  const agents = ninja.devices.filter((d) => !pitfallKeys.has(String(d.id)) && !d.nodeClass.startsWith('NMS_') && !/^[A-Z]+-(ESX|HV)01$/.test(d.systemName ?? ''));
  // (ESXi and Hyper-V hosts of their own, and network devices, run no ThreatLocker: not ordinary machines.)
  const ninjaHost = (d: FakeNinjaDevice) => canonicalHostname(d.dnsName ?? d.systemName ?? '');
  const byKey = <T>(rows: T[], key: (row: T) => string) => {
    const map = new Map<string, T[]>();
    for (const row of rows) map.set(key(row), [...(map.get(key(row)) ?? []), row]);
    return map;
  };
  const tlKey = (c: FakeComputer) => `${c.organization}\u0000${canonicalHostname(c.hostname ?? '')}`;
  /** A device known only by its 15-character NetBIOS name is keyed by the name's prefix on both sides. */
  const agentsByKey = byKey(agents, (d) => `${orgName.get(d.organizationId)}\u0000${ninjaHost(d)}`);
  const fold = (s: string | null | undefined) => (s ?? '').trim().toLowerCase();

  it('pairs each ordinary computer with one agent device of its customer, agreeing on the display name', () => {
    expect(computers.length).toBeGreaterThan(600);
    for (const c of computers) {
      const host = canonicalHostname(c.hostname ?? '');
      const exact = agentsByKey.get(tlKey(c)) ?? [];
      const truncated = host.length > 15 ? (agentsByKey.get(`${c.organization}\u0000${host.slice(0, 15)}`) ?? []).filter((d) => d.dnsName === undefined) : [];
      const found = [...exact, ...truncated];
      expect(found, `${c.hostname}`).toHaveLength(1);
      const d = found[0] as FakeNinjaDevice;
      const tlDisplay = c.computerName ?? c.hostname;
      if (fold(d.displayName) === '') expect(fold(tlDisplay), `${c.hostname}`).toBe(fold(c.hostname));
      else expect(fold(d.displayName), `${c.hostname}`).toBe(fold(tlDisplay));
      expect(`${fold(d.displayName)} ${fold(locationName.get(d.locationId))}`).not.toContain('spare');
    }
  });

  it('has no two computers or two agent devices of one name in one customer, and no agent without its computer', () => {
    expect([...byKey(computers, tlKey).values()].filter((rows) => rows.length > 1)).toEqual([]);
    expect([...agentsByKey.values()].filter((rows) => rows.length > 1)).toEqual([]);
    const tlNames = new Set(computers.flatMap((c) => {
      const host = canonicalHostname(c.hostname ?? '');
      return [`${c.organization}\u0000${host}`, `${c.organization}\u0000${host.slice(0, 15)}`];
    }));
    expect(agents.filter((d) => !tlNames.has(`${orgName.get(d.organizationId)}\u0000${ninjaHost(d)}`)).map((d) => d.systemName)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Over HTTP

interface Served {
  computers: FakeComputer[];
  devices: FakeNinjaDevice[];
  ninjaOrg: Map<number, string>;
  ninjaLocation: Map<number, string>;
}

async function json(url: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<any> {
  const res = await request(url, init);
  expect(res.statusCode).toBe(200);
  return res.body.json();
}

async function fetchServed(tl: FakeThreatLocker, ninja: FakeNinja): Promise<Served> {
  const computers = (await json(`${tl.url}/portalapi/Computer/ComputerGetByAllParameters`, {
    method: 'POST',
    headers: { authorization: tl.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ childOrganizations: true, pageSize: 5000 }),
  })) as FakeComputer[];
  const token = (await json(`${ninja.url}/ws/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: ninja.clientId, client_secret: ninja.clientSecret, scope: 'monitoring' }).toString(),
  })) as { access_token: string };
  const get = (path: string) => json(`${ninja.url}${path}`, { headers: { authorization: `Bearer ${token.access_token}` } });
  const devices = (await get('/v2/devices-detailed?pageSize=5000')) as FakeNinjaDevice[];
  const orgs = (await get('/v2/organizations')) as { id: number; name: string }[];
  const locations = (await get('/v2/locations')) as { id: number; name: string }[];
  return { computers, devices, ninjaOrg: new Map(orgs.map((o) => [o.id, o.name])), ninjaLocation: new Map(locations.map((l) => [l.id, l.name])) };
}

describe('both fakes serve the pitfall devices', () => {
  let tl: FakeThreatLocker;
  let ninja: FakeNinja;
  let served: Served;
  const world = buildPitfalls(SEED);
  const vendorName = (org: string, vendor: 'threatlocker' | 'ninja') => {
    const found = buildCatalogue({ seed: SEED, size: 0, pitfalls: true }).organizations.find((o) => o.name === org);
    return found?.vendorNames?.[vendor] ?? found?.name;
  };
  const ago = (days: number) => CATALOGUE_NOW.getTime() - Math.round(days * DAY_MS);

  beforeAll(async () => {
    [tl, ninja] = await Promise.all([startFakeThreatLocker({ seed: SEED, fleetSize: SIZE, pitfalls: true }), startFakeNinja({ seed: SEED, fleetSize: SIZE, pitfalls: true })]);
    served = await fetchServed(tl, ninja);
  });
  afterAll(async () => {
    await Promise.all([tl.close(), ninja.close()]);
  });

  it('ThreatLocker: each pitfall computer with its hostname, display name, organization and check-in', () => {
    const byId = new Map(served.computers.map((c) => [c.computerId, c]));
    const records = world.cases.flatMap((c) => c.records).filter((r): r is PitfallComputer => r.vendor === 'threatlocker');
    for (const r of records) {
      const row = byId.get(r.computerId);
      expect(row, r.hostname).toBeDefined();
      expect(row).toMatchObject({ hostname: r.hostname, computerName: r.computerName, organization: vendorName(r.org, 'threatlocker'), isDeleted: false });
      expect(row?.lastCheckin === null ? null : Date.parse(row?.lastCheckin as string)).toBe(r.lastCheckinDaysAgo === null ? null : Math.floor(ago(r.lastCheckinDaysAgo) / 1000) * 1000);
      expect(Date.parse(row?.dateAdded as string)).toBe(Math.floor(ago(r.addedDaysAgo) / 1000) * 1000);
      // Only the live keys (vendor-apis.md §1.3).
      expect(Object.keys(row as object)).not.toEqual(expect.arrayContaining(['organizationName']));
    }
    expect(served.computers.find((c) => c.organization === 'Acme, Inc.')).toBeDefined();
  });

  it('NinjaOne: each pitfall device with its names, class, organization, location and last contact', () => {
    const byId = new Map(served.devices.map((d) => [d.id, d]));
    const records = world.cases.flatMap((c) => c.records).filter((r): r is PitfallDevice => r.vendor === 'ninja');
    for (const r of records) {
      const d = byId.get(r.id) as FakeNinjaDevice;
      expect(d, r.systemName).toBeDefined();
      expect(d).toMatchObject({ nodeClass: r.nodeClass, systemName: r.systemName, approvalStatus: 'APPROVED' });
      expect('dnsName' in d ? d.dnsName : undefined).toBe(r.dnsName);
      expect('displayName' in d ? d.displayName : undefined).toBe(r.displayName);
      expect(served.ninjaOrg.get(d.organizationId)).toBe(vendorName(r.org, 'ninja'));
      expect(served.ninjaLocation.get(d.locationId)).toBe(r.location);
      expect(d.lastContact).toBe(ago(r.lastContactDaysAgo) / 1000);
      expect(d.systemName?.length ?? 0).toBeLessThanOrEqual(r.nodeClass.startsWith('WINDOWS') ? 15 : 64);
      expect(d.parentDeviceId).toBe(r.parentId);
      if (r.nodeClass.startsWith('NMS_')) expect(d.os).toBeUndefined();
      else expect(d.system?.virtualMachine).toBe(r.virtualMachine);
      expect(d).not.toHaveProperty('status');
    }
    expect([...served.ninjaOrg.values()]).toEqual(expect.arrayContaining(['ACME Inc', 'Quarry Point Logistics']));
  });

  it('labels name only keys the fakes serve', () => {
    const keys = new Set([...served.computers.map((c) => `threatlocker:${c.computerId}`), ...served.devices.map((d) => `ninja:${d.id}`)]);
    const subjects = pitfallLabels({ seed: SEED }).flatMap((l) => l.expected.flatMap((v) => v.subject));
    expect(subjects.length).toBeGreaterThan(15);
    expect(subjects.filter((ref) => !keys.has(ref))).toEqual([]);
  });

  it('serves the same keys on every start, and data as of `asOf` when given', async () => {
    const asOf = new Date('2026-07-01T08:00:00Z');
    const [tl2, ninja2] = await Promise.all([
      startFakeThreatLocker({ seed: SEED, fleetSize: SIZE, pitfalls: true, asOf }),
      startFakeNinja({ seed: SEED, fleetSize: SIZE, pitfalls: true, asOf }),
    ]);
    try {
      const again = await fetchServed(tl2, ninja2);
      expect(again.computers.map((c) => c.computerId).sort()).toEqual(served.computers.map((c) => c.computerId).sort());
      expect(again.devices.map((d) => d.id)).toEqual(served.devices.map((d) => d.id));
      const shift = (asOf.getTime() - CATALOGUE_NOW.getTime()) / 1000;
      const first = served.devices.find((d) => d.id === PITFALL_NINJA_ID_BASE) as FakeNinjaDevice;
      expect(again.devices.find((d) => d.id === PITFALL_NINJA_ID_BASE)?.lastContact).toBe(first.lastContact + shift);
    } finally {
      await Promise.all([tl2.close(), ninja2.close()]);
    }
  });
});
