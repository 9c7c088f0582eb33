/**
 * PostgreSQL advisory lock classes (the first key of the two-key form), one place for all.
 * The second key is the vendor id.
 *
 * SNAPSHOT_WRITE_LOCK: single-device writes (sync-device) take it shared; a collection swapping
 * in a vendor's whole day and retention dropping days take it exclusive.
 *
 * SNAPSHOT_DAY_LOCK: creating a vendor-day's partition on first write (ensure_snapshot_day in
 * migration 0004), so two writers of a new day do not both create it.
 *
 * VARIANCE_LOCK (second key 0): every change to variances — a check run over a day and a
 * person's accept/resolve/reopen — so a run never overwrites a person's action it did not see,
 * and two runs (any process) apply one after the other.
 */
export const SNAPSHOT_WRITE_LOCK = 7_401;
export const SNAPSHOT_DAY_LOCK = 7_402;
export const VARIANCE_LOCK = 7_403;
