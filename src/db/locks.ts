/**
 * PostgreSQL advisory lock classes (the first key of the two-key form), one place for all.
 * The second key is the vendor id.
 *
 * SNAPSHOT_WRITE_LOCK: single-device writes (sync-device) take it shared, a collector's swap
 * of a vendor's whole day takes it exclusive.
 */
export const SNAPSHOT_WRITE_LOCK = 7_401;
