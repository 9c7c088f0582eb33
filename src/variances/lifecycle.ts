/**
 * The variance store: what a check over one day does to the variances on record, and what
 * people do to them (accept, resolve, reopen). One row per variance for its whole life, keyed by
 * the check's subject key, with an append-only event history (docs/variances.md, "Lifecycle and
 * runs").
 *
 * A check over day D, applied by {@link applyCheckResult} in the caller's transaction:
 *
 * - a variance found for the first time is **opened** (first_seen = last_seen = D);
 * - an open one found again has its last_seen advanced; an event `seen` is written only when its
 *   evidence (contact times aside) or its devices changed (not every day: the history stays readable);
 * - an open one no longer found is **resolved automatically** (`resolved_auto`);
 * - a resolved one found again is **reopened** — also when a person resolved it: a person's
 *   resolve is recorded, but the data decides;
 * - an accepted one stays accepted through `accepted_until` (inclusive), found or not; the first
 *   check over a later day ends the acceptance (`acceptance_expired`), then reopens the variance
 *   if it is still found or resolves it automatically if it is gone.
 *
 * Re-applying the same findings for the same day changes nothing more (no event, no update). A
 * check over a day before the latest completed check's day is refused
 * (`HUB_ERR_VARIANCES_DATE_BEHIND`): it would resolve variances found on later days.
 *
 * Every change to variances takes VARIANCE_LOCK (db/locks.ts) for its transaction, so checks in
 * any process apply one after the other and never overwrite a person's action they did not see.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import { VARIANCE_LOCK } from '../db/locks.js';
import type { DB, VarianceEventKind, VarianceRow, VarianceRunTrigger } from '../db/schema.js';
import { HubError } from '../errors.js';
import { VARIANCE_TYPES, type FoundVariance, type VarianceDeviceRef, type VarianceStatus, type VarianceType } from './types.js';

/** Takes the variance lock for the rest of the transaction (re-entrant within it). */
export async function lockVariances(tx: Transaction<DB>): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${sql.lit(VARIANCE_LOCK)}, 0)`.execute(tx);
}

/**
 * Takes the variance lock, waiting at most `waitMs` (then SQLSTATE 55P03, from
 * advisory_xact_lock_within of migration 0010), only if the latest
 * completed check run is over `date` — in one round trip, for a sync's re-evaluation (a day not
 * checked yet never waits for a run). Answers whether it took the lock; the caller reads the
 * latest run again under it (a run may have completed while it waited).
 */
export async function lockVariancesIfChecked(tx: Transaction<DB>, date: string, waitMs: number): Promise<boolean> {
  // CASE evaluates the lock only when the day is the latest checked one (a volatile function
  // is never evaluated ahead of its branch).
  const { rows } = await sql<{ locked: boolean }>`
    SELECT CASE WHEN ${latestRunDateQuery(tx)} = ${date}::date
                THEN advisory_xact_lock_within(${sql.lit(VARIANCE_LOCK)}, 0, ${waitMs}::integer) IS NOT NULL
                ELSE false END AS locked`.execute(tx);
  return rows[0]?.locked === true;
}

// ---------------------------------------------------------------------------------------------
// Planning a day (pure)

/** A variance as the planner reads it (the stored row's lifecycle columns). */
export type StoredVariance = Pick<
  VarianceRow,
  | 'id'
  | 'subject_key'
  | 'type'
  | 'status'
  | 'hostname'
  | 'organization'
  | 'match_quality'
  | 'devices'
  | 'evidence'
  | 'hint'
  | 'first_seen'
  | 'last_seen'
  | 'resolved_at'
  | 'resolved_by'
  | 'accepted_until'
  | 'accepted_reason'
  | 'accepted_by'
>;

/** An event the plan writes; `variance` is an existing id or a subject key opened by the plan. */
export interface PlannedEvent {
  readonly variance: number | string;
  readonly kind: VarianceEventKind;
  readonly details: Readonly<Record<string, unknown>> | null;
}

export interface DayPlan {
  /** Variances to open (found for the first time). */
  readonly opens: readonly FoundVariance[];
  /** Existing variances whose row changes (their whole new state). */
  readonly updates: readonly StoredVariance[];
  /** Existing variances found again whose only change is last_seen (advanced to the day). */
  readonly touches: readonly number[];
  /** Existing variances (among `updates`) whose devices changed: their variance_device rows are rewritten. */
  readonly devicesChanged: readonly number[];
  readonly events: readonly PlannedEvent[];
  /** What the day's observations are: every found variance and its status after the check. */
  readonly observations: readonly { readonly variance: number | string; readonly status: VarianceStatus }[];
  readonly found: number;
  readonly counts: Readonly<Record<VarianceType, number>>;
  readonly opened: number;
  readonly seen: number;
  readonly resolved: number;
  readonly reopened: number;
  readonly acceptancesExpired: number;
}

/**
 * JSON with object keys sorted, so that values read back from jsonb (which reorders keys)
 * compare equal to the same values built in code.
 */
/** Evidence keys that change with every contact (`last_contact`, `security_last_contact`…). */
const CONTACT_KEY = /(^|_)(last|latest)_contact$/;

/** {@link canonicalJson} without the contact times: what the evidence says about the situation. */
export function materialJson(value: unknown): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([k]) => !CONTACT_KEY.test(k)).map(([k, x]) => [k, strip(x)]));
    }
    return v;
  };
  return canonicalJson(strip(value));
}

export function canonicalJson(value: unknown): string {
  const normalize = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(normalize);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => [k, normalize(x)]),
      );
    }
    return v;
  };
  return JSON.stringify(normalize(JSON.parse(JSON.stringify(value ?? null)) as unknown));
}

function emptyCounts(): Record<VarianceType, number> {
  return Object.fromEntries(VARIANCE_TYPES.map((t) => [t, 0])) as Record<VarianceType, number>;
}

/**
 * Decides what a check over `date` that found `found` does to the variances on record
 * (`existing`: every open or accepted variance, and every variance whose subject key was found).
 * Pure: {@link applyCheckResult} writes the plan. A subject key found twice counts once (the
 * first is kept).
 */
export function planDay(existing: readonly StoredVariance[], found: readonly FoundVariance[], date: string, now: Date): DayPlan {
  const byKey = new Map(existing.map((v) => [v.subject_key, v]));
  const foundByKey = new Map<string, FoundVariance>();
  for (const f of found) if (!foundByKey.has(f.subjectKey)) foundByKey.set(f.subjectKey, f);

  const opens: FoundVariance[] = [];
  const updates: StoredVariance[] = [];
  const touches: number[] = [];
  const devicesChanged: number[] = [];
  const events: PlannedEvent[] = [];
  const observations: { variance: number | string; status: VarianceStatus }[] = [];
  const counts = emptyCounts();
  let seen = 0;
  let resolved = 0;
  let reopened = 0;
  let acceptancesExpired = 0;

  const acceptanceOf = (v: StoredVariance) => ({ accepted_until: v.accepted_until, accepted_reason: v.accepted_reason, accepted_by: v.accepted_by });
  const noAcceptance = { accepted_until: null, accepted_reason: null, accepted_by: null };

  for (const f of foundByKey.values()) {
    counts[f.type] += 1;
    const v = byKey.get(f.subjectKey);
    if (!v) {
      opens.push(f);
      events.push({ variance: f.subjectKey, kind: 'opened', details: null });
      observations.push({ variance: f.subjectKey, status: 'open' });
      continue;
    }
    // A `seen` event marks a change in what the variance says, not the passing of time: last
    // contact times move every day and are stored, but do not count as a change.
    const sameDevices = canonicalJson(v.devices) === canonicalJson(f.devices);
    if (!sameDevices) devicesChanged.push(v.id);
    const evidenceChanged = materialJson(v.evidence) !== materialJson(f.evidence) || !sameDevices;
    const content = {
      hostname: f.hostname,
      organization: f.organization,
      match_quality: f.matchQuality,
      devices: f.devices as unknown,
      evidence: f.evidence as unknown,
      hint: f.hint,
    };
    const contentChanged =
      evidenceChanged || canonicalJson(v.evidence) !== canonicalJson(f.evidence) || v.hostname !== f.hostname || v.organization !== f.organization || v.match_quality !== f.matchQuality || v.hint !== f.hint;
    const lastSeen = v.last_seen > date ? v.last_seen : date;
    const seenEvent = (): PlannedEvent => ({ variance: v.id, kind: 'seen', details: { previous: { evidence: v.evidence, devices: v.devices } } });

    let next: StoredVariance = { ...v, ...content, last_seen: lastSeen };
    let status: VarianceStatus = v.status;
    if (v.status === 'resolved') {
      events.push({ variance: v.id, kind: 'reopened', details: { previous_resolution: { resolved_at: v.resolved_at?.toISOString() ?? null, resolved_by: v.resolved_by } } });
      next = { ...next, status: 'open', resolved_at: null, resolved_by: null };
      status = 'open';
      reopened += 1;
    } else if (v.status === 'accepted' && v.accepted_until !== null && date > v.accepted_until) {
      events.push({ variance: v.id, kind: 'acceptance_expired', details: acceptanceOf(v) });
      events.push({ variance: v.id, kind: 'reopened', details: null });
      next = { ...next, status: 'open', ...noAcceptance };
      status = 'open';
      acceptancesExpired += 1;
      reopened += 1;
    } else if (evidenceChanged) {
      // Still open, or accepted within its term: the variance is the same, its details moved.
      events.push(seenEvent());
      seen += 1;
    }
    observations.push({ variance: v.id, status });
    if (status !== v.status || contentChanged) updates.push(next);
    else if (lastSeen !== v.last_seen) touches.push(v.id);
  }

  for (const v of existing) {
    if (foundByKey.has(v.subject_key)) continue;
    if (v.status === 'open') {
      events.push({ variance: v.id, kind: 'resolved_auto', details: { last_seen: v.last_seen } });
      updates.push({ ...v, status: 'resolved', resolved_at: now, resolved_by: null });
      resolved += 1;
    } else if (v.status === 'accepted' && v.accepted_until !== null && date > v.accepted_until) {
      events.push({ variance: v.id, kind: 'acceptance_expired', details: acceptanceOf(v) });
      events.push({ variance: v.id, kind: 'resolved_auto', details: { last_seen: v.last_seen } });
      updates.push({ ...v, status: 'resolved', resolved_at: now, resolved_by: null, ...noAcceptance });
      acceptancesExpired += 1;
      resolved += 1;
    }
  }

  return {
    opens,
    updates,
    touches,
    devicesChanged,
    events,
    observations,
    found: foundByKey.size,
    counts,
    opened: opens.length,
    seen,
    resolved,
    reopened,
    acceptancesExpired,
  };
}

// ---------------------------------------------------------------------------------------------
// Applying a check

export interface ApplyCheckOptions {
  readonly date: string;
  readonly found: readonly FoundVariance[];
  readonly trigger: VarianceRunTrigger;
  /** When the run began (recorded on the run). */
  readonly startedAt: Date;
  readonly clock: Clock;
  /** Each tool's organization names on the day, recorded on the run (a later re-evaluation reads them). */
  readonly organizations?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** What a check over one day did (the run's record). */
export interface CheckRunOutcome {
  readonly runId: number;
  readonly date: string;
  /** Variances found on the day, per type. */
  readonly counts: Readonly<Record<VarianceType, number>>;
  readonly found: number;
  readonly opened: number;
  readonly seen: number;
  readonly resolved: number;
  readonly reopened: number;
  readonly acceptancesExpired: number;
  /** Open variances after the run, all days. */
  readonly openTotal: number;
}

/** The date of the latest completed check run, or null when none ran yet. */
export async function latestRunDate(db: Kysely<DB> | Transaction<DB>): Promise<string | null> {
  const r = await latestRunDateQuery(db).executeTakeFirst();
  return r?.snapshot_date ?? null;
}

/** The query of `latestRunDate`, also read as a subquery (lockVariancesIfChecked). */
function latestRunDateQuery(db: Kysely<DB> | Transaction<DB>) {
  return db.selectFrom('variance_run').select('snapshot_date').where('status', '=', 'completed').orderBy('snapshot_date', 'desc').limit(1);
}

export const STORED_COLUMNS = [
  'id',
  'subject_key',
  'type',
  'status',
  'hostname',
  'organization',
  'match_quality',
  'devices',
  'evidence',
  'hint',
  'first_seen',
  'last_seen',
  'resolved_at',
  'resolved_by',
  'accepted_until',
  'accepted_reason',
  'accepted_by',
] as const;

/**
 * Applies what a check found on `date` to the variances on record and records the run, in
 * `tx` (the caller's transaction: the check's reads and this write commit together or not at
 * all). Takes the variance lock. Throws HubError `HUB_ERR_VARIANCES_DATE_BEHIND` when a check
 * over a later day already completed (re-running the latest day is allowed, and idempotent).
 *
 * @example
 *   await db.transaction().execute((tx) =>
 *     applyCheckResult(tx, { date: '2026-03-10', found: result.variances, trigger: 'cli', startedAt, clock }));
 */
export async function applyCheckResult(tx: Transaction<DB>, options: ApplyCheckOptions): Promise<CheckRunOutcome> {
  const { date, found, trigger, startedAt, clock, organizations } = options;
  await lockVariances(tx);
  const latest = await latestRunDate(tx);
  if (latest !== null && date < latest) {
    throw new HubError(
      'HUB_ERR_VARIANCES_DATE_BEHIND',
      `Variances were already checked for ${latest}; ${date} is earlier and cannot be checked any more (it would resolve variances found later)`,
      { date, latest_date: latest },
    );
  }
  const now = clock.now();
  const keys = [...new Set(found.map((f) => f.subjectKey))];
  const existing = (await tx
    .selectFrom('variance')
    .select(STORED_COLUMNS)
    .where((eb) =>
      eb.or([
        eb('status', 'in', ['open', 'accepted']),
        eb('subject_key', 'in', sql<string>`(SELECT jsonb_array_elements_text(${JSON.stringify(keys)}::jsonb))`),
      ]),
    )
    .execute()) as StoredVariance[];
  const plan = planDay(existing, found, date, now);

  const run = await tx
    .insertInto('variance_run')
    .values({
      snapshot_date: date,
      trigger,
      status: 'completed',
      started_at: startedAt,
      finished_at: now,
      counts: JSON.stringify(plan.counts),
      organizations: organizations === undefined ? null : JSON.stringify(organizations),
      found: plan.found,
      opened: plan.opened,
      seen: plan.seen,
      resolved: plan.resolved,
      reopened: plan.reopened,
      acceptances_expired: plan.acceptancesExpired,
    })
    .returning('id')
    .executeTakeFirstOrThrow();

  const resolveId = await writePlan(tx, plan, { date, now, runId: run.id, actor: null });

  // The day's observations are replaced: a re-run of the day leaves exactly what it found.
  await tx.deleteFrom('variance_observation').where('snapshot_date', '=', date).execute();
  if (plan.observations.length > 0) {
    const rows = plan.observations.map((o) => ({ variance_id: resolveId(o.variance), status: o.status }));
    await sql`
      INSERT INTO variance_observation (snapshot_date, variance_id, status)
      SELECT ${date}::date, r.variance_id, r.status FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(variance_id integer, status text)`.execute(tx);
  }

  const open = await tx.selectFrom('variance').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'open').executeTakeFirstOrThrow();
  return {
    runId: run.id,
    date,
    counts: plan.counts,
    found: plan.found,
    opened: plan.opened,
    seen: plan.seen,
    resolved: plan.resolved,
    reopened: plan.reopened,
    acceptancesExpired: plan.acceptancesExpired,
    openTotal: Number(open.n),
  };
}

/**
 * Writes a plan's opens, updates, touches and events in `tx` (the caller holds the variance
 * lock) and returns how a planned reference maps to a variance id. Events carry `runId` (null
 * outside a run) and `actor` (null for a check; `sync:<who>` for a re-evaluation after a sync).
 */
export async function writePlan(
  tx: Transaction<DB>,
  plan: DayPlan,
  options: { readonly date: string; readonly now: Date; readonly runId: number | null; readonly actor: string | null },
): Promise<(ref: number | string) => number> {
  const { date, now, runId, actor } = options;
  // New variances, in one statement whatever their number.
  const idOf = new Map<string, number>();
  if (plan.opens.length > 0) {
    const rows = plan.opens.map((f) => ({
      subject_key: f.subjectKey,
      type: f.type,
      hostname: f.hostname,
      organization: f.organization,
      match_quality: f.matchQuality,
      devices: f.devices,
      evidence: f.evidence,
      hint: f.hint,
    }));
    const inserted = await sql<{ id: number; subject_key: string }>`
      INSERT INTO variance (subject_key, type, status, hostname, organization, match_quality, devices, evidence, hint,
                            first_seen, last_seen, updated_at)
      SELECT r.subject_key, r.type, 'open', r.hostname, r.organization, r.match_quality, r.devices, r.evidence, r.hint,
             ${date}::date, ${date}::date, ${now.toISOString()}::timestamptz
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
             AS r(subject_key text, type text, hostname text, organization text, match_quality text, devices jsonb, evidence jsonb, hint text)
      RETURNING id, subject_key`.execute(tx);
    for (const r of inserted.rows) idOf.set(r.subject_key, r.id);
  }

  if (plan.updates.length > 0) {
    const rows = plan.updates.map((v) => ({ ...v, resolved_at: v.resolved_at?.toISOString() ?? null }));
    await sql`
      UPDATE variance v SET
        status = r.status, hostname = r.hostname, organization = r.organization, match_quality = r.match_quality,
        devices = r.devices, evidence = r.evidence, hint = r.hint, last_seen = r.last_seen,
        resolved_at = r.resolved_at, resolved_by = r.resolved_by,
        accepted_until = r.accepted_until, accepted_reason = r.accepted_reason, accepted_by = r.accepted_by,
        updated_at = ${now.toISOString()}::timestamptz
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
             AS r(id integer, status text, hostname text, organization text, match_quality text, devices jsonb, evidence jsonb,
                  hint text, last_seen date, resolved_at timestamptz, resolved_by text, accepted_until date,
                  accepted_reason text, accepted_by text)
       WHERE v.id = r.id`.execute(tx);
  }
  if (plan.touches.length > 0) {
    await sql`
      UPDATE variance SET last_seen = ${date}::date, updated_at = ${now.toISOString()}::timestamptz
       WHERE id IN (SELECT (jsonb_array_elements_text(${JSON.stringify(plan.touches)}::jsonb))::integer)`.execute(tx);
  }

  const resolveId = (ref: number | string): number => {
    if (typeof ref === 'number') return ref;
    const id = idOf.get(ref);
    if (id === undefined) throw new Error(`variance ${ref} was not inserted`);
    return id;
  };
  // The devices each variance names, for lookups by device (migration 0010): written for new
  // variances, rewritten for those whose devices changed (a duplicate group gains a member).
  // A resolution or a touch leaves them as they are.
  const changed = new Set(plan.devicesChanged);
  const named = [
    ...plan.opens.map((f) => ({ id: resolveId(f.subjectKey), devices: f.devices })),
    ...plan.updates.filter((v) => changed.has(v.id)).map((v) => ({ id: v.id, devices: v.devices as readonly VarianceDeviceRef[] })),
  ];
  if (changed.size > 0) {
    await sql`
      DELETE FROM variance_device
       WHERE variance_id IN (SELECT (jsonb_array_elements_text(${JSON.stringify([...changed])}::jsonb))::integer)`.execute(tx);
  }
  if (named.length > 0) {
    const rows = named.flatMap((n) => n.devices.map((d) => ({ v: n.id, vendor: d.vendor, key: d.device_key })));
    await sql`
      INSERT INTO variance_device (vendor, device_key, variance_id)
      SELECT DISTINCT r.vendor, r.key, r.v
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(v integer, vendor text, key text)`.execute(tx);
  }
  if (plan.events.length > 0) {
    const rows = plan.events.map((e) => ({ variance_id: resolveId(e.variance), kind: e.kind, details: e.details }));
    // WITH ORDINALITY: ids follow the plan's order (an expiry before the reopen it causes).
    await sql`
      INSERT INTO variance_event (variance_id, at, kind, actor, note, snapshot_date, run_id, details)
      SELECT (e.value->>'variance_id')::integer, ${now.toISOString()}::timestamptz, e.value->>'kind', ${actor}::text, NULL, ${date}::date, ${runId}::integer,
             nullif(e.value->'details', 'null'::jsonb)
        FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) WITH ORDINALITY AS e(value, n)
       ORDER BY e.n`.execute(tx);
  }
  return resolveId;
}

// ---------------------------------------------------------------------------------------------
// What people do

export type VarianceAction = 'accept' | 'resolve' | 'reopen';

export interface AcceptInput {
  readonly reason: string;
  /** Last day (YYYY-MM-DD, inclusive) the acceptance holds; must be after today. */
  readonly until: string;
  readonly by: string;
  /** The API key the request used, recorded beside `by` (null: open mode, the CLI). */
  readonly apiKeyId?: string | null | undefined;
}

export interface ResolveInput {
  readonly by: string;
  /** The API key the request used, recorded beside `by` (null: open mode, the CLI). */
  readonly apiKeyId?: string | null | undefined;
  readonly note?: string | null | undefined;
  /** Recorded on the event (e.g. what was changed to fix it: update_type, old and new values). */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

export interface ReopenInput {
  readonly by: string;
  /** The API key the request used, recorded beside `by` (null: open mode, the CLI). */
  readonly apiKeyId?: string | null | undefined;
}

/** Which statuses each action may start from. */
const ALLOWED_FROM: Readonly<Record<VarianceAction, readonly VarianceStatus[]>> = {
  // From accepted: a new term or reason replaces the old one (recorded in the event).
  accept: ['open', 'accepted'],
  resolve: ['open', 'accepted'],
  reopen: ['resolved', 'accepted'],
};

const PAST: Readonly<Record<VarianceAction, string>> = { accept: 'accepted', resolve: 'resolved', reopen: 'reopened' };

async function lockedVariance(tx: Transaction<DB>, id: number, action: VarianceAction): Promise<VarianceRow> {
  await lockVariances(tx);
  const v = await tx.selectFrom('variance').selectAll().where('id', '=', id).executeTakeFirst();
  if (!v) throw new HubError('HUB_ERR_VARIANCE_NOT_FOUND', `Variance ${id} not found`, { id });
  if (!ALLOWED_FROM[action].includes(v.status)) {
    throw new HubError('HUB_ERR_VARIANCE_TRANSITION', `Variance ${id} is ${v.status}; it cannot be ${PAST[action]}`, { id, status: v.status });
  }
  return v;
}

async function recordPersonEvent(
  tx: Transaction<DB>,
  id: number,
  kind: VarianceEventKind,
  who: { readonly by: string; readonly apiKeyId?: string | null | undefined },
  now: Date,
  note: string | null,
  details: Record<string, unknown> | null,
): Promise<void> {
  await tx
    .insertInto('variance_event')
    .values({ variance_id: id, at: now, kind, actor: who.by, api_key_id: who.apiKeyId ?? null, note, snapshot_date: null, run_id: null, details: details === null ? null : JSON.stringify(details) })
    .execute();
}

/** A real calendar date in `YYYY-MM-DD` form. */
export function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/**
 * Checks an acceptance before anything is written: a reason, a person, and a last day after
 * today. Throws HubError `HUB_ERR_VALIDATION` naming the field.
 */
export function validateAcceptance(input: AcceptInput, today: string): void {
  if (input.reason.trim() === '') throw new HubError('HUB_ERR_VALIDATION', 'reason is required', { field: 'reason' });
  if (input.by.trim() === '') throw new HubError('HUB_ERR_VALIDATION', 'accepted_by is required', { field: 'accepted_by' });
  if (!isCalendarDate(input.until)) throw new HubError('HUB_ERR_VALIDATION', 'until must be a date (YYYY-MM-DD)', { field: 'until' });
  if (input.until <= today) throw new HubError('HUB_ERR_VALIDATION', `until must be after today (${today})`, { field: 'until' });
}

/**
 * A person accepts an open (or already accepted) variance until a day: it stays accepted through
 * that day whatever the checks find, then the first check after it decides (reopened if still
 * found, resolved if gone). Throws HubError `HUB_ERR_VARIANCE_NOT_FOUND`,
 * `HUB_ERR_VARIANCE_TRANSITION` (a resolved variance) or `HUB_ERR_VALIDATION`.
 */
export async function acceptVariance(tx: Transaction<DB>, id: number, input: AcceptInput, clock: Clock): Promise<VarianceRow> {
  validateAcceptance(input, clock.today());
  const v = await lockedVariance(tx, id, 'accept');
  const now = clock.now();
  const updated = await tx
    .updateTable('variance')
    .set({ status: 'accepted', accepted_until: input.until, accepted_reason: input.reason, accepted_by: input.by, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordPersonEvent(tx, id, 'accepted', input, now, input.reason, {
    until: input.until,
    ...(v.status === 'accepted' ? { previous: { accepted_until: v.accepted_until, accepted_reason: v.accepted_reason, accepted_by: v.accepted_by } } : {}),
  });
  return updated;
}

/**
 * A person marks an open or accepted variance resolved. Recorded as theirs; the next check
 * reopens it if the data still shows it. Throws HubError `HUB_ERR_VARIANCE_NOT_FOUND` or
 * `HUB_ERR_VARIANCE_TRANSITION` (already resolved).
 */
export async function resolveVariance(tx: Transaction<DB>, id: number, input: ResolveInput, clock: Clock): Promise<VarianceRow> {
  const v = await lockedVariance(tx, id, 'resolve');
  const now = clock.now();
  const updated = await tx
    .updateTable('variance')
    .set({ status: 'resolved', resolved_at: now, resolved_by: input.by, accepted_until: null, accepted_reason: null, accepted_by: null, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const details = { ...(v.status === 'accepted' ? { previous_status: 'accepted' } : {}), ...input.details };
  await recordPersonEvent(tx, id, 'resolved', input, now, input.note ?? null, Object.keys(details).length > 0 ? details : null);
  return updated;
}

/**
 * A person reopens a resolved variance, or ends an acceptance early. Throws HubError
 * `HUB_ERR_VARIANCE_NOT_FOUND` or `HUB_ERR_VARIANCE_TRANSITION` (already open).
 */
export async function reopenVariance(tx: Transaction<DB>, id: number, input: ReopenInput, clock: Clock): Promise<VarianceRow> {
  const v = await lockedVariance(tx, id, 'reopen');
  const now = clock.now();
  const updated = await tx
    .updateTable('variance')
    .set({ status: 'open', resolved_at: null, resolved_by: null, accepted_until: null, accepted_reason: null, accepted_by: null, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordPersonEvent(tx, id, 'reopened', input, now, null, { previous_status: v.status });
  return updated;
}

export type BulkInput =
  | ({ readonly action: 'accept' } & AcceptInput)
  | ({ readonly action: 'resolve' } & ResolveInput)
  | ({ readonly action: 'reopen' } & ReopenInput);

export type BulkItemResult =
  | { readonly id: number; readonly ok: true; readonly status: VarianceStatus }
  | { readonly id: number; readonly ok: false; readonly code: 'HUB_ERR_VARIANCE_NOT_FOUND' | 'HUB_ERR_VARIANCE_TRANSITION'; readonly error: string };

/**
 * One action over many variances in `tx`: each id gets its own result (not found, or a status
 * that does not allow the action, is that id's answer and does not stop the others). An
 * unexpected failure throws, and the caller's transaction rolls every id back.
 */
export async function applyBulk(tx: Transaction<DB>, ids: readonly number[], input: BulkInput, clock: Clock): Promise<BulkItemResult[]> {
  if (input.action === 'accept') validateAcceptance(input, clock.today());
  const results: BulkItemResult[] = [];
  for (const id of ids) {
    try {
      const row =
        input.action === 'accept'
          ? await acceptVariance(tx, id, input, clock)
          : input.action === 'resolve'
            ? await resolveVariance(tx, id, input, clock)
            : await reopenVariance(tx, id, input, clock);
      results.push({ id, ok: true, status: row.status });
    } catch (err) {
      // Both are decided before any write of that id, so the transaction is still usable.
      if (err instanceof HubError && (err.code === 'HUB_ERR_VARIANCE_NOT_FOUND' || err.code === 'HUB_ERR_VARIANCE_TRANSITION')) {
        results.push({ id, ok: false, code: err.code, error: err.message });
      } else {
        throw err;
      }
    }
  }
  return results;
}
