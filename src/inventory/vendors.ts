import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';

/** Vendor names as stored in `vendor.name` (kept from the existing deployments). */
export type VendorKey = 'ThreatLocker' | 'Ninja';

export type VendorIds = Readonly<Record<VendorKey, number>>;

/** Resolves vendor ids by name, once at start-up; no numeric vendor id is assumed anywhere. */
export async function loadVendorIds(db: Kysely<DB>): Promise<VendorIds> {
  const rows = await db.selectFrom('vendor').select(['id', 'name']).execute();
  const byName = new Map(rows.map((r) => [r.name, r.id]));
  const get = (name: VendorKey) => {
    const id = byName.get(name);
    if (id === undefined) throw new Error(`vendor row "${name}" is missing; run "inventory-hub migrate"`);
    return id;
  };
  return Object.freeze({ ThreatLocker: get('ThreatLocker'), Ninja: get('Ninja') });
}
