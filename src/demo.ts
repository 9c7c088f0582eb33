/**
 * Demo mode: with no vendor configured at all (no THREATLOCKER_API_KEY and no NinjaOne client),
 * `serve` runs simulated ThreatLocker and NinjaOne APIs in-process — one deterministic
 * catalogue of about 700 machines seen by both tools, plus the labelled pitfall cases
 * (fakes/pitfalls.ts), so the variance list shows each kind of disagreement real fleets have —
 * points the real clients at them and fills today's snapshots through the real collectors, so
 * every endpoint can be tried with no setup.
 *
 * Made-up devices must never mix with real ones, in either direction. A database records what
 * it is for (`hub_database`, migration 0006) the first time a hub uses it: demo mode marks an
 * empty database `demo` and refuses one that holds anything else; a hub with real vendors
 * marks it `real` and refuses a `demo` one (claimDatabase).
 */
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Deps } from './app.js';
import { COLLECTORS } from './collectors/runs.js';
import type { Config, NinjaConfig, ThreatLockerConfig } from './config.js';
import type { DatabaseMode, DB } from './db/schema.js';
import { HubError } from './errors.js';
import { startFakeNinja } from './fakes/ninja/index.js';
import { startFakeThreatLocker } from './fakes/threatlocker/index.js';
import type { VendorIds, VendorKey } from './inventory/vendors.js';
import { normalizeThreatLockerComputer } from './vendors/threatlocker/normalize.js';

/** Ordinary machines in the demo catalogue (both tools agree about them; the pitfall cases are extra). */
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

/** The identity keys (`device_identity.vendor_device_key`) of every device of the demo catalogue. */
export type DemoKeys = Readonly<Record<VendorKey, readonly string[]>>;

export interface DemoVendors {
  readonly threatlocker: ThreatLockerConfig;
  readonly ninja: NinjaConfig;
  readonly keys: DemoKeys;
  close(): Promise<void>;
}

export async function startDemoVendors(logger: Logger, config: Config): Promise<DemoVendors> {
  // The labelled pitfall cases show every kind of variance; the data is as of now, so that
  // what is recent and what is stale reads as it would on a real tenant today. Keys do not
  // depend on the day: a demo database keeps recognising its devices.
  const fleet = { seed: DEMO_SEED, fleetSize: DEMO_FLEET_SIZE, pitfalls: true, asOf: new Date() };
  const [tl, ninja] = await Promise.all([startFakeThreatLocker(fleet), startFakeNinja(fleet)]);
  // The device of the specification's examples, so the README's cURL works as written.
  tl.admin.add(SPEC_EXAMPLE_COMPUTER);
  logger.warn(
    { demoThreatLocker: tl.baseUrl, demoNinjaOne: ninja.baseUrl, machines: DEMO_FLEET_SIZE },
    'DEMO MODE: no vendor is configured (THREATLOCKER_API_KEY and NINJA_CLIENT_ID are not set), so the hub is talking to ' +
      `simulated ThreatLocker and NinjaOne APIs with about ${DEMO_FLEET_SIZE} made-up machines, in a database of its own ` +
      '(marked as a demo database: real data is never written into it). To use your tenants, set THREATLOCKER_API_BASE_URL and ' +
      'THREATLOCKER_API_KEY (and THREATLOCKER_ORGANIZATION_ID for an MSP parent key), and/or NINJA_BASE_URL, ' +
      'NINJA_CLIENT_ID and NINJA_CLIENT_SECRET, point DATA_DIR or DATABASE_URL at a database of their own, then restart.',
  );
  const keys: DemoKeys = {
    threatlocker: tl.admin.list().flatMap((row) => {
      const r = normalizeThreatLockerComputer({ ...row });
      return r.ok ? [r.device.vendorDeviceKey] : [];
    }),
    // NinjaOne's identity key is the device id as text (vendors/ninja/normalize.ts).
    ninja: ninja.admin.list().map((d) => String(d.id)),
  };
  return {
    threatlocker: { baseUrl: tl.baseUrl, apiKey: tl.apiKey, organizationId: undefined, timeoutMs: config.threatlockerTimeoutMs },
    ninja: { baseUrl: ninja.baseUrl, clientId: ninja.clientId, clientSecret: ninja.clientSecret, refreshToken: undefined, timeoutMs: config.ninjaTimeoutMs },
    keys,
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

// ---------------------------------------------------------------------------------------------
// Demo and real databases

/** What a hub refused to write into, for start-up messages. */
function refusal(message: string, details: Record<string, unknown> = {}): HubError {
  return new HubError('HUB_ERR_DATABASE_MODE', message, details);
}

const DEMO_DATABASE_MESSAGE =
  'This is a demo database: demo mode filled it with made-up devices, and real collections and syncs are never ' +
  'written into it, so made-up and real devices never mix. Point DATABASE_URL (or, for the embedded database, ' +
  'DATA_DIR) at a database of its own for your vendors — an empty one is set up automatically — or delete the ' +
  "demo's data directory and start again.";

/**
 * What in an unmarked database is not the demo's: a stored vendor token, a collection run from
 * the command line (the demo never has credentials for one), or a device identity outside the
 * demo catalogue. Snapshots and sync-log rows always belong to an identity, so they are covered.
 * A database the demo filled before databases were marked holds none of these and is adopted.
 */
async function foreignData(db: Kysely<DB>, vendorIds: VendorIds, keys: DemoKeys): Promise<string[]> {
  const found: string[] = [];
  const tokens = await db.selectFrom('vendor_token').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  if (Number(tokens.n) > 0) found.push('a stored NinjaOne token');
  const cliRuns = await db
    .selectFrom('job_runs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('trigger', '=', 'cli')
    .executeTakeFirstOrThrow();
  if (Number(cliRuns.n) > 0) found.push(`${cliRuns.n} collection runs started from the command line`);
  const identities = await sql<{ n: string }>`
    SELECT count(*) AS n FROM device_identity i
     WHERE NOT (i.vendor_id = ${vendorIds.threatlocker}
                AND i.vendor_device_key IN (SELECT jsonb_array_elements_text(${JSON.stringify(keys.threatlocker)}::jsonb)))
       AND NOT (i.vendor_id = ${vendorIds.ninja}
                AND i.vendor_device_key IN (SELECT jsonb_array_elements_text(${JSON.stringify(keys.ninja)}::jsonb)))`.execute(db);
  const n = Number(identities.rows[0]?.n ?? 0);
  if (n > 0) found.push(`${n} devices that are not in the demo catalogue`);
  return found;
}

async function currentMode(db: Kysely<DB>): Promise<{ mode: DatabaseMode; marked_at: Date } | undefined> {
  return db.selectFrom('hub_database').select(['mode', 'marked_at']).executeTakeFirst();
}

/**
 * Makes sure `db` may be used by a hub in `mode`, marking an unmarked database on first use.
 * Throws HubError `HUB_ERR_DATABASE_MODE` (with what to do) when a demo would write into a
 * database holding other data, or real vendors into a demo database. The mark is written
 * with INSERT … ON CONFLICT DO NOTHING and read back, so of two hubs starting at once on one
 * empty database exactly one mode wins and the other is refused.
 *
 * @example
 *   await claimDatabase(db, 'real', vendorIds); // before any real collection or sync
 */
export async function claimDatabase(db: Kysely<DB>, mode: DatabaseMode, vendorIds: VendorIds, demoKeys?: DemoKeys): Promise<void> {
  let mark = await currentMode(db);
  if (!mark) {
    if (mode === 'demo') {
      const found = await foreignData(db, vendorIds, demoKeys ?? { threatlocker: [], ninja: [] });
      if (found.length > 0) {
        throw refusal(
          `Demo mode refused: this database holds data that is not the demo's (${found.join('; ')}). Demo mode runs ` +
            'when no vendor is configured and writes made-up devices, so it never runs against a real database. To use ' +
            'this database, configure your vendors (THREATLOCKER_API_BASE_URL and THREATLOCKER_API_KEY, and/or ' +
            'NINJA_BASE_URL, NINJA_CLIENT_ID and NINJA_CLIENT_SECRET). To try the demo, give it an empty database of ' +
            'its own (e.g. DATA_DIR=./demo-data with DATABASE_URL unset).',
          { found },
        );
      }
    }
    await db.insertInto('hub_database').values({ mode }).onConflict((oc) => oc.doNothing()).execute();
    mark = await currentMode(db);
  }
  if (!mark || mark.mode === mode) return;
  if (mark.mode === 'demo') throw refusal(DEMO_DATABASE_MESSAGE, { marked_at: mark.marked_at.toISOString() });
  throw refusal(
    'Demo mode refused: this database is marked as a real database (a hub with vendor credentials uses it), and demo ' +
      'mode never writes made-up devices into it. Configure your vendors (THREATLOCKER_* and/or NINJA_*) to use it, or ' +
      'give the demo an empty database of its own (e.g. DATA_DIR=./demo-data with DATABASE_URL unset).',
    { marked_at: mark.marked_at.toISOString() },
  );
}
