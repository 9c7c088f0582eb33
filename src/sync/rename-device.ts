/**
 * Use case: rename a computer in ThreatLocker, then sync it, so the hub shows the new name at once.
 */
import { resolveComputer, runAttempt, storeComputer, type DeviceRef, type Failed, type Synced, type SyncDeps, type SyncLimits } from './sync-device.js';

export type Renamed = Synced & { readonly oldName: string | null; readonly newName: string };

/**
 * Renames then syncs. `stage` on a failure says how far it got: a failure at `sync` means the
 * vendor already has the new name and only the hub's copy is behind (the next sync fixes it).
 */
export async function renameThreatLockerDevice(
  deps: SyncDeps,
  ref: DeviceRef,
  newName: string,
  updatedBy: string,
  limits: SyncLimits = {},
): Promise<Renamed | Failed> {
  let oldName: string | null = null;
  const result = await runAttempt(
    deps,
    'rename',
    ref,
    updatedBy,
    async (attempt, note) => {
      const found = await resolveComputer(deps.threatlocker, ref, attempt);
      if (!found) return { reason: 'not_found' };
      const computerId = String(found.row.computerId).trim();
      note.previousName = oldName = found.row.computerName ?? null;
      attempt.stage = 'rename';
      // Act as the computer's own organization: a parent-org key needs it for cross-org edits.
      const renamed = await attempt.call((o) => deps.threatlocker.renameComputer(computerId, newName, found.row.organizationId, o));
      note.previousName = oldName = renamed.previousName ?? oldName;
      attempt.stage = 'sync';
      const fresh = await attempt.call((o) => deps.threatlocker.findById(computerId, o));
      if (!fresh) return { reason: 'not_found' };
      return storeComputer(deps, attempt, { ...found, row: fresh }, oldName);
    },
    limits,
  );
  return result.ok ? { ...result, oldName, newName } : result;
}
