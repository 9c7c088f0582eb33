/**
 * Prometheus metrics (prom-client), one registry per hub: tests build many hubs in one process,
 * and the global default registry would mix their counters and refuse a second registration.
 *
 * The parts of the hub that produce figures see only the small observer interfaces below
 * (VendorCallObserver, RunObserver, …), never prom-client; every one is optional, so code built
 * without metrics (the CLI's one-shot commands, unit tests) records nothing.
 *
 * Cost on the request path: one counter increment and one histogram observation per request,
 * in memory. Figures that need the database (open variances, pool usage) are read when
 * Prometheus scrapes, never per request. The metric names are listed in docs/operations.md;
 * like API fields they are append-only.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { VendorName } from '../vendors/http.js';
import { collectorOfJob } from '../collectors/runs.js';
import { VARIANCE_TYPES } from '../variances/types.js';
import { VERSION } from '../version.js';

export const METRIC_PREFIX = 'inventory_hub_';

/** How one vendor HTTP attempt ended. `cancelled`: the caller (a client, a run, shutdown) stopped it. */
export type VendorOutcome = 'ok' | 'http_error' | 'timeout' | 'network' | 'cancelled';

/** Told about every HTTP attempt a vendor client makes (src/vendors/http.ts, the one place requests are sent). */
export interface VendorCallObserver {
  attempt(vendor: VendorName, operation: string, outcome: VendorOutcome, seconds: number): void;
  retry(vendor: VendorName, operation: string): void;
}

/** How a collector run ended: `lost` = another process had already marked it failed. */
export type RunOutcome = 'completed' | 'dry_run' | 'failed' | 'cancelled' | 'lost';

export interface RunEnded {
  readonly collector: string;
  readonly outcome: RunOutcome;
  readonly seconds: number;
  readonly fetched: number;
  /** Rows written into the day (0 for anything but a completed run). */
  readonly written: number;
  /** When the run ended, by the hub's clock (the last-success gauge). */
  readonly endedAt: Date;
}

/** Told when a collector run ends (src/collectors/runs.ts). */
export interface RunObserver {
  runEnded(run: RunEnded): void;
}

export type SyncOperation = 'sync_device' | 'update_name';

/** Told how each single-device operation of the API ended (`ok` or the failure's reason). */
export interface SyncObserver {
  syncEnded(operation: SyncOperation, outcome: string): void;
}

export interface HttpObserver {
  /** `route` is the route pattern (`/api/devices/:id`), never the raw URL. */
  request(method: string, route: string, statusCode: number, seconds: number): void;
}

/** Connections of the database pool, as far as the database can tell (see Database.poolStats). */
export interface PoolStats {
  readonly total: number;
  /** Undefined when the driver cannot tell (PGlite: one connection, handed out in turn). */
  readonly idle?: number;
  readonly waiting?: number;
}

export interface MetricsOptions {
  /** Open variances are counted from it at scrape time (one grouped count). */
  readonly db?: Kysely<DB>;
  readonly poolStats?: () => PoolStats;
  readonly logger?: Logger;
  /** Node process metrics (CPU, memory, event loop, GC); default true. */
  readonly defaultMetrics?: boolean;
}

export interface HubMetrics extends VendorCallObserver, RunObserver, SyncObserver, HttpObserver {
  readonly registry: Registry;
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Labels name vendors by their stable key, as the rest of the code does. */
const VENDOR_KEY: Readonly<Record<VendorName, string>> = { ThreatLocker: 'threatlocker', NinjaOne: 'ninja' };

/** Vendor calls: tens of milliseconds to the configured timeout (30 s by default). */
const VENDOR_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Whole collections: seconds (demo) to an hour (a large MSP tenant). */
const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];
/** API requests: most answer from the database in milliseconds; a sync waits for the vendor. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Creates the hub's registry and every metric in it.
 *
 * @example
 *   const metrics = createMetrics({ db, poolStats: database.poolStats });
 *   const text = await metrics.render(); // GET /metrics
 */
export function createMetrics(options: MetricsOptions = {}): HubMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const registers = [registry];

  new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: 'Always 1; the version of the running hub is in the label',
    labelNames: ['version'],
    registers,
  }).set({ version: VERSION }, 1);

  const httpRequests = new Counter({
    name: `${METRIC_PREFIX}http_requests_total`,
    help: 'API requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    registers,
  });
  const httpDuration = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'Time to answer an API request, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: HTTP_BUCKETS,
    registers,
  });

  const vendorRequests = new Counter({
    name: `${METRIC_PREFIX}vendor_requests_total`,
    help: 'HTTP attempts sent to a vendor API (each retry counts), by vendor, operation and outcome (ok, http_error, timeout, network, cancelled)',
    labelNames: ['vendor', 'operation', 'outcome'],
    registers,
  });
  const vendorRetries = new Counter({
    name: `${METRIC_PREFIX}vendor_retries_total`,
    help: 'Vendor attempts that failed transiently and were retried, by vendor and operation',
    labelNames: ['vendor', 'operation'],
    registers,
  });
  const vendorDuration = new Histogram({
    name: `${METRIC_PREFIX}vendor_request_duration_seconds`,
    help: 'Duration of one HTTP attempt to a vendor API, by vendor, operation and outcome',
    labelNames: ['vendor', 'operation', 'outcome'],
    buckets: VENDOR_BUCKETS,
    registers,
  });

  const runs = new Counter({
    name: `${METRIC_PREFIX}collector_runs_total`,
    help: 'Collector runs ended, by collector and outcome (completed, dry_run, failed, cancelled, lost)',
    labelNames: ['collector', 'outcome'],
    registers,
  });
  const runDuration = new Histogram({
    name: `${METRIC_PREFIX}collector_run_duration_seconds`,
    help: 'Duration of a collector run, by collector and outcome',
    labelNames: ['collector', 'outcome'],
    buckets: RUN_BUCKETS,
    registers,
  });
  const devicesFetched = new Counter({
    name: `${METRIC_PREFIX}collector_devices_fetched_total`,
    help: 'Devices read from the vendor by collector runs (whatever the outcome)',
    labelNames: ['collector'],
    registers,
  });
  const devicesWritten = new Counter({
    name: `${METRIC_PREFIX}collector_devices_written_total`,
    help: 'Devices written into a day by completed collector runs',
    labelNames: ['collector'],
    registers,
  });
  const { db, poolStats, logger } = options;
  const lastSuccess = new Gauge({
    name: `${METRIC_PREFIX}collector_last_success_timestamp_seconds`,
    help: 'When the collector last completed a (not dry) run, as Unix time (from the database: any hub process, any restart)',
    labelNames: ['collector'],
    registers,
    // Read from job_runs when scraped, so every process on one database reports the same figure,
    // also right after a restart and when the scheduler ran the collection in another process.
    // One grouped read of a table with a few rows a day.
    ...(db
      ? {
          async collect(this: Gauge) {
            try {
              const rows = await db
                .selectFrom('job_runs')
                .select(['job_name', (eb) => eb.fn.max('ended_at').as('ended_at')])
                .where('status', '=', 'completed')
                .where('dry_run', '=', false)
                .groupBy('job_name')
                .execute();
              this.reset();
              for (const r of rows) {
                const collector = collectorOfJob(r.job_name);
                if (collector && r.ended_at) this.set({ collector }, new Date(r.ended_at).getTime() / 1000);
              }
            } catch (err) {
              this.reset();
              logger?.warn({ err }, 'metrics: could not read the last successful collections');
            }
          },
        }
      : {}),
  });

  const syncs = new Counter({
    name: `${METRIC_PREFIX}device_syncs_total`,
    help: 'Single-device operations of the API (sync_device, update_name), by outcome (ok, not_found, vendor_error, invalid_device, failed, cancelled)',
    labelNames: ['operation', 'outcome'],
    registers,
  });

  if (db) {
    // Read at scrape time: one grouped count over the variance table (indexed by status), so
    // the figure is right whoever changed the variances (a check, a sync, another process).
    new Gauge({
      name: `${METRIC_PREFIX}variances_open`,
      help: 'Open variances by type, counted from the database when scraped',
      labelNames: ['type'],
      registers,
      async collect() {
        try {
          const rows = await db
            .selectFrom('variance')
            .select(['type', sql<string>`count(*)`.as('n')])
            .where('status', '=', 'open')
            .groupBy('type')
            .execute();
          this.reset();
          // Every known type is present, 0 included, so "rising" alerts have a series to compare.
          for (const t of VARIANCE_TYPES) this.set({ type: t }, 0);
          for (const r of rows) this.set({ type: r.type }, Number(r.n));
        } catch (err) {
          // No figure rather than a stale one; the rest of the scrape still answers.
          this.reset();
          logger?.warn({ err }, 'metrics: could not count open variances');
        }
      },
    });
  }
  if (poolStats) {
    const pool = (name: string, help: string, pick: (s: PoolStats) => number | undefined) =>
      new Gauge({
        name: `${METRIC_PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.set(pick(poolStats()) ?? 0);
        },
      });
    pool('db_pool_connections', 'Database connections open (PostgreSQL pool; the embedded database has one)', (s) => s.total);
    // Only where the driver can tell (a PostgreSQL pool): an unlabelled gauge cannot be absent.
    const first = poolStats();
    if (first.idle !== undefined) pool('db_pool_idle_connections', 'Open database connections not in use (PostgreSQL only)', (s) => s.idle);
    if (first.waiting !== undefined) pool('db_pool_waiting_requests', 'Queries waiting for a database connection (PostgreSQL only)', (s) => s.waiting);
  }

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    request(method, route, statusCode, seconds) {
      const labels = { method, route, status_code: String(statusCode) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    },
    attempt(vendor, operation, outcome, seconds) {
      const labels = { vendor: VENDOR_KEY[vendor], operation, outcome };
      vendorRequests.inc(labels);
      vendorDuration.observe(labels, seconds);
    },
    retry(vendor, operation) {
      vendorRetries.inc({ vendor: VENDOR_KEY[vendor], operation });
    },
    runEnded(run) {
      const labels = { collector: run.collector, outcome: run.outcome };
      runs.inc(labels);
      runDuration.observe(labels, run.seconds);
      devicesFetched.inc({ collector: run.collector }, run.fetched);
      if (run.written > 0) devicesWritten.inc({ collector: run.collector }, run.written);
      // Without a database to read it from (see the gauge), the last success this process saw.
      if (!db && run.outcome === 'completed') lastSuccess.set({ collector: run.collector }, run.endedAt.getTime() / 1000);
    },
    syncEnded(operation, outcome) {
      syncs.inc({ operation, outcome });
    },
  };
}
