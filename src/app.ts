/**
 * Composition root: turns a Config into the dependencies every use case and route receives.
 * Nothing else constructs clients, opens the database or picks the clock.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import type { Config, NinjaConfig, ThreatLockerConfig } from './config.js';
import { migrateToLatest, openDatabase, type Database } from './db/database.js';
import { loadVendorIds } from './inventory/vendors.js';
import { CollectorRuns } from './collectors/runs.js';
import { ninjaSource } from './collectors/ninja.js';
import { threatlockerSource } from './collectors/threatlocker.js';
import { createLogger } from './logger.js';
import type { SyncDeps } from './sync/sync-device.js';
import type { RetryPolicy } from './vendors/http.js';
import { NinjaClient } from './vendors/ninja/client.js';
import { databaseTokenStore } from './vendors/ninja/token-store.js';
import { ThreatLockerClient } from './vendors/threatlocker/client.js';

export interface Deps extends SyncDeps {
  readonly config: Config;
  readonly database: Database;
  readonly threatlocker: ThreatLockerClient;
  /** Undefined when NinjaOne is not configured. */
  readonly ninja: NinjaClient | undefined;
  readonly runs: CollectorRuns;
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
  /** Overrides `config.ninja`; `null` turns NinjaOne off even when configured (demo mode). */
  readonly ninja?: NinjaConfig | null;
  readonly vendorRetry?: RetryPolicy;
  /** Skip migrations (the caller already ran them). */
  readonly skipMigrations?: boolean;
}

export async function createDeps(config: Config, options: DepsOptions = {}): Promise<Deps> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock(config.timeZone);
  const tl = options.threatlocker ?? config.threatlocker;
  if (!tl) throw new Error('ThreatLocker is not configured (set THREATLOCKER_API_KEY and THREATLOCKER_API_BASE_URL)');

  const ownsDatabase = options.database === undefined;
  const database = options.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  try {
    if (!options.skipMigrations) await migrateToLatest(database.db);
    const vendorIds = await loadVendorIds(database.db);
    const threatlocker = new ThreatLockerClient({ ...tl, logger, retry: options.vendorRetry });
    const ninjaConfig = options.ninja === null ? undefined : (options.ninja ?? config.ninja);
    const ninja = ninjaConfig
      ? new NinjaClient({
          ...ninjaConfig,
          // Only the refresh-token grant spends anything; client credentials need no shared store.
          tokenStore:
            ninjaConfig.refreshToken === undefined ? undefined : databaseTokenStore(database, vendorIds.Ninja, ninjaConfig.refreshToken, () => clock.now()),
          logger,
          retry: options.vendorRetry,
        })
      : undefined;
    const runs = new CollectorRuns({
      db: database.db,
      clock,
      logger,
      vendorIds,
      sources: {
        threatlocker: () => threatlockerSource(threatlocker, logger),
        ...(ninja ? { ninja: () => ninjaSource(ninja, logger) } : {}),
      },
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
      threatlocker,
      ninja,
      runs,
      async close() {
        // Running collectors stop first (they end as cancelled, their staging cleared).
        await runs.shutdown();
        await threatlocker.close();
        await ninja?.close();
        if (ownsDatabase) await database.close();
      },
    };
  } catch (err) {
    if (ownsDatabase) await database.close();
    throw err;
  }
}
