/**
 * Variance check benchmark: one check run (src/variances/run.ts) over a day of `--devices`
 * ThreatLocker and `--devices` NinjaOne devices, seeded with SQL `generate_series` (not through
 * the collectors) as two completed collection days. Beside each run, its **floor** measured in
 * the same process: reading both vendors' rows of the day — the columns matching needs — in one
 * query each, nothing else. Three runs: the first (opens everything), a re-run of the same day
 * (changes nothing) and the next day (everything seen again, a few resolved and opened). Also
 * the app's own reads (`readDayDevices`, both vendors) and the pure `runChecks` alone over the
 * same rows, so the database's share of a run is visible. Figures are printed, never asserted.
 */
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import { addDays, fixedClock } from '../src/clock.js';
import type { Database, DatabaseKind } from '../src/db/database.js';
import type { DB } from '../src/db/schema.js';
import { loadVendorIds, type VendorIds } from '../src/inventory/vendors.js';
import { runChecks } from '../src/variances/checks.js';
import { readDayDevices, readOrganizationLinks, runVarianceCheck, type CheckRunDeps, type CheckRunSummary } from '../src/variances/run.js';
import type { CheckSettings } from '../src/variances/types.js';
import { reevaluateAfterSync } from '../src/variances/reevaluate.js';
import { Pool } from 'undici';
import { createDeps } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { buildServer } from '../src/http/server.js';
import { benchDatabase, ms, NO_RATE_LIMITS, postgresAvailable, summarize, table } from './lib.js';

export interface VariancesBenchOptions {
  readonly databases: readonly DatabaseKind[];
  /** Devices per vendor (before the few % each tool misses and the duplicates). */
  readonly devices: number;
}

const DAY1 = '2026-03-10';
const DAY2 = addDays(DAY1, 1);
const SETTINGS: CheckSettings = { staleDays: 30, spareAllowedLocations: ['Spare shelf'] };
/** Floor and runChecks samples per case; the median is printed. */
const SAMPLES = 3;

/**
 * The fleet of one day, per vendor, as SQL over `generate_series(1, n) g` (every device index
 * `g` is one machine; both tools name it `WS-<g>` in organization `Customer <g mod 200>`, so the
 * organizations link by name):
 * - ThreatLocker misses 2% (g ≡ 1 mod 50), NinjaOne 2.5% (g ≡ 2 mod 40): MISSING_* variances.
 * - Duplicates: a second, older ThreatLocker computer for g ≡ 3 mod 500, a second NinjaOne
 *   device for g ≡ 4 mod 700 (same name, same organization).
 * - NinjaOne: 1% with a display name of its own (g ≡ 5 mod 100), spares (g ≡ 6 mod 1000),
 *   servers and Macs among workstations, one network switch per 250 devices (no counterpart
 *   expected), a device in another customer than ThreatLocker says (g ≡ 11 mod 2000).
 * - Last contact within the last day; ~0.1% stale (60 days ago, g ≡ 7 mod 997).
 * - Day 2: half of ThreatLocker's missing ones appear (g ≡ 51 mod 100: resolved), ThreatLocker
 *   loses g ≡ 8 mod 1000 and NinjaOne g ≡ 19 mod 997 (opened).
 */
function fleetSql(vendor: 'threatlocker' | 'ninja', n: number, day: 1 | 2) {
  const date = day === 1 ? DAY1 : DAY2;
  const seen = sql`(${date}::date + time '06:00' - make_interval(mins => g % 1440)
                    - CASE WHEN g % 997 = 7 THEN interval '60 days' ELSE interval '0' END) AT TIME ZONE 'UTC'`;
  const org = sql`'Customer ' || lpad((g % 200 + 1)::text, 3, '0')`;
  const host = sql`'WS-' || lpad(g::text, 7, '0')`;
  if (vendor === 'threatlocker') {
    const present = day === 1 ? sql`g % 50 <> 1` : sql`(g % 50 <> 1 OR g % 100 = 51) AND g % 1000 <> 8`;
    return sql`
      SELECT 'tl-' || g AS key, ${host} AS hostname, lower(${host}) AS canonical, ${host} AS display_name, ${org} AS org,
             NULL::text AS location, ${seen} AS last_online, NULL::text AS node_class, NULL::boolean AS vm_guest,
             NULL::text AS system_name, NULL::text AS billable
        FROM generate_series(1, ${n}) g WHERE ${present}
      UNION ALL
      SELECT 'tl-' || g || '-b', ${host}, lower(${host}), ${host}, ${org}, NULL, ${seen} - interval '3 days', NULL, NULL, NULL, NULL
        FROM generate_series(1, ${n}) g WHERE g % 500 = 3`;
  }
  const present = day === 1 ? sql`g % 40 <> 2` : sql`g % 40 <> 2 AND g % 997 <> 19`;
  const ninjaOrg = sql`CASE WHEN g % 2000 = 11 THEN 'Customer ' || lpad(((g + 7) % 200 + 1)::text, 3, '0') ELSE ${org} END`;
  const nodeClass = sql`CASE WHEN g % 20 = 0 THEN 'WINDOWS_SERVER' WHEN g % 20 = 1 THEN 'MAC' ELSE 'WINDOWS_WORKSTATION' END`;
  return sql`
    SELECT g::text AS key, ${host} AS hostname, lower(${host}) AS canonical,
           CASE WHEN g % 100 = 5 THEN 'Front desk ' || g END AS display_name, ${ninjaOrg} AS org,
           CASE WHEN g % 1000 = 6 THEN 'Warehouse' ELSE 'Main office' END AS location, ${seen} AS last_online,
           ${nodeClass} AS node_class, false AS vm_guest, ${host} AS system_name,
           CASE WHEN g % 1000 = 6 THEN 'spare' ELSE 'billable' END AS billable
      FROM generate_series(1, ${n}) g WHERE ${present}
    UNION ALL
    SELECT (10000000 + g)::text, ${host}, lower(${host}), NULL, ${org}, 'Main office', ${seen} - interval '2 days',
           ${nodeClass}, false, ${host}, 'billable'
      FROM generate_series(1, ${n}) g WHERE g % 700 = 4
    UNION ALL
    SELECT (20000000 + g)::text, 'SW-' || g, 'sw-' || g, NULL, ${org}, 'Main office', ${seen}, 'NMS_SWITCH', false, NULL, 'billable'
      FROM generate_series(1, ${n}) g WHERE g % 250 = 17`;
}

/** Writes one vendor-day the way a completed collection leaves it; returns its row count. */
async function seedDay(db: Kysely<DB>, vendorId: number, vendor: 'threatlocker' | 'ninja', n: number, day: 1 | 2): Promise<number> {
  const date = day === 1 ? DAY1 : DAY2;
  const fleet = fleetSql(vendor, n, day);
  await sql`
    INSERT INTO device_identity (vendor_id, vendor_device_key, first_seen_date, last_seen_date)
    SELECT ${vendorId}, f.key, ${date}::date, ${date}::date FROM (${fleet}) f
    ON CONFLICT (vendor_id, vendor_device_key) DO UPDATE SET last_seen_date = excluded.last_seen_date`.execute(db);
  await sql`SELECT ensure_snapshot_day(${vendorId}::integer, ${date}::date)`.execute(db);
  const inserted = await sql`
    INSERT INTO device_snapshot (snapshot_date, vendor_id, device_identity_id, hostname, canonical_hostname, display_name,
                                 organization_name, location_name, last_online, node_class, is_vm_guest, system_name,
                                 billable_status_name, raw, source, vendor_read_at)
    SELECT ${date}::date, ${vendorId}, i.id, f.hostname, f.canonical, f.display_name, f.org, f.location, f.last_online,
           f.node_class, f.vm_guest, f.system_name, f.billable, '{}'::jsonb, 'collector', now()
      FROM (${fleet}) f JOIN device_identity i ON i.vendor_id = ${vendorId} AND i.vendor_device_key = f.key`.execute(db);
  const rows = Number(inserted.numAffectedRows ?? 0);
  // What a collection's swap records for its day (the seed bypasses the collectors).
  await sql`UPDATE snapshot_day SET device_count = ${rows}, collected_devices = ${rows}, collected_at = now()
             WHERE vendor_id = ${vendorId} AND snapshot_date = ${date}::date`.execute(db);
  return rows;
}

/**
 * The floor: both vendors' rows of the day — the columns matching needs, by the same driver —
 * one query each, in no particular order, nothing built from them.
 */
async function readFloor(db: Kysely<DB>, vendorIds: VendorIds, date: string): Promise<number> {
  let rows = 0;
  for (const v of [vendorIds.threatlocker, vendorIds.ninja]) {
    const r = await sql`
      SELECT i.vendor_device_key, s.hostname, s.canonical_hostname, s.display_name, s.organization_name, s.organization_id,
             s.location_name, s.last_online, s.node_class, s.is_vm_guest, s.system_name, s.billable_status_name
        FROM device_snapshot s JOIN device_identity i ON i.id = s.device_identity_id
       WHERE s.snapshot_date = ${date}::date AND s.vendor_id = ${v}`.execute(db);
    rows += r.rows.length;
  }
  return rows;
}

async function timed<T>(f: () => T | Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const value = await f();
  return [value, performance.now() - t];
}

async function median(f: () => unknown): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push((await timed(f))[1]);
  return samples.sort((a, b) => a - b)[Math.floor(SAMPLES / 2)] as number;
}

const s = (msValue: number): string => (msValue / 1000).toFixed(2);
const n = (v: number): string => v.toLocaleString('en-US');

/**
 * The reports the dashboard reads, after the next day's run, through a real port (undici → the
 * hub listening on 127.0.0.1): p50 / p95 / max of sequential GETs, after warm-up. Floor: GET
 * /api/health through the same port, the HTTP round trip with no database work.
 */
const REPORTS: readonly (readonly [string, string])[] = [
  ['health (floor)', '/api/health'],
  ['status', '/api/status'],
  ['variance-report/latest', '/api/variance-report/latest'],
  ['variance-report/{date}', `/api/variance-report/${DAY2}`],
  ['variance-report/filtered', '/api/variance-report/filtered'],
  ['variances/available-dates', '/api/variances/available-dates'],
  ['variances/trends', `/api/variances/trends?start_date=${DAY1}&end_date=${DAY2}`],
  ['variances (open, 100)', '/api/variances?status=open&limit=100'],
  ['variances (hostname, 100)', '/api/variances?status=all&hostname=ws-00012&limit=100'],
  ['exceptions/count', '/api/exceptions/count'],
  ['exceptions/status-summary', '/api/exceptions/status-summary'],
  ['exceptions (100)', '/api/exceptions?limit=100'],
  ['devices/search', '/api/devices/search?q=ws-000123'],
  ['export/csv (all open)', '/api/variances/export/csv'],
  ['export/xlsx (all open)', '/api/variances/export/xlsx'],
];
const REPORT_SAMPLES = 40;

async function benchReports(database: Database, reports: string[][], kind: DatabaseKind): Promise<void> {
  const deps = await createDeps(loadConfig({ LOG_LEVEL: 'silent', ...NO_RATE_LIMITS }), {
    logger: pino({ level: 'silent' }),
    clock: fixedClock(`${DAY2}T15:00:00Z`),
    database,
    skipMigrations: true,
    threatlocker: { baseUrl: 'http://127.0.0.1:9/portalapi', apiKey: 'unused', organizationId: undefined, timeoutMs: 1_000 },
    ninja: null,
  });
  const app = await buildServer(deps);
  try {
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const client = new Pool(url, { connections: 1 });
    try {
      const measured: { label: string; bytes: number; l: ReturnType<typeof summarize> }[] = [];
      for (const [label, path] of [...REPORTS, ['health (floor, again)', '/api/health'] as const]) {
        const get = async (): Promise<number> => {
          const res = await client.request({ method: 'GET', path });
          const body = await res.body.arrayBuffer();
          if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}: ${Buffer.from(body).toString('utf8').slice(0, 300)}`);
          return body.byteLength;
        };
        let bytes = 0;
        for (let i = 0; i < 3; i++) bytes = await get();
        const samples: number[] = [];
        for (let i = 0; i < REPORT_SAMPLES; i++) samples.push((await timed(get))[1]);
        measured.push({ label, bytes, l: summarize(samples) });
      }
      // The floor is measured first and last (the first requests on a connection pay for warming up).
      const floor = Math.min(...measured.filter((m) => m.label.startsWith('health')).map((m) => m.l.p50));
      for (const m of measured) {
        if (m.label === 'health (floor, again)') continue;
        reports.push([kind, m.label, n(m.bytes), ms(m.l.p50), ms(m.l.p95), ms(m.l.max), `${(m.l.p95 / floor).toFixed(0)}×`]);
      }
    } finally {
      await client.close();
    }
  } finally {
    await app.close();
    await deps.close();
  }
}

async function benchOne(
  kind: DatabaseKind,
  database: Database,
  devices: number,
  rows: string[][],
  parts: string[][],
  syncs: string[][],
  reports: string[][],
): Promise<void> {
  const db = database.db;
  const vendorIds = await loadVendorIds(db);
  process.stderr.write(`  ${kind}: seeding ${n(devices)} devices per vendor × 2 days…\n`);
  const t = performance.now();
  const counts = { threatlocker: 0, ninja: 0 };
  for (const day of [1, 2] as const) {
    for (const vendor of ['threatlocker', 'ninja'] as const) {
      const c = await seedDay(db, vendorIds[vendor], vendor, devices, day);
      if (day === 1) counts[vendor] = c;
    }
  }
  await sql`ANALYZE`.execute(db);
  process.stderr.write(`  ${kind}: seeded in ${s(performance.now() - t)} s (day 1: ${n(counts.threatlocker)} ThreatLocker, ${n(counts.ninja)} NinjaOne rows)\n`);

  const deps: CheckRunDeps = { db, clock: fixedClock(`${DAY1}T15:00:00Z`), vendorIds, settings: SETTINGS, logger: pino({ level: 'silent' }) };
  const run = async (label: string, date: string): Promise<void> => {
    // The floor first, so both read a warm cache alike.
    const floor = await median(() => readFloor(db, vendorIds, date));
    const [summary, total] = await timed<CheckRunSummary>(() => runVarianceCheck(deps, { date, trigger: 'cli' }));
    rows.push([
      kind,
      n(counts.threatlocker),
      n(counts.ninja),
      label,
      s(total),
      s(floor),
      `${(total / floor).toFixed(2)}×`,
      n(summary.found),
      n(summary.opened),
      n(summary.seen),
      n(summary.resolved),
      n(summary.openTotal),
    ]);
  };
  await run('first', DAY1);
  await run('re-run', DAY1);
  await run('next day', DAY2);

  // The run's parts, outside it: the app's reads and the pure rules over the same rows.
  const floor = await median(() => readFloor(db, vendorIds, DAY2));
  const read = async () => ({
    threatlocker: await readDayDevices(db, vendorIds, 'threatlocker', DAY2),
    ninja: await readDayDevices(db, vendorIds, 'ninja', DAY2),
  });
  const readMs = await median(read);
  const fleets = await read();
  const links = await readOrganizationLinks(db);
  let variances = 0;
  const checksMs = await median(() => {
    variances = runChecks({ date: DAY2, devices: fleets, links, settings: SETTINGS }).variances.length;
  });
  parts.push([kind, s(floor), s(readMs), `${(readMs / floor).toFixed(2)}×`, ms(checksMs), n(variances)]);

  // What a sync adds: re-evaluating one synced computer's variances (the day was checked), for
  // computers picked at random, one after another.
  const sample = fleets.threatlocker.filter((_, i) => i % Math.max(1, Math.floor(fleets.threatlocker.length / REEVALUATIONS)) === 0).slice(0, REEVALUATIONS);
  const reevaluationDeps: CheckRunDeps = { ...deps, clock: fixedClock(`${DAY2}T15:00:00Z`) };
  const samples: number[] = [];
  // Its floor, interleaved with it: one round trip to the database (`SELECT 1` through the same
  // pool). A re-evaluation is a handful of them, and the machine sets what one costs.
  const roundTrips: number[] = [];
  let reevaluated = 0;
  for (const d of sample) {
    const [r, took] = await timed(() => reevaluateAfterSync(reevaluationDeps, { deviceKey: d.deviceKey, canonicalHostname: d.canonicalHostname, snapshotDate: DAY2, updatedBy: 'bench' }));
    samples.push(took);
    if (r.ok) reevaluated++;
    roundTrips.push((await timed(() => sql`SELECT 1`.execute(db)))[1]);
  }
  const l = summarize(samples);
  const floorP50 = summarize(roundTrips).p50;
  syncs.push([kind, n(sample.length), n(reevaluated), ms(l.p50), ms(l.p95), ms(l.max), ms(floorP50), `${(l.p50 / floorP50).toFixed(1)}×`]);

  await benchReports(database, reports, kind);
}

/** Computers re-evaluated one by one, as after that many syncs. */
const REEVALUATIONS = 300;

export async function runVariancesBench(o: VariancesBenchOptions): Promise<void> {
  const rows: string[][] = [];
  const parts: string[][] = [];
  const syncs: string[][] = [];
  const reports: string[][] = [];
  for (const kind of o.databases) {
    if (kind === 'postgres' && !(await postgresAvailable())) {
      console.log('PostgreSQL is not reachable (set BENCH_DATABASE_URL); skipping it.');
      continue;
    }
    const database = await benchDatabase(kind);
    try {
      await benchOne(kind, database, o.devices, rows, parts, syncs, reports);
    } finally {
      await database.close();
    }
  }
  console.log(`Variance check run over one day (runVarianceCheck, one transaction); seconds. Floor: both vendors' rows of the day,`);
  console.log(`the columns matching needs, one query each (median of ${SAMPLES}, measured just before the run). Target: ratio ≤ 3× and ≤ 5 s.\n`);
  console.log(
    table(['db', 'ThreatLocker rows', 'NinjaOne rows', 'run', 'total s', 'floor s', 'ratio', 'found', 'opened', 'seen', 'resolved', 'open after'], rows),
  );
  console.log(`\nParts of a run (next day's rows, outside the run; median of ${SAMPLES}): readDayDevices for both vendors, and runChecks alone (in memory).\n`);
  console.log(table(['db', 'floor s', 'readDayDevices ×2 s', 'read / floor', 'runChecks ms', 'variances'], parts));
  console.log(`\nWhat a sync adds (reevaluateAfterSync after the next day's run, ${REEVALUATIONS} computers one after another); milliseconds. Floor: one round trip to the database (SELECT 1, p50), measured between them. Target: p50 ≤ 5 ms.\n`);
  console.log(table(['db', 'syncs', 're-evaluated', 'p50', 'p95', 'max', 'round trip', 'p50 / round trip'], syncs));
  console.log(
    `\nThe reports, after the next day's run, through a real port (undici → hub on 127.0.0.1), ${REPORT_SAMPLES} sequential GETs after 3 warm-up; ` +
      'milliseconds. "p95 / floor" divides by the p50 of GET /api/health on the same port (the lower of two, first and last). Target: p95 ≤ 300 ms.\n',
  );
  console.log(table(['db', 'report', 'bytes', 'p50', 'p95', 'max', 'p95 / floor'], reports));
}
