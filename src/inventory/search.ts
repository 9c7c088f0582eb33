/**
 * Device search over the latest collected day of each vendor (upstream's /api/devices/search,
 * docs/api.md): by the start of the hostname, the canonical hostname or the display name, any
 * letter case. Read-only; takes its executor first.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/schema.js';
import { canonicalHostname } from './hostname.js';
import type { VendorIds, VendorKey } from './vendors.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** NetBIOS names are at most 15 characters: a NinjaOne name of exactly that length may be cut short. */
const NETBIOS_LENGTH = 15;

export interface FoundDevice {
  readonly vendor: VendorKey;
  readonly hostname: string;
  readonly display_name: string | null;
  readonly organization_name: string | null;
  readonly snapshot_date: string;
  readonly canonical_key: string;
  readonly is_truncated: boolean;
}

export interface DeviceSearchResult {
  readonly devices: FoundDevice[];
  /** More devices matched than `limit`. */
  readonly truncated: boolean;
  /** The day searched per vendor (its latest collected day); absent when it has none. */
  readonly dates: Partial<Record<VendorKey, string>>;
}

/** LIKE's wildcards in user text are literal characters. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Devices whose hostname, canonical hostname or display name starts with `q` (any case), on each
 * vendor's own latest collected day — a day holding only devices synced one by one is not a
 * fleet and is skipped. Ordered by vendor, then hostname; at most `limit`.
 */
export async function searchDevices(
  db: Executor,
  vendorIds: VendorIds,
  q: string,
  options: { vendor?: VendorKey | undefined; limit: number },
): Promise<DeviceSearchResult> {
  const vendors: VendorKey[] = options.vendor ? [options.vendor] : ['ninja', 'threatlocker'];
  const dates: Partial<Record<VendorKey, string>> = {};
  for (const v of vendors) {
    const day = await db
      .selectFrom('snapshot_day')
      .select('snapshot_date')
      .where('vendor_id', '=', vendorIds[v])
      .where('collected_at', 'is not', null)
      .orderBy('snapshot_date', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (day) dates[v] = day.snapshot_date;
  }
  const searched = vendors.filter((v) => dates[v] !== undefined);
  if (searched.length === 0) return { devices: [], truncated: false, dates };

  const prefix = `${escapeLike(q.trim().toLowerCase())}%`;
  const canonicalPrefix = `${escapeLike(canonicalHostname(q))}%`;
  const vendorOf = new Map<number, VendorKey>(searched.map((v) => [vendorIds[v], v]));
  const rows = await db
    .selectFrom('device_snapshot')
    .select(['vendor_id', 'hostname', 'display_name', 'organization_name', 'snapshot_date', 'canonical_hostname'])
    .where((eb) => eb.or(searched.map((v) => eb.and([eb('vendor_id', '=', vendorIds[v]), eb('snapshot_date', '=', dates[v] ?? '')]))))
    .where((eb) =>
      eb.or([
        sql<boolean>`lower(hostname) LIKE ${prefix} ESCAPE '\\'`,
        ...(canonicalPrefix === '%' ? [] : [sql<boolean>`canonical_hostname LIKE ${canonicalPrefix} ESCAPE '\\'`]),
        sql<boolean>`lower(display_name) LIKE ${prefix} ESCAPE '\\'`,
      ]),
    )
    // Vendor by name (ninja, threatlocker), whatever their ids, then hostname.
    .orderBy(sql`CASE WHEN vendor_id = ${vendorIds.ninja} THEN 0 ELSE 1 END`)
    .orderBy('hostname')
    .limit(options.limit + 1)
    .execute();
  const devices: FoundDevice[] = rows.slice(0, options.limit).map((r) => {
    const vendor = vendorOf.get(r.vendor_id) ?? 'ninja';
    return {
      vendor,
      hostname: r.hostname,
      display_name: r.display_name,
      organization_name: r.organization_name,
      snapshot_date: r.snapshot_date,
      canonical_key: r.canonical_hostname,
      is_truncated: vendor === 'ninja' && r.canonical_hostname.length === NETBIOS_LENGTH,
    };
  });
  return { devices, truncated: rows.length > options.limit, dates };
}
