/**
 * Organization links people make between the two tools (`organization_link`), and the mapping
 * the dashboard shows: every organization of each tool's latest collected day, how each pair
 * was made (automatic, explicit, never) and which organizations are linked to none.
 *
 * The mapping is the checks' own (variances/organizations.ts): automatic pairs are
 * organizations whose names are equal once normalized; an explicit `link` adds a pair the
 * names do not give; a `never` removes a pair. Links name organizations exactly as the tools
 * spell them. Changes take effect at the next check run.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import type { DB, OrganizationLinkRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import type { VendorIds, VendorKey } from '../inventory/vendors.js';
import { buildOrganizationMapping, normalizeOrganizationName } from './organizations.js';

type Executor = Kysely<DB> | Transaction<DB>;

export type LinkKind = 'link' | 'never';

export interface LinkItem {
  readonly threatlocker_organization: string;
  readonly ninja_organization: string;
  readonly kind: LinkKind;
  readonly created_by: string;
  readonly created_at: string;
}

export function toLinkItem(r: OrganizationLinkRow): LinkItem {
  return {
    threatlocker_organization: r.threatlocker_organization,
    ninja_organization: r.ninja_organization,
    kind: r.kind,
    created_by: r.created_by,
    created_at: r.created_at.toISOString(),
  };
}

/** The name two organizations are compared by (the rules' own, variances/organizations.ts). */
export function organizationKey(name: string): string {
  return normalizeOrganizationName(name);
}

/** Every link, oldest first. */
export async function listLinks(db: Executor): Promise<LinkItem[]> {
  return (await db.selectFrom('organization_link').selectAll().orderBy('id').execute()).map(toLinkItem);
}

export interface LinkInput {
  readonly threatlockerOrganization: string;
  readonly ninjaOrganization: string;
  readonly kind: LinkKind;
  readonly by: string;
}

/** Creates the link of a pair, or changes its kind; `created` says which. */
export async function putLink(db: Executor, input: LinkInput, clock: Clock): Promise<{ link: LinkItem; created: boolean }> {
  const now = clock.now();
  const row = await db
    .insertInto('organization_link')
    .values({ threatlocker_organization: input.threatlockerOrganization, ninja_organization: input.ninjaOrganization, kind: input.kind, created_by: input.by, created_at: now })
    .onConflict((oc) =>
      oc.columns(['threatlocker_organization', 'ninja_organization']).doUpdateSet((eb) => ({
        kind: eb.ref('excluded.kind'),
        created_by: eb.ref('excluded.created_by'),
        created_at: eb.ref('excluded.created_at'),
      })),
    )
    .returningAll()
    // xmax is 0 for a row version this statement inserted, the updating transaction's id otherwise.
    .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
    .executeTakeFirstOrThrow();
  const { inserted, ...link } = row;
  return { link: toLinkItem(link), created: inserted };
}

/** Removes the link of a pair; throws HubError `HUB_ERR_ORGANIZATION_LINK_NOT_FOUND` when there is none. */
export async function deleteLink(db: Executor, threatlockerOrganization: string, ninjaOrganization: string): Promise<LinkItem> {
  const row = await db
    .deleteFrom('organization_link')
    .where('threatlocker_organization', '=', threatlockerOrganization)
    .where('ninja_organization', '=', ninjaOrganization)
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    throw new HubError('HUB_ERR_ORGANIZATION_LINK_NOT_FOUND', `No link between ThreatLocker "${threatlockerOrganization}" and NinjaOne "${ninjaOrganization}"`, {
      threatlocker_organization: threatlockerOrganization,
      ninja_organization: ninjaOrganization,
    });
  }
  return toLinkItem(row);
}

export interface MappingPair {
  readonly threatlocker_organization: string;
  readonly ninja_organization: string;
  /** `automatic` (same name), `explicit` (a link), `never` (a link forbidding the pair). */
  readonly how: 'automatic' | 'explicit' | 'never';
  readonly created_by: string | null;
  readonly created_at: string | null;
}

export interface OrganizationMapping {
  /** Each vendor's latest collected day, whose organizations are listed. */
  readonly dates: Readonly<Record<VendorKey, string | null>>;
  readonly organizations: Readonly<Record<VendorKey, string[]>>;
  readonly pairs: MappingPair[];
  /** Organizations of the latest days paired with none of the other tool's. */
  readonly unmapped: Readonly<Record<VendorKey, string[]>>;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Distinct organization names of a vendor's latest collected day. */
async function latestOrganizations(db: Executor, vendorId: number): Promise<{ date: string | null; names: string[] }> {
  const latest = await db
    .selectFrom('snapshot_day')
    .select((eb) => eb.fn.max('snapshot_date').as('d'))
    .where('vendor_id', '=', vendorId)
    .where('collected_at', 'is not', null)
    .executeTakeFirst();
  const date = latest?.d ?? null;
  if (date === null) return { date, names: [] };
  const rows = await db
    .selectFrom('device_snapshot')
    .select('organization_name')
    .distinct()
    .where('snapshot_date', '=', date)
    .where('vendor_id', '=', vendorId)
    .where('organization_name', 'is not', null)
    .where('organization_name', '!=', '')
    .execute();
  // Sorted here, not by the database: its collation differs between PGlite and PostgreSQL.
  const names = rows.map((r) => r.organization_name).filter((n): n is string => n !== null);
  const order = (a: string, b: string) => compare(organizationKey(a), organizationKey(b)) || compare(a, b);
  return { date, names: names.sort(order) };
}

/** The mapping between the two tools' organizations (see the module comment). */
export async function organizationMapping(db: Executor, vendorIds: VendorIds): Promise<OrganizationMapping> {
  const tl = await latestOrganizations(db, vendorIds.threatlocker);
  const ninja = await latestOrganizations(db, vendorIds.ninja);
  const links = await listLinks(db);
  // The mapping the checks use, so that what is shown is what matching does.
  const mapping = buildOrganizationMapping(
    { security: tl.names, rmm: ninja.names },
    links.map((l) => ({ threatlockerOrganization: l.threatlocker_organization, ninjaOrganization: l.ninja_organization, kind: l.kind })),
  );
  const pairs: MappingPair[] = links.map((l) => ({
    threatlocker_organization: l.threatlocker_organization,
    ninja_organization: l.ninja_organization,
    how: l.kind === 'link' ? 'explicit' : 'never',
    created_by: l.created_by,
    created_at: l.created_at,
  }));
  const explicit = new Set(links.filter((l) => l.kind === 'link').map((l) => `${l.threatlocker_organization}\u0000${l.ninja_organization}`));
  for (const t of tl.names) {
    for (const n of [...(mapping.links.get(t) ?? [])].sort(compare)) {
      if (!explicit.has(`${t}\u0000${n}`)) pairs.push({ threatlocker_organization: t, ninja_organization: n, how: 'automatic', created_by: null, created_at: null });
    }
  }
  const order = (a: string, b: string) => compare(organizationKey(a), organizationKey(b)) || compare(a, b);
  return {
    dates: { threatlocker: tl.date, ninja: ninja.date },
    organizations: { threatlocker: tl.names, ninja: ninja.names },
    pairs,
    unmapped: { threatlocker: [...mapping.unmapped.security].sort(order), ninja: [...mapping.unmapped.rmm].sort(order) },
  };
}
