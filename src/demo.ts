/**
 * Demo mode: with no ThreatLocker credentials, `serve` runs simulated ThreatLocker and NinjaOne
 * APIs in-process — one deterministic catalogue of about 700 machines seen by both tools, with
 * the differences real fleets have — points the real clients at them and fills today's
 * snapshots through the real collectors, so every endpoint can be tried with no setup.
 * Demo mode is all or nothing: NinjaOne credentials are ignored in it, so made-up devices
 * never mix with a real tenant's.
 */
import type { Logger } from 'pino';
import type { Deps } from './app.js';
import { COLLECTORS } from './collectors/runs.js';
import type { Config, NinjaConfig, ThreatLockerConfig } from './config.js';
import { startFakeNinja } from './fakes/ninja/index.js';
import { startFakeThreatLocker } from './fakes/threatlocker/index.js';

/** Machines in the demo catalogue (each tool sees most of them, some twice, some not at all). */
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
  readonly ninja: NinjaConfig;
  close(): Promise<void>;
}

export async function startDemoVendors(logger: Logger, config: Config): Promise<DemoVendors> {
  const [tl, ninja] = await Promise.all([
    startFakeThreatLocker({ seed: DEMO_SEED, fleetSize: DEMO_FLEET_SIZE }),
    startFakeNinja({ seed: DEMO_SEED, fleetSize: DEMO_FLEET_SIZE }),
  ]);
  // The device of the specification's examples, so the README's cURL works as written.
  tl.admin.add(SPEC_EXAMPLE_COMPUTER);
  logger.warn(
    { demoThreatLocker: tl.baseUrl, demoNinjaOne: ninja.baseUrl, machines: DEMO_FLEET_SIZE },
    'DEMO MODE: THREATLOCKER_API_KEY is not set, so the hub is talking to simulated ThreatLocker and NinjaOne APIs ' +
      `with about ${DEMO_FLEET_SIZE} made-up machines. To use your tenants, set THREATLOCKER_API_BASE_URL and ` +
      'THREATLOCKER_API_KEY (and THREATLOCKER_ORGANIZATION_ID for an MSP parent key), and NINJA_BASE_URL, ' +
      'NINJA_CLIENT_ID and NINJA_CLIENT_SECRET, then restart.',
  );
  if (config.ninja) logger.warn('demo mode ignores the NINJA_* settings until ThreatLocker is configured too');
  return {
    threatlocker: { baseUrl: tl.baseUrl, apiKey: tl.apiKey, organizationId: undefined, timeoutMs: config.threatlockerTimeoutMs },
    ninja: { baseUrl: ninja.baseUrl, clientId: ninja.clientId, clientSecret: ninja.clientSecret, refreshToken: undefined, timeoutMs: config.ninjaTimeoutMs },
    close: async () => {
      await Promise.all([tl.close(), ninja.close()]);
    },
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
