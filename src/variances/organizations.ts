/**
 * The organization mapping: which security-agent organizations and RMM organizations are one
 * customer. Automatic when the normalized names are equal; explicit links add pairs whatever the
 * names; `never` entries remove a pair. Pure: the caller passes the day's organization names and
 * the stored links.
 */
import type { OrganizationLink, OrganizationRelation, VendorRole } from './types.js';

/**
 * Trailing words that only say what kind of company it is. Dropped from the end only, and never
 * the last word left ("Co" alone stays "co").
 */
const COMPANY_SUFFIXES: ReadonlySet<string> = new Set([
  'inc',
  'incorporated',
  'llc',
  'llp',
  'lp',
  'pllc',
  'ltd',
  'limited',
  'corp',
  'corporation',
  'co',
  'company',
  'plc',
  'pc',
  'gmbh',
]);

/**
 * Memo of `normalizeOrganizationName`: a sync's re-evaluation builds the mapping of every
 * organization of the day (hundreds of names) for one device, and Unicode decomposition of each
 * name was most of its cost. The function is pure, so the cache can never answer wrongly.
 */
const normalizedNames = new Map<string, string>();
const NORMALIZED_NAMES_MAX = 20_000;

/**
 * The name two tools' organizations are compared by: case, accents, punctuation and whitespace
 * ignored, `&` read as "and", trailing company suffixes dropped. ThreatLocker tenants created
 * with a slug (`rigby-financial-group`) then meet NinjaOne's `Rigby Financial Group`.
 *
 * @example normalizeOrganizationName('Ener Systems, LLC') // 'enersystems'
 * @example normalizeOrganizationName('meridian-law-llp') // 'meridianlaw'
 */
export function normalizeOrganizationName(name: string): string {
  let key = normalizedNames.get(name);
  if (key === undefined) {
    // Bounded: organization names are few, but the cache must not grow with whatever it is fed.
    if (normalizedNames.size >= NORMALIZED_NAMES_MAX) normalizedNames.clear();
    normalizedNames.set(name, (key = normalize(name)));
  }
  return key;
}

function normalize(name: string): string {
  const words = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== '');
  while (words.length > 1 && COMPANY_SUFFIXES.has(words[words.length - 1] ?? '')) words.pop();
  return words.join('');
}

export interface OrganizationMapping {
  /** Security-agent organization (exact name) → the RMM organizations it is one customer with. */
  readonly links: ReadonlyMap<string, ReadonlySet<string>>;
  /** The same relation from the other side: RMM organization → security-agent organizations. */
  readonly rmmLinks: ReadonlyMap<string, ReadonlySet<string>>;
  /** Organizations linked to at least one of the other tool's, per role. */
  readonly mapped: Readonly<Record<VendorRole, ReadonlySet<string>>>;
  /** Of the names given, those linked to nothing (sorted): listed for a person to link or ignore. */
  readonly unmapped: Readonly<Record<VendorRole, readonly string[]>>;
}

/** The organization names each role's devices carry (exact, as stored). */
export type OrganizationNames = Readonly<Record<VendorRole, Iterable<string>>>;

/**
 * Builds the mapping.
 *
 * - automatic: a security organization and an RMM organization whose normalized names are equal
 *   (and not empty);
 * - `link`: added, whatever the names (names are compared exactly);
 * - `never`: removes the pair, automatic or explicit — "never" is never, so a contradictory pair
 *   of entries fails safe (an unlinked pair still matches by name, as `cross_org`).
 *
 * @example
 *   const mapping = buildOrganizationMapping({ security: ['rigby-financial-group'], rmm: ['Rigby Financial Group'] }, []);
 *   organizationRelation(mapping, 'rigby-financial-group', 'Rigby Financial Group'); // 'linked'
 */
export function buildOrganizationMapping(names: OrganizationNames, links: readonly OrganizationLink[]): OrganizationMapping {
  const security = sortedUnique(names.security);
  const rmm = sortedUnique(names.rmm);
  const pairs = new Map<string, Set<string>>();
  const add = (securityOrg: string, rmmOrg: string): void => {
    let set = pairs.get(securityOrg);
    if (!set) pairs.set(securityOrg, (set = new Set()));
    set.add(rmmOrg);
  };

  const rmmByNormalized = new Map<string, string[]>();
  for (const name of rmm) {
    const key = normalizeOrganizationName(name);
    if (key === '') continue;
    const list = rmmByNormalized.get(key);
    if (list) list.push(name);
    else rmmByNormalized.set(key, [name]);
  }
  for (const name of security) {
    const key = normalizeOrganizationName(name);
    if (key === '') continue;
    for (const rmmOrg of rmmByNormalized.get(key) ?? []) add(name, rmmOrg);
  }
  // The type names the two sides by vendor; by role they are the security agent and the RMM.
  for (const link of links) if (link.kind === 'link') add(link.threatlockerOrganization, link.ninjaOrganization);
  for (const link of links) if (link.kind === 'never') pairs.get(link.threatlockerOrganization)?.delete(link.ninjaOrganization);

  const mappedSecurity = new Set<string>();
  const rmmLinks = new Map<string, Set<string>>();
  for (const [securityOrg, set] of pairs) {
    if (set.size === 0) {
      pairs.delete(securityOrg);
      continue;
    }
    mappedSecurity.add(securityOrg);
    for (const rmmOrg of set) {
      const back = rmmLinks.get(rmmOrg);
      if (back) back.add(securityOrg);
      else rmmLinks.set(rmmOrg, new Set([securityOrg]));
    }
  }
  const mappedRmm = new Set(rmmLinks.keys());
  return {
    links: pairs,
    rmmLinks,
    mapped: { security: mappedSecurity, rmm: mappedRmm },
    unmapped: { security: security.filter((n) => !mappedSecurity.has(n)), rmm: rmm.filter((n) => !mappedRmm.has(n)) },
  };
}

/** Whether an organization (null: none) is linked to any of the other tool's. */
export function isMapped(mapping: OrganizationMapping, role: VendorRole, organization: string | null): boolean {
  return organization !== null && mapping.mapped[role].has(organization);
}

/** How a security-agent organization and an RMM organization relate (types.ts `OrganizationRelation`). */
export function organizationRelation(mapping: OrganizationMapping, securityOrg: string | null, rmmOrg: string | null): OrganizationRelation {
  if (securityOrg !== null && rmmOrg !== null && mapping.links.get(securityOrg)?.has(rmmOrg) === true) return 'linked';
  if (!isMapped(mapping, 'security', securityOrg) || !isMapped(mapping, 'rmm', rmmOrg)) return 'unmapped';
  return 'moved';
}

function sortedUnique(names: Iterable<string>): string[] {
  return [...new Set(names)].sort(compareText);
}

/** Code-unit order: locale-independent, so output never depends on the machine. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
