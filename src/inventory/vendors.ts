import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';

/** The one name of each vendor in code. */
export type VendorKey = 'threatlocker' | 'ninja';

/**
 * The names the existing deployments use, at the edges only: `vendor.name` in the database and
 * the keys of upstream-compatible reports such as `/api/status`.
 */
export const VENDOR_LABELS: Readonly<Record<VendorKey, 'ThreatLocker' | 'Ninja'>> = { threatlocker: 'ThreatLocker', ninja: 'Ninja' };

export type VendorIds = Readonly<Record<VendorKey, number>>;

/** Resolves vendor ids by name, once at start-up; no numeric vendor id is assumed anywhere. */
export async function loadVendorIds(db: Kysely<DB>): Promise<VendorIds> {
  const rows = await db.selectFrom('vendor').select(['id', 'name']).execute();
  const byName = new Map(rows.map((r) => [r.name, r.id]));
  const get = (key: VendorKey) => {
    const name = VENDOR_LABELS[key];
    const id = byName.get(name);
    if (id === undefined) throw new Error(`vendor row "${name}" is missing; run "inventory-hub migrate"`);
    return id;
  };
  return Object.freeze({ threatlocker: get('threatlocker'), ninja: get('ninja') });
}
