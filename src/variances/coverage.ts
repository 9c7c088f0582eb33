/**
 * The Overview's coverage matrix: per customer (a group of organizations the organization
 * mapping joins, ./organizations.ts), how many devices each tool has, how many are paired, and
 * how many variances are open. Read-only.
 *
 * The pairs are not stored by a check run (only its counts and organization names are), so they
 * are computed here with the check's own matching (`buildOrganizationMapping` + `matchDevices`,
 * the two calls `runChecks` makes for its pairs) over the day's rows, read once. At 100k + 100k
 * devices that is one read of the day per tool plus about half a second of matching.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/schema.js';
import type { VendorIds, VendorKey } from '../inventory/vendors.js';
import { latestRunDate } from './lifecycle.js';
import { matchDevices } from './match.js';
import { buildOrganizationMapping, compareText } from './organizations.js';
import { readDayDevices, readOrganizationLinks } from './run.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface CoverageRow {
  /** The customer's ThreatLocker organization (the first by name when the mapping joins several); null: none. */
  readonly threatlocker_organization: string | null;
  readonly ninja_organization: string | null;
  /** Every organization of the customer, per tool (more than one when links join several). */
  readonly threatlocker_organizations: string[];
  readonly ninja_organizations: string[];
  readonly threatlocker_devices: number;
  readonly ninja_devices: number;
  /** Pairs found by the matching, counted with the ThreatLocker computer's customer. */
  readonly matched: number;
  /** `matched` out of the larger fleet of the two, in percent (one decimal); null without devices. */
  readonly matched_percent: number | null;
  readonly open_variances: number;
}

export interface Coverage {
  readonly snapshot_date: {
    readonly threatlocker: string | null;
    readonly ninja: string | null;
    /** `checked`: the latest checked day (both tools); `latest_collected`: no check yet, each tool's latest collected day. */
    readonly basis: 'checked' | 'latest_collected';
  };
  readonly rows: CoverageRow[];
  /** Open variances whose organization is on neither tool's day (e.g. a customer since removed). */
  readonly unattributed_open_variances: number;
}

async function latestCollectedDay(db: Executor, vendorId: number): Promise<string | null> {
  const r = await db
    .selectFrom('snapshot_day')
    .select((eb) => eb.fn.max('snapshot_date').as('d'))
    .where('vendor_id', '=', vendorId)
    .where('collected_at', 'is not', null)
    .executeTakeFirst();
  return r?.d ?? null;
}

/** Union-find over `tl:<name>` / `ninja:<name>` nodes: a customer is a connected group. */
class Groups {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let root = x;
    for (let p = this.parent.get(root); p !== undefined && p !== root; p = this.parent.get(root)) root = p;
    this.parent.set(x, root);
    return root;
  }
  add(x: string): void {
    if (!this.parent.has(x)) this.parent.set(x, x);
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

const node = (vendor: VendorKey, organization: string | null): string => (organization === null ? 'none' : `${vendor}:${organization}`);

/**
 * The coverage matrix (see the module comment). Queries: the day(s), one GROUP BY of the
 * day's devices per tool and organization, one GROUP BY of the open variances, the links, and
 * the day's rows of each tool for the matching.
 *
 * @example
 *   const { rows } = await organizationCoverage(db, vendorIds);
 *   rows.find((r) => r.threatlocker_organization === 'Acme')?.matched_percent; // e.g. 97.5
 */
export async function organizationCoverage(db: Executor, vendorIds: VendorIds): Promise<Coverage> {
  const checked = await latestRunDate(db);
  const dates: Record<VendorKey, string | null> = checked
    ? { threatlocker: checked, ninja: checked }
    : { threatlocker: await latestCollectedDay(db, vendorIds.threatlocker), ninja: await latestCollectedDay(db, vendorIds.ninja) };
  const days = (['threatlocker', 'ninja'] as const).filter((v) => dates[v] !== null);

  const counts =
    days.length === 0
      ? []
      : await db
          .selectFrom('device_snapshot')
          .select(['vendor_id', 'organization_name', sql<string>`count(*)`.as('n')])
          .where((eb) => eb.or(days.map((v) => eb.and([eb('vendor_id', '=', vendorIds[v]), eb('snapshot_date', '=', dates[v] ?? '')]))))
          .groupBy(['vendor_id', 'organization_name'])
          .execute();
  const vendorOf = (id: number): VendorKey => (id === vendorIds.threatlocker ? 'threatlocker' : 'ninja');
  const names: Record<VendorKey, string[]> = { threatlocker: [], ninja: [] };
  for (const c of counts) if (c.organization_name !== null) names[vendorOf(c.vendor_id)].push(c.organization_name);

  const known: Record<VendorKey, ReadonlySet<string>> = { threatlocker: new Set(names.threatlocker), ninja: new Set(names.ninja) };
  const links = await readOrganizationLinks(db);
  const mapping = buildOrganizationMapping({ security: names.threatlocker, rmm: names.ninja }, links);
  const groups = new Groups();
  for (const v of ['threatlocker', 'ninja'] as const) for (const n of names[v]) groups.add(node(v, n));
  for (const [tl, ninjaOrganizations] of mapping.links) {
    for (const n of ninjaOrganizations) if (known.ninja.has(n) && known.threatlocker.has(tl)) groups.union(node('threatlocker', tl), node('ninja', n));
  }

  interface Acc {
    threatlocker: string[];
    ninja: string[];
    threatlockerDevices: number;
    ninjaDevices: number;
    matched: number;
    open: number;
  }
  const rows = new Map<string, Acc>();
  const rowOf = (vendor: VendorKey, organization: string | null): Acc | undefined => {
    const key = node(vendor, organization);
    if (organization !== null && !known[vendor].has(organization)) return undefined;
    if (key !== 'none') groups.add(key);
    const root = key === 'none' ? 'none' : groups.find(key);
    let acc = rows.get(root);
    if (!acc) rows.set(root, (acc = { threatlocker: [], ninja: [], threatlockerDevices: 0, ninjaDevices: 0, matched: 0, open: 0 }));
    return acc;
  };
  for (const c of counts) {
    const vendor = vendorOf(c.vendor_id);
    const acc = rowOf(vendor, c.organization_name);
    if (!acc) continue;
    if (c.organization_name !== null) acc[vendor].push(c.organization_name);
    if (vendor === 'threatlocker') acc.threatlockerDevices += Number(c.n);
    else acc.ninjaDevices += Number(c.n);
  }

  if (dates.threatlocker !== null && dates.ninja !== null) {
    const threatlocker = await readDayDevices(db, vendorIds, 'threatlocker', dates.threatlocker);
    const ninja = await readDayDevices(db, vendorIds, 'ninja', dates.ninja);
    // The mapping was built from the names these devices carry: the one a check builds.
    const { pairs } = matchDevices(threatlocker, ninja, mapping);
    for (const p of pairs) {
      const acc = rowOf('threatlocker', p.security.organizationName);
      if (acc) acc.matched += 1;
    }
  }

  // A variance's organization is its first device's tool's (the ThreatLocker one for a pair).
  const open = await db
    .selectFrom('variance')
    .select(['organization', sql<string | null>`devices->0->>'vendor'`.as('vendor'), sql<string>`count(*)`.as('n')])
    .where('status', '=', 'open')
    .groupBy(['organization', sql`devices->0->>'vendor'`])
    .execute();
  let unattributed = 0;
  for (const o of open) {
    const first: VendorKey = o.vendor === 'ninja' ? 'ninja' : 'threatlocker';
    const other: VendorKey = first === 'ninja' ? 'threatlocker' : 'ninja';
    const acc = rowOf(first, o.organization) ?? rowOf(other, o.organization);
    if (acc) acc.open += Number(o.n);
    else unattributed += Number(o.n);
  }

  const out: CoverageRow[] = [...rows.values()].map((r) => {
    const tl = [...new Set(r.threatlocker)].sort(compareText);
    const ninja = [...new Set(r.ninja)].sort(compareText);
    const fleet = Math.max(r.threatlockerDevices, r.ninjaDevices);
    return {
      threatlocker_organization: tl[0] ?? null,
      ninja_organization: ninja[0] ?? null,
      threatlocker_organizations: tl,
      ninja_organizations: ninja,
      threatlocker_devices: r.threatlockerDevices,
      ninja_devices: r.ninjaDevices,
      matched: r.matched,
      matched_percent: fleet === 0 ? null : Math.round((r.matched / fleet) * 1000) / 10,
      open_variances: r.open,
    };
  });
  // By name, any case; the row of devices without organization last.
  const label = (r: CoverageRow): string => (r.threatlocker_organization ?? r.ninja_organization ?? '\uffff').toLowerCase();
  out.sort((a, b) => compareText(label(a), label(b)) || compareText(a.threatlocker_organization ?? '', b.threatlocker_organization ?? ''));
  return { snapshot_date: { ...dates, basis: checked ? 'checked' : 'latest_collected' }, rows: out, unattributed_open_variances: unattributed };
}
