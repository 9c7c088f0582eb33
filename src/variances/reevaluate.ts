/**
 * Re-evaluating one device's variances right after a sync wrote its snapshot (docs/variances.md,
 * "After a sync"): a technician renames a computer to NinjaOne's name, syncs it, and its
 * DISPLAY_NAME_MISMATCH is resolved in the same request instead of at the next check run.
 *
 * The rules are the check run's own (`runChecks`), over the synced computer's neighbourhood of
 * day D — every device of either tool whose pairing can change with it: its namesakes (same
 * canonical hostname), the names sharing its 15-character NetBIOS prefix, and the names its
 * open variances were about. The result is applied like a run's (`planDay`, `writePlan`), but
 * only to the variances about those devices, in one transaction under the variance lock, so it
 * and check runs apply one after the other. Only index lookups: nothing reads the whole day.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { DB } from '../db/schema.js';
import type { VendorIds, VendorKey } from '../inventory/vendors.js';
import { runChecks } from './checks.js';
import { lockVariancesIfChecked, planDay, STORED_COLUMNS, writePlan, type StoredVariance } from './lifecycle.js';
import { toVarianceItem, type VarianceItem } from './queries.js';
import { incompleteVendors, organizationLinksQuery, readDayDevices, toOrganizationLink, type CheckRunDeps } from './run.js';
import type { DayDevice, VarianceDeviceRef } from './types.js';

/** A NetBIOS name (NinjaOne) holds 15 characters; the prefix index of migration 0009 is on it too. */
const PREFIX_LENGTH = 15;

/** The synced computer, as the sync wrote it. */
export interface SyncedSubject {
  /** device_identity.vendor_device_key of the ThreatLocker computer (its id, lower-case). */
  readonly deviceKey: string;
  readonly canonicalHostname: string;
  readonly snapshotDate: string;
  /** Who synced: the events' actor is `sync:<updatedBy>`. */
  readonly updatedBy: string;
}

export interface VarianceChanges {
  /** Resolved automatically by this re-evaluation. */
  readonly resolved: VarianceItem[];
  /** Found again: open before and after (or accepted, within its term). */
  readonly still_open: VarianceItem[];
  /** Opened for the first time, or reopened, by this re-evaluation. */
  readonly opened: VarianceItem[];
}

/** Why nothing was re-evaluated: the sync itself stands in every case. */
export type NoReevaluation = 'not_checked' | 'incomplete_day' | 'busy' | 'failed';

export type Reevaluation =
  | { readonly ok: true; readonly variances: VarianceChanges }
  | { readonly ok: false; readonly reason: NoReevaluation; readonly message: string };

type Executor = Kysely<DB> | Transaction<DB>;

function prefixesOf(names: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const n of names) if (n.length >= PREFIX_LENGTH) out.add(n.slice(0, PREFIX_LENGTH));
  return [...out];
}

/** A device whose neighbourhood is read: of either tool, on one day. */
export interface NeighbourhoodSubject {
  readonly vendor: VendorKey;
  /** device_identity.vendor_device_key. */
  readonly deviceKey: string;
  readonly canonicalHostname: string;
  readonly snapshotDate: string;
}

/**
 * The neighbourhood of a device on `date`: both tools' devices whose pairing can change with
 * it, found by name in index lookups. A ThreatLocker name pairs with NinjaOne devices of the
 * same name, or with a 15-character NetBIOS name that starts it; so the ThreatLocker side is
 * read by name and by prefix, and the NinjaOne side by every name and prefix found there.
 * A NinjaOne subject works the same way: its (possibly cut-short) name is one of the names,
 * and as a 15-character name also the prefix the ThreatLocker side is read by. The names start
 * from the device's own and those of its open variances (`openVarianceNames`: a sync that
 * changed the hostname leaves them behind); a caller that has read those already passes them.
 *
 * (One statement for all of it was measured and is slower: planning it over the day's
 * partitions costs more than the round trips it saves.)
 *
 * @example
 *   const { threatlocker, ninja } = await readNeighbourhood(db, vendorIds, { vendor: 'ninja', deviceKey: '1187', canonicalHostname: 'chi-2k5fsb4', snapshotDate: '2026-03-10' });
 */
export async function readNeighbourhood(
  db: Executor,
  vendorIds: VendorIds,
  subject: NeighbourhoodSubject,
  earlierNames?: readonly string[],
): Promise<{ threatlocker: DayDevice[]; ninja: DayDevice[] }> {
  const date = subject.snapshotDate;
  const earlier = earlierNames ?? (await openVarianceNames(db, subject).execute()).map((v) => v.hostname);
  const names = new Set([subject.canonicalHostname, ...earlier]);
  const prefixes = prefixesOf(names);
  const threatlocker = await readDayDevices(db, vendorIds, 'threatlocker', date, { names: [...names, ...prefixes], prefixes });
  for (const d of threatlocker) names.add(d.canonicalHostname);
  const ninja = await readDayDevices(db, vendorIds, 'ninja', date, { names: [...new Set([...names, ...prefixesOf(names)])], prefixes: [] });
  return { threatlocker, ninja };
}

/** The names of a device's open (or accepted) variances, by variance_device (migration 0010). */
function openVarianceNames(db: Executor, device: { readonly vendor: VendorKey; readonly deviceKey: string }) {
  return db
    .selectFrom('variance_device as d')
    .innerJoin('variance as v', 'v.id', 'd.variance_id')
    .select('v.hostname')
    .where('d.vendor', '=', device.vendor)
    .where('d.device_key', '=', device.deviceKey)
    .where('v.status', 'in', ['open', 'accepted']);
}

const key = (vendor: string, deviceKey: string): string => `${vendor}:${deviceKey}`;

/** How long a re-evaluation waits for the variance lock (a check run applying) before giving up. */
export const LOCK_WAIT_MS = 2_000;

/**
 * Under the lock, in one round trip (a sync pays for each one; docs/benchmarks.md): the latest
 * completed check run, how many of the two tools have a completed collection of its day, the
 * organization links, and the names of the synced computer's open variances.
 */
async function reevaluationContext(db: Executor, vendorIds: CheckRunDeps['vendorIds'], deviceKey: string) {
  const run = await db
    .selectFrom('variance_run as r')
    .select(['r.snapshot_date', 'r.organizations'])
    .select((eb) => [
      eb
        .selectFrom('snapshot_day as d')
        .select((c) => c.fn.countAll<string>().as('n'))
        .whereRef('d.snapshot_date', '=', 'r.snapshot_date')
        .where('d.collected_at', 'is not', null)
        .where('d.vendor_id', 'in', [vendorIds.threatlocker, vendorIds.ninja])
        .as('collected'),
      jsonArrayFrom(organizationLinksQuery(db)).as('links'),
      sql<string[]>`ARRAY(${openVarianceNames(db, { vendor: 'threatlocker', deviceKey })})`.as('earlier_names'),
    ])
    .where('r.status', '=', 'completed')
    .orderBy('r.snapshot_date', 'desc')
    .orderBy('r.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return run && { ...run, links: run.links.map(toOrganizationLink) };
}

/** PostgreSQL's lock_not_available (SQLSTATE 55P03): lock_timeout ran out. */
function isLockTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '55P03';
}

/**
 * Re-evaluates the variances about a computer just synced, for the day its snapshot was written
 * (see the module comment and docs/variances.md, "After a sync"). Nothing is re-evaluated unless
 * the latest completed check run is over that day and both tools have a completed collection of
 * it. Never rejects: a failure is logged and returned (`failed`), and the sync stands.
 *
 * @example
 *   const r = await reevaluateAfterSync(checkRunDeps(deps), { deviceKey, canonicalHostname, snapshotDate, updatedBy });
 *   if (r.ok) r.variances.resolved; // e.g. the DISPLAY_NAME_MISMATCH a rename fixed
 */
export async function reevaluateAfterSync(deps: CheckRunDeps, subject: SyncedSubject): Promise<Reevaluation> {
  const date = subject.snapshotDate;
  const notChecked: Reevaluation = { ok: false, reason: 'not_checked', message: `Variances of ${date} have not been checked yet; the next check run will include this device` };
  try {
    return await deps.db.transaction().execute(async (tx): Promise<Reevaluation> => {
      // First, like a run: what is read below is what the change is applied to. A day not
      // checked yet (the usual case before the night's collections) costs one indexed read
      // and never waits for a run. A sync must not wait out a whole check run either: past the
      // wait, the run (or the next one) has the last word, and the sync answers without variances.
      if (!(await lockVariancesIfChecked(tx, date, LOCK_WAIT_MS))) return notChecked;
      const run = await reevaluationContext(tx, deps.vendorIds, subject.deviceKey);
      if (run?.snapshot_date !== date) return notChecked;
      if (run.organizations === null) {
        return { ok: false, reason: 'not_checked', message: `The check of ${date} predates re-evaluation after a sync; the next check run will include this device` };
      }
      // Both tools complete (the usual case) needs no further read; otherwise say which is not.
      const missing = Number(run.collected) === 2 ? [] : await incompleteVendors(tx, deps.vendorIds, date);
      if (missing.length > 0) {
        return { ok: false, reason: 'incomplete_day', message: `No completed collection of ${date} for ${missing.join(' and ')}; variances are not re-evaluated` };
      }

      const devices = await readNeighbourhood(tx, deps.vendorIds, { vendor: 'threatlocker', ...subject }, run.earlier_names);
      const result = runChecks({ date, devices, links: run.links, settings: deps.settings, organizations: run.organizations });
      const inside = new Set([...devices.threatlocker, ...devices.ninja].map((d) => key(d.vendor, d.deviceKey)));
      const touches = (refs: readonly VarianceDeviceRef[]): boolean => refs.some((r) => inside.has(key(r.vendor, r.device_key)));
      const found = result.variances.filter((f) => touches(f.devices));

      // The variances on record about the neighbourhood, and any whose subject was found.
      const foundKeys = [...new Set(found.map((f) => f.subjectKey))];
      // Per vendor, `device_key = ANY(…)`: index probes on variance_device's primary key whatever
      // the planner guesses of the list's length (a join to a row set it guessed at 100 rows
      // made it scan the table).
      const byDevice = sql.join(
        (['threatlocker', 'ninja'] as const).map(
          (vendor) => sql`(d.vendor = ${vendor} AND d.device_key = ANY(${devices[vendor].map((d) => d.deviceKey)}::text[]))`,
        ),
        sql` OR `,
      );
      // Two index lookups in one statement: by device (variance_device, migration 0010) and by
      // subject key. (An OR of the two in WHERE would scan the table.)
      const bySubject = foundKeys.length > 0 ? sql`UNION SELECT id FROM variance WHERE subject_key IN (${sql.join(foundKeys)})` : sql``;
      const candidates = (await tx
        .selectFrom('variance')
        .select(STORED_COLUMNS)
        .where(
          'id',
          'in',
          sql<number>`(SELECT d.variance_id
                         FROM variance_device d
                         JOIN variance v ON v.id = d.variance_id AND v.status IN ('open', 'accepted')
                        WHERE ${byDevice}
                       ${bySubject})`,
        )
        .execute()) as StoredVariance[];
      const existing = candidates.filter((v) => foundKeys.includes(v.subject_key) || touches(v.devices as VarianceDeviceRef[]));
      const before = new Map(existing.map((v) => [v.id, v.status]));

      const now = deps.clock.now();
      const plan = planDay(existing, found, date, now);
      const resolveId = await writePlan(tx, plan, { date, now, runId: null, actor: `sync:${subject.updatedBy}` });

      // The day's observations of these variances are what this re-evaluation found.
      const observed = plan.observations.map((o) => ({ variance_id: resolveId(o.variance), status: o.status }));
      if (existing.length > 0) {
        await tx
          .deleteFrom('variance_observation')
          .where('snapshot_date', '=', date)
          .where('variance_id', 'in', existing.map((v) => v.id))
          .execute();
      }
      if (observed.length > 0) {
        await tx
          .insertInto('variance_observation')
          .values(observed.map((o) => ({ snapshot_date: date, variance_id: o.variance_id, status: o.status })))
          .onConflict((oc) => oc.columns(['snapshot_date', 'variance_id']).doUpdateSet((eb) => ({ status: eb.ref('excluded.status') })))
          .execute();
      }

      const opened: number[] = [];
      const stillOpen: number[] = [];
      for (const o of observed) {
        const was = before.get(o.variance_id);
        if (was === undefined || (was !== o.status && o.status === 'open')) opened.push(o.variance_id);
        else stillOpen.push(o.variance_id);
      }
      const foundIds = new Set(observed.map((o) => o.variance_id));
      const resolved = plan.updates.filter((u) => u.status === 'resolved' && !foundIds.has(u.id)).map((u) => u.id);

      const ids = [...opened, ...stillOpen, ...resolved];
      const rows = ids.length === 0 ? [] : await tx.selectFrom('variance').selectAll().where('id', 'in', ids).orderBy('id').execute();
      const pick = (wanted: number[]): VarianceItem[] => rows.filter((r) => wanted.includes(r.id)).map(toVarianceItem);
      return { ok: true, variances: { resolved: pick(resolved), still_open: pick(stillOpen), opened: pick(opened) } };
    });
  } catch (err) {
    if (isLockTimeout(err)) {
      deps.logger.warn({ date, deviceKey: subject.deviceKey }, 'variance re-evaluation after a sync skipped: a check run holds the variances');
      return { ok: false, reason: 'busy', message: 'A check run is applying variances; it or the next one will include this device' };
    }
    deps.logger.error({ err, date, deviceKey: subject.deviceKey }, 'variance re-evaluation after a sync failed; the sync stands');
    return { ok: false, reason: 'failed', message: 'Variances could not be re-evaluated; the next check run will. See the server log' };
  }
}
