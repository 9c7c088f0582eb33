/**
 * Demo mode: with no ThreatLocker credentials, `serve` runs a simulated ThreatLocker in-process
 * (a deterministic fleet of ~700 computers), points the real client at it and fills today's
 * snapshots, so every endpoint can be tried on a fresh machine with no setup.
 */
import type { Logger } from 'pino';
import type { Deps } from './app.js';
import type { ThreatLockerConfig } from './config.js';
import { startFakeThreatLocker, type FakeThreatLocker } from './fakes/threatlocker/index.js';
import { COLLECTORS } from './collectors/runs.js';

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

/**
 * Fills today's snapshots from the demo vendors through the real collectors, as the nightly
 * schedule would. Throws if a collection fails (the demo would be empty otherwise).
 */
export async function fillDemoDay(deps: Deps): Promise<void> {
  // Forced: a demo fleet may legitimately differ from what an earlier demo left in ./data.
  const { jobs } = await deps.runs.runAndWait({ collectors: COLLECTORS.filter((c) => deps.runs.configured(c)), trigger: 'demo', force: true });
  for (const j of jobs) {
    if (j.status !== 'completed') throw new Error(`demo collection failed: ${j.job_name}: ${j.message}`);
    deps.logger.info({ collector: j.job_name, devices: j.devices_written }, `demo: ${j.message}`);
  }
}
