#!/usr/bin/env node
/**
 * inventory-hub — serve | migrate | sync-device.
 * Every command calls the same library functions the HTTP API uses.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { createDeps, type Deps } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { migrateToLatest, openDatabase } from './db/database.js';
import { seedTodayFromThreatLocker, startDemoVendors, type DemoVendors } from './demo.js';
import { buildServer } from './http/server.js';
import { createLogger } from './logger.js';
import { DEFAULT_UPDATED_BY, syncThreatLockerDevice } from './sync/sync-device.js';
import { VERSION } from './version.js';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function serve(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel);
  let demo: DemoVendors | undefined;
  let deps: Deps | undefined;
  try {
    if (!config.threatlocker) demo = await startDemoVendors(logger, config.threatlockerTimeoutMs);
    deps = await createDeps(config, { logger, threatlocker: demo?.threatlocker });
    logger.info({ database: deps.database.kind, location: deps.database.location, timeZone: config.timeZone }, 'database ready');
    if (demo) await seedTodayFromThreatLocker(deps);
    const app = await buildServer(deps);
    const address = await app.listen({ port: config.port, host: config.host });
    logger.info({ url: address, docs: `${address}/api/docs`, version: VERSION }, `Inventory Hub listening on ${address}`);
    installShutdown(logger, async () => {
      await app.close(); // stops accepting, lets in-flight requests finish
      await deps?.close(); // vendor connections, then the database (PGlite flushes to disk)
      await demo?.close();
    });
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await deps?.close().catch(() => {});
    await demo?.close().catch(() => {});
    process.exit(1);
  }
}

function installShutdown(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting immediately');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    shutdown().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function migrate(): Promise<void> {
  const config = configOrExit();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const result = await migrateToLatest(database.db);
    const applied = (result.results ?? []).map((r) => r.migrationName);
    process.stdout.write(
      applied.length > 0 ? `Applied ${applied.join(', ')} to ${database.location}\n` : `${database.location} is up to date\n`,
    );
  } finally {
    await database.close();
  }
}

async function syncDevice(opts: { computerId?: string; hostname?: string; updatedBy: string }): Promise<void> {
  const config = configOrExit();
  if (!config.threatlocker) {
    process.stderr.write('sync-device needs THREATLOCKER_API_BASE_URL and THREATLOCKER_API_KEY.\n');
    process.exit(2);
  }
  if (!opts.computerId && !opts.hostname) {
    process.stderr.write('Give --computer-id or --hostname.\n');
    process.exit(2);
  }
  const deps = await createDeps(config, { logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel) });
  try {
    const r = await syncThreatLockerDevice(deps, { computerId: opts.computerId, hostname: opts.hostname }, opts.updatedBy);
    const out = r.ok
      ? { success: true, computer_id: r.computerId, hostname: r.hostname, display_name: r.displayName, organization_name: r.organizationName, matched_by: r.matchedBy, snapshot_date: r.snapshotDate }
      : { success: false, reason: r.reason, error: r.reason === 'not_found' ? 'Device not found in ThreatLocker API' : r.error.message };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    process.exitCode = r.ok ? 0 : r.reason === 'not_found' ? 3 : 1;
  } finally {
    await deps.close();
  }
}

function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty');
  return value.trim();
}

const program = new Command()
  .name('inventory-hub')
  .description('Daily device inventory across ThreatLocker and NinjaOne')
  .version(VERSION);

program.command('serve').description('run the HTTP API (demo vendors when no credentials are configured)').action(serve);
program.command('migrate').description('apply database migrations and exit').action(migrate);
program
  .command('sync-device')
  .description('re-read one ThreatLocker computer and replace today\'s snapshot')
  .option('--computer-id <guid>', 'ThreatLocker computerId', nonEmpty)
  .option('--hostname <name>', 'hostname (short or FQDN)', nonEmpty)
  .option('--updated-by <who>', 'recorded in the sync log', DEFAULT_UPDATED_BY)
  .action(syncDevice);

await program.parseAsync(process.argv);
