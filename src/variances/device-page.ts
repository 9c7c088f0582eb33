/**
 * The device page: one device of one tool as the hub knows it — its latest snapshot, its
 * counterpart in the other tool (found by the check's own matching), where the two differ, the
 * variances naming it with their history, how its snapshot changed day by day, and its syncs.
 * Read-only; index lookups except the timeline (see `readSnapshots`).
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB, DeviceSnapshotTable, SnapshotAttributes } from '../db/schema.js';
import type { VendorIds, VendorKey } from '../inventory/vendors.js';
import { runChecks } from './checks.js';
import { toEventItem, toVarianceItem, type VarianceEventItem, type VarianceItem } from './queries.js';
import { readNeighbourhood } from './reevaluate.js';
import { readOrganizationLinks } from './run.js';
import type { CheckSettings, MatchQuality } from './types.js';
import { toSyncHistoryEntry, type SyncHistoryEntry } from '../sync/sync-log.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** Every attribute a normalizer fills, in the order the page shows them. */
export const SNAPSHOT_FIELDS = [
  'hostname',
  'canonical_hostname',
  'display_name',
  'organization_name',
  'organization_id',
  'location_name',
  'os_name',
  'device_status',
  'last_online',
  'agent_install_timestamp',
  'computer_group',
  'security_mode',
  'deny_count_1d',
  'deny_count_3d',
  'deny_count_7d',
  'install_date',
  'is_locked_out',
  'is_isolated',
  'agent_version',
  'has_checked_in',
  'device_type_name',
  'billable_status_name',
  'node_class',
  'is_vm_guest',
  'system_name',
  'system_manufacturer',
  'system_model',
  'serial_number',
  'last_logged_in_user',
  'public_ip',
] as const satisfies readonly (keyof SnapshotAttributes)[];
export type SnapshotField = (typeof SNAPSHOT_FIELDS)[number];

/**
 * Fields left out of the timeline: they move with every check-in (last contact, deny counts of a
 * sliding window), so a change in them says nothing about the device and would fill every day.
 */
const VOLATILE: ReadonlySet<SnapshotField> = new Set(['last_online', 'deny_count_1d', 'deny_count_3d', 'deny_count_7d']);

/**
 * Fields compared between a device and its counterpart: the ones both tools fill with the same
 * meaning. Values are compared as stored (an organization linked under another name differs).
 */
export const COMPARED_FIELDS = ['hostname', 'canonical_hostname', 'display_name', 'organization_name', 'os_name'] as const satisfies readonly SnapshotField[];

type FieldValue = string | number | boolean | null;
export type SnapshotView = { readonly snapshot_date: string; readonly source: string } & Readonly<Record<SnapshotField, FieldValue>>;

export interface DeviceCounterpart {
  readonly vendor: VendorKey;
  readonly device_key: string;
  readonly match_quality: MatchQuality;
  /** The day the pair was matched on (the latest day both tools have data for the device). */
  readonly matched_on: string;
  /** The counterpart's snapshot of `matched_on`. */
  readonly latest: SnapshotView;
}

export interface DevicePage {
  readonly vendor: VendorKey;
  readonly device_key: string;
  readonly first_seen: string;
  readonly last_seen: string;
  readonly latest: SnapshotView | null;
  readonly counterpart: DeviceCounterpart | null;
  /** COMPARED_FIELDS whose values differ between the pair on `matched_on`. */
  readonly differences: SnapshotField[];
  readonly variances: (VarianceItem & { events: VarianceEventItem[] })[];
  readonly timeline: { snapshot_date: string; changes: Partial<Record<SnapshotField, { from: FieldValue; to: FieldValue }>> }[];
  readonly sync_history: SyncHistoryEntry[];
}

export interface DevicePageContext {
  readonly vendorIds: VendorIds;
  readonly settings: CheckSettings;
}

const SYNC_HISTORY_LIMIT = 50;
const OTHER: Readonly<Record<VendorKey, VendorKey>> = { threatlocker: 'ninja', ninja: 'threatlocker' };

type SnapshotRow = Pick<DeviceSnapshotTable, 'snapshot_date' | 'source'> & Record<SnapshotField, FieldValue | Date>;

function view(row: SnapshotRow): SnapshotView {
  const out: Record<string, FieldValue> = { snapshot_date: row.snapshot_date, source: row.source };
  for (const f of SNAPSHOT_FIELDS) {
    const v = row[f];
    out[f] = v instanceof Date ? v.toISOString() : v;
  }
  return out as SnapshotView;
}

/**
 * Every stored day of one device, oldest first. Read by identity over the vendor's partitions:
 * no index serves it (the snapshot indexes are by day and name), so it costs a scan of the
 * vendor's stored days — acceptable for one page view; an index per partition would fix it.
 */
async function readSnapshots(db: Executor, vendorId: number, identityId: number): Promise<SnapshotView[]> {
  const rows = await db
    .selectFrom('device_snapshot')
    .select(['snapshot_date', 'source', ...SNAPSHOT_FIELDS])
    .where('vendor_id', '=', vendorId)
    .where('device_identity_id', '=', identityId)
    .orderBy('snapshot_date')
    .execute();
  return rows.map((r) => view(r as SnapshotRow));
}

/** One device's snapshot of a day, by its vendor key. */
async function readSnapshotOn(db: Executor, vendorId: number, deviceKey: string, date: string): Promise<SnapshotView | null> {
  const row = await db
    .selectFrom('device_snapshot as s')
    .innerJoin('device_identity as i', 'i.id', 's.device_identity_id')
    .select(['s.snapshot_date', 's.source', ...SNAPSHOT_FIELDS.map((f) => `s.${f}` as const)])
    .where('s.snapshot_date', '=', date)
    .where('s.vendor_id', '=', vendorId)
    .where('i.vendor_id', '=', vendorId)
    .where('i.vendor_device_key', '=', deviceKey)
    .executeTakeFirst();
  return row ? view(row) : null;
}

/** Day-over-day changes of the tracked fields; the first day shows every field as `to`. */
export function timelineOf(snapshots: readonly SnapshotView[]): DevicePage['timeline'] {
  const out: DevicePage['timeline'] = [];
  let before: SnapshotView | undefined;
  for (const s of snapshots) {
    const changes: DevicePage['timeline'][number]['changes'] = {};
    for (const f of SNAPSHOT_FIELDS) {
      if (VOLATILE.has(f)) continue;
      const from = before === undefined ? null : before[f];
      if (before === undefined || from !== s[f]) changes[f] = { from, to: s[f] };
    }
    // Days on which nothing tracked changed are left out: the timeline lists changes.
    if (before === undefined || Object.keys(changes).length > 0) out.push({ snapshot_date: s.snapshot_date, changes });
    before = s;
  }
  return out;
}

/**
 * The day to match on: the latest of the device's days that the other tool collected too (a
 * day only one tool has collected yet would show no counterpart).
 */
async function matchDay(db: Executor, otherVendorId: number, days: readonly string[]): Promise<string | null> {
  if (days.length === 0) return null;
  const r = await db
    .selectFrom('snapshot_day')
    .select((eb) => eb.fn.max('snapshot_date').as('d'))
    .where('vendor_id', '=', otherVendorId)
    .where('collected_at', 'is not', null)
    .where('snapshot_date', 'in', days)
    .executeTakeFirst();
  return r?.d ?? null;
}

/**
 * Both tools' organization names of a day, as the check's organization mapping needs them: the
 * check run's record when it ran over that day, else read from the day (two DISTINCTs).
 */
async function organizationsOf(db: Executor, vendorIds: VendorIds, date: string): Promise<Record<VendorKey, string[]>> {
  const run = await db
    .selectFrom('variance_run')
    .select('organizations')
    .where('status', '=', 'completed')
    .where('snapshot_date', '=', date)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (run?.organizations) return { threatlocker: run.organizations.threatlocker ?? [], ninja: run.organizations.ninja ?? [] };
  const rows = await db
    .selectFrom('device_snapshot')
    .select(['vendor_id', 'organization_name'])
    .distinct()
    .where('snapshot_date', '=', date)
    .where('vendor_id', 'in', [vendorIds.threatlocker, vendorIds.ninja])
    .where('organization_name', 'is not', null)
    .execute();
  const names = (vendor: VendorKey) => rows.filter((r) => r.vendor_id === vendorIds[vendor] && r.organization_name !== null).map((r) => r.organization_name as string);
  return { threatlocker: names('threatlocker'), ninja: names('ninja') };
}

/**
 * The device's counterpart on `date` by the check's rules (runChecks over the device's
 * neighbourhood, with the whole day's organization names), or null when it pairs with nothing.
 */
async function findCounterpart(
  db: Executor,
  context: DevicePageContext,
  vendor: VendorKey,
  deviceKey: string,
  subject: SnapshotView,
): Promise<{ deviceKey: string; quality: MatchQuality } | null> {
  const date = subject.snapshot_date;
  const devices = await readNeighbourhood(db, context.vendorIds, {
    vendor,
    deviceKey,
    canonicalHostname: String(subject.canonical_hostname),
    snapshotDate: date,
  });
  const links = await readOrganizationLinks(db);
  const organizations = await organizationsOf(db, context.vendorIds, date);
  const { pairs } = runChecks({ date, devices, links, settings: context.settings, organizations });
  for (const p of pairs) {
    const [mine, theirs] = vendor === p.security.vendor ? [p.security, p.rmm] : [p.rmm, p.security];
    if (mine.vendor === vendor && mine.deviceKey === deviceKey) return { deviceKey: theirs.deviceKey, quality: p.quality };
  }
  return null;
}

/** The variances naming the device (any status), newest first, each with its events oldest first. */
async function variancesOf(db: Executor, vendor: VendorKey, deviceKey: string): Promise<DevicePage['variances']> {
  const rows = await db
    .selectFrom('variance')
    .selectAll()
    .where('id', 'in', (eb) => eb.selectFrom('variance_device').select('variance_id').where('vendor', '=', vendor).where('device_key', '=', deviceKey))
    .orderBy('id', 'desc')
    .execute();
  if (rows.length === 0) return [];
  const events = await db
    .selectFrom('variance_event')
    .selectAll()
    .where('variance_id', 'in', rows.map((r) => r.id))
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    ...toVarianceItem(r),
    events: events.filter((e) => e.variance_id === r.id).map(toEventItem),
  }));
}

async function syncHistoryOf(db: Executor, identityId: number): Promise<SyncHistoryEntry[]> {
  const rows = await db
    .selectFrom('device_sync_log')
    .selectAll()
    .where('device_identity_id', '=', identityId)
    .orderBy('write_seq', 'desc')
    .limit(SYNC_HISTORY_LIMIT)
    .execute();
  return rows.map(toSyncHistoryEntry);
}

/**
 * ThreatLocker computer ids are GUIDs, stored lower-case (any case names the same computer);
 * NinjaOne ids are numbers, taken as given.
 */
export function normalizeDeviceKey(vendor: VendorKey, key: string): string {
  return vendor === 'threatlocker' ? key.toLowerCase() : key;
}

/**
 * The device page, or undefined when the hub has never seen the device.
 *
 * @example
 *   const page = await devicePage(db, { vendorIds, settings }, 'ninja', '1187');
 *   page?.counterpart?.device_key; // the ThreatLocker computer it is matched with
 */
export async function devicePage(db: Executor, context: DevicePageContext, vendor: VendorKey, key: string): Promise<DevicePage | undefined> {
  const deviceKey = normalizeDeviceKey(vendor, key);
  const vendorId = context.vendorIds[vendor];
  const identity = await db
    .selectFrom('device_identity')
    .select(['id', 'first_seen_date', 'last_seen_date'])
    .where('vendor_id', '=', vendorId)
    .where('vendor_device_key', '=', deviceKey)
    .executeTakeFirst();
  if (!identity) return undefined;

  const snapshots = await readSnapshots(db, vendorId, identity.id);
  const latest = snapshots[snapshots.length - 1] ?? null;
  const other = OTHER[vendor];
  const day = await matchDay(db, context.vendorIds[other], snapshots.map((s) => s.snapshot_date));
  let counterpart: DeviceCounterpart | null = null;
  let differences: SnapshotField[] = [];
  const subject = day === null ? undefined : snapshots.find((s) => s.snapshot_date === day);
  if (day !== null && subject !== undefined) {
    const found = await findCounterpart(db, context, vendor, deviceKey, subject);
    const theirs = found ? await readSnapshotOn(db, context.vendorIds[other], found.deviceKey, day) : null;
    if (found && theirs) {
      counterpart = { vendor: other, device_key: found.deviceKey, match_quality: found.quality, matched_on: day, latest: theirs };
      differences = COMPARED_FIELDS.filter((f) => subject[f] !== theirs[f]);
    }
  }

  return {
    vendor,
    device_key: deviceKey,
    first_seen: identity.first_seen_date,
    last_seen: identity.last_seen_date,
    latest,
    counterpart,
    differences,
    variances: await variancesOf(db, vendor, deviceKey),
    timeline: timelineOf(snapshots),
    sync_history: await syncHistoryOf(db, identity.id),
  };
}
