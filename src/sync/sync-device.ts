/**
 * Use case: re-read one ThreatLocker computer and replace today's snapshot of it.
 *
 * Lookup asks ThreatLocker for that device only (one request by computer id, one by hostname),
 * unlike a full-fleet download. Every outcome — not found, vendor failure, unusable row, a
 * database failure, the caller's deadline or disconnect — is returned as a value that says how
 * far the attempt got, and every attempt is recorded in the sync log.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { DB, SyncOutcome } from '../db/schema.js';
import { HubError } from '../errors.js';
import { replaceDeviceSnapshotStatement } from '../inventory/store.js';
import type { VendorIds } from '../inventory/vendors.js';
import type { HostnameLookup } from '../vendors/client.js';
import { VendorError, type CallOptions } from '../vendors/http.js';
import { normalizeThreatLockerComputer, type NormalizeFailure } from '../vendors/threatlocker/normalize.js';
import type { ThreatLockerComputer } from '../vendors/threatlocker/schema.js';
import { recordSyncAttempt, writeAndRecord } from './sync-log.js';

export const DEFAULT_UPDATED_BY = 'dashboard_user';

export interface SyncDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly vendorIds: VendorIds;
  readonly threatlocker: SyncVendor;
}

/** What a sync needs of the ThreatLocker client; every call takes the attempt's limits last. */
export interface SyncVendor {
  findById(computerId: string, options?: CallOptions): Promise<ThreatLockerComputer | null>;
  findByHostname(hostname: string, options?: CallOptions): Promise<HostnameLookup<ThreatLockerComputer>>;
  renameComputer(
    computerId: string,
    newName: string,
    organizationId?: string | null,
    options?: CallOptions,
  ): Promise<{ previousName: string | null }>;
}

export interface DeviceRef {
  /** Trimmed; `undefined` when not given. */
  readonly computerId?: string | undefined;
  readonly hostname?: string | undefined;
}

export type MatchedBy = 'computer_id' | 'hostname' | 'canonical_hostname';

export interface SyncedDevice {
  readonly computerId: string;
  /** The snapshot's device key (the computer id, lower-case) and canonical hostname. */
  readonly deviceKey: string;
  readonly canonicalHostname: string;
  readonly hostname: string;
  readonly displayName: string;
  readonly organizationName: string | null;
  readonly previousDisplayName: string | null;
  readonly matchedBy: MatchedBy;
  /** Other ThreatLocker computers with the same hostname (reinstall duplicates). */
  readonly otherMatches: number;
  readonly deviceIdentityId: number;
  readonly snapshotDate: string;
  readonly firstSeenDate: string;
  readonly lastSeenDate: string;
  readonly updatedAt: Date;
}

export type SyncFailure =
  | { readonly reason: 'not_found' }
  | { readonly reason: 'vendor_error'; readonly error: VendorError }
  | { readonly reason: 'invalid_device'; readonly error: NormalizeFailure }
  /** The database (HUB_ERR_DATABASE) or something unexpected (HUB_ERR_INTERNAL). */
  | { readonly reason: 'failed'; readonly error: HubError }
  /** The caller went away (the HTTP client disconnected); the attempt stopped. */
  | { readonly reason: 'cancelled'; readonly error: HubError };

export interface ResolvedComputer {
  readonly row: ThreatLockerComputer;
  readonly matchedBy: MatchedBy;
  readonly otherMatches: number;
  /** Just before the first vendor request: the snapshot's `vendor_read_at` (see inventory/store.ts). */
  readonly readAt: Date;
}

function checkinTime(row: ThreatLockerComputer): number {
  const t = row.lastCheckin ? Date.parse(row.lastCheckin) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}

/**
 * Finds the computer: by id first; if that finds nothing and a hostname was given, by hostname.
 * Several computers with one hostname (an agent reinstall leaves the old one behind): the one
 * that checked in last is the live machine.
 */
export async function resolveComputer(client: SyncVendor, ref: DeviceRef, attempt: Attempt): Promise<ResolvedComputer | null> {
  const { computerId, hostname } = ref;
  const readAt = new Date(); // wall clock, like a collection's page reads it is compared with
  if (computerId) {
    const row = await attempt.call((o) => client.findById(computerId, o));
    if (row) return { row, matchedBy: 'computer_id', otherMatches: 0, readAt };
  }
  if (hostname) {
    const { devices: computers, matchedBy } = await attempt.call((o) => client.findByHostname(hostname, o));
    if (computers.length > 0 && matchedBy) {
      const sorted = [...computers].sort((a, b) => checkinTime(b) - checkinTime(a));
      return { row: sorted[0] as ThreatLockerComputer, matchedBy, otherMatches: computers.length - 1, readAt };
    }
  }
  return null;
}

/** The caller's limits on an attempt. */
export interface SyncLimits extends CallOptions {
  /** The deadline as a duration (for messages), e.g. SYNC_DEADLINE_MS. */
  readonly budgetMs?: number | undefined;
  /** The API key the request used, recorded in the sync log beside `updated_by` (null: open mode, the CLI). */
  readonly apiKeyId?: string | null | undefined;
}

/** One attempt in progress: what was asked, by whom, since when, and how far it got. */
export interface Attempt {
  readonly operation: 'sync' | 'rename';
  readonly ref: DeviceRef;
  readonly updatedBy: string;
  readonly startedAt: Date;
  readonly started: number;
  /** Where a rename is (lookup → rename → sync); plain syncs stay at `lookup` until they write. */
  stage: 'lookup' | 'rename' | 'sync';
  /** The caller's limits: its cancellation signal and its deadline (epoch ms). */
  readonly limits: SyncLimits;
  /**
   * Runs one vendor call within the limits: the call is given them (the client aborts its
   * request), and the attempt stops waiting at the deadline or on cancellation in any case.
   */
  call<T>(fn: (options: CallOptions) => Promise<T>): Promise<T>;
}

/** Thrown inside an attempt when its caller went away; turned into a `cancelled` outcome. */
class AttemptCancelled extends Error {}

function deadlineError(attempt: Attempt): VendorError {
  const budget = attempt.limits.budgetMs === undefined ? '' : ` (${attempt.limits.budgetMs} ms)`;
  return new VendorError('ThreatLocker', 'timeout', `ThreatLocker did not answer within the request's deadline${budget}`, undefined, 0);
}

/**
 * Races `fn` against the attempt's deadline and signal. A call still running when the attempt
 * gives up is not awaited, but its end is still observed and logged (a rename that lands after
 * the deadline must not go unnoticed).
 */
function callWithin<T>(deps: SyncDeps, attempt: Attempt, fn: (options: CallOptions) => Promise<T>): Promise<T> {
  const { signal, deadline } = attempt.limits;
  if (signal?.aborted) return Promise.reject(new AttemptCancelled());
  if (signal === undefined && deadline === undefined) return fn({});
  const left = deadline === undefined ? undefined : deadline - Date.now();
  if (left !== undefined && left <= 0) return Promise.reject(deadlineError(attempt));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = () => finish(() => reject(new AttemptCancelled()));
    const timer = left === undefined ? undefined : setTimeout(() => finish(() => reject(deadlineError(attempt))), left);
    signal?.addEventListener('abort', onAbort, { once: true });
    fn({ signal, deadline }).then(
      (value) => {
        if (settled) deps.logger.warn({ operation: attempt.operation, stage: attempt.stage }, 'vendor call succeeded after the attempt gave up');
        finish(() => resolve(value));
      },
      (err: unknown) => {
        if (settled) deps.logger.debug({ err, operation: attempt.operation, stage: attempt.stage }, 'vendor call failed after the attempt gave up');
        // The client times its last attempt out at the deadline too; whichever fires first, the
        // answer names the request's deadline.
        const ranOut = err instanceof VendorError && err.kind === 'timeout' && deadline !== undefined && Date.now() >= deadline - 50;
        if (ranOut) finish(() => reject(deadlineError(attempt)));
        else finish(() => reject(err)); // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors -- the vendor call's own rejection, passed on unchanged
      },
    );
  });
}

export type Synced = { readonly ok: true; readonly syncId: number } & SyncedDevice;
/** `syncId` is null when even the failure could not be recorded (the database is down). */
export type Failed = { readonly ok: false; readonly syncId: number | null; readonly stage: Attempt['stage'] } & SyncFailure;

function elapsed(attempt: Attempt): number {
  return performance.now() - attempt.started;
}

/**
 * Normalizes an already-fetched computer and writes today's snapshot together with the
 * attempt's success record (one statement). Throws HUB_ERR_DATABASE if the write fails;
 * nothing is then changed. A caller that went away stops the attempt before the write.
 */
export async function storeComputer(
  deps: SyncDeps,
  attempt: Attempt,
  resolved: ResolvedComputer,
  renamedFrom?: string | null,
): Promise<Synced | SyncFailure> {
  const normalized = normalizeThreatLockerComputer(resolved.row);
  if (!normalized.ok) return { reason: 'invalid_device', error: normalized.error };
  const { device } = normalized;
  const computerId = String(resolved.row.computerId).trim();
  const date = deps.clock.today();
  if (attempt.limits.signal?.aborted) throw new AttemptCancelled();
  let written;
  try {
    written = await writeAndRecord(deps.db, replaceDeviceSnapshotStatement(deps.vendorIds.threatlocker, date, device, 'sync', resolved.readAt), {
      operation: attempt.operation,
      requested_at: attempt.startedAt,
      requested_computer_id: attempt.ref.computerId ?? null,
      requested_hostname: attempt.ref.hostname ?? null,
      matched_computer_id: computerId,
      matched_hostname: device.attributes.hostname,
      matched_by: resolved.matchedBy,
      snapshot_date: date,
      display_name: device.attributes.display_name,
      updated_by: attempt.updatedBy,
      api_key_id: attempt.limits.apiKeyId ?? null,
      outcome: 'success',
      ...(renamedFrom !== undefined ? { previous_display_name: renamedFrom } : {}),
      elapsed_ms: elapsed(attempt),
    });
  } catch (err) {
    deps.logger.error({ err, computerId }, 'snapshot write failed; rolled back');
    throw new HubError('HUB_ERR_DATABASE', "database write failed; the hub's snapshot was not changed", undefined, { cause: err });
  }
  return {
    ok: true,
    syncId: written.sync_id,
    computerId,
    deviceKey: device.vendorDeviceKey,
    canonicalHostname: device.attributes.canonical_hostname,
    hostname: device.attributes.hostname,
    displayName: device.attributes.display_name ?? device.attributes.hostname,
    organizationName: device.attributes.organization_name,
    previousDisplayName: written.previous_display_name,
    matchedBy: resolved.matchedBy,
    otherMatches: resolved.otherMatches,
    deviceIdentityId: written.device_identity_id,
    snapshotDate: date,
    firstSeenDate: written.first_seen_date,
    lastSeenDate: written.last_seen_date,
    updatedAt: deps.clock.now(),
  };
}

/** Log fields of an attempt that did not write. */
function failureFields(failure: SyncFailure): { outcome: SyncOutcome; code: string; message: string } {
  switch (failure.reason) {
    case 'not_found':
      return { outcome: 'not_found', code: 'HUB_ERR_DEVICE_NOT_FOUND', message: 'Device not found in ThreatLocker API' };
    case 'vendor_error':
      return { outcome: 'vendor_error', code: failure.error.code, message: failure.error.message };
    case 'invalid_device':
      return { outcome: 'invalid_device', code: 'HUB_ERR_VENDOR_MALFORMED', message: failure.error.message };
    case 'failed':
    case 'cancelled':
      return { outcome: 'failed', code: failure.error.code, message: failure.error.message };
  }
}

/**
 * Records an attempt that did not write. A failure to write the log must not hide the
 * attempt's own outcome, so it is logged and swallowed (the id is then null).
 */
async function recordFailure(
  deps: SyncDeps,
  attempt: Attempt,
  fields: { outcome: SyncOutcome; code: string; message: string },
  previousName: string | null,
): Promise<number | null> {
  try {
    return await recordSyncAttempt(deps.db, {
      operation: attempt.operation,
      requested_at: attempt.startedAt,
      requested_computer_id: attempt.ref.computerId ?? null,
      requested_hostname: attempt.ref.hostname ?? null,
      updated_by: attempt.updatedBy,
      api_key_id: attempt.limits.apiKeyId ?? null,
      outcome: fields.outcome,
      error_code: fields.code,
      error_message: attempt.operation === 'rename' ? `${attempt.stage}: ${fields.message}` : fields.message,
      previous_display_name: previousName,
      duration_ms: Math.round(elapsed(attempt)),
    });
  } catch (err) {
    deps.logger.error({ err }, 'could not record sync attempt');
    return null;
  }
}

/**
 * Runs one attempt within the caller's limits. Every way it can end — including the database
 * failing after a rename, a deadline, a disconnect, a bug — becomes a failure value carrying
 * the stage reached, and is recorded in the sync log.
 */
export async function runAttempt(
  deps: SyncDeps,
  operation: Attempt['operation'],
  ref: DeviceRef,
  updatedBy: string,
  body: (attempt: Attempt, note: { previousName: string | null }) => Promise<Synced | SyncFailure>,
  limits: SyncLimits = {},
): Promise<Synced | Failed> {
  const attempt: Attempt = {
    operation,
    ref,
    updatedBy,
    startedAt: deps.clock.now(),
    started: performance.now(),
    stage: 'lookup',
    limits,
    call: (fn) => callWithin(deps, attempt, fn),
  };
  const note = { previousName: null as string | null };
  let failure: SyncFailure;
  try {
    const outcome = await body(attempt, note);
    if ('ok' in outcome) {
      deps.logger.info({ operation, computerId: outcome.computerId, matchedBy: outcome.matchedBy, updatedBy, ms: Math.round(elapsed(attempt)) }, 'ThreatLocker device synced');
      return outcome;
    }
    failure = outcome;
  } catch (err) {
    // Checked first: once the caller is gone, whatever the interrupted call threw is moot.
    if (err instanceof AttemptCancelled || limits.signal?.aborted) {
      failure = { reason: 'cancelled', error: new HubError('HUB_ERR_REQUEST_CANCELLED', `the client disconnected; the attempt stopped at ${attempt.stage}`) };
    } else if (err instanceof VendorError) {
      failure = { reason: 'vendor_error', error: err };
    } else if (err instanceof HubError) {
      failure = { reason: 'failed', error: err };
    } else {
      deps.logger.error({ err, operation, stage: attempt.stage }, 'sync attempt failed unexpectedly');
      failure = { reason: 'failed', error: new HubError('HUB_ERR_INTERNAL', 'unexpected error', undefined, { cause: err }) };
    }
  }
  const fields = failureFields(failure);
  const syncId = await recordFailure(deps, attempt, fields, note.previousName);
  deps.logger.warn({ operation, ref, stage: attempt.stage, reason: failure.reason, code: fields.code }, 'ThreatLocker device sync failed');
  return { ok: false, syncId, stage: attempt.stage, ...failure };
}

/**
 * Syncs one device.
 *
 * @example
 *   const r = await syncThreatLockerDevice(deps, { hostname: 'chi-2k5fsb4' }, 'dashboard_user');
 *   if (r.ok) console.log(r.displayName); else console.log(r.reason);
 */
export async function syncThreatLockerDevice(deps: SyncDeps, ref: DeviceRef, updatedBy: string, limits: SyncLimits = {}): Promise<Synced | Failed> {
  return runAttempt(
    deps,
    'sync',
    ref,
    updatedBy,
    async (attempt) => {
      const resolved = await resolveComputer(deps.threatlocker, ref, attempt);
      if (!resolved) return { reason: 'not_found' };
      attempt.stage = 'sync';
      return storeComputer(deps, attempt, resolved);
    },
    limits,
  );
}
