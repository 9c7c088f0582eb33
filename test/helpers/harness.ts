/**
 * One hub wired to a real database and a fake ThreatLocker on port 0, driven through
 * `app.inject()`. Tests change the fake through its admin API and the clock through `clock.set`.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createDeps, type Deps } from '../../src/app.js';
import { fixedClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { DatabaseKind } from '../../src/db/database.js';
import { startFakeNinja, type FakeNinja, type FakeNinjaOptions } from '../../src/fakes/ninja/index.js';
import { startFakeThreatLocker, type FakeThreatLocker, type FakeThreatLockerOptions } from '../../src/fakes/threatlocker/index.js';
import { buildServer } from '../../src/http/server.js';
import { openTestDatabase, type TestDatabase } from './database.js';


/**
 * Vendor timeout in tests: long enough that a fake answering late on a loaded CI machine is
 * not a timeout; a test about timeouts sets its own.
 */
const VENDOR_TIMEOUT_MS = 10_000;
export interface Harness {
  readonly kind: DatabaseKind;
  readonly database: TestDatabase;
  readonly fake: FakeThreatLocker;
  /** Present when the harness was asked for NinjaOne. */
  readonly ninja: FakeNinja | undefined;
  readonly deps: Deps;
  readonly app: FastifyInstance;
  readonly clock: ReturnType<typeof fixedClock>;
  /** Log lines written by the hub during the test (JSON strings). */
  readonly logLines: string[];
  /** The refresh token the hub was configured with (when asked for one). */
  readonly ninjaRefreshToken: string | undefined;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export const TEST_NOW = '2026-03-10T15:00:00Z';
export const TEST_TODAY = '2026-03-10';

/** Fake rows may carry a null computerId (the live API can); rows a test added never do. */
export function withId<T extends { computerId: string | null }>(row: T): T & { computerId: string } {
  if (!row.computerId) throw new Error('fake row without computerId');
  return row as T & { computerId: string };
}

export async function createHarness(
  kind: DatabaseKind,
  options: {
    fake?: FakeThreatLockerOptions;
    /** Also run a fake NinjaOne and configure the hub for it. */
    ninja?: FakeNinjaOptions & { refreshToken?: boolean };
    timeoutMs?: number;
    env?: Record<string, string>;
    /** Log through the process logger (`createLogger`, with its redaction), not a bare pino. */
    productionLogger?: boolean;
  } = {},
): Promise<Harness> {
  const database = await openTestDatabase(kind);
  const fake = await startFakeThreatLocker({ fleetSize: 60, ...options.fake });
  const ninja = options.ninja ? await startFakeNinja(options.ninja) : undefined;
  const clock = fixedClock(TEST_NOW, 'America/Chicago');
  const logLines: string[] = [];
  const sink = { write: (line: string) => void logLines.push(line) };
  const logger = options.productionLogger ? createLogger('debug', sink, 'json') : pino({ level: 'debug' }, sink);
  const ninjaRefreshToken = ninja && options.ninja?.refreshToken ? ninja.admin.issueRefreshToken() : undefined;
  // Fast heartbeats so run-tracking tests do not wait; everything else at its defaults.
  // Rate limits out of the way (tests fire many requests from one address); tests of the limits set their own.
  const config = loadConfig({
    COLLECTOR_HEARTBEAT_SECONDS: '1',
    COLLECTOR_STALE_SECONDS: '30',
    RATE_LIMIT_PER_MIN: '1000000',
    RATE_LIMIT_SYNC_PER_MIN: '1000000',
    ...options.env,
  });
  const deps = await createDeps(config, {
    clock,
    logger,
    database,
    skipMigrations: true,
    threatlocker: { baseUrl: fake.baseUrl, apiKey: fake.apiKey, organizationId: undefined, timeoutMs: options.timeoutMs ?? VENDOR_TIMEOUT_MS },
    ninja: ninja
      ? {
          baseUrl: ninja.baseUrl,
          clientId: ninja.clientId,
          clientSecret: ninja.clientSecret,
          refreshToken: ninjaRefreshToken,
          timeoutMs: options.timeoutMs ?? VENDOR_TIMEOUT_MS,
        }
      : null,
    // Short backoff keeps retry tests quick; Retry-After still decides when it is given.
    vendorRetry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 2_000 },
    recordRetry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
  });
  const app = await buildServer(deps);
  await app.ready();
  return {
    kind,
    database,
    fake,
    ninja,
    deps,
    app,
    clock,
    logLines,
    ninjaRefreshToken,
    async reset() {
      await deps.runs.idle(); // a run still writing would race the truncate
      await app.security.audit.idle();
      await database.truncate();
      fake.admin.reset();
      ninja?.admin.reset();
      clock.set(TEST_NOW);
      logLines.length = 0;
    },
    async close() {
      await app.close();
      await deps.close();
      await fake.close();
      await ninja?.close();
      await database.close();
    },
  };
}
