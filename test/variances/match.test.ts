import { describe, expect, it } from 'vitest';
import { matchDevices, recencyKey, type MatchResult } from '../../src/variances/match.js';
import { buildOrganizationMapping } from '../../src/variances/organizations.js';
import type { DayDevice, OrganizationLink } from '../../src/variances/types.js';
import { beforeEndOfDate, CHILL, nj, njNetbios, RIGBY, shuffled, SUMMIT, tl } from './devices.js';

const OLDER = beforeEndOfDate(3);
const OLDEST = beforeEndOfDate(9);
const NEWER = beforeEndOfDate(0, 2);

interface Row {
  name: string;
  security: DayDevice[];
  rmm: DayDevice[];
  links?: OrganizationLink[];
  /** Organizations each tool has beside those of the devices (to make one mapped). */
  organizations?: { security?: string[]; rmm?: string[] };
  /** `securityKey~rmmKey quality nameMatch organizations`, in any order. */
  pairs: string[];
  unpairedSecurity?: string[];
  unpairedRmm?: string[];
  /** `role organization/name: members, most recent first` */
  duplicates?: string[];
  views?: string[];
}

function run(security: readonly DayDevice[], rmm: readonly DayDevice[], row: Pick<Row, 'links' | 'organizations'>): MatchResult {
  const names = (devices: readonly DayDevice[], extra: string[] = []) => [...devices.flatMap((d) => (d.organizationName === null ? [] : [d.organizationName])), ...extra];
  const mapping = buildOrganizationMapping(
    { security: names(security, row.organizations?.security), rmm: names(rmm, row.organizations?.rmm) },
    row.links ?? [],
  );
  return matchDevices(security, rmm, mapping);
}

function summary(result: MatchResult) {
  return {
    pairs: result.pairs.map((p) => `${p.security.deviceKey}~${p.rmm.deviceKey} ${p.quality} ${p.nameMatch} ${p.organizations}`).sort(),
    unpairedSecurity: result.unpairedSecurity.map((d) => d.deviceKey),
    unpairedRmm: result.unpairedRmm.map((d) => d.deviceKey),
    duplicates: [...result.duplicates.security, ...result.duplicates.rmm].map(
      (g) => `${g.role} ${g.organization ?? ''}/${g.canonicalHostname}: ${g.members.map((d) => d.deviceKey).join(',')}`,
    ),
    views: result.views.map((d) => d.deviceKey),
  };
}

const rows: Row[] = [
  // Names
  {
    name: 'exact: same name, same organization',
    security: [tl('t1', 'RFG-DYP6X14')],
    rmm: [nj('n1', 'RFG-DYP6X14')],
    pairs: ['t1~n1 exact exact linked'],
  },
  {
    name: 'case and FQDN differ: ThreatLocker upper-case, NinjaOne lower-case DNS name',
    security: [tl('t1', 'RFG-DYP6X14')],
    rmm: [nj('n1', 'rfg-dyp6x14.rigbyfg.local')],
    pairs: ['t1~n1 exact exact linked'],
  },
  {
    name: 'ThreatLocker FQDN hostname meets a NinjaOne short name',
    security: [tl('t1', 'SERVER-01.corp.local')],
    rmm: [nj('n1', 'SERVER-01')],
    pairs: ['t1~n1 exact exact linked'],
  },
  {
    name: '"HOST | user" in the ThreatLocker hostname',
    security: [tl('t1', 'RFG-DYP6X14 | Tami Miller')],
    rmm: [nj('n1', 'rfg-dyp6x14.rigbyfg.local')],
    pairs: ['t1~n1 exact exact linked'],
  },
  {
    name: 'different names never pair',
    security: [tl('t1', 'RFG-AAAA')],
    rmm: [nj('n1', 'RFG-BBBB')],
    pairs: [],
    unpairedSecurity: ['t1'],
    unpairedRmm: ['n1'],
  },
  // NetBIOS truncation
  {
    name: 'truncated: a 15-character NetBIOS-only NinjaOne name starts the longer ThreatLocker name',
    security: [tl('t1', 'AEC-027396194353')],
    rmm: [njNetbios('n1', 'AEC-02739619435')],
    pairs: ['t1~n1 truncated truncated linked'],
  },
  {
    name: 'a 14-character NetBIOS name is complete: no truncated match',
    security: [tl('t1', 'AEC-02739619435')],
    rmm: [njNetbios('n1', 'AEC-0273961943')],
    pairs: [],
    unpairedSecurity: ['t1'],
    unpairedRmm: ['n1'],
  },
  {
    name: 'a 15-character NetBIOS name equal to a 15-character ThreatLocker name is exact',
    security: [tl('t1', 'AEC-02739619435')],
    rmm: [njNetbios('n1', 'AEC-02739619435')],
    pairs: ['t1~n1 exact exact linked'],
  },
  {
    name: 'never truncate two full names: QP-NUC150BX25100031 and QP-NUC150BX25100035 are two machines',
    security: [tl('t1', 'QP-NUC150BX25100031')],
    rmm: [nj('n1', 'qp-nuc150bx25100035.corp.local')],
    pairs: [],
    unpairedSecurity: ['t1'],
    unpairedRmm: ['n1'],
  },
  {
    name: 'a 15-character DNS name is complete, even when it equals the NetBIOS name but for case',
    security: [tl('t1', 'CHI-ABCDEFGHIJKL')],
    rmm: [nj('n1', 'chi-abcdefghijk', { systemName: 'CHI-ABCDEFGHIJK' })],
    pairs: [],
    unpairedSecurity: ['t1'],
    unpairedRmm: ['n1'],
  },
  {
    name: 'exact beats truncated, even when the truncated candidate checked in more recently',
    security: [tl('t1', 'AEC-027396194353')],
    rmm: [njNetbios('n1', 'AEC-02739619435', { lastContact: NEWER }), nj('n2', 'aec-027396194353.aec.corp.local', { lastContact: OLDER })],
    pairs: ['t1~n2 exact exact linked'],
    unpairedRmm: ['n1'],
  },
  {
    name: 'truncation collision: two long names share the NetBIOS prefix; the most recent computer pairs',
    security: [tl('t1', 'QP-NUC150BX25100031', { lastContact: NEWER }), tl('t2', 'QP-NUC150BX25100035', { lastContact: OLDER })],
    rmm: [njNetbios('n1', 'QP-NUC150BX2510')],
    pairs: ['t1~n1 truncated truncated linked'],
    unpairedSecurity: ['t2'],
  },
  {
    name: 'truncation collision, recency reversed: the other computer pairs',
    security: [tl('t1', 'QP-NUC150BX25100031', { lastContact: OLDER }), tl('t2', 'QP-NUC150BX25100035', { lastContact: NEWER })],
    rmm: [njNetbios('n1', 'QP-NUC150BX2510')],
    pairs: ['t2~n1 truncated truncated linked'],
    unpairedSecurity: ['t1'],
  },
  // Organizations
  {
    name: 'one name in two customers: each pairs within its own customer',
    security: [tl('t1', 'FRONTDESK', { organizationName: RIGBY }), tl('t2', 'FRONTDESK', { organizationName: CHILL })],
    rmm: [nj('n1', 'FRONTDESK', { organizationName: CHILL, lastContact: NEWER }), nj('n2', 'FRONTDESK', { organizationName: RIGBY, lastContact: OLDER })],
    pairs: ['t1~n2 exact exact linked', 't2~n1 exact exact linked'],
  },
  {
    name: 'the only namesake is paired in another customer: no second pair',
    security: [tl('t1', 'FRONTDESK', { organizationName: RIGBY, lastContact: OLDER }), tl('t2', 'FRONTDESK', { organizationName: CHILL, lastContact: NEWER })],
    rmm: [nj('n1', 'FRONTDESK', { organizationName: RIGBY })],
    organizations: { rmm: [CHILL] },
    pairs: ['t1~n1 exact exact linked'],
    unpairedSecurity: ['t2'],
  },
  {
    name: 'moved customer: both organizations mapped, to others → cross_org, moved',
    security: [tl('t1', 'RFG-X', { organizationName: RIGBY })],
    rmm: [nj('n1', 'RFG-X', { organizationName: SUMMIT })],
    organizations: { security: [SUMMIT], rmm: [RIGBY] },
    pairs: ['t1~n1 cross_org exact moved'],
  },
  {
    name: 'moved customer with a truncated name',
    security: [tl('t1', 'AEC-027396194353', { organizationName: RIGBY })],
    rmm: [njNetbios('n1', 'AEC-02739619435', { organizationName: SUMMIT })],
    organizations: { security: [SUMMIT], rmm: [RIGBY] },
    pairs: ['t1~n1 cross_org truncated moved'],
  },
  {
    name: 'an organization mapped to nothing still matches by name → cross_org, unmapped',
    security: [tl('t1', 'ACME-01', { organizationName: 'Acme Holdings' })],
    rmm: [nj('n1', 'ACME-01', { organizationName: RIGBY })],
    organizations: { security: [RIGBY] },
    pairs: ['t1~n1 cross_org exact unmapped'],
  },
  {
    name: 'no organization at all still matches by name',
    security: [tl('t1', 'RFG-X', { organizationName: null })],
    rmm: [nj('n1', 'RFG-X')],
    pairs: ['t1~n1 cross_org exact unmapped'],
  },
  {
    name: 'a linked namesake beats a more recent one in an unmapped organization',
    security: [tl('t1', 'FRONTDESK')],
    rmm: [nj('n1', 'FRONTDESK', { organizationName: 'Zeta Partners', lastContact: NEWER }), nj('n2', 'FRONTDESK', { lastContact: OLDER })],
    pairs: ['t1~n2 exact exact linked'],
    unpairedRmm: ['n1'],
  },
  {
    name: 'a linked truncated candidate beats an exact one in another organization',
    security: [tl('t1', 'AEC-027396194353')],
    rmm: [njNetbios('n1', 'AEC-02739619435'), nj('n2', 'aec-027396194353.zeta.local', { organizationName: 'Zeta Partners' })],
    pairs: ['t1~n1 truncated truncated linked'],
    unpairedRmm: ['n2'],
  },
  {
    name: 'an unmapped namesake beats a more recent one moved to another mapped customer',
    security: [tl('t1', 'RFG-X', { organizationName: RIGBY })],
    rmm: [nj('n1', 'RFG-X', { organizationName: CHILL, lastContact: NEWER }), nj('n2', 'RFG-X', { organizationName: 'Zeta Partners', lastContact: OLDER })],
    organizations: { security: [CHILL], rmm: [RIGBY] },
    pairs: ['t1~n2 cross_org exact unmapped'],
    unpairedRmm: ['n1'],
  },
  {
    name: 'among equal candidates the most recent NinjaOne device wins',
    security: [tl('t1', 'RFG-X', { organizationName: 'Acme Holdings' })],
    rmm: [nj('n1', 'RFG-X', { organizationName: 'Zeta Partners', lastContact: OLDER }), nj('n2', 'RFG-X', { organizationName: 'Omega Labs', lastContact: NEWER })],
    pairs: ['t1~n2 cross_org exact unmapped'],
    unpairedRmm: ['n1'],
  },
  {
    name: 'never contacted sorts oldest',
    security: [tl('t1', 'RFG-X', { organizationName: 'Acme Holdings' })],
    rmm: [nj('n1', 'RFG-X', { organizationName: 'Zeta Partners', lastContact: null }), nj('n2', 'RFG-X', { organizationName: 'Omega Labs', lastContact: OLDEST })],
    pairs: ['t1~n2 cross_org exact unmapped'],
    unpairedRmm: ['n1'],
  },
  {
    name: 'an explicit link makes differently named organizations one customer',
    security: [tl('t1', 'RFG-X', { organizationName: 'RFG' })],
    rmm: [nj('n1', 'RFG-X', { organizationName: RIGBY })],
    links: [{ threatlockerOrganization: 'RFG', ninjaOrganization: RIGBY, kind: 'link' }],
    pairs: ['t1~n1 exact exact linked'],
  },
  {
    name: '"never" unlinks equal names: the pair becomes cross_org',
    security: [tl('t1', 'RFG-X')],
    rmm: [nj('n1', 'RFG-X')],
    links: [{ threatlockerOrganization: RIGBY, ninjaOrganization: RIGBY, kind: 'never' }],
    pairs: ['t1~n1 cross_org exact unmapped'],
  },
  {
    name: 'ThreatLocker slug organization links to the NinjaOne name automatically',
    security: [tl('t1', 'RFG-X', { organizationName: 'rigby-financial-group' })],
    rmm: [nj('n1', 'RFG-X')],
    pairs: ['t1~n1 exact exact linked'],
  },
  // Duplicates
  {
    name: 'ThreatLocker reinstall: only the most recent computer pairs; the group is a duplicate',
    security: [tl('t1', 'RFG-X', { lastContact: OLDEST }), tl('t2', 'rfg-x.rigbyfg.local', { lastContact: NEWER })],
    rmm: [nj('n1', 'RFG-X')],
    pairs: ['t2~n1 exact exact linked'],
    duplicates: [`security ${RIGBY}/rfg-x: t2,t1`],
  },
  {
    name: 'ThreatLocker reinstall with no NinjaOne device: the leftover is not unpaired',
    security: [tl('t1', 'RFG-X', { lastContact: OLDEST }), tl('t2', 'RFG-X | Ann Lee', { lastContact: NEWER })],
    rmm: [],
    pairs: [],
    unpairedSecurity: ['t2'],
    duplicates: [`security ${RIGBY}/rfg-x: t2,t1`],
  },
  {
    name: 'NinjaOne reinstall: only the most recent device pairs',
    security: [tl('t1', 'RFG-X')],
    rmm: [nj('n2', 'RFG-X', { lastContact: NEWER }), nj('n1', 'rfg-x.rigbyfg.local', { lastContact: OLDEST })],
    pairs: ['t1~n2 exact exact linked'],
    duplicates: [`rmm ${RIGBY}/rfg-x: n2,n1`],
  },
  {
    name: 'duplicates with equal last contact: the lower device key is the latest',
    security: [tl('t2', 'RFG-X'), tl('t1', 'RFG-X')],
    rmm: [nj('n1', 'RFG-X')],
    pairs: ['t1~n1 exact exact linked'],
    duplicates: [`security ${RIGBY}/rfg-x: t1,t2`],
  },
  {
    name: 'one name in two customers is not a duplicate',
    security: [tl('t1', 'FRONTDESK', { organizationName: RIGBY }), tl('t2', 'FRONTDESK', { organizationName: CHILL })],
    rmm: [],
    pairs: [],
    unpairedSecurity: ['t1', 't2'],
  },
  // VM guests
  {
    name: 'a VMWARE_VM_GUEST record and an agent device of one name are one machine: ThreatLocker pairs with the agent',
    security: [tl('t1', 'RFG-VM001')],
    rmm: [nj('n1', 'RFG-VM001', { nodeClass: 'VMWARE_VM_GUEST', isVmGuest: true, lastContact: NEWER }), nj('n2', 'rfg-vm001.rigbyfg.local', { nodeClass: 'WINDOWS_SERVER', lastContact: OLDER })],
    pairs: ['t1~n2 exact exact linked'],
    views: ['n1'],
  },
  {
    name: 'a VM guest record alone stands for the machine: ThreatLocker pairs with it',
    security: [tl('t1', 'RFG-VM001')],
    rmm: [nj('n1', 'RFG-VM001', { nodeClass: 'VMWARE_VM_GUEST', isVmGuest: true })],
    pairs: ['t1~n1 exact exact linked'],
  },
  {
    name: 'a guest record in another customer is not a view of this agent device',
    security: [],
    rmm: [nj('n1', 'RFG-VM001', { nodeClass: 'VMWARE_VM_GUEST', organizationName: CHILL }), nj('n2', 'RFG-VM001', { nodeClass: 'WINDOWS_SERVER' })],
    pairs: [],
    unpairedRmm: ['n1', 'n2'],
  },
  {
    name: 'two guest records of one name and no agent device are duplicates',
    security: [],
    rmm: [nj('n1', 'RFG-VM001', { nodeClass: 'VMWARE_VM_GUEST', lastContact: OLDER }), nj('n2', 'RFG-VM001', { nodeClass: 'VMWARE_VM_GUEST', lastContact: NEWER })],
    pairs: [],
    unpairedRmm: ['n2'],
    duplicates: [`rmm ${RIGBY}/rfg-vm001: n2,n1`],
  },
  // Staleness does not affect pairing
  {
    name: 'stale devices still pair (a spare on a shelf keeps its ThreatLocker licence)',
    security: [tl('t1', 'RFG-X', { lastContact: beforeEndOfDate(200) })],
    rmm: [nj('n1', 'RFG-X', { lastContact: null })],
    pairs: ['t1~n1 exact exact linked'],
  },
];

describe('matchDevices', () => {
  it.each(rows)('$name', (row) => {
    expect(summary(run(row.security, row.rmm, row))).toEqual({
      pairs: [...row.pairs].sort(),
      unpairedSecurity: row.unpairedSecurity ?? [],
      unpairedRmm: row.unpairedRmm ?? [],
      duplicates: row.duplicates ?? [],
      views: row.views ?? [],
    });
  });

  it('gives the same pairs, in the same order, whatever the input order', () => {
    // Every row at once: names and organizations repeat across rows, so candidates contend.
    const security = rows.flatMap((row, i) => row.security.map((d) => ({ ...d, deviceKey: `${i}/${d.deviceKey}` })));
    const rmm = rows.flatMap((row, i) => row.rmm.map((d) => ({ ...d, deviceKey: `${i}/${d.deviceKey}` })));
    const reference = run(security, rmm, {});
    expect(reference.pairs.length).toBeGreaterThan(10);
    for (const seed of [1, 2, 3, 4, 5]) {
      const again = run(shuffled(security, seed), shuffled(rmm, seed * 7), {});
      expect(again).toEqual(reference);
    }
  });

  it('pairs each device at most once', () => {
    const security = rows.flatMap((row, i) => row.security.map((d) => ({ ...d, deviceKey: `${i}/${d.deviceKey}` })));
    const rmm = rows.flatMap((row, i) => row.rmm.map((d) => ({ ...d, deviceKey: `${i}/${d.deviceKey}` })));
    const { pairs } = run(security, rmm, {});
    expect(new Set(pairs.map((p) => p.security.deviceKey)).size).toBe(pairs.length);
    expect(new Set(pairs.map((p) => p.rmm.deviceKey)).size).toBe(pairs.length);
  });

  it('prefers linked namesakes even among many customers sharing one name', () => {
    // 40 customers each with a FRONTDESK in both tools: long namesake lists take the indexed path.
    const orgs = Array.from({ length: 40 }, (_, i) => `Customer ${String(i).padStart(2, '0')}`);
    const security = orgs.map((org, i) => tl(`t${i}`, 'FRONTDESK', { organizationName: org, lastContact: beforeEndOfDate(i % 5) }));
    const rmm = orgs.map((org, i) => nj(`n${i}`, 'FRONTDESK', { organizationName: org, lastContact: beforeEndOfDate((i * 3) % 7) }));
    const { pairs } = run(shuffled(security, 9), shuffled(rmm, 11), {});
    expect(pairs.map((p) => `${p.security.deviceKey}~${p.rmm.deviceKey} ${p.quality}`).sort()).toEqual(
      orgs.map((_, i) => `t${i}~n${i} exact`).sort(),
    );
  });

  it('many unmapped namesakes: each computer takes the most recent free one', () => {
    const security = Array.from({ length: 20 }, (_, i) => tl(`t${String(i).padStart(2, '0')}`, 'DESKTOP', { organizationName: `Acme ${i}`, lastContact: beforeEndOfDate(i) }));
    const rmm = Array.from({ length: 20 }, (_, i) => nj(`n${String(i).padStart(2, '0')}`, 'DESKTOP', { organizationName: `Zeta ${i}`, lastContact: beforeEndOfDate(i) }));
    const { pairs } = run(shuffled(security, 3), shuffled(rmm, 4), {});
    // The most recent computer (t00) picks first and takes the most recent device (n00), and so on.
    expect(pairs.map((p) => `${p.security.deviceKey}~${p.rmm.deviceKey}`).sort()).toEqual(security.map((_, i) => `t${String(i).padStart(2, '0')}~n${String(i).padStart(2, '0')}`));
  });

  it('handles 100k devices per tool (size check, no timing)', () => {
    const n = 100_000;
    const security: DayDevice[] = [];
    const rmm: DayDevice[] = [];
    for (let i = 0; i < n; i++) {
      const name = `H-${i.toString(36).padStart(6, '0')}`;
      const org = `Customer ${i % 400}`;
      security.push(tl(`t${i}`, name, { organizationName: org }));
      rmm.push(nj(String(i), `${name}.corp.local`, { organizationName: org }));
    }
    const result = run(security, rmm, {});
    expect(result.pairs).toHaveLength(n);
    expect(result.pairs.every((p) => p.security.deviceKey === `t${p.rmm.deviceKey}`)).toBe(true);
  });
});

describe('recencyKey', () => {
  it.each([
    ['the normalizers’ form, as is', '2026-03-10T08:00:00.000Z', '2026-03-10T08:00:00.000Z'],
    ['an offset, converted to UTC', '2026-03-10T03:00:00-05:00', '2026-03-10T08:00:00.000Z'],
    ['no fraction', '2026-03-10T08:00:00Z', '2026-03-10T08:00:00.000Z'],
    ['never', null, ''],
    ['unreadable', 'yesterday', ''],
  ])('%s', (_case, lastContact, expected) => {
    expect(recencyKey(tl('t1', 'X', { lastContact }))).toBe(expected);
  });
});
