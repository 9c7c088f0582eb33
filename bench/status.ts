/**
 * `/api/status` benchmark: the dashboard polls it every few seconds. A database seeded with
 * `--devices` devices per vendor (both vendors) collected every day for `--days` days — seeded
 * with SQL `generate_series`, not through the collectors — then sequential GETs through the
 * HTTP layer (`app.inject`): p50 / p95 / max in milliseconds.
 */
import { sql } from 'kysely';
import { pino } from 'pino';
import { createDeps } from '../src/app.js';
import { addDays, fixedClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import type { DatabaseKind } from '../src/db/database.js';
import { buildServer } from '../src/http/server.js';
import { benchDatabase, ms, NO_RATE_LIMITS, postgresAvailable, summarize, table } from './lib.js';

export interface StatusBenchOptions {
  readonly databases: readonly DatabaseKind[];
  readonly devices: number;
  readonly days: number;
  readonly iterations: number;
}

const TODAY = '2026-03-10';

export async function runStatusBench(o: StatusBenchOptions): Promise<void> {
  const rows: string[][] = [];
  for (const kind of o.databases) {
    if (kind === 'postgres' && !(await postgresAvailable())) {
      console.log('PostgreSQL is not reachable (set BENCH_DATABASE_URL); skipping it.');
      continue;
    }
    const database = await benchDatabase(kind);
    try {
      const db = database.db;
      const vendors = (await sql<{ id: number }>`SELECT id FROM vendor ORDER BY id`.execute(db)).rows.map((r) => r.id);
      const partitioned = (await sql<{ p: string | null }>`SELECT to_regproc('ensure_snapshot_day')::text AS p`.execute(db)).rows[0]?.p != null;
      process.stderr.write(`  ${kind}: seeding ${o.devices.toLocaleString('en-US')} devices × ${o.days} days × ${vendors.length} vendors…\n`);
      const t = performance.now();
      for (const v of vendors) {
        await sql`
          INSERT INTO device_identity (vendor_id, vendor_device_key, first_seen_date, last_seen_date)
          SELECT ${v}, 'dev-' || g, ${addDays(TODAY, -o.days + 1)}::date, ${TODAY}::date FROM generate_series(1, ${o.devices}) g`.execute(db);
        for (let i = 0; i < o.days; i++) {
          const date = addDays(TODAY, -i);
          if (partitioned) await sql`SELECT ensure_snapshot_day(${v}::integer, ${date}::date)`.execute(db);
          await sql`
            INSERT INTO device_snapshot (snapshot_date, vendor_id, device_identity_id, hostname, canonical_hostname, display_name, raw, source
                                         ${partitioned ? sql`, vendor_read_at` : sql``})
            SELECT ${date}::date, ${v}, i.id, 'HOST-' || i.id, 'host-' || i.id, 'Host ' || i.id, '{}'::jsonb, 'collector'
                   ${partitioned ? sql`, now()` : sql``}
              FROM device_identity i WHERE i.vendor_id = ${v}`.execute(db);
          // What a collection's swap records for its day (the seed bypasses the collectors).
          if (partitioned) {
            await sql`UPDATE snapshot_day SET device_count = ${o.devices}, collected_devices = ${o.devices}, collected_at = now()
                       WHERE vendor_id = ${v} AND snapshot_date = ${date}::date`.execute(db);
          }
        }
      }
      await sql`ANALYZE`.execute(db);
      const seedS = (performance.now() - t) / 1000;
      const deps = await createDeps(loadConfig({ LOG_LEVEL: 'silent', ...NO_RATE_LIMITS }), {
        logger: pino({ level: 'silent' }),
        clock: fixedClock(`${TODAY}T15:00:00Z`),
        database,
        skipMigrations: true,
        threatlocker: { baseUrl: 'http://127.0.0.1:9/portalapi', apiKey: 'unused', organizationId: undefined, timeoutMs: 1_000 },
        ninja: null,
      });
      const app = await buildServer(deps);
      try {
        const samples: number[] = [];
        for (let i = 0; i < o.iterations + 5; i++) {
          const s = performance.now();
          const res = await app.inject({ method: 'GET', url: '/api/status' });
          if (res.statusCode !== 200) throw new Error(`status answered ${res.statusCode}`);
          if (i >= 5) samples.push(performance.now() - s); // the first few warm caches up
        }
        const l = summarize(samples);
        rows.push([kind, o.devices.toLocaleString('en-US'), String(o.days), seedS.toFixed(0), ms(l.p50), ms(l.p95), ms(l.max)]);
      } finally {
        await app.close();
        await deps.close();
      }
    } finally {
      await database.close();
    }
  }
  console.log(`/api/status benchmark — ${o.iterations} sequential GETs (app.inject) after 5 warm-up requests; milliseconds\n`);
  console.log(table(['db', 'devices per vendor', 'days', 'seed s', 'p50', 'p95', 'max'], rows));
}
