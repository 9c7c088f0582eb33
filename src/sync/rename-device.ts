/**
 * Use case: rename a computer in ThreatLocker, then sync it, so the hub shows the new name at once.
 */
import { HubError } from '../errors.js';
import { VendorError } from '../vendors/http.js';
import {
  beginAttempt,
  failureLogFields,
  logAttempt,
  resolveComputer,
  storeComputer,
  type DeviceRef,
  type SyncDeps,
  type SyncedDevice,
  type SyncFailure,
} from './sync-device.js';

export type RenameResult =
  | ({ readonly ok: true; readonly syncId: number; readonly oldName: string | null; readonly newName: string } & SyncedDevice)
  | ({ readonly ok: false; readonly syncId: number; readonly stage: 'lookup' | 'rename' | 'sync' } & SyncFailure);

/**
 * Renames then syncs. `stage` on a failure says how far it got: a failure at `sync` means the
 * vendor already has the new name and only the hub's copy is behind (the next sync fixes it).
 */
export async function renameThreatLockerDevice(deps: SyncDeps, ref: DeviceRef, newName: string, updatedBy: string): Promise<RenameResult> {
  const ctx = beginAttempt(deps, 'rename', ref, updatedBy);
  let stage: 'lookup' | 'rename' | 'sync' = 'lookup';
  let failure: SyncFailure;
  let oldName: string | null = null;
  try {
    const found = await resolveComputer(deps.threatlocker, ref);
    if (!found) {
      failure = { reason: 'not_found' };
    } else {
      const computerId = String(found.row.computerId).trim();
      oldName = found.row.computerName ?? null;
      stage = 'rename';
      // Act as the computer's own organization: a parent-org key needs it for cross-org edits.
      const renamed = await deps.threatlocker.renameComputer(computerId, newName, found.row.organizationId);
      oldName = renamed.previousName ?? oldName;
      stage = 'sync';
      const fresh = await deps.threatlocker.findComputerById(computerId);
      if (!fresh) {
        failure = { reason: 'not_found' };
      } else {
        const stored = await storeComputer(deps, { ...found, row: fresh });
        if (stored.ok) {
          const syncId = await logAttempt(deps, ctx, 'success', { device: stored, renamedFrom: oldName });
          deps.logger.info({ computerId, updatedBy }, 'ThreatLocker computer renamed and synced');
          return { ...stored, ok: true, syncId, oldName, newName };
        }
        failure = { reason: 'invalid_device', error: stored.error };
      }
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
  const syncId = await logAttempt(deps, ctx, fields.outcome, {
    errorCode: fields.errorCode,
    errorMessage: `${stage}: ${fields.errorMessage}`,
    renamedFrom: oldName,
  });
  deps.logger.warn({ ref, stage, reason: failure.reason, code: fields.errorCode }, 'ThreatLocker rename failed');
  return { ok: false, syncId, stage, ...failure };
}
