/**
 * Fixtures for variance tests: snapshot rows written as a collection would (which marks the
 * vendor-day collected), and findings applied straight to the store (no rules involved).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../src/clock.js';
import type { DB, SnapshotSource } from '../../src/db/schema.js';
import { NO_ATTRIBUTES } from '../../src/inventory/device.js';
import { canonicalHostname } from '../../src/inventory/hostname.js';
import { replaceDeviceSnapshot } from '../../src/inventory/store.js';
import type { VendorIds, VendorKey } from '../../src/inventory/vendors.js';
import { applyCheckResult, type CheckRunOutcome } from '../../src/variances/lifecycle.js';
import type { FoundVariance } from '../../src/variances/types.js';

export interface FixtureDevice {
  readonly key: string;
  readonly hostname: string;
  readonly display_name?: string | null;
  readonly organization_name?: string | null;
  readonly location_name?: string | null;
  /** Default: the day before `date`, at noon UTC. */
  readonly last_online?: string | null;
  readonly node_class?: string | null;
  readonly billable_status_name?: string | null;
}

/** Writes one device of `vendor` for `date`; with source `collector` the day counts as collected. */
export async function writeDevice(
  db: Kysely<DB>,
  vendorIds: VendorIds,
  vendor: VendorKey,
  date: string,
  d: FixtureDevice,
  source: SnapshotSource = 'collector',
): Promise<void> {
  const yesterday = new Date(Date.parse(`${date}T12:00:00Z`) - 86_400_000).toISOString();
  const ninja = vendor === 'ninja';
  await replaceDeviceSnapshot(
    db,
    vendorIds[vendor],
    date,
    {
      vendorDeviceKey: d.key,
      raw: { fixture: true },
      attributes: {
        ...NO_ATTRIBUTES,
        hostname: d.hostname,
        canonical_hostname: canonicalHostname(d.hostname),
        display_name: d.display_name === undefined ? d.hostname : d.display_name,
        organization_name: d.organization_name === undefined ? 'Acme' : d.organization_name,
        location_name: ninja ? (d.location_name === undefined ? 'HQ' : d.location_name) : null,
        last_online: d.last_online === undefined ? yesterday : d.last_online,
        node_class: ninja ? (d.node_class === undefined ? 'WINDOWS_WORKSTATION' : d.node_class) : null,
        is_vm_guest: ninja ? false : null,
        system_name: ninja ? d.hostname.toUpperCase().slice(0, 15) : null,
        billable_status_name: ninja ? (d.billable_status_name === undefined ? 'billable' : d.billable_status_name) : null,
        device_type_name: ninja ? 'workstation' : null,
        has_checked_in: ninja ? null : true,
      },
    },
    source,
  );
}

/** A MISSING_NINJA finding about one ThreatLocker computer (for store-level fixtures). */
export function missingNinja(host: string, organization = 'Acme', evidence: Record<string, unknown> = {}): FoundVariance {
  return {
    type: 'MISSING_NINJA',
    subjectKey: `MISSING_NINJA:threatlocker:${host}-id`,
    hostname: host,
    organization,
    matchQuality: null,
    devices: [{ vendor: 'threatlocker', device_key: `${host}-id`, hostname: host.toUpperCase(), display_name: host, organization_name: organization, location_name: null }],
    evidence: { last_contact: '2026-03-09T10:00:00Z', ...evidence },
    hint: 'Install the NinjaOne agent, or remove the ThreatLocker computer',
  };
}

/** A DISPLAY_NAME_MISMATCH finding about a matched pair. */
export function displayMismatch(host: string, tl: string, ninja: string, organization = 'Acme'): FoundVariance {
  return {
    type: 'DISPLAY_NAME_MISMATCH',
    subjectKey: `DISPLAY_NAME_MISMATCH:threatlocker:${host}-id:ninja:${host}-n`,
    hostname: host,
    organization,
    matchQuality: 'exact',
    devices: [
      { vendor: 'threatlocker', device_key: `${host}-id`, hostname: host, display_name: tl, organization_name: organization, location_name: null },
      { vendor: 'ninja', device_key: `${host}-n`, hostname: host, display_name: ninja, organization_name: organization, location_name: 'HQ' },
    ],
    evidence: { threatlocker_display_name: tl, ninja_display_name: ninja },
    hint: 'Rename one of the two so that they agree',
  };
}

/** Applies findings for `date` straight to the store, as a check run would. */
export function applyFindings(db: Kysely<DB>, clock: Clock, date: string, found: readonly FoundVariance[]): Promise<CheckRunOutcome> {
  return db.transaction().execute((tx) => applyCheckResult(tx, { date, found, trigger: 'cli', startedAt: clock.now(), clock }));
}
