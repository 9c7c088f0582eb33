/**
 * Use case: re-read one ThreatLocker computer and replace today's snapshot of it.
 *
 * Lookup asks ThreatLocker for that device only (one request by computer id, one by hostname),
 * unlike a full-fleet download. Expected outcomes (not found, vendor failure, unusable row) are
 * returned; only the unexpected (the database) throws. Every attempt is recorded in the sync log.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { DB, SyncOutcome } from '../db/schema.js';
import { HubError } from '../errors.js';
import { replaceDeviceSnapshotStatement } from '../inventory/store.js';
import type { VendorIds } from '../inventory/vendors.js';
import { VendorError } from '../vendors/http.js';
import type { ThreatLockerClient } from '../vendors/threatlocker/client.js';
import { normalizeThreatLockerComputer, type NormalizeFailure } from '../vendors/threatlocker/normalize.js';
import type { ThreatLockerComputer } from '../vendors/threatlocker/schema.js';
import { recordSyncAttempt, writeAndRecord } from './sync-log.js';

export const DEFAULT_UPDATED_BY = 'dashboard_user';

export interface SyncDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly vendorIds: VendorIds;
  readonly threatlocker: Pick<ThreatLockerClient, 'findById' | 'findByHostname' | 'renameComputer'>;
}

export interface DeviceRef {
  /** Trimmed; `undefined` when not given. */
  readonly computerId?: string | undefined;
  readonly hostname?: string | undefined;
}

export type MatchedBy = 'computer_id' | 'hostname' | 'canonical_hostname';

export interface SyncedDevice {
  readonly computerId: string;
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
  | { readonly reason: 'invalid_device'; readonly error: NormalizeFailure };

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
export async function resolveComputer(client: SyncDeps['threatlocker'], ref: DeviceRef): Promise<ResolvedComputer | null> {
  const readAt = new Date(); // wall clock, like a collection's page reads it is compared with
  if (ref.computerId) {
    const row = await client.findById(ref.computerId);
    if (row) return { row, matchedBy: 'computer_id', otherMatches: 0, readAt };
  }
  if (ref.hostname) {
    const { devices: computers, matchedBy } = await client.findByHostname(ref.hostname);
    if (computers.length > 0 && matchedBy) {
      const sorted = [...computers].sort((a, b) => checkinTime(b) - checkinTime(a));
      return { row: sorted[0] as ThreatLockerComputer, matchedBy, otherMatches: computers.length - 1, readAt };
    }
  }
  return null;
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
}

export type Synced = { readonly ok: true; readonly syncId: number } & SyncedDevice;
export type Failed = { readonly ok: false; readonly syncId: number; readonly stage: Attempt['stage'] } & SyncFailure;

function elapsed(attempt: Attempt): number {
  return performance.now() - attempt.started;
}

/**
 * Normalizes an already-fetched computer and writes today's snapshot together with the
 * attempt's success record (one statement). Throws HUB_ERR_DATABASE if the write fails;
 * nothing is then changed.
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
  let written;
  try {
    written = await writeAndRecord(deps.db, replaceDeviceSnapshotStatement(deps.vendorIds.ThreatLocker, date, device, 'sync', resolved.readAt), {
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
      outcome: 'success',
      ...(renamedFrom !== undefined ? { previous_display_name: renamedFrom } : {}),
      elapsed_ms: elapsed(attempt),
    });
  } catch (err) {
    deps.logger.error({ err, computerId }, 'snapshot write failed; rolled back');
    throw new HubError('HUB_ERR_DATABASE', 'database write failed; nothing was changed', undefined, { cause: err });
  }
  return {
    ok: true,
    syncId: written.sync_id,
    computerId,
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
  }
}

/**
 * Records an attempt that did not write. A failure to write the log must not hide the
 * attempt's own outcome, so it is logged and swallowed (the id is then 0).
 */
async function recordFailure(
  deps: SyncDeps,
  attempt: Attempt,
  fields: { outcome: SyncOutcome; code: string; message: string },
  previousName: string | null,
): Promise<number> {
  try {
    return await recordSyncAttempt(deps.db, {
      operation: attempt.operation,
      requested_at: attempt.startedAt,
      requested_computer_id: attempt.ref.computerId ?? null,
      requested_hostname: attempt.ref.hostname ?? null,
      updated_by: attempt.updatedBy,
      outcome: fields.outcome,
      error_code: fields.code,
      error_message: attempt.operation === 'rename' ? `${attempt.stage}: ${fields.message}` : fields.message,
      previous_display_name: previousName,
      duration_ms: Math.round(elapsed(attempt)),
    });
  } catch (err) {
    deps.logger.error({ err }, 'could not record sync attempt');
    return 0;
  }
}

/**
 * Runs one attempt: vendor failures become a `vendor_error` outcome, every outcome is recorded,
 * and only the unexpected (database, bugs) is thrown — after being recorded as `failed`.
 */
export async function runAttempt(
  deps: SyncDeps,
  operation: Attempt['operation'],
  ref: DeviceRef,
  updatedBy: string,
  body: (attempt: Attempt, note: { previousName: string | null }) => Promise<Synced | SyncFailure>,
): Promise<Synced | Failed> {
  const attempt: Attempt = { operation, ref, updatedBy, startedAt: deps.clock.now(), started: performance.now(), stage: 'lookup' };
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
    if (!(err instanceof VendorError)) {
      const code = err instanceof HubError ? err.code : 'HUB_ERR_INTERNAL';
      const message = err instanceof HubError ? err.message : 'unexpected error';
      await recordFailure(deps, attempt, { outcome: 'failed', code, message }, note.previousName);
      throw err;
    }
    failure = { reason: 'vendor_error', error: err };
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
export async function syncThreatLockerDevice(deps: SyncDeps, ref: DeviceRef, updatedBy: string): Promise<Synced | Failed> {
  return runAttempt(deps, 'sync', ref, updatedBy, async (attempt) => {
    const resolved = await resolveComputer(deps.threatlocker, ref);
    if (!resolved) return { reason: 'not_found' };
    attempt.stage = 'sync';
    return storeComputer(deps, attempt, resolved);
  });
}
