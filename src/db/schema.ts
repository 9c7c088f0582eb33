/**
 * Kysely table types. DATE columns are `string` (`YYYY-MM-DD`): the drivers are configured in
 * database.ts to hand dates over untouched, because a JS Date would shift the day across zones.
 */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface VendorTable {
  id: Generated<number>;
  name: string;
}

export interface DeviceIdentityTable {
  id: Generated<number>;
  vendor_id: number;
  vendor_device_key: string;
  first_seen_date: string;
  last_seen_date: string;
}

export const SNAPSHOT_SOURCES = ['collector', 'sync'] as const;
export type SnapshotSource = (typeof SNAPSHOT_SOURCES)[number];

/** Columns a normalizer fills; shared by every vendor (unused ones stay null). */
export interface SnapshotAttributes {
  hostname: string;
  canonical_hostname: string;
  display_name: string | null;
  organization_name: string | null;
  os_name: string | null;
  device_status: string | null;
  last_online: string | null;
  agent_install_timestamp: string | null;
  organization_id: string | null;
  computer_group: string | null;
  security_mode: string | null;
  deny_count_1d: number | null;
  deny_count_3d: number | null;
  deny_count_7d: number | null;
  install_date: string | null;
  is_locked_out: boolean | null;
  is_isolated: boolean | null;
  agent_version: string | null;
  has_checked_in: boolean | null;
}

export interface DeviceSnapshotTable {
  id: Generated<string>;
  snapshot_date: string;
  vendor_id: number;
  device_identity_id: number;
  hostname: string;
  canonical_hostname: string;
  display_name: string | null;
  organization_name: string | null;
  os_name: string | null;
  device_status: string | null;
  last_online: ColumnType<Date | null, string | null, string | null>;
  agent_install_timestamp: ColumnType<Date | null, string | null, string | null>;
  organization_id: string | null;
  computer_group: string | null;
  security_mode: string | null;
  deny_count_1d: number | null;
  deny_count_3d: number | null;
  deny_count_7d: number | null;
  install_date: ColumnType<Date | null, string | null, string | null>;
  is_locked_out: boolean | null;
  is_isolated: boolean | null;
  agent_version: string | null;
  has_checked_in: boolean | null;
  raw: Json;
  source: SnapshotSource;
  written_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export const SYNC_OUTCOMES = ['success', 'not_found', 'vendor_error', 'invalid_device', 'failed'] as const;
export type SyncOutcome = (typeof SYNC_OUTCOMES)[number];

export interface DeviceSyncLogTable {
  id: Generated<number>;
  operation: 'sync' | 'rename';
  requested_at: Timestamp;
  requested_computer_id: string | null;
  requested_hostname: string | null;
  matched_computer_id: string | null;
  matched_hostname: string | null;
  matched_by: string | null;
  device_identity_id: number | null;
  snapshot_date: string | null;
  previous_display_name: string | null;
  display_name: string | null;
  updated_by: string;
  outcome: SyncOutcome;
  error_code: string | null;
  error_message: string | null;
  duration_ms: number;
}

export interface DB {
  vendor: VendorTable;
  device_identity: DeviceIdentityTable;
  device_snapshot: DeviceSnapshotTable;
  device_sync_log: DeviceSyncLogTable;
}

export type DeviceSnapshotRow = Selectable<DeviceSnapshotTable>;
export type NewDeviceSyncLog = Insertable<DeviceSyncLogTable>;
