import { describe, expect, it } from 'vitest';
import { buildOrganizationMapping, normalizeOrganizationName, organizationRelation } from '../../src/variances/organizations.js';
import type { OrganizationLink, OrganizationRelation } from '../../src/variances/types.js';

describe('normalizeOrganizationName', () => {
  it.each([
    ['case', 'RIGBY Financial group', 'rigbyfinancialgroup'],
    ['ThreatLocker slug', 'rigby-financial-group', 'rigbyfinancialgroup'],
    ['punctuation and spaces', '  Harbor Dental - Eastside ', 'harbordentaleastside'],
    ['trailing LLC after a comma', 'Ener Systems, LLC', 'enersystems'],
    ['trailing Inc.', 'Northwind Logistics Inc.', 'northwindlogistics'],
    ['trailing Ltd', 'Cedar Pediatrics Ltd', 'cedarpediatrics'],
    ['trailing Corp', 'Aspen Engineering Corp', 'aspenengineering'],
    ['trailing LLP', 'Meridian Law LLP', 'meridianlaw'],
    ['two suffixes', 'Acme Co., Inc.', 'acme'],
    ['suffix word inside the name stays', 'Chill Co Refrigeration', 'chillcorefrigeration'],
    ['a name that is only a suffix stays', 'LLC', 'llc'],
    ['ampersand read as "and"', 'Smith & Sons', 'smithandsons'],
    ['"and" spelled out', 'Smith and Sons', 'smithandsons'],
    ['accents', 'Café Müller GmbH', 'cafemuller'],
    ['digits kept', 'Clinic 24/7', 'clinic247'],
    ['nothing but punctuation', ' -- ', ''],
  ])('%s: %j → %j', (_case, input, expected) => {
    expect(normalizeOrganizationName(input)).toBe(expected);
  });
});

describe('buildOrganizationMapping', () => {
  const link = (security: string, rmm: string, kind: OrganizationLink['kind'] = 'link'): OrganizationLink => ({
    threatlockerOrganization: security,
    ninjaOrganization: rmm,
    kind,
  });

  interface Row {
    name: string;
    security: string[];
    rmm: string[];
    links?: OrganizationLink[];
    /** [security org, rmm org, expected relation] */
    relations: [string | null, string | null, OrganizationRelation][];
    unmappedSecurity: string[];
    unmappedRmm: string[];
  }

  const rows: Row[] = [
    {
      name: 'equal normalized names link automatically',
      security: ['rigby-financial-group', 'Ener Systems'],
      rmm: ['Rigby Financial Group', 'Ener Systems, LLC'],
      relations: [
        ['rigby-financial-group', 'Rigby Financial Group', 'linked'],
        ['Ener Systems', 'Ener Systems, LLC', 'linked'],
        ['rigby-financial-group', 'Ener Systems, LLC', 'moved'],
      ],
      unmappedSecurity: [],
      unmappedRmm: [],
    },
    {
      name: 'different names stay unmapped and are listed per tool',
      security: ['Rigby Financial Group', 'Acme Holdings'],
      rmm: ['Rigby Financial Group', 'Zeta Partners'],
      relations: [
        ['Acme Holdings', 'Zeta Partners', 'unmapped'],
        ['Acme Holdings', 'Rigby Financial Group', 'unmapped'],
        ['Rigby Financial Group', 'Zeta Partners', 'unmapped'],
      ],
      unmappedSecurity: ['Acme Holdings'],
      unmappedRmm: ['Zeta Partners'],
    },
    {
      name: 'an explicit link joins names that differ',
      security: ['RFG'],
      rmm: ['Rigby Financial Group'],
      links: [link('RFG', 'Rigby Financial Group')],
      relations: [['RFG', 'Rigby Financial Group', 'linked']],
      unmappedSecurity: [],
      unmappedRmm: [],
    },
    {
      name: 'an explicit link adds to the automatic one (several organizations may be one customer)',
      security: ['Harbor Dental Partners', 'Harbor Dental - Eastside'],
      rmm: ['Harbor Dental Partners'],
      links: [link('Harbor Dental - Eastside', 'Harbor Dental Partners')],
      relations: [
        ['Harbor Dental Partners', 'Harbor Dental Partners', 'linked'],
        ['Harbor Dental - Eastside', 'Harbor Dental Partners', 'linked'],
      ],
      unmappedSecurity: [],
      unmappedRmm: [],
    },
    {
      name: '"never" forbids an automatic link',
      security: ['Summit'],
      rmm: ['Summit, Inc.'],
      links: [link('Summit', 'Summit, Inc.', 'never')],
      relations: [['Summit', 'Summit, Inc.', 'unmapped']],
      unmappedSecurity: ['Summit'],
      unmappedRmm: ['Summit, Inc.'],
    },
    {
      name: '"never" wins over a "link" of the same pair',
      security: ['RFG'],
      rmm: ['Rigby Financial Group'],
      links: [link('RFG', 'Rigby Financial Group'), link('RFG', 'Rigby Financial Group', 'never')],
      relations: [['RFG', 'Rigby Financial Group', 'unmapped']],
      unmappedSecurity: ['RFG'],
      unmappedRmm: ['Rigby Financial Group'],
    },
    {
      name: 'explicit links are compared by exact name',
      security: ['RFG'],
      rmm: ['Rigby Financial Group'],
      links: [link('rfg', 'Rigby Financial Group')],
      relations: [['RFG', 'Rigby Financial Group', 'unmapped']],
      unmappedSecurity: ['RFG'],
      unmappedRmm: [],
    },
    {
      name: 'no organization is unmapped, and is not listed',
      security: ['Rigby Financial Group'],
      rmm: ['Rigby Financial Group'],
      relations: [
        [null, 'Rigby Financial Group', 'unmapped'],
        ['Rigby Financial Group', null, 'unmapped'],
      ],
      unmappedSecurity: [],
      unmappedRmm: [],
    },
    {
      name: 'names that normalize to nothing never link automatically',
      security: ['--'],
      rmm: ['..'],
      relations: [['--', '..', 'unmapped']],
      unmappedSecurity: ['--'],
      unmappedRmm: ['..'],
    },
  ];

  it.each(rows)('$name', (row) => {
    const mapping = buildOrganizationMapping({ security: row.security, rmm: row.rmm }, row.links ?? []);
    for (const [security, rmm, expected] of row.relations) expect([security, rmm, organizationRelation(mapping, security, rmm)]).toEqual([security, rmm, expected]);
    expect(mapping.unmapped.security).toEqual(row.unmappedSecurity);
    expect(mapping.unmapped.rmm).toEqual(row.unmappedRmm);
  });

  it('lists unmapped names once each, sorted, whatever the input order', () => {
    const mapping = buildOrganizationMapping({ security: ['Zulu', 'Alpha', 'Zulu', 'Mike'], rmm: [] }, []);
    expect(mapping.unmapped.security).toEqual(['Alpha', 'Mike', 'Zulu']);
  });
});
