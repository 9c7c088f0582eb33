/**
 * Demo mode: with no ThreatLocker credentials, `serve` runs a simulated ThreatLocker in-process
 * (a deterministic fleet of ~700 computers), points the real client at it and fills today's
 * snapshots, so every endpoint can be tried on a fresh machine with no setup.
 */
import type { Logger } from 'pino';
import type { Deps } from './app.js';
import type { ThreatLockerConfig } from './config.js';
import { startFakeThreatLocker, type FakeThreatLocker } from './fakes/threatlocker/index.js';
import { replaceVendorDay } from './inventory/store.js';
import type { NormalizedDevice } from './inventory/device.js';
import { normalizeThreatLockerComputer } from './vendors/threatlocker/normalize.js';

export const DEMO_FLEET_SIZE = 700;
export const DEMO_SEED = 20_251_008;

export const SPEC_EXAMPLE_COMPUTER = {
  computerId: '4294a629-6818-4d20-a365-0993f596198f',
  hostname: 'CHI-2K5FSB4',
  name: 'CHI-2K5FSB4',
  computerName: 'CHI-2K5FSB4 | Gerard Finnegan',
  organization: 'ChillCo',
  group: 'Workstations',
  operatingSystem: 'Windows 11 Pro ',
  lastCheckin: '2025-10-08T17:58:12Z',
} as const;

export interface DemoVendors {
  readonly threatlocker: ThreatLockerConfig;
  readonly fake: FakeThreatLocker;
  close(): Promise<void>;
}

export async function startDemoVendors(logger: Logger, timeoutMs: number): Promise<DemoVendors> {
  const fake = await startFakeThreatLocker({ seed: DEMO_SEED, fleetSize: DEMO_FLEET_SIZE - 1 });
  // The device of the specification's examples, so the README's cURL works as written.
  fake.admin.add(SPEC_EXAMPLE_COMPUTER);
  logger.warn(
    { demoThreatLocker: fake.baseUrl, devices: DEMO_FLEET_SIZE },
    'DEMO MODE: THREATLOCKER_API_KEY is not set, so the hub is talking to a simulated ThreatLocker with ' +
      `${DEMO_FLEET_SIZE} made-up devices. To use your tenant, set THREATLOCKER_API_BASE_URL and THREATLOCKER_API_KEY ` +
      '(and THREATLOCKER_ORGANIZATION_ID for an MSP parent key), then restart.',
  );
  return {
    fake,
    threatlocker: { baseUrl: fake.baseUrl, apiKey: fake.apiKey, organizationId: undefined, timeoutMs },
    close: () => fake.close(),
  };
}

/** Fills today's ThreatLocker snapshot from the (demo) vendor through the real client. */
export async function seedTodayFromThreatLocker(deps: Deps): Promise<{ devices: number; skipped: number }> {
  const devices: NormalizedDevice[] = [];
  let skipped = 0;
  for await (const page of deps.threatlocker.listComputers()) {
    for (const row of page) {
      const r = normalizeThreatLockerComputer(row);
      if (r.ok) devices.push(r.device);
      else skipped++;
    }
  }
  const written = await replaceVendorDay(deps.db, deps.vendorIds.ThreatLocker, deps.clock.today(), devices, 'collector');
  deps.logger.info({ devices: written.devices, skipped, date: deps.clock.today() }, 'demo: today\'s ThreatLocker snapshot filled');
  return { devices: written.devices, skipped };
}
