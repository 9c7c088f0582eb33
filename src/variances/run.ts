/**
 * A check run over one day: read both vendors' fleets of that day, the organization links and
 * the settings; judge them (./checks.ts, pure); apply what was found to the variances on record
 * (./lifecycle.ts) and record the run — all in one transaction, under the variance lock, so a
 * run is applied whole or not at all and runs in any process apply one after the other.
 *
 * A day is checked only when both vendors have a completed collection for it: a day holding
 * one vendor only, or only devices synced on demand, would report every device of the other as
 * missing (the upstream hub's W-A5).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { DB, VarianceRunTrigger } from '../db/schema.js';
import { HubError } from '../errors.js';
import type { VendorIds, VendorKey } from '../inventory/vendors.js';
import { organizationNames, runChecks } from './checks.js';
import { applyCheckResult, isCalendarDate, lockVariances, type CheckRunOutcome } from './lifecycle.js';
import type { CheckSettings, DayDevice, OrganizationLink } from './types.js';

type Executor = Kysely<DB> | Transaction<DB>;

export interface CheckRunDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly vendorIds: VendorIds;
  readonly settings: CheckSettings;
  readonly logger: Logger;
}

export interface CheckRunRequest {
  /** The snapshot date to check (YYYY-MM-DD); default today in the business time zone. */
  readonly date?: string | undefined;
  readonly trigger: VarianceRunTrigger;
}

export interface CheckRunSummary extends CheckRunOutcome {
  /** Devices not seen within VARIANCE_STALE_DAYS (never reported missing). */
  readonly stale: number;
}

const VENDORS: readonly VendorKey[] = ['threatlocker', 'ninja'];

/** The vendors without a completed collection for `date` (empty: the day can be checked). */
export async function incompleteVendors(db: Executor, vendorIds: VendorIds, date: string): Promise<VendorKey[]> {
  const rows = await db
    .selectFrom('snapshot_day')
    .select('vendor_id')
    .where('snapshot_date', '=', date)
    .where('collected_at', 'is not', null)
    .where('vendor_id', 'in', VENDORS.map((v) => vendorIds[v]))
    .execute();
  const done = new Set(rows.map((r) => r.vendor_id));
  return VENDORS.filter((v) => !done.has(vendorIds[v]));
}

/**
 * Devices of one vendor on one day whose names are in a neighbourhood: a canonical hostname in
 * `names`, or (names longer than 15 characters) a 15-character prefix in `prefixes`. Both are
 * index lookups (migrations 0001/0004 and 0009), never a read of the whole day.
 */
export interface NameFilter {
  readonly names: readonly string[];
  readonly prefixes: readonly string[];
}

/** One vendor's devices of `date` as the rules read them (one query); `only` narrows it to some names. */
export async function readDayDevices(db: Executor, vendorIds: VendorIds, vendor: VendorKey, date: string, only?: NameFilter): Promise<DayDevice[]> {
  if (only !== undefined && only.names.length === 0 && only.prefixes.length === 0) return [];
  let q = db
    .selectFrom('device_snapshot as s')
    .innerJoin('device_identity as i', 'i.id', 's.device_identity_id')
    .select([
      'i.vendor_device_key',
      's.hostname',
      's.canonical_hostname',
      's.display_name',
      's.organization_name',
      's.organization_id',
      's.location_name',
      's.last_online',
      's.node_class',
      's.is_vm_guest',
      's.system_name',
      's.billable_status_name',
    ])
    .where('s.snapshot_date', '=', date)
    .where('s.vendor_id', '=', vendorIds[vendor]);
  if (only !== undefined) {
    const { names, prefixes } = only;
    q = q.where((eb) =>
      eb.or([
        ...(names.length > 0 ? [eb('s.canonical_hostname', 'in', names)] : []),
        // Spelled as the partial index is (0009), so that the planner can use it.
        ...(prefixes.length > 0
          ? [eb.and([sql<boolean>`length(s.canonical_hostname) > 15`, eb(sql<string>`left(s.canonical_hostname, 15)`, 'in', prefixes)])]
          : []),
      ]),
    );
  }
  const rows = await q
    // A stable order: the rules' output (and so the events' order) does not depend on the plan.
    .orderBy('s.canonical_hostname')
    .orderBy('i.vendor_device_key')
    .execute();
  return rows.map((r) => ({
    vendor,
    deviceKey: r.vendor_device_key,
    hostname: r.hostname,
    canonicalHostname: r.canonical_hostname,
    displayName: r.display_name,
    organizationName: r.organization_name,
    organizationId: r.organization_id,
    locationName: r.location_name,
    lastContact: r.last_online ? r.last_online.toISOString() : null,
    nodeClass: r.node_class,
    isVmGuest: r.is_vm_guest,
    systemName: r.system_name,
    billableStatus: r.billable_status_name,
  }));
}

/** The organization links people made (kept in `organization_link`). */
export async function readOrganizationLinks(db: Executor): Promise<OrganizationLink[]> {
  return (await organizationLinksQuery(db).execute()).map(toOrganizationLink);
}

/** The links as stored, in the order they were made (also read as a subquery: ./reevaluate.ts). */
export function organizationLinksQuery(db: Executor) {
  return db.selectFrom('organization_link').select(['threatlocker_organization', 'ninja_organization', 'kind']).orderBy('id');
}

export function toOrganizationLink(r: { threatlocker_organization: string; ninja_organization: string; kind: OrganizationLink['kind'] }): OrganizationLink {
  return { threatlockerOrganization: r.threatlocker_organization, ninjaOrganization: r.ninja_organization, kind: r.kind };
}

/** Refusals: expected outcomes that changed nothing (not recorded as failed runs). */
function isRefusal(err: unknown): boolean {
  return err instanceof HubError && (err.code === 'HUB_ERR_VARIANCES_INCOMPLETE_DAY' || err.code === 'HUB_ERR_VARIANCES_DATE_BEHIND' || err.code === 'HUB_ERR_VALIDATION');
}

/**
 * Checks one day and applies the result (see the module comment). Throws HubError
 * `HUB_ERR_VARIANCES_INCOMPLETE_DAY` (a vendor has no completed collection for the day),
 * `HUB_ERR_VARIANCES_DATE_BEHIND` (a later day was already checked) or `HUB_ERR_VALIDATION`
 * (not a date); those change nothing. Any other failure rolls the run back, is recorded as a
 * failed run (when the database takes it) and is thrown.
 *
 * @example
 *   const summary = await runVarianceCheck(deps, { date: '2026-03-10', trigger: 'cli' });
 *   summary.opened; // variances opened by this run
 */
export async function runVarianceCheck(deps: CheckRunDeps, request: CheckRunRequest): Promise<CheckRunSummary> {
  const { db, clock, vendorIds, settings } = deps;
  const date = request.date ?? clock.today();
  if (!isCalendarDate(date)) throw new HubError('HUB_ERR_VALIDATION', 'date must be a date (YYYY-MM-DD)', { field: 'date' });
  const startedAt = clock.now();
  try {
    return await db.transaction().execute(async (tx) => {
      // First, so that the completeness seen here is the one the run is applied with.
      await lockVariances(tx);
      const missing = await incompleteVendors(tx, vendorIds, date);
      if (missing.length > 0) {
        throw new HubError(
          'HUB_ERR_VARIANCES_INCOMPLETE_DAY',
          `Variances for ${date} cannot be checked: no completed collection for ${missing.map((v) => (v === 'ninja' ? 'NinjaOne' : 'ThreatLocker')).join(' and ')} that day`,
          { date, missing_collections: missing },
        );
      }
      const threatlocker = await readDayDevices(tx, vendorIds, 'threatlocker', date);
      const ninja = await readDayDevices(tx, vendorIds, 'ninja', date);
      const links = await readOrganizationLinks(tx);
      const result = runChecks({ date, devices: { threatlocker, ninja }, links, settings });
      // Recorded with the run: a re-evaluation after a sync (./reevaluate.ts) builds the same
      // organization mapping from them without reading the whole day.
      const organizations = { threatlocker: [...organizationNames(threatlocker)].sort(), ninja: [...organizationNames(ninja)].sort() };
      const outcome = await applyCheckResult(tx, { date, found: result.variances, trigger: request.trigger, startedAt, clock, organizations });
      return { ...outcome, stale: result.stale.length };
    });
  } catch (err) {
    if (!isRefusal(err)) await recordFailedRun(deps, date, request.trigger, startedAt, err);
    throw err;
  }
}

/** Records a run that failed (its changes were rolled back); logs instead when that fails too. */
async function recordFailedRun(deps: CheckRunDeps, date: string, trigger: VarianceRunTrigger, startedAt: Date, err: unknown): Promise<void> {
  const code = err instanceof HubError ? err.code : 'HUB_ERR_INTERNAL';
  // A HubError's message is meant for people; anything else stays in the log only.
  const message = err instanceof HubError ? err.message : 'Unexpected error; see the server log';
  try {
    await deps.db
      .insertInto('variance_run')
      .values({ snapshot_date: date, trigger, status: 'failed', started_at: startedAt, finished_at: deps.clock.now(), error_code: code, error: message })
      .execute();
  } catch (recordErr) {
    deps.logger.error({ err: recordErr, date }, 'could not record the failed variance check');
  }
}

/**
 * The automatic check after a collection of `date` completed: runs once both vendors have a
 * completed collection for that day, else does nothing. Never rejects — a failure is logged
 * (and recorded as a failed run by {@link runVarianceCheck}); it never fails the collection.
 */
export async function checkAfterCollection(deps: CheckRunDeps, date: string, log: Logger = deps.logger): Promise<CheckRunSummary | undefined> {
  try {
    const missing = await incompleteVendors(deps.db, deps.vendorIds, date);
    if (missing.length > 0) {
      log.info({ date, waitingFor: missing }, 'variance check waits for the other collection of the day');
      return undefined;
    }
    const summary = await runVarianceCheck(deps, { date, trigger: 'collection' });
    log.info(
      { date, run: summary.runId, found: summary.found, opened: summary.opened, resolved: summary.resolved, reopened: summary.reopened },
      'variance check completed',
    );
    return summary;
  } catch (err) {
    if (isRefusal(err)) log.warn({ date, code: (err as HubError).code, reason: (err as HubError).message }, 'variance check not run');
    else log.error({ err, date }, 'variance check failed');
    return undefined;
  }
}
