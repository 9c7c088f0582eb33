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
import { replaceDeviceSnapshot } from '../inventory/store.js';
import type { VendorIds } from '../inventory/vendors.js';
import { VendorError } from '../vendors/http.js';
import type { ThreatLockerClient } from '../vendors/threatlocker/client.js';
import { normalizeThreatLockerComputer, type NormalizeFailure } from '../vendors/threatlocker/normalize.js';
import type { ThreatLockerComputer } from '../vendors/threatlocker/schema.js';
import { recordSyncAttempt } from './sync-log.js';

export const DEFAULT_UPDATED_BY = 'dashboard_user';

export interface SyncDeps {
  readonly db: Kysely<DB>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly vendorIds: VendorIds;
  readonly threatlocker: Pick<ThreatLockerClient, 'findComputerById' | 'findComputersByHostname' | 'renameComputer'>;
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

export type SyncResult =
  | ({ readonly ok: true; readonly syncId: number } & SyncedDevice)
  | ({ readonly ok: false; readonly syncId: number } & SyncFailure);

export interface ResolvedComputer {
  readonly row: ThreatLockerComputer;
  readonly matchedBy: MatchedBy;
  readonly otherMatches: number;
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
  if (ref.computerId) {
    const row = await client.findComputerById(ref.computerId);
    if (row) return { row, matchedBy: 'computer_id', otherMatches: 0 };
  }
  if (ref.hostname) {
    const { computers, matchedBy } = await client.findComputersByHostname(ref.hostname);
    if (computers.length > 0 && matchedBy) {
      const sorted = [...computers].sort((a, b) => checkinTime(b) - checkinTime(a));
      return { row: sorted[0] as ThreatLockerComputer, matchedBy, otherMatches: computers.length - 1 };
    }
  }
  return null;
}

interface AttemptContext {
  readonly operation: 'sync' | 'rename';
  readonly ref: DeviceRef;
  readonly updatedBy: string;
  readonly startedAt: Date;
  readonly started: number;
}

/** Writes today's snapshot for an already-fetched computer. Throws HUB_ERR_DATABASE on failure. */
export async function storeComputer(
  deps: SyncDeps,
  resolved: ResolvedComputer,
): Promise<({ ok: true } & SyncedDevice) | { ok: false; reason: 'invalid_device'; error: NormalizeFailure }> {
  const normalized = normalizeThreatLockerComputer(resolved.row);
  if (!normalized.ok) return { ok: false, reason: 'invalid_device', error: normalized.error };
  const { device } = normalized;
  const date = deps.clock.today();
  let written;
  try {
    written = await replaceDeviceSnapshot(deps.db, deps.vendorIds.ThreatLocker, date, device, 'sync');
  } catch (err) {
    deps.logger.error({ err, computerId: device.vendorDeviceKey }, 'snapshot write failed; rolled back');
    throw new HubError('HUB_ERR_DATABASE', 'database write failed; nothing was changed', undefined, { cause: err });
  }
  return {
    ok: true,
    computerId: String(resolved.row.computerId).trim(),
    hostname: device.attributes.hostname,
    displayName: device.attributes.display_name ?? device.attributes.hostname,
    organizationName: device.attributes.organization_name,
    previousDisplayName: written.previousDisplayName,
    matchedBy: resolved.matchedBy,
    otherMatches: resolved.otherMatches,
    deviceIdentityId: written.deviceIdentityId,
    snapshotDate: date,
    firstSeenDate: written.firstSeenDate,
    lastSeenDate: written.lastSeenDate,
    updatedAt: deps.clock.now(),
  };
}

/**
 * Records one attempt. A failure to write the log must not turn a successful sync into an
 * error, so it is logged and swallowed (the returned id is then 0).
 */
export async function logAttempt(
  deps: SyncDeps,
  ctx: AttemptContext,
  outcome: SyncOutcome,
  extra: { device?: SyncedDevice; errorCode?: string; errorMessage?: string; renamedFrom?: string | null } = {},
): Promise<number> {
  const d = extra.device;
  try {
    return await recordSyncAttempt(deps.db, {
      operation: ctx.operation,
      requested_at: ctx.startedAt,
      requested_computer_id: ctx.ref.computerId ?? null,
      requested_hostname: ctx.ref.hostname ?? null,
      matched_computer_id: d?.computerId ?? null,
      matched_hostname: d?.hostname ?? null,
      matched_by: d?.matchedBy ?? null,
      device_identity_id: d?.deviceIdentityId ?? null,
      snapshot_date: d?.snapshotDate ?? null,
      previous_display_name: extra.renamedFrom !== undefined ? extra.renamedFrom : (d?.previousDisplayName ?? null),
      display_name: d?.displayName ?? null,
      updated_by: ctx.updatedBy,
      outcome,
      error_code: extra.errorCode ?? null,
      error_message: extra.errorMessage ?? null,
      duration_ms: Math.round(performance.now() - ctx.started),
    });
  } catch (err) {
    deps.logger.error({ err }, 'could not record sync attempt');
    return 0;
  }
}

export function beginAttempt(deps: SyncDeps, operation: 'sync' | 'rename', ref: DeviceRef, updatedBy: string): AttemptContext {
  return { operation, ref, updatedBy, startedAt: deps.clock.now(), started: performance.now() };
}

/** Turns an expected failure into its log fields. */
export function failureLogFields(failure: SyncFailure): { outcome: SyncOutcome; errorCode: string; errorMessage: string } {
  switch (failure.reason) {
    case 'not_found':
      return { outcome: 'not_found', errorCode: 'HUB_ERR_DEVICE_NOT_FOUND', errorMessage: 'Device not found in ThreatLocker API' };
    case 'vendor_error':
      return { outcome: 'vendor_error', errorCode: failure.error.code, errorMessage: failure.error.message };
    case 'invalid_device':
      return { outcome: 'invalid_device', errorCode: 'HUB_ERR_VENDOR_MALFORMED', errorMessage: failure.error.message };
  }
}

/**
 * Syncs one device.
 *
 * @example
 *   const r = await syncThreatLockerDevice(deps, { hostname: 'chi-2k5fsb4' }, 'dashboard_user');
 *   if (r.ok) console.log(r.displayName); else console.log(r.reason);
 */
export async function syncThreatLockerDevice(deps: SyncDeps, ref: DeviceRef, updatedBy: string): Promise<SyncResult> {
  const ctx = beginAttempt(deps, 'sync', ref, updatedBy);
  let failure: SyncFailure;
  try {
    const resolved = await resolveComputer(deps.threatlocker, ref);
    if (!resolved) {
      failure = { reason: 'not_found' };
    } else {
      const stored = await storeComputer(deps, resolved);
      if (stored.ok) {
        const syncId = await logAttempt(deps, ctx, 'success', { device: stored });
        deps.logger.info(
          { computerId: stored.computerId, matchedBy: stored.matchedBy, updatedBy, ms: Math.round(performance.now() - ctx.started) },
          'ThreatLocker device synced',
        );
        return { ...stored, syncId };
      }
      failure = { reason: 'invalid_device', error: stored.error };
    }
  } catch (err) {
    if (err instanceof VendorError) {
      failure = { reason: 'vendor_error', error: err };
    } else {
      const code = err instanceof HubError ? err.code : 'HUB_ERR_INTERNAL';
      await logAttempt(deps, ctx, 'failed', { errorCode: code, errorMessage: err instanceof HubError ? err.message : 'unexpected error' });
      throw err;
    }
  }
  const fields = failureLogFields(failure);
  const syncId = await logAttempt(deps, ctx, fields.outcome, { errorCode: fields.errorCode, errorMessage: fields.errorMessage });
  deps.logger.warn({ ref, reason: failure.reason, code: fields.errorCode }, 'ThreatLocker device sync failed');
  return { ok: false, syncId, ...failure };
}
