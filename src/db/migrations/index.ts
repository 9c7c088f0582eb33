import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_ninja_columns.js';
import * as m0003 from './0003_collector_runs.js';
import * as m0004 from './0004_snapshot_days.js';
import * as m0005 from './0005_vendor_token_access.js';
import * as m0006 from './0006_hub_database.js';
import * as m0007 from './0007_staging_keys.js';
import * as m0008 from './0008_variances.js';
import * as m0009 from './0009_variance_sync.js';
import * as m0010 from './0010_variance_devices.js';
import * as m0011 from './0011_api_keys.js';

/**
 * Every migration, in order. Listed statically (not read from disk) so that the compiled
 * build, the tests and the CLI all apply exactly the same set.
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_ninja_columns': m0002,
  '0003_collector_runs': m0003,
  '0004_snapshot_days': m0004,
  '0005_vendor_token_access': m0005,
  '0006_hub_database': m0006,
  '0007_staging_keys': m0007,
  '0008_variances': m0008,
  '0009_variance_sync': m0009,
  '0010_variance_devices': m0010,
  '0011_api_keys': m0011,
};
