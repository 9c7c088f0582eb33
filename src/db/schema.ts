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
  // NinjaOne columns (null for ThreatLocker rows); names kept from the existing reports.
  /** NinjaOne location (site) name, resolved from locationId. */
  location_name: string | null;
  /** `server`, `workstation` or `other`, from nodeClass. */
  device_type_name: string | null;
  /** `spare` when the display or location name says so, else `billable`. */
  billable_status_name: string | null;
  /** Raw NinjaOne nodeClass, e.g. WINDOWS_WORKSTATION. */
  node_class: string | null;
  is_vm_guest: boolean | null;
  /** NetBIOS name (≤ 15 characters); `hostname` holds the DNS name when there is one. */
  system_name: string | null;
  system_manufacturer: string | null;
  system_model: string | null;
  /** Null when the vendor reports an OEM placeholder ("To be filled by O.E.M."). */
  serial_number: string | null;
  last_logged_in_user: string | null;
  public_ip: string | null;
}

/** Timestamps are written as ISO strings and read back as Dates. */
type TimestampColumn = ColumnType<Date | null, string | null, string | null>;
type SnapshotTimestamps = 'last_online' | 'agent_install_timestamp' | 'install_date';

export interface DeviceSnapshotTable extends Omit<SnapshotAttributes, SnapshotTimestamps> {
  id: Generated<string>;
  snapshot_date: string;
  vendor_id: number;
  device_identity_id: number;
  last_online: TimestampColumn;
  agent_install_timestamp: TimestampColumn;
  install_date: TimestampColumn;
  raw: Json;
  source: SnapshotSource;
  written_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** When the vendor was read for this row; freshness is decided by it (migration 0004). */
  vendor_read_at: ColumnType<Date, Date | string, Date | string>;
}

/** One row per vendor and day that has snapshots (its partition exists); kept by the writers. */
export interface SnapshotDayTable {
  vendor_id: number;
  snapshot_date: string;
  /** Rows in the day (collected and synced devices). */
  device_count: ColumnType<number, number | undefined, number>;
  /** When a collection last wrote the day; null: only synced devices. */
  collected_at: Timestamp | null;
  /** Devices that collection fetched (what the plausibility guard compares against). */
  collected_devices: number | null;
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
  /** Order in which writes were applied (device_write_seq, migration 0004); history sorts by it. */
  write_seq: Generated<string>;
  /** The API key the request used (migration 0011); null in open mode and from the CLI. */
  api_key_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
/** A run in one of these holds its collector (see uq_job_runs_one_active in migration 0003). */
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ['queued', 'running'];
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobBatchTable {
  batch_id: string;
  created_at: Timestamp;
  status: JobStatus;
  priority: string;
  started_at: Timestamp | null;
  ended_at: Timestamp | null;
  estimated_completion: Timestamp | null;
  progress_percent: number | null;
  message: string | null;
  error: string | null;
  duration_seconds: number | null;
}

export interface JobRunTable {
  job_id: string;
  batch_id: string;
  job_name: string;
  status: JobStatus;
  started_at: Timestamp;
  updated_at: Timestamp;
  ended_at: Timestamp | null;
  progress_percent: number | null;
  message: string | null;
  error: string | null;
  duration_seconds: number | null;
  trigger: ColumnType<string, string | undefined, string>;
  snapshot_date: string | null;
  forced: ColumnType<boolean, boolean | undefined, boolean>;
  dry_run: ColumnType<boolean, boolean | undefined, boolean>;
  heartbeat_at: Timestamp | null;
  cancel_requested: ColumnType<boolean, boolean | undefined, boolean>;
  owner: string | null;
  pages_fetched: ColumnType<number, number | undefined, number>;
  devices_fetched: ColumnType<number, number | undefined, number>;
  devices_total: number | null;
  devices_skipped: ColumnType<number, number | undefined, number>;
  devices_written: number | null;
}

/** A device a running collection saw first: registered under the reserved id once accepted. */
export interface CollectorStagingTable {
  job_id: string;
  vendor_device_key: string;
  device_identity_id: number;
}

export interface ScheduleClaimTable {
  job_name: string;
  slot: Timestamp;
  claimed_by: string;
  claimed_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface VendorTokenTable {
  vendor_id: number;
  refresh_token: string;
  seed_sha256: string;
  updated_at: Timestamp;
  /** The access token last obtained with this chain, shared by every process (migration 0005). */
  access_token: string | null;
  access_expires_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
}

export const DATABASE_MODES = ['demo', 'real'] as const;
export type DatabaseMode = (typeof DATABASE_MODES)[number];

/** One row at most: what the database is for (migration 0006). */
export interface HubDatabaseTable {
  id: Generated<boolean>;
  mode: DatabaseMode;
  marked_at: Generated<Date>;
}

export const VARIANCE_RUN_TRIGGERS = ['api', 'cli', 'collection'] as const;
export type VarianceRunTrigger = (typeof VARIANCE_RUN_TRIGGERS)[number];

/** A check over one day (migration 0008); failed runs are recorded too, with their error. */
export interface VarianceRunTable {
  id: Generated<number>;
  snapshot_date: string;
  trigger: VarianceRunTrigger;
  status: 'completed' | 'failed';
  started_at: Timestamp;
  finished_at: Timestamp;
  /** Variances found, per type. */
  counts: ColumnType<Record<string, number>, string | undefined, string>;
  /** Each tool's organization names on the day (migration 0009); null for earlier runs. */
  organizations: ColumnType<Record<string, string[]> | null, string | null | undefined, string | null>;
  found: ColumnType<number, number | undefined, number>;
  opened: ColumnType<number, number | undefined, number>;
  seen: ColumnType<number, number | undefined, number>;
  resolved: ColumnType<number, number | undefined, number>;
  reopened: ColumnType<number, number | undefined, number>;
  acceptances_expired: ColumnType<number, number | undefined, number>;
  error_code: string | null;
  error: string | null;
}

export const VARIANCE_EVENT_KINDS = ['opened', 'seen', 'resolved_auto', 'resolved', 'reopened', 'accepted', 'acceptance_expired'] as const;
export type VarianceEventKind = (typeof VARIANCE_EVENT_KINDS)[number];

/** One row per variance for its whole life (migration 0008; src/variances/lifecycle.ts). */
export interface VarianceTable {
  id: Generated<number>;
  subject_key: string;
  type: string;
  status: 'open' | 'resolved' | 'accepted';
  hostname: string;
  organization: string | null;
  match_quality: 'exact' | 'truncated' | 'cross_org' | null;
  devices: ColumnType<unknown, string, string>;
  evidence: ColumnType<unknown, string, string>;
  hint: string;
  first_seen: string;
  last_seen: string;
  resolved_at: Timestamp | null;
  resolved_by: string | null;
  accepted_until: string | null;
  accepted_reason: string | null;
  accepted_by: string | null;
  updated_at: Timestamp;
}

/** Append-only history of a variance. `actor` is null for what a check did. */
export interface VarianceEventTable {
  id: Generated<number>;
  variance_id: number;
  at: Timestamp;
  kind: VarianceEventKind;
  actor: string | null;
  note: string | null;
  snapshot_date: string | null;
  run_id: number | null;
  details: ColumnType<unknown, string | null, string | null>;
  /** The API key the action was taken with (migration 0011); null for checks, open mode, the CLI. */
  api_key_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A variance a check found on a snapshot date, with its status after that check. */
export interface VarianceObservationTable {
  snapshot_date: string;
  variance_id: number;
  status: 'open' | 'resolved' | 'accepted';
}

/** Each device a variance names (migration 0010): "the variances about this device" by index. */
export interface VarianceDeviceTable {
  vendor: string;
  device_key: string;
  variance_id: number;
}

export interface OrganizationLinkTable {
  id: Generated<number>;
  threatlocker_organization: string;
  ninja_organization: string;
  kind: 'link' | 'never';
  created_by: string;
  created_at: Timestamp;
}

type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export const API_SCOPES = ['read', 'operate', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export interface ApiKeyTable {
  id: string;
  name: string;
  scopes: ApiScope[];
  /** SHA-256 (hex) of the whole key. */
  hash: string;
  created_at: Timestamp;
  last_used_at: NullableTimestamp;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface ApiSessionTable {
  /** SHA-256 (hex) of the cookie's value. */
  hash: string;
  key_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  ended_at: NullableTimestamp;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: Timestamp;
  request_id: string;
  key_id: string | null;
  key_name: string;
  method: string;
  route: string;
  target: string | null;
  outcome: string;
  status_code: number;
}

export interface DB {
  api_key: ApiKeyTable;
  api_session: ApiSessionTable;
  audit_log: AuditLogTable;
  vendor: VendorTable;
  device_identity: DeviceIdentityTable;
  device_snapshot: DeviceSnapshotTable;
  snapshot_day: SnapshotDayTable;
  device_sync_log: DeviceSyncLogTable;
  job_batches: JobBatchTable;
  job_runs: JobRunTable;
  collector_staging: CollectorStagingTable;
  schedule_claims: ScheduleClaimTable;
  vendor_token: VendorTokenTable;
  hub_database: HubDatabaseTable;
  variance_run: VarianceRunTable;
  variance: VarianceTable;
  variance_event: VarianceEventTable;
  variance_observation: VarianceObservationTable;
  variance_device: VarianceDeviceTable;
  organization_link: OrganizationLinkTable;
}

export type JobRunRow = Selectable<JobRunTable>;
export type JobBatchRow = Selectable<JobBatchTable>;

export type VarianceRow = Selectable<VarianceTable>;
export type VarianceEventRow = Selectable<VarianceEventTable>;
export type VarianceRunRow = Selectable<VarianceRunTable>;
export type OrganizationLinkRow = Selectable<OrganizationLinkTable>;

export type DeviceSnapshotRow = Selectable<DeviceSnapshotTable>;
export type NewDeviceSyncLog = Insertable<DeviceSyncLogTable>;
