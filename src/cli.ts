#!/usr/bin/env node
/**
 * inventory-hub — serve | migrate | collect | retention | check | sync-device | keys.
 * Every command calls the same library functions the HTTP API uses.
 */
import { hostname } from 'node:os';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { createDeps, threatlockerDeps, type Deps } from './app.js';
import { systemClock } from './clock.js';
import { applyRetention, planRetention } from './collectors/retention.js';
import { COLLECTORS, type CollectorName } from './collectors/runs.js';
import { hubSchedule } from './collectors/scheduler.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { DataDirectoryLockedError, migrateToLatest, openDatabase } from './db/database.js';
import { HubError } from './errors.js';
import { fillDemoDay, startDemoVendors, type DemoVendors } from './demo.js';
import { buildServer } from './http/server.js';
import { createLogger } from './logger.js';
import { startupBanner } from './startup-banner.js';
import { loadVendorIds } from './inventory/vendors.js';
import { isCalendarDate } from './variances/lifecycle.js';
import { runVarianceCheck } from './variances/run.js';
import { VARIANCE_TYPES } from './variances/types.js';
import { DEFAULT_UPDATED_BY, syncThreatLockerDevice } from './sync/sync-device.js';
import { VERSION } from './version.js';
import { countUsableKeys, createApiKey, listApiKeys, parseScopes, revokeApiKey } from './auth/keys.js';

/**
 * The exit code of a one-shot command. Kept here and applied with process.exit() at the end,
 * because closing the embedded database (a WASM runtime) resets process.exitCode.
 */
let exitCode = 0;

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

/**
 * A refusal to start that the operator must act on (exit code 2, like a configuration error):
 * the data directory is held by another process, or the database belongs to the other mode
 * (demo vs real vendors). The messages say what to do.
 */
class StartRefused extends Error {}

function isRefusal(err: unknown): err is Error {
  return err instanceof StartRefused || err instanceof DataDirectoryLockedError || (err instanceof HubError && err.code === 'HUB_ERR_DATABASE_MODE');
}

function describeDatabase(config: Config): string {
  return config.databaseUrl ? 'the database at DATABASE_URL' : `the embedded database in ${config.dataDir}`;
}

async function serve(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  let demo: DemoVendors | undefined;
  let deps: Deps | undefined;
  try {
    // Demo mode only when no vendor at all is configured; one vendor alone is a real deployment.
    if (config.demo) demo = await startDemoVendors(logger, config);
    deps = await createDeps(config, {
      logger,
      ...(demo ? { threatlocker: demo.threatlocker, ninja: demo.ninja, mode: 'demo' as const, demoKeys: demo.keys } : {}),
    });
    logger.info(
      { database: deps.database.kind, location: deps.database.location, mode: deps.mode, timeZone: config.timeZone },
      'database ready',
    );
    if (!demo) {
      logger.info(
        { threatlocker: deps.threatlocker !== undefined, ninja: deps.ninja !== undefined },
        `vendors: ${[deps.threatlocker ? 'ThreatLocker' : '', deps.ninja ? 'NinjaOne' : ''].filter(Boolean).join(' and ')}`,
      );
    }
    if (demo) await fillDemoDay(deps);
    // AUTH_MODE=required with no usable key would lock everyone out: refuse, saying what to do.
    if (config.security.authMode === 'required' && (await countUsableKeys(deps.db, deps.clock.now())) === 0) {
      throw new StartRefused(
        'AUTH_MODE=required but there is no usable API key: create one with ' +
          '`inventory-hub keys create --name NAME --scope read,operate,admin`, then start again',
      );
    }
    if (config.security.authMode === 'open' && !config.security.loopback) {
      logger.warn({ host: config.host }, `AUTH_MODE=open on ${config.host}: anyone who can reach this address can use the whole API`);
    }
    const app = await buildServer(deps);
    const address = await app.listen({ port: config.port, host: config.host });
    const banner = startupBanner({
      address,
      dashboard: app.hasRoute({ method: 'GET', url: '/' }),
      demo: demo !== undefined,
      threatlocker: deps.threatlocker !== undefined,
      ninja: deps.ninja !== undefined,
      database: { kind: deps.database.kind, location: deps.database.location, url: config.databaseUrl },
      authMode: config.security.authMode,
    });
    logger.info({ url: address, docs: `${address}/api/docs`, metrics: `${address}/metrics`, version: VERSION }, banner);
    const scheduler = config.collectors.schedulerEnabled ? hubSchedule(deps, `${hostname()}:${process.pid}`) : undefined;
    if (scheduler) {
      scheduler.start();
      logger.info({ timeZone: config.timeZone, next: scheduler.nextRuns() }, 'scheduler started');
    } else {
      logger.info('scheduler disabled (SCHEDULER_ENABLED=false)');
    }
    installShutdown(logger, async () => {
      await scheduler?.stop();
      await app.close(); // stops accepting, lets in-flight requests finish
      await deps?.close(); // running collectors cancelled, vendor connections, then the database
      await demo?.close();
    });
  } catch (err) {
    await deps?.close().catch(() => {});
    await demo?.close().catch(() => {});
    if (isRefusal(err)) {
      logger.fatal({ code: err instanceof HubError ? err.code : 'DATA_DIRECTORY_LOCKED' }, `refusing to start: ${err.message}`);
      process.stderr.write(`Refusing to start with ${describeDatabase(config)}: ${err.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err }, 'start-up failed');
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
  const deps = await createDeps(config, { logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, undefined, config.logFormat) });
  try {
    const r = await syncThreatLockerDevice(threatlockerDeps(deps), { computerId: opts.computerId, hostname: opts.hostname }, opts.updatedBy);
    const out = r.ok
      ? { success: true, computer_id: r.computerId, hostname: r.hostname, display_name: r.displayName, organization_name: r.organizationName, matched_by: r.matchedBy, snapshot_date: r.snapshotDate }
      : { success: false, reason: r.reason, error: r.reason === 'not_found' ? 'Device not found in ThreatLocker API' : r.error.message };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    exitCode = r.ok ? 0 : r.reason === 'not_found' ? 3 : 1;
  } finally {
    await deps.close();
  }
}

/** Shows a run's progress until `done`: a bar per job on a terminal, JSON log lines otherwise. */
async function followRun(deps: Deps, jobIds: readonly string[], done: Promise<void>): Promise<void> {
  const multi = process.stderr.isTTY
    ? new MultiBar({ format: ' {name} |{bar}| {value}/{total} devices | {message}', hideCursor: true }, Presets.shades_classic)
    : undefined;
  const bars = new Map<string, SingleBar>();
  let finished = false;
  // Either way the loop ends; a failed run is reported from its job rows (CollectorRuns logs the rejection).
  const settle = () => (finished = true);
  done.then(settle, settle);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- `settle` sets it; the type checker does not follow callbacks
  while (!finished) {
    await new Promise((r) => setTimeout(r, multi ? 250 : 2_000));
    const jobs = await deps.db.selectFrom('job_runs').selectAll().where('job_id', 'in', jobIds).execute();
    for (const j of jobs) {
      if (!multi) {
        deps.logger.info({ job: j.job_id, collector: j.job_name, status: j.status, fetched: j.devices_fetched, total: j.devices_total }, j.message ?? '');
        continue;
      }
      const total = j.devices_total ?? Math.max(j.devices_fetched, 1);
      const bar = bars.get(j.job_id) ?? multi.create(total, 0, { name: j.job_name.padEnd(22), message: '' });
      bars.set(j.job_id, bar);
      bar.setTotal(total);
      bar.update(j.status === 'completed' ? total : j.devices_fetched, { message: j.message ?? '' });
    }
  }
  multi?.stop();
}

async function collectCommand(which: string, opts: { force?: boolean; dryRun?: boolean }): Promise<void> {
  const config = configOrExit();
  if (config.demo) {
    process.stderr.write(
      'collect needs a configured vendor (THREATLOCKER_API_BASE_URL and THREATLOCKER_API_KEY, and/or NINJA_BASE_URL, ' +
        'NINJA_CLIENT_ID and NINJA_CLIENT_SECRET); with none, `serve` runs the demo.\n',
    );
    process.exit(2);
  }
  const missing = which === 'threatlocker' && !config.threatlocker
    ? 'the threatlocker collector is not configured (set THREATLOCKER_API_BASE_URL and THREATLOCKER_API_KEY)'
    : which === 'ninja' && !config.ninja
      ? 'the ninja collector is not configured (set NINJA_BASE_URL, NINJA_CLIENT_ID and NINJA_CLIENT_SECRET)'
      : undefined;
  if (missing) {
    process.stderr.write(`Cannot collect: ${missing}.\n`);
    process.exit(2);
  }
  const deps = await createDeps(config, { logger: createLogger(config.logLevel, undefined, config.logFormat) });
  try {
    const collectors = which === 'all' ? COLLECTORS.filter((c) => deps.runs.configured(c)) : [which as CollectorName];
    const started = await deps.runs.start({ collectors, force: opts.force ?? false, dryRun: opts.dryRun ?? false, trigger: 'cli' });
    if (!started.ok) {
      process.stderr.write(
        started.reason === 'busy'
          ? `A ${started.job.job_name} run is already in progress (${started.job.job_id}).\n`
          : `The ${started.collector} collector is not configured.\n`,
      );
      exitCode = 2;
      return;
    }
    await followRun(deps, started.jobs.map((j) => j.job_id), started.done);
    const jobs = await deps.db.selectFrom('job_runs').selectAll().where('batch_id', '=', started.batch.batch_id).execute();
    for (const j of jobs) process.stdout.write(`${j.job_name}: ${j.status} — ${j.message}\n`);
    exitCode = jobs.every((j) => j.status === 'completed') ? 0 : 1;
  } finally {
    await deps.close();
  }
}

async function retentionCommand(opts: { dryRun?: boolean }): Promise<void> {
  const config = configOrExit();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(database.db);
    const today = systemClock(config.timeZone).today();
    const days = config.collectors.retentionDays;
    const plan = opts.dryRun
      ? await planRetention(database.db, today, days)
      : (await applyRetention(database.db, today, days, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, undefined, config.logFormat))).plan;
    const rows = plan.deletes.reduce((n, d) => n + d.rows, 0);
    process.stdout.write(
      `Daily snapshots are kept from ${plan.cutoff} on (SNAPSHOT_RETENTION_DAYS=${days}); older days keep each month's last collected day.\n`,
    );
    for (const d of plan.deletes) process.stdout.write(`  ${opts.dryRun ? 'would delete' : 'deleted'} ${d.snapshot_date} ${d.vendor}: ${d.rows} rows\n`);
    for (const d of plan.monthEndsKept) process.stdout.write(`  keep (month end) ${d.snapshot_date} ${d.vendor}: ${d.rows} rows\n`);
    process.stdout.write(`${opts.dryRun ? 'Would delete' : 'Deleted'} ${rows} rows from ${plan.deletes.length} vendor-days.\n`);
  } finally {
    await database.close();
  }
}

/**
 * Checks a day's variances (default today) and prints what the run did. Needs no vendor: it
 * reads the collected snapshots. Exit 2 when the day cannot be checked (nothing changed).
 */
async function checkCommand(opts: { date?: string }): Promise<void> {
  const config = configOrExit();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(database.db);
    const clock = systemClock(config.timeZone);
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, undefined, config.logFormat);
    const vendorIds = await loadVendorIds(database.db);
    const settings = { staleDays: config.variances.staleDays, spareAllowedLocations: config.variances.spareAllowedLocations };
    let s;
    try {
      s = await runVarianceCheck({ db: database.db, clock, vendorIds, logger, settings }, { date: opts.date, trigger: 'cli' });
    } catch (err) {
      if (!(err instanceof HubError) || err.status >= 500) throw err;
      process.stderr.write(`Not checked (${err.code}): ${err.message}\n`);
      exitCode = 2;
      return;
    }
    const width = Math.max(...VARIANCE_TYPES.map((t) => t.length));
    process.stdout.write(`Variances of ${s.date} (run ${s.runId}): ${s.found} found\n`);
    for (const t of VARIANCE_TYPES) process.stdout.write(`  ${t.padEnd(width)}  ${s.counts[t]}\n`);
    process.stdout.write(
      `Opened ${s.opened}, resolved ${s.resolved}, reopened ${s.reopened}, changed ${s.seen}, acceptances expired ${s.acceptancesExpired}; ` +
        `open now: ${s.openTotal}. Stale devices (not reported missing): ${s.stale}.\n`,
    );
  } finally {
    await database.close();
  }
}

/** `keys create|list|revoke`: the same functions as the admin API (src/auth/keys.ts). */
async function withDatabase<T>(fn: (db: Deps['db'], now: Date) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(database.db);
    return await fn(database.db, systemClock(config.timeZone).now());
  } finally {
    await database.close();
  }
}

async function keysCreate(opts: { name: string; scope: string; expires?: string }): Promise<void> {
  let scopes;
  let expiresAt: Date | null = null;
  try {
    scopes = parseScopes(opts.scope);
    if (opts.expires !== undefined) {
      expiresAt = new Date(/^\d{4}-\d{2}-\d{2}$/.test(opts.expires) ? `${opts.expires}T23:59:59Z` : opts.expires);
      if (Number.isNaN(expiresAt.getTime())) throw new HubError('HUB_ERR_VALIDATION', '--expires must be a date (YYYY-MM-DD) or an RFC 3339 date-time');
    }
  } catch (err) {
    if (!(err instanceof HubError)) throw err;
    process.stderr.write(`keys create: ${err.message}\n`);
    exitCode = 2;
    return;
  }
  const created = await withDatabase(async (db, now) => {
    try {
      return await createApiKey(db, { name: opts.name, scopes, expiresAt }, now);
    } catch (err) {
      if (!(err instanceof HubError) || err.status >= 500) throw err;
      process.stderr.write(`keys create: ${err.message}\n`);
      exitCode = 2;
      return undefined;
    }
  });
  if (!created) return;
  const i = created.info;
  process.stderr.write(`Created key ${i.id} "${i.name}" (${i.scopes.join(',')}${i.expires_at ? `, expires ${i.expires_at}` : ''}). It is shown once; store it now:\n`);
  process.stdout.write(`${created.key}\n`);
}

async function keysList(): Promise<void> {
  const keys = await withDatabase((db) => listApiKeys(db));
  if (keys.length === 0) process.stdout.write('No API keys.\n');
  for (const k of keys) {
    const state = k.revoked_at ? `revoked ${k.revoked_at}` : k.expires_at ? `expires ${k.expires_at}` : 'active';
    process.stdout.write(`${k.id}  ${k.name}  ${k.scopes.join(',')}  created ${k.created_at}  last used ${k.last_used_at ?? 'never'}  ${state}\n`);
  }
}

async function keysRevoke(id: string): Promise<void> {
  const revoked = await withDatabase((db, now) => revokeApiKey(db, id, now));
  if (!revoked) {
    process.stderr.write(`keys revoke: no API key ${id}\n`);
    exitCode = 2;
    return;
  }
  process.stdout.write(`Revoked ${revoked.id} "${revoked.name}" (running hubs refuse it within seconds).\n`);
}

function calendarDate(value: string): string {
  if (!isCalendarDate(value)) throw new InvalidArgumentError('must be a date (YYYY-MM-DD)');
  return value;
}

function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty');
  return value.trim();
}

const program = new Command()
  .name('inventory-hub')
  .description('Daily device inventory across ThreatLocker and NinjaOne')
  .version(VERSION);

program.command('serve').description('run the HTTP API (demo vendors when no vendor is configured)').action(serve);
program.command('migrate').description('apply database migrations and exit').action(migrate);
program
  .command('collect')
  .description('collect a vendor\'s whole fleet for today (threatlocker, ninja or all)')
  .argument('<collector>', 'threatlocker | ninja | all', (v) => {
    if (!['all', ...COLLECTORS].includes(v)) throw new InvalidArgumentError(`must be one of all, ${COLLECTORS.join(', ')}`);
    return v;
  })
  .option('--force', 'accept a fleet that shrank by more than COLLECTOR_MAX_DROP_PERCENT')
  .option('--dry-run', 'fetch and check, but do not replace the day')
  .action(collectCommand);
program
  .command('retention')
  .description('delete daily snapshots older than SNAPSHOT_RETENTION_DAYS, keeping month ends')
  .option('--dry-run', 'print what would be deleted and change nothing')
  .action(retentionCommand);
program
  .command('check')
  .description("check a day's variances between the vendors (both must have collected it) and apply the result")
  .option('--date <YYYY-MM-DD>', 'the day to check (default today in INVENTORY_TIMEZONE)', calendarDate)
  .action(checkCommand);
program
  .command('sync-device')
  .description('re-read one ThreatLocker computer and replace today\'s snapshot')
  .option('--computer-id <guid>', 'ThreatLocker computerId', nonEmpty)
  .option('--hostname <name>', 'hostname (short or FQDN)', nonEmpty)
  .option('--updated-by <who>', 'recorded in the sync log', DEFAULT_UPDATED_BY)
  .action(syncDevice);

const keys = program.command('keys').description('API keys: create, list, revoke');
keys
  .command('create')
  .description('create an API key (printed once on stdout; only its hash is stored)')
  .requiredOption('--name <name>', 'who or what uses it (recorded as updated_by and in the audit log)', nonEmpty)
  .requiredOption('--scope <scopes>', 'comma-separated: read, operate, admin')
  .option('--expires <date>', 'last day (YYYY-MM-DD, UTC end of day) or an RFC 3339 date-time')
  .action(keysCreate);
keys.command('list').description('list API keys (never the keys themselves)').action(keysList);
keys.command('revoke').description('revoke an API key by id').argument('<id>', 'the key id (ih_<id>_…)').action(keysRevoke);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!isRefusal(err)) throw err;
  process.stderr.write(`${program.args[0] ?? 'inventory-hub'}: ${err.message}\n`);
  process.exit(2);
}
// `serve` keeps running (its shutdown handler exits); one-shot commands end here.
if (program.args[0] !== 'serve') process.exit(exitCode);
