/**
 * Composition root: turns a Config into the dependencies every use case and route receives.
 * Nothing else constructs clients, opens the database or picks the clock.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import type { Config, NinjaConfig, ThreatLockerConfig } from './config.js';
import { migrateToLatest, openDatabase, type Database } from './db/database.js';
import type { DatabaseMode } from './db/schema.js';
import { claimDatabase, type DemoKeys } from './demo.js';
import { HubError } from './errors.js';
import { loadVendorIds } from './inventory/vendors.js';
import { CollectorRuns, type RecordRetry } from './collectors/runs.js';
import { ninjaSource } from './collectors/ninja.js';
import { threatlockerSource } from './collectors/threatlocker.js';
import { createLogger } from './logger.js';
import { createMetrics, type HubMetrics } from './observability/metrics.js';
import { checkAfterCollection, type CheckRunDeps } from './variances/run.js';
import type { SyncDeps } from './sync/sync-device.js';
import type { RetryPolicy } from './vendors/http.js';
import { NinjaClient } from './vendors/ninja/client.js';
import { databaseTokenStore } from './vendors/ninja/token-store.js';
import { ThreatLockerClient } from './vendors/threatlocker/client.js';

export interface Deps extends Omit<SyncDeps, 'threatlocker'> {
  readonly config: Config;
  readonly database: Database;
  /** `demo` when the vendors are demo mode's simulations; the database is marked to match. */
  readonly mode: DatabaseMode;
  /** Undefined when ThreatLocker is not configured (a NinjaOne-only deployment); see {@link threatlockerDeps}. */
  readonly threatlocker: ThreatLockerClient | undefined;
  /** Undefined when NinjaOne is not configured. */
  readonly ninja: NinjaClient | undefined;
  readonly runs: CollectorRuns;
  /** This hub's Prometheus registry and the observers fed into it (GET /metrics). */
  readonly metrics: HubMetrics;
  /** Releases everything createDeps opened (the database, vendor connections). */
  close(): Promise<void>;
}

export interface DepsOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** An already-open database (tests share one per file); it is not closed by `close()`. */
  readonly database?: Database;
  /** Overrides `config.threatlocker` (demo mode points it at the in-process fake). */
  readonly threatlocker?: ThreatLockerConfig;
  /** Overrides `config.ninja`; `null` turns NinjaOne off even when configured. */
  readonly ninja?: NinjaConfig | null;
  /** `demo` for demo mode's simulated vendors (default `real`): the database must be a demo database. */
  readonly mode?: DatabaseMode;
  /** The demo catalogue's device keys, so a demo database made before databases were marked is recognised. */
  readonly demoKeys?: DemoKeys;
  readonly vendorRetry?: RetryPolicy;
  /** How long a run's outcome write is retried while the database does not answer (tests shorten it). */
  readonly recordRetry?: RecordRetry;
  /** Skip migrations (the caller already ran them). */
  readonly skipMigrations?: boolean;
  /** Node process metrics in the registry (default true). */
  readonly processMetrics?: boolean;
}

/**
 * The sync use cases' dependencies, for a hub that has ThreatLocker. Throws HubError
 * `HUB_ERR_VENDOR_NOT_CONFIGURED` in a deployment without it (NinjaOne only).
 */
export function threatlockerDeps(deps: Deps): SyncDeps & { readonly threatlocker: ThreatLockerClient } {
  const { threatlocker } = deps;
  if (!threatlocker) {
    throw new HubError(
      'HUB_ERR_VENDOR_NOT_CONFIGURED',
      'ThreatLocker is not configured on this hub (set THREATLOCKER_API_BASE_URL and THREATLOCKER_API_KEY, then restart)',
      { vendor: 'ThreatLocker' },
    );
  }
  return { db: deps.db, clock: deps.clock, logger: deps.logger, vendorIds: deps.vendorIds, threatlocker };
}

/** What a variance check run needs, from the hub's dependencies. */
export function checkRunDeps(deps: Pick<Deps, 'db' | 'clock' | 'vendorIds' | 'logger' | 'config'>): CheckRunDeps {
  return {
    db: deps.db,
    clock: deps.clock,
    vendorIds: deps.vendorIds,
    logger: deps.logger,
    settings: { staleDays: deps.config.variances.staleDays, spareAllowedLocations: deps.config.variances.spareAllowedLocations },
  };
}

/**
 * Builds the hub's dependencies. Refuses (HubError `HUB_ERR_DATABASE_MODE`) a database whose
 * mark does not match `mode` before anything is written: demo mode on a database holding real
 * data, or real vendors on a demo database (see claimDatabase in demo.ts).
 */
export async function createDeps(config: Config, options: DepsOptions = {}): Promise<Deps> {
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  const clock = options.clock ?? systemClock(config.timeZone);
  const tl = options.threatlocker ?? config.threatlocker;
  const mode = options.mode ?? 'real';

  const ownsDatabase = options.database === undefined;
  const database = options.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  try {
    if (!options.skipMigrations) await migrateToLatest(database.db);
    const vendorIds = await loadVendorIds(database.db);
    const claim = () => claimDatabase(database.db, mode, vendorIds, options.demoKeys);
    await claim();
    const metrics = createMetrics({ db: database.db, poolStats: () => database.poolStats(), logger, defaultMetrics: options.processMetrics });
    const threatlocker = tl ? new ThreatLockerClient({ ...tl, logger, retry: options.vendorRetry, observer: metrics }) : undefined;
    const ninjaConfig = options.ninja === null ? undefined : (options.ninja ?? config.ninja);
    const ninja = ninjaConfig
      ? new NinjaClient({
          ...ninjaConfig,
          // Only the refresh-token grant spends anything; client credentials need no shared store.
          tokenStore:
            ninjaConfig.refreshToken === undefined ? undefined : databaseTokenStore(database, vendorIds.ninja, ninjaConfig.refreshToken, () => clock.now()),
          logger,
          retry: options.vendorRetry,
          observer: metrics,
        })
      : undefined;
    const runs = new CollectorRuns({
      db: database.db,
      copy: database.copyInto,
      clock,
      logger,
      vendorIds,
      sources: {
        ...(threatlocker ? { threatlocker: () => threatlockerSource(threatlocker, logger) } : {}),
        ...(ninja ? { ninja: () => ninjaSource(ninja, logger) } : {}),
      },
      // Checked again at every start (API, schedule, CLI, demo): the one place runs begin.
      beforeStart: claim,
      // Once both vendors have collected a day, its variances are checked (never fails a run).
      afterCollected: (date, log) => checkAfterCollection(checkRunDeps({ db: database.db, clock, vendorIds, logger, config }), date, log),
      ...(options.recordRetry ? { recordRetry: options.recordRetry } : {}),
      observer: metrics,
      settings: {
        maxDropPercent: config.collectors.maxDropPercent,
        heartbeatMs: config.collectors.heartbeatMs,
        staleAfterMs: config.collectors.staleAfterMs,
      },
    });
    return {
      config,
      clock,
      logger,
      database,
      db: database.db,
      vendorIds,
      mode,
      threatlocker,
      ninja,
      runs,
      metrics,
      async close() {
        // Running collectors stop first (they end as cancelled, their staging cleared).
        await runs.shutdown();
        await threatlocker?.close();
        await ninja?.close();
        if (ownsDatabase) await database.close();
        metrics.registry.clear();
      },
    };
  } catch (err) {
    if (ownsDatabase) await database.close();
    throw err;
  }
}
