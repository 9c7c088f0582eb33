/**
 * The upstream-compatible reports over the variance store: the variance report of a day (the
 * dashboard's blocks by organization), the days that have one, trends per type and day, and the
 * "exceptions" views (an exception is a variance). Read-only; every function takes its executor
 * first. Shapes follow the existing deployments' API (docs/api.md, "Upstream-compatible
 * reports"), with their known defects fixed.
 *
 * One rule maps the lifecycle onto upstream's boolean everywhere: `resolved` is `status !==
 * 'open'` — a resolved or accepted variance needs no action; `status` says which.
 */
import ExcelJS from 'exceljs';
import { PassThrough } from 'node:stream';
import { sql, type Kysely, type Transaction } from 'kysely';
import { latestRunDate } from './lifecycle.js';
import { applyFilter, type VarianceSelection } from './queries.js';
import type { Clock } from '../clock.js';
import type { DB, VarianceRow } from '../db/schema.js';
import type { VendorIds } from '../inventory/vendors.js';
import { VARIANCE_TYPES, type VarianceDeviceRef, type VarianceStatus, type VarianceType } from './types.js';

type Executor = Kysely<DB> | Transaction<DB>;

/**
 * The dashboard's block key per type. The first four are upstream's; the two types upstream
 * never checked get keys in the same style (`ninja_duplicates` is the name upstream's own
 * documents used). SITE_MISMATCH has no block upstream and gets none here: it is listed in
 * `exceptions_by_type` and counted in `exception_counts`.
 */
export const DASHBOARD_KEYS = {
  MISSING_NINJA: 'missing_in_ninja',
  MISSING_THREATLOCKER: 'missing_in_threatlocker',
  DUPLICATE_TL: 'threatlocker_duplicates',
  DUPLICATE_NINJA: 'ninja_duplicates',
  SPARE_MISMATCH: 'devices_that_should_not_have_threatlocker',
  DISPLAY_NAME_MISMATCH: 'display_name_mismatches',
} as const satisfies Partial<Record<VarianceType, string>>;

export type DashboardKey = (typeof DASHBOARD_KEYS)[keyof typeof DASHBOARD_KEYS];

/** The organization key of a variance without one (upstream could emit `null` keys and crash). */
export const UNKNOWN_ORGANIZATION = 'Unknown';

/** Days a report's data may be old and still be `current`. */
const CURRENT_DAYS = 1;

/** Whole days from `from` to `to` (both YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** `date` moved by `days` (YYYY-MM-DD). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}


/** Whether a check run completed over `date`. */
async function hasCompletedRun(db: Executor, date: string): Promise<boolean> {
  const r = await db.selectFrom('variance_run').select('id').where('status', '=', 'completed').where('snapshot_date', '=', date).limit(1).executeTakeFirst();
  return r !== undefined;
}

export interface ExceptionItem {
  readonly id: number;
  readonly type: string;
  readonly hostname: string;
  /** The check's evidence, with the devices concerned (upstream's `details`). */
  readonly details: Readonly<Record<string, unknown>>;
  readonly resolved: boolean;
  readonly status: VarianceStatus;
  readonly organization: string | null;
  readonly hint: string;
  readonly first_seen: string;
  readonly last_seen: string;
}

function toExceptionItem(v: VarianceRow, status: VarianceStatus): ExceptionItem {
  return {
    id: v.id,
    type: v.type,
    hostname: v.hostname,
    details: { ...(v.evidence as Record<string, unknown>), devices: v.devices },
    resolved: status !== 'open',
    status,
    organization: v.organization,
    hint: v.hint,
    first_seen: v.first_seen,
    last_seen: v.last_seen,
  };
}

/** One device entry of a dashboard block (upstream's shape, from the variance's own devices). */
export interface DeviceEntry {
  readonly id: number;
  readonly hostname: string;
  readonly vendor: string;
  readonly display_name: string | null;
  readonly organization: string;
  /** NinjaOne's billable status (`spare`/`billable`) when the variance has it; upstream put the device status here. */
  readonly billing_status: string;
  readonly action: string;
  readonly status: VarianceStatus;
  readonly first_seen: string;
  readonly [extra: string]: unknown;
}

function deviceEntry(v: VarianceRow, status: VarianceStatus): DeviceEntry {
  const devices = v.devices as VarianceDeviceRef[];
  const evidence = v.evidence as Record<string, unknown>;
  const first = devices[0];
  const tl = devices.find((d) => d.vendor === 'threatlocker');
  const ninja = devices.find((d) => d.vendor === 'ninja');
  const billing = typeof evidence.rmm_billable_status === 'string' ? evidence.rmm_billable_status : 'Unknown';
  const base: DeviceEntry = {
    id: v.id,
    hostname: v.hostname,
    vendor: first?.vendor ?? 'Unknown',
    display_name: v.type === 'DISPLAY_NAME_MISMATCH' ? (ninja?.display_name ?? null) : (first?.display_name ?? null),
    organization: v.organization ?? UNKNOWN_ORGANIZATION,
    billing_status: billing,
    action: v.hint,
    status,
    first_seen: v.first_seen,
  };
  if (v.type !== 'DISPLAY_NAME_MISMATCH') return base;
  return {
    ...base,
    ninja_display_name: ninja?.display_name ?? null,
    threatlocker_display_name: tl?.display_name ?? null,
    ninja_hostname: ninja?.hostname ?? null,
    threatlocker_hostname: tl?.hostname ?? null,
  };
}

export interface DashboardBlock {
  readonly total_count: number;
  readonly by_organization: Record<string, DeviceEntry[]>;
}

export interface VarianceReport {
  readonly report_date: string;
  readonly data_status: { status: 'current' | 'stale_data' | 'historical'; message: string; latest_date: string };
  readonly summary: { total_exceptions: number; unresolved_count: number; resolved_count: number; accepted_count: number };
  readonly exceptions_by_type: Record<string, ExceptionItem[]>;
  readonly exception_counts: Record<string, number>;
  readonly collection_info: {
    ninja_collected: string | null;
    threatlocker_collected: string | null;
    last_collection: string;
    data_freshness: 'current' | 'stale';
  };
  readonly blocks: Record<DashboardKey, DashboardBlock>;
}

/** A variance of a checked day with the status the report gives it. */
interface DayItem {
  readonly row: VarianceRow;
  readonly status: VarianceStatus;
}

type CollectionInfo = VarianceReport['collection_info'];

/** The data status of the latest checked day: `current` while at most a day old. */
interface LatestDataStatus {
  readonly status: 'current' | 'stale_data';
  readonly message: string;
  readonly latest_date: string;
}

/** What every report of a checked day reads: its variances, its freshness and its collections. */
interface CheckedDay {
  readonly date: string;
  readonly items: DayItem[];
  /** The latest checked day's data status, or undefined when `date` is an earlier day. */
  readonly latestStatus: LatestDataStatus | undefined;
  readonly latest: string;
  readonly collectionInfo: CollectionInfo;
  /** Each vendor's device rows of the day. */
  readonly deviceCounts: { readonly ninja: number; readonly threatlocker: number };
}

/**
 * The reads behind every report of a checked day (`{ date }`, or the latest one): the variances
 * that day's check found (ordered by type, organization, hostname, id), each with the status it
 * has now when the day is the latest checked day (people act after the check), else the one it
 * had after that day's check (variance_observation); the day's freshness; and what each
 * vendor's collection of the day wrote (snapshot_day). Undefined when no check completed over
 * the day.
 */
async function readCheckedDay(db: Executor, clock: Clock, vendorIds: VendorIds, which: { readonly date: string } | 'latest'): Promise<CheckedDay | undefined> {
  const latest = await latestRunDate(db);
  if (latest === null) return undefined;
  const date = which === 'latest' ? latest : which.date;
  if (date !== latest && !(await hasCompletedRun(db, date))) return undefined;
  const isLatest = date === latest;
  const rows = await db
    .selectFrom('variance_observation as o')
    .innerJoin('variance as v', 'v.id', 'o.variance_id')
    .selectAll('v')
    .select('o.status as observed_status')
    .where('o.snapshot_date', '=', date)
    .orderBy('v.type')
    .orderBy('v.organization')
    .orderBy('v.hostname')
    .orderBy('v.id')
    .execute();
  const items = rows.map(({ observed_status, ...row }) => ({ row, status: isLatest ? row.status : observed_status }));

  const days = await db.selectFrom('snapshot_day').select(['vendor_id', 'collected_at', 'device_count']).where('snapshot_date', '=', date).execute();
  const day = (vendorId: number) => days.find((d) => d.vendor_id === vendorId);
  const ninjaCollected = day(vendorIds.ninja)?.collected_at?.toISOString() ?? null;
  const tlCollected = day(vendorIds.threatlocker)?.collected_at?.toISOString() ?? null;
  const collected = [ninjaCollected, tlCollected].filter((x): x is string => x !== null).sort();
  const age = daysBetween(date, clock.today());
  const fresh = age <= CURRENT_DAYS;

  return {
    date,
    items,
    latestStatus: isLatest ? { status: fresh ? 'current' : 'stale_data', message: fresh ? 'Data is current' : `Data is ${age} days old`, latest_date: latest } : undefined,
    latest,
    collectionInfo: {
      ninja_collected: ninjaCollected,
      threatlocker_collected: tlCollected,
      last_collection: collected[collected.length - 1] ?? date,
      data_freshness: fresh ? 'current' : 'stale',
    },
    deviceCounts: { ninja: Number(day(vendorIds.ninja)?.device_count ?? 0), threatlocker: Number(day(vendorIds.threatlocker)?.device_count ?? 0) },
  };
}

/**
 * The variance report of `date` (a day a check completed over): every variance that check found,
 * grouped by type and, for the dashboard's blocks, by organization. The status of each is the
 * one it has now when `date` is the latest checked day (people act after the check), else the
 * one it had after that day's check (variance_observation). Without `includeResolved` the lists
 * and blocks hold open variances only; the summary always covers every variance of the day.
 * Undefined when no check completed over `date`.
 */
export async function varianceReport(
  db: Executor,
  clock: Clock,
  vendorIds: VendorIds,
  date: string,
  options: { includeResolved: boolean },
): Promise<VarianceReport | undefined> {
  const day = await readCheckedDay(db, clock, vendorIds, { date });
  if (!day) return undefined;
  const { items } = day;
  const summary = { total_exceptions: items.length, unresolved_count: 0, resolved_count: 0, accepted_count: 0 };
  for (const i of items) {
    if (i.status === 'open') summary.unresolved_count += 1;
    else summary.resolved_count += 1;
    if (i.status === 'accepted') summary.accepted_count += 1;
  }
  const shown = options.includeResolved ? items : items.filter((i) => i.status === 'open');

  const exceptionsByType: Record<string, ExceptionItem[]> = {};
  const counts: Record<string, number> = Object.fromEntries(VARIANCE_TYPES.map((t) => [t, 0]));
  const blocks = Object.fromEntries(Object.values(DASHBOARD_KEYS).map((k) => [k, { total_count: 0, by_organization: {} }])) as Record<DashboardKey, DashboardBlock>;
  for (const { row, status } of shown) {
    (exceptionsByType[row.type] ??= []).push(toExceptionItem(row, status));
    counts[row.type] = (counts[row.type] ?? 0) + 1;
    const key = (DASHBOARD_KEYS as Partial<Record<string, DashboardKey>>)[row.type];
    if (key === undefined) continue;
    const block = blocks[key];
    (block.by_organization[row.organization ?? UNKNOWN_ORGANIZATION] ??= []).push(deviceEntry(row, status));
    blocks[key] = { ...block, total_count: block.total_count + 1 };
  }

  return {
    report_date: date,
    data_status: day.latestStatus ?? { status: 'historical', message: `Report of ${date}; the latest checked day is ${day.latest}`, latest_date: day.latest },
    summary,
    exceptions_by_type: exceptionsByType,
    exception_counts: counts,
    collection_info: day.collectionInfo,
    blocks,
  };
}

// ---------------------------------------------------------------------------------------------
// Filtered report (upstream's /api/variance-report/filtered)

/**
 * Upstream's thresholds for the filtered report's priority actions: more open variances of the
 * type than this on the latest checked day. Only these two types have one (as upstream).
 */
export const PRIORITY_TRIGGERS = { DISPLAY_NAME_MISMATCH: 50, MISSING_NINJA: 20 } as const satisfies Partial<Record<VarianceType, number>>;

/** Blocks of the filtered report that list their devices flat (upstream's `devices`), not by organization. */
const LISTED_BLOCKS = new Set<DashboardKey>([DASHBOARD_KEYS.DUPLICATE_TL, DASHBOARD_KEYS.DUPLICATE_NINJA]);
type ListedKey = typeof DASHBOARD_KEYS.DUPLICATE_TL | typeof DASHBOARD_KEYS.DUPLICATE_NINJA;

/** One variance in a block of the filtered report: upstream's `{hostname, details, action}` and more. */
export interface FilteredEntry {
  readonly id: number;
  readonly hostname: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly action: string;
  /** The variance's own organization, for every type ("Unknown" when none). */
  readonly organization: string;
  readonly first_seen: string;
  readonly [extra: string]: unknown;
}

export interface FilteredByOrganization {
  readonly total_count: number;
  readonly by_organization: Record<string, FilteredEntry[]>;
}
export interface FilteredList {
  readonly total_count: number;
  readonly devices: FilteredEntry[];
}
type FilteredBlock = FilteredByOrganization | FilteredList;

export interface FilteredReport {
  readonly analysis_date: string;
  readonly total_devices: { readonly ninja: number; readonly threatlocker: number };
  readonly total_variances: number;
  readonly data_status: LatestDataStatus;
  /** The day's freshness: `current` or `stale_data` (upstream: always `current`). */
  readonly status: LatestDataStatus['status'];
  readonly blocks: { [K in DashboardKey]: K extends ListedKey ? FilteredList : FilteredByOrganization };
  readonly actionable_insights: { readonly priority_actions: string[]; readonly summary: Record<string, number> };
  readonly collection_info: CollectionInfo;
  readonly data_quality: { readonly total_exceptions: number; readonly exception_types: string[]; readonly organizations_affected: number };
}

/** What the filtered report can be narrowed to; absent means any. */
export interface FilteredReportFilter {
  readonly type?: VarianceType | undefined;
  /** An organization key as the report groups by (`Unknown` selects variances without one). */
  readonly organization?: string | undefined;
}

function filteredEntry(v: VarianceRow): FilteredEntry {
  const devices = v.devices as VarianceDeviceRef[];
  const tl = devices.find((d) => d.vendor === 'threatlocker');
  const ninja = devices.find((d) => d.vendor === 'ninja');
  const base: FilteredEntry = {
    id: v.id,
    hostname: v.hostname,
    details: toExceptionItem(v, v.status).details,
    action: v.hint,
    organization: v.organization ?? UNKNOWN_ORGANIZATION,
    first_seen: v.first_seen,
  };
  switch (v.type) {
    case 'DISPLAY_NAME_MISMATCH':
      return { ...base, ninja_display_name: ninja?.display_name ?? null, threatlocker_computer_name: tl?.display_name ?? null };
    case 'MISSING_NINJA':
      return { ...base, threatlocker_hostname: tl?.hostname ?? null };
    case 'MISSING_THREATLOCKER':
      return { ...base, ninja_hostname: ninja?.hostname ?? null };
    default:
      return base;
  }
}

/**
 * Upstream's "filtered" dashboard report: the variances of the latest checked day that are open
 * now, in blocks per dashboard key (duplicates as a flat `devices` list, the others by
 * organization), with priority actions past {@link PRIORITY_TRIGGERS}, counts per type and the
 * organizations affected. Built from the same reads as {@link varianceReport}; every entry is
 * grouped under its variance's own organization (upstream put every spare mismatch under
 * "Unknown"). Undefined when no check has completed.
 */
export async function filteredVarianceReport(db: Executor, clock: Clock, vendorIds: VendorIds, filter: FilteredReportFilter): Promise<FilteredReport | undefined> {
  const day = await readCheckedDay(db, clock, vendorIds, 'latest');
  // latestStatus is set whenever the day read is the latest, as asked here.
  if (!day?.latestStatus) return undefined;
  const open = day.items
    .filter(
      ({ row, status }) =>
        status === 'open' &&
        (filter.type === undefined || row.type === filter.type) &&
        (filter.organization === undefined || (row.organization ?? UNKNOWN_ORGANIZATION) === filter.organization),
    )
    .map((i) => i.row);

  const blocks = Object.fromEntries(
    Object.values(DASHBOARD_KEYS).map((k) => [k, LISTED_BLOCKS.has(k) ? { total_count: 0, devices: [] } : { total_count: 0, by_organization: {} }]),
  ) as Record<DashboardKey, FilteredBlock>;
  const perType: Record<string, number> = {};
  const organizations = new Set<string>();
  for (const v of open) {
    perType[v.type] = (perType[v.type] ?? 0) + 1;
    organizations.add(v.organization ?? UNKNOWN_ORGANIZATION);
    const key = (DASHBOARD_KEYS as Partial<Record<string, DashboardKey>>)[v.type];
    if (key === undefined) continue;
    const block = blocks[key];
    const entry = filteredEntry(v);
    if ('devices' in block) block.devices.push(entry);
    else (block.by_organization[entry.organization] ??= []).push(entry);
    blocks[key] = { ...block, total_count: block.total_count + 1 };
  }

  const priority: string[] = [];
  const mismatches = perType.DISPLAY_NAME_MISMATCH ?? 0;
  const missing = perType.MISSING_NINJA ?? 0;
  if (mismatches > PRIORITY_TRIGGERS.DISPLAY_NAME_MISMATCH) priority.push(`High priority: ${mismatches} display name mismatches need attention`);
  if (missing > PRIORITY_TRIGGERS.MISSING_NINJA) priority.push(`Critical: ${missing} devices missing from Ninja`);

  return {
    analysis_date: day.date,
    total_devices: day.deviceCounts,
    total_variances: open.length,
    data_status: day.latestStatus,
    status: day.latestStatus.status,
    // Each key got its kind of block above (LISTED_BLOCKS mirrors ListedKey).
    blocks: blocks as FilteredReport['blocks'],
    actionable_insights: { priority_actions: priority, summary: perType },
    collection_info: day.collectionInfo,
    data_quality: { total_exceptions: open.length, exception_types: Object.keys(perType), organizations_affected: organizations.size },
  };
}

export interface AvailableDate {
  readonly date: string;
  readonly ninja_devices: number;
  readonly threatlocker_devices: number;
  readonly total_exceptions: number;
  readonly unresolved_exceptions: number;
  readonly data_quality: 'current' | 'recent' | 'stale';
  readonly days_old: number;
}

/**
 * The days a check completed over within the last `days` days (today in the business time zone
 * included), newest first, with each vendor's device count of the day and the variances that
 * day's check found (open after it = unresolved). Three queries, whatever the number of days.
 */
export async function availableDates(db: Executor, clock: Clock, vendorIds: VendorIds, days: number): Promise<AvailableDate[]> {
  const today = clock.today();
  const since = addDays(today, -(days - 1));
  const runs = await db
    .selectFrom('variance_run')
    .select('snapshot_date')
    .distinct()
    .where('status', '=', 'completed')
    .where('snapshot_date', '>=', since)
    .where('snapshot_date', '<=', today)
    .orderBy('snapshot_date', 'desc')
    .execute();
  if (runs.length === 0) return [];
  const dates = runs.map((r) => r.snapshot_date);
  const devices = await db.selectFrom('snapshot_day').select(['snapshot_date', 'vendor_id', 'device_count']).where('snapshot_date', 'in', dates).execute();
  const observed = await db
    .selectFrom('variance_observation')
    .select(['snapshot_date', sql<string>`count(*)`.as('total'), sql<string>`count(*) FILTER (WHERE status = 'open')`.as('open')])
    .where('snapshot_date', 'in', dates)
    .groupBy('snapshot_date')
    .execute();
  return dates.map((date) => {
    const count = (vendorId: number) => Number(devices.find((d) => d.snapshot_date === date && d.vendor_id === vendorId)?.device_count ?? 0);
    const o = observed.find((x) => x.snapshot_date === date);
    const age = daysBetween(date, today);
    return {
      date,
      ninja_devices: count(vendorIds.ninja),
      threatlocker_devices: count(vendorIds.threatlocker),
      total_exceptions: Number(o?.total ?? 0),
      unresolved_exceptions: Number(o?.open ?? 0),
      data_quality: age <= 1 ? 'current' : age <= 3 ? 'recent' : 'stale',
      days_old: age,
    };
  });
}

export interface TrendCounts {
  readonly total: number;
  readonly unresolved: number;
  readonly resolved: number;
  readonly accepted: number;
}

export interface Trends {
  readonly trends_by_date: Record<string, Record<string, TrendCounts>>;
  readonly trends_by_type: Record<string, (TrendCounts & { date: string })[]>;
  readonly summary: {
    total_exceptions: number;
    total_unresolved: number;
    total_resolved: number;
    date_range: { start: string; end: string };
    unique_dates: number;
    unique_types: number;
  };
  readonly date_range: { start_date: string; end_date: string; days: number };
}

/**
 * Variances found per type and day from `start` to `end` (inclusive), from the day's check
 * (variance_observation): `unresolved` were open after that check, `resolved` were not
 * (accepted; `accepted` counts those). Days without a check are absent. One query.
 */
export async function varianceTrends(db: Executor, start: string, end: string, type: VarianceType | undefined): Promise<Trends> {
  let q = db
    .selectFrom('variance_observation as o')
    .innerJoin('variance as v', 'v.id', 'o.variance_id')
    .select([
      'o.snapshot_date as date',
      'v.type as type',
      sql<string>`count(*)`.as('total'),
      sql<string>`count(*) FILTER (WHERE o.status = 'open')`.as('open'),
      sql<string>`count(*) FILTER (WHERE o.status = 'accepted')`.as('accepted'),
    ])
    .where('o.snapshot_date', '>=', start)
    .where('o.snapshot_date', '<=', end);
  if (type !== undefined) q = q.where('v.type', '=', type);
  const rows = await q.groupBy(['o.snapshot_date', 'v.type']).orderBy('o.snapshot_date').orderBy('v.type').execute();

  const byDate: Record<string, Record<string, TrendCounts>> = {};
  const byType: Record<string, (TrendCounts & { date: string })[]> = {};
  let total = 0;
  let unresolved = 0;
  for (const r of rows) {
    const counts = { total: Number(r.total), unresolved: Number(r.open), resolved: Number(r.total) - Number(r.open), accepted: Number(r.accepted) };
    (byDate[r.date] ??= {})[r.type] = counts;
    (byType[r.type] ??= []).push({ date: r.date, ...counts });
    total += counts.total;
    unresolved += counts.unresolved;
  }
  return {
    trends_by_date: byDate,
    trends_by_type: byType,
    summary: {
      total_exceptions: total,
      total_unresolved: unresolved,
      total_resolved: total - unresolved,
      date_range: { start, end },
      unique_dates: Object.keys(byDate).length,
      unique_types: Object.keys(byType).length,
    },
    date_range: { start_date: start, end_date: end, days: daysBetween(start, end) + 1 },
  };
}

// ---------------------------------------------------------------------------------------------
// Exceptions

export interface ExceptionFilter {
  readonly type?: VarianceType | undefined;
  /** true: resolved or accepted; false: open; undefined: all. */
  readonly resolved?: boolean | undefined;
  readonly limit: number;
  readonly offset: number;
}

/** An exception as upstream's list shows it, with the lifecycle's fields beside. */
export type ExceptionListItem = ExceptionItem & { readonly date_found: string };

/**
 * Variances as upstream's exception list: the most recently found first (`date_found` is the
 * last day a check found it), then type, hostname and id (a stable order for offset paging).
 */
export async function listExceptions(db: Executor, filter: ExceptionFilter): Promise<ExceptionListItem[]> {
  let q = db.selectFrom('variance').selectAll();
  if (filter.type !== undefined) q = q.where('type', '=', filter.type);
  if (filter.resolved === true) q = q.where('status', '<>', 'open');
  if (filter.resolved === false) q = q.where('status', '=', 'open');
  const rows = await q.orderBy('last_seen', 'desc').orderBy('type').orderBy('hostname').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
  return rows.map((v) => ({ ...toExceptionItem(v, v.status), date_found: v.last_seen }));
}

/** Open variances of `type` (now, not on a calendar day: they persist until resolved). */
export async function openCount(db: Executor, type: VarianceType): Promise<number> {
  const r = await db
    .selectFrom('variance')
    .select(sql<string>`count(*)`.as('n'))
    .where('type', '=', type)
    .where('status', '=', 'open')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export interface StatusSummary {
  /** Per status (open, resolved, accepted), per type: how many variances have it now. */
  readonly by_status: Record<VarianceStatus, Record<string, number>>;
  /** Upstream's shape, over the variances found by the latest check: `active` per type. */
  readonly status_summary: { active: Record<string, { total: number; resolved: number; unresolved: number }> };
  readonly recent_manual_updates: {
    variance_id: number;
    type: string;
    hostname: string;
    kind: string;
    actor: string;
    note: string | null;
    at: string;
  }[];
  readonly report_date: string | null;
}

/** Counts by status and type, the latest check's variances by type, and the last 20 things people did. */
export async function statusSummary(db: Executor): Promise<StatusSummary> {
  const byStatusRows = await db.selectFrom('variance').select(['status', 'type', sql<string>`count(*)`.as('n')]).groupBy(['status', 'type']).orderBy('type').execute();
  const byStatus: Record<VarianceStatus, Record<string, number>> = { open: {}, resolved: {}, accepted: {} };
  for (const r of byStatusRows) byStatus[r.status][r.type] = Number(r.n);

  const date = await latestRunDate(db);
  const active: Record<string, { total: number; resolved: number; unresolved: number }> = {};
  if (date !== null) {
    const rows = await db
      .selectFrom('variance_observation as o')
      .innerJoin('variance as v', 'v.id', 'o.variance_id')
      .select(['v.type as type', sql<string>`count(*)`.as('total'), sql<string>`count(*) FILTER (WHERE v.status = 'open')`.as('open')])
      .where('o.snapshot_date', '=', date)
      .groupBy('v.type')
      .orderBy('v.type')
      .execute();
    for (const r of rows) active[r.type] = { total: Number(r.total), unresolved: Number(r.open), resolved: Number(r.total) - Number(r.open) };
  }

  const events = await db
    .selectFrom('variance_event as e')
    .innerJoin('variance as v', 'v.id', 'e.variance_id')
    .select(['e.variance_id', 'v.type', 'v.hostname', 'e.kind', 'e.actor', 'e.note', 'e.at'])
    .where('e.actor', 'is not', null)
    .orderBy('e.id', 'desc')
    .limit(20)
    .execute();
  return {
    by_status: byStatus,
    status_summary: { active },
    recent_manual_updates: events.map((e) => ({
      variance_id: e.variance_id,
      type: e.type,
      hostname: e.hostname,
      kind: e.kind,
      actor: e.actor ?? '',
      note: e.note,
      at: e.at.toISOString(),
    })),
    report_date: date,
  };
}

/**
 * Variances of `type` whose hostname is `hostname` in any letter case (upstream matched
 * exactly, and its stored case differed per type), any status, oldest first.
 */
export async function variancesByHostname(db: Executor, hostname: string, type: VarianceType): Promise<VarianceRow[]> {
  return db
    .selectFrom('variance')
    .selectAll()
    .where(sql<boolean>`lower(hostname) = ${hostname.trim().toLowerCase()}`)
    .where('type', '=', type)
    .orderBy('id')
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Exports (CSV, XLSX): one source of rows, two encodings

/** The most rows one export builds (in memory); a larger result asks for a narrower filter. */
export const MAX_EXPORT_ROWS = 20_000;

/** The list's filters (GET /api/variances), free text included; exports are newest first. */
export type ExportFilter = VarianceSelection;

/** The export's columns, in order (both formats). */
export const EXPORT_COLUMNS = [
  'ID',
  'Type',
  'Status',
  'Resolved',
  'Hostname',
  'Organization',
  'Match Quality',
  'First Seen',
  'Last Seen',
  'Resolved At',
  'Resolved By',
  'Accepted Until',
  'Accepted Reason',
  'Accepted By',
  'Hint',
  'Devices',
  'Details',
] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled. Text a
 * spreadsheet would run as a formula (starting with = + - @, or a tab or CR that some programs
 * skip before one) is prefixed with `'` so it stays text: device and organization names come
 * from vendors and anyone who can name a computer.
 *
 * @example csvCell('=HYPERLINK("x")') // "\"'=HYPERLINK(\"\"x\"\")\""
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(cells: readonly (string | number | null)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** One cell of an export row: text (dates as ISO 8601 text), a number, or empty. */
export type ExportCell = string | number | null;

/**
 * The rows of the variances matching `filter` (the same filter as GET /api/variances, without
 * paging), newest first, one cell per {@link EXPORT_COLUMNS}. Days are `YYYY-MM-DD` and times
 * RFC 3339 UTC, as text in both formats (a day is a calendar day in the business time zone;
 * a spreadsheet date has no zone to say so). Undefined when more than {@link MAX_EXPORT_ROWS}
 * match.
 */
export async function exportRows(db: Executor, filter: ExportFilter): Promise<ExportCell[][] | undefined> {
  const rows = await applyFilter(db.selectFrom('variance').selectAll(), filter)
    .orderBy('id', 'desc').limit(MAX_EXPORT_ROWS + 1).execute();
  if (rows.length > MAX_EXPORT_ROWS) return undefined;
  return rows.map((v) => [
    v.id,
    v.type,
    v.status,
    v.status === 'open' ? 'No' : 'Yes',
    v.hostname,
    v.organization,
    v.match_quality,
    v.first_seen,
    v.last_seen,
    v.resolved_at?.toISOString() ?? null,
    v.resolved_by,
    v.accepted_until,
    v.accepted_reason,
    v.accepted_by,
    v.hint,
    (v.devices as VarianceDeviceRef[]).map((d) => `${d.vendor}:${d.hostname}`).join('; '),
    JSON.stringify(v.evidence),
  ]);
}

/**
 * The variances matching `filter` as CSV (header first, CRLF lines, a UTF-8 byte order mark so
 * that spreadsheets read non-ASCII names right), newest first. Undefined when more than
 * {@link MAX_EXPORT_ROWS} match.
 */
export async function exportVariancesCsv(db: Executor, filter: ExportFilter): Promise<{ csv: string; rows: number } | undefined> {
  const rows = await exportRows(db, filter);
  if (!rows) return undefined;
  return { csv: ['\uFEFF', csvRow(EXPORT_COLUMNS), ...rows.map(csvRow)].join(''), rows: rows.length };
}

/** Column widths (characters) of the XLSX export, per {@link EXPORT_COLUMNS}. */
const XLSX_WIDTHS: Readonly<Record<(typeof EXPORT_COLUMNS)[number], number>> = {
  ID: 8,
  Type: 24,
  Status: 10,
  Resolved: 10,
  Hostname: 24,
  Organization: 28,
  'Match Quality': 14,
  'First Seen': 12,
  'Last Seen': 12,
  'Resolved At': 26,
  'Resolved By': 18,
  'Accepted Until': 14,
  'Accepted Reason': 30,
  'Accepted By': 18,
  Hint: 50,
  Devices: 40,
  Details: 60,
};

/** The MIME type of an Office Open XML workbook. */
export const XLSX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/**
 * The variances matching `filter` as an XLSX workbook: one sheet "Variances", a frozen header
 * row with an auto filter, then the same rows as the CSV ({@link exportRows}).
 *
 * Unlike the CSV, cells need no apostrophe guard against formulas: exceljs writes a JS string
 * as a string cell (an inline string), never as a formula — a formula needs a `{ formula }` value —
 * so `=cmd` stays the text `=cmd` in Excel and LibreOffice. exceljs drops characters XML 1.0
 * cannot carry (C0 controls other than tab, LF, CR; DEL), the only way such a cell differs
 * from its CSV twin. Undefined when more than {@link MAX_EXPORT_ROWS} match.
 */
export async function exportVariancesXlsx(db: Executor, clock: Clock, filter: ExportFilter): Promise<{ xlsx: Buffer; rows: number } | undefined> {
  const rows = await exportRows(db, filter);
  if (!rows) return undefined;
  // exceljs's streaming writer with inline strings and no style table: each row is written out
  // as it is added, with no shared-string table to build and no style looked up per cell. For
  // 5,000 rows on a 2-core machine: in-memory workbook ~365 ms, streaming ~220 ms, streaming
  // without styles ~105 ms — so the header is not bold; frozen and filtered, it stands apart.
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: false });
  workbook.creator = 'Inventory Hub';
  workbook.created = clock.now();
  workbook.modified = clock.now();
  const sheet = workbook.addWorksheet('Variances', { views: [{ state: 'frozen', xSplit: 0, ySplit: 1 }] });
  sheet.columns = EXPORT_COLUMNS.map((header) => ({ header, width: XLSX_WIDTHS[header] }));
  sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: EXPORT_COLUMNS.length } };
  for (const row of rows) sheet.addRow(row).commit();
  sheet.commit();
  await workbook.commit();
  return { xlsx: Buffer.concat(chunks), rows: rows.length };
}
