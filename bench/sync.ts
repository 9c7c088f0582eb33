/**
 * sync-device benchmark: fleets of 1k / 10k / 50k computers in the fake (zero added latency),
 * on PGlite and PostgreSQL, through the HTTP layer (`app.inject`).
 *
 * Measures, per database and fleet size:
 *  - sequential syncs by computer_id and by hostname: p50 / p95 / max latency, vendor requests
 *    per sync;
 *  - throughput with 16 syncs in flight;
 *  - the original system's method as a baseline (page the whole fleet, pick the device, write
 *    it), and the ratio of its median to ours — both measured without the HTTP layer;
 *  - sync-device by computer_id as a user sees it: the real server listening on a port, an HTTP
 *    client (undici) in front of it, and, interleaved in the same run, the fake's own answer to
 *    the same vendor request and the database statement on their own — so that what is left,
 *    end to end minus fake minus database, is the hub's own share.
 */
import { sql } from 'kysely';
import { pino } from 'pino';
import { Pool } from 'undici';
import { createDeps, threatlockerDeps, type Deps } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import type { DatabaseKind } from '../src/db/database.js';
import { createRng } from '../src/fakes/rng.js';
import { buildServer } from '../src/http/server.js';
import { syncThreatLockerDevice } from '../src/sync/sync-device.js';
import { writeAndRecord } from '../src/sync/sync-log.js';
import { replaceDeviceSnapshot, replaceDeviceSnapshotStatement } from '../src/inventory/store.js';
import { normalizeThreatLockerComputer } from '../src/vendors/threatlocker/normalize.js';
import type { ThreatLockerComputer } from '../src/vendors/threatlocker/schema.js';
import { benchDatabase, type LatencySummary, ms, NO_RATE_LIMITS, postgresAvailable, startRemoteFake, summarize, table } from './lib.js';

export interface SyncBenchOptions {
  readonly sizes: readonly number[];
  readonly databases: readonly DatabaseKind[];
  /** Sequential syncs per mode. */
  readonly iterations: number;
  /** Syncs in the concurrency run. */
  readonly concurrentTotal: number;
  readonly concurrency: number;
}

interface Row {
  db: DatabaseKind;
  size: number;
  byId: LatencySummary & { requests: number };
  /** The same syncs called as the use case, without the HTTP layer: the like-for-like
   *  comparison with the baseline, which is measured without it too. */
  byIdUseCase: LatencySummary;
  byHostname: LatencySummary & { requests: number };
  throughput: number;
  baseline: LatencySummary & { requests: number };
  port: PortFigures;
  /** The same through-port measurement once the day is checked: each sync re-evaluates. */
  portChecked: PortFigures;
  /** Open variances after the day's check. */
  openVariances: number;
}

/** sync-device by computer_id through a real port, with the parts it is made of beside it. */
interface PortFigures {
  endToEnd: LatencySummary;
  /** The fake answering the same vendor request, called directly from the benchmark. */
  fake: LatencySummary;
  /** The sync's database statement (snapshot replace + sync-log insert), run directly. */
  database: LatencySummary;
  /** end to end − fake − database, per percentile. */
  hubP50: number;
  hubP95: number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** The original system's lookup: every page of the fleet, then a linear search, then the write. */
async function fullScanSync(deps: Deps, computerId: string): Promise<void> {
  let found: ThreatLockerComputer | undefined;
  for await (const page of threatlockerDeps(deps).threatlocker.list(500)) {
    found ??= page.find((c) => c.computerId === computerId);
  }
  if (!found) throw new Error(`baseline did not find ${computerId}`);
  const n = normalizeThreatLockerComputer(found);
  if (!n.ok) throw new Error(n.error.message);
  await replaceDeviceSnapshot(deps.db, deps.vendorIds.threatlocker, deps.clock.today(), n.device, 'sync');
}

/**
 * The real-port measurement. Each iteration does, in turn: one sync-device through the hub's
 * port, the same vendor request straight to the fake, and the same database statement straight
 * to the database — so that all three see the same machine state.
 */
async function measurePort(
  deps: Deps,
  hubUrl: string,
  fakeBaseUrl: string,
  apiKey: string,
  pick: () => ThreatLockerComputer,
  iterations: number,
  /** What each answer must say of variances: not re-evaluated (day not checked) or re-evaluated. */
  variances: 'not_checked' | 'reevaluated',
): Promise<PortFigures> {
  const hub = new Pool(hubUrl, { connections: 1 });
  const fakeUrl = new URL(fakeBaseUrl);
  const fake = new Pool(fakeUrl.origin, { connections: 1 });
  const listPath = `${fakeUrl.pathname}/Computer/ComputerGetByAllParameters`;
  const ZERO = '00000000-0000-0000-0000-000000000000';
  const syncOnce = async (computerId: string) => {
    const res = await hub.request({
      method: 'POST',
      path: '/api/threatlocker/sync-device',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ computer_id: computerId }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`sync answered ${res.statusCode}: ${text}`);
    const body = JSON.parse(text) as { variances: unknown; variances_reason?: string };
    const reevaluated = body.variances !== null;
    if (reevaluated !== (variances === 'reevaluated') || (!reevaluated && body.variances_reason !== variances)) {
      throw new Error(`expected variances ${variances}, the sync answered ${text}`);
    }
  };
  const fakeOnce = async (computerId: string) => {
    // The body and headers the hub's client sends for a lookup by id.
    const res = await fake.request({
      method: 'POST',
      path: listPath,
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: apiKey },
      body: JSON.stringify({
        pageNumber: 1, pageSize: 10, searchText: '', orderBy: 'computername', isAscending: true, childOrganizations: true,
        action: '', kindOfAction: '', computerGroup: ZERO, computerId, showLastCheckIn: true, showDeleted: false,
        threatlockerVersion: 'All', isExport: false,
      }),
    });
    const rows = (await res.body.json()) as unknown[];
    if (res.statusCode !== 200 || rows.length !== 1) throw new Error(`fake answered ${res.statusCode} with ${rows.length} rows`);
  };
  const date = deps.clock.today();
  const dbOnce = async (computer: ThreatLockerComputer) => {
    const n = normalizeThreatLockerComputer(computer);
    if (!n.ok) throw new Error(n.error.message);
    await writeAndRecord(deps.db, replaceDeviceSnapshotStatement(deps.vendorIds.threatlocker, date, n.device, 'sync'), {
      operation: 'sync',
      requested_at: new Date(),
      requested_computer_id: String(computer.computerId),
      requested_hostname: null,
      matched_computer_id: String(computer.computerId),
      matched_hostname: n.device.attributes.hostname,
      matched_by: 'computer_id',
      snapshot_date: date,
      display_name: n.device.attributes.display_name,
      updated_by: 'bench',
      outcome: 'success',
      elapsed_ms: 0,
    });
  };
  try {
    for (let i = 0; i < 50; i++) {
      const c = pick();
      await syncOnce(String(c.computerId));
      await fakeOnce(String(c.computerId));
      await dbOnce(c);
    }
    const e2e: number[] = [];
    const fakeMs: number[] = [];
    const dbMs: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const c = pick();
      const id = String(c.computerId);
      e2e.push(await timed(() => syncOnce(id)));
      fakeMs.push(await timed(() => fakeOnce(id)));
      dbMs.push(await timed(() => dbOnce(c)));
    }
    const endToEnd = summarize(e2e);
    const fakeSummary = summarize(fakeMs);
    const database = summarize(dbMs);
    return {
      endToEnd,
      fake: fakeSummary,
      database,
      hubP50: endToEnd.p50 - fakeSummary.p50 - database.p50,
      hubP95: endToEnd.p95 - fakeSummary.p95 - database.p95,
    };
  } finally {
    await hub.close();
    await fake.close();
  }
}

async function benchOne(db: DatabaseKind, size: number, o: SyncBenchOptions): Promise<Row> {
  const fake = await startRemoteFake('threatlocker', size, 42);
  // NinjaOne's fake, same catalogue (size and seed): collected later, so that the day gets
  // checked and each sync re-evaluates its computer's variances.
  const ninjaFake = await startRemoteFake('ninja', size, 42);
  const database = await benchDatabase(db);
  // The production logger at its default level, writing to /dev/null: a real server logs every
  // request, and that is part of what a user waits for.
  const deps = await createDeps(loadConfig({ LOG_LEVEL: 'info', ...NO_RATE_LIMITS }), {
    logger: createLogger('info', pino.destination({ dest: '/dev/null', sync: true })),
    database,
    skipMigrations: true,
    threatlocker: fake.vendorConfig.threatlocker,
    ninja: ninjaFake.vendorConfig.ninja,
  });
  const app = await buildServer(deps);
  try {
    // A realistic table: today's full snapshot is already there, as after the nightly run, and
    // the vacuum that follows a bulk write has run (syncs happen hours later, in the daytime;
    // measuring while autovacuum works through the fresh day measured autovacuum).
    await deps.runs.runAndWait({ collectors: ['threatlocker'], trigger: 'cli' });
    await sql`VACUUM ANALYZE`.execute(deps.db);
    const computers: ThreatLockerComputer[] = [];
    for await (const page of threatlockerDeps(deps).threatlocker.list()) computers.push(...page);
    const rng = createRng(size);
    const pick = () => computers[rng.int(0, computers.length - 1)] as ThreatLockerComputer;

    const sync = async (body: Record<string, string>) => {
      const res = await app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', payload: body });
      if (res.statusCode !== 200) throw new Error(`sync answered ${res.statusCode}: ${res.body}`);
    };
    const sequential = async (make: () => Record<string, string>) => {
      await fake.clearRequests();
      const samples: number[] = [];
      for (let i = 0; i < o.iterations; i++) {
        const body = make();
        samples.push(await timed(() => sync(body)));
      }
      return { ...summarize(samples), requests: (await fake.requestCount()) / o.iterations };
    };

    for (let i = 0; i < 30; i++) await sync({ computer_id: String(pick().computerId) }); // warm-up
    const byId = await sequential(() => ({ computer_id: String(pick().computerId) }));
    const byHostname = await sequential(() => ({ hostname: String(pick().hostname).toLowerCase() }));
    const direct: number[] = [];
    for (let i = 0; i < o.iterations; i++) {
      const id = String(pick().computerId);
      direct.push(
        await timed(async () => {
          const r = await syncThreatLockerDevice(threatlockerDeps(deps), { computerId: id }, 'bench');
          if (!r.ok) throw new Error(`sync failed: ${r.reason}`);
        }),
      );
    }
    const byIdUseCase = summarize(direct);

    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < o.concurrentTotal) {
          next++;
          await sync({ computer_id: String(pick().computerId) });
        }
      }),
    );
    const throughput = o.concurrentTotal / ((performance.now() - started) / 1000);

    await fake.clearRequests();
    const baselineRuns = size >= 50_000 ? 3 : size >= 10_000 ? 5 : 10;
    const baselineSamples: number[] = [];
    for (let i = 0; i < baselineRuns; i++) {
      const id = String(pick().computerId);
      baselineSamples.push(await timed(() => fullScanSync(deps, id)));
    }
    const baseline = { ...summarize(baselineSamples), requests: (await fake.requestCount()) / baselineRuns };

    const hubUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const tl = fake.vendorConfig.threatlocker!;
    const port = await measurePort(deps, hubUrl, tl.baseUrl, tl.apiKey, pick, o.iterations, 'not_checked');

    // NinjaOne collected too: the day's check runs after the batch, as every night.
    await deps.runs.runAndWait({ collectors: ['ninja'], trigger: 'cli' });
    const checked = await deps.db
      .selectFrom('variance_run')
      .select('id')
      .where('snapshot_date', '=', deps.clock.today())
      .where('status', '=', 'completed')
      .executeTakeFirst();
    if (!checked) throw new Error('the day was not checked after both collections');
    const open = await deps.db.selectFrom('variance').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'open').executeTakeFirstOrThrow();
    await sql`VACUUM ANALYZE`.execute(deps.db);
    const portChecked = await measurePort(deps, hubUrl, tl.baseUrl, tl.apiKey, pick, o.iterations, 'reevaluated');
    return { db, size, byId, byIdUseCase, byHostname, throughput, baseline, port, portChecked, openVariances: Number(open.n) };
  } finally {
    await app.close();
    await deps.close();
    await database.close();
    await fake.close();
    await ninjaFake.close();
  }
}

export async function runSyncBench(o: SyncBenchOptions): Promise<void> {
  const dbs: DatabaseKind[] = [];
  for (const d of o.databases) {
    if (d === 'postgres' && !(await postgresAvailable())) {
      console.log('PostgreSQL is not reachable (set BENCH_DATABASE_URL); skipping it.');
      continue;
    }
    dbs.push(d);
  }
  const note =
    '\n"by id"/"by host": through the HTTP layer (app.inject). "use case p50": the same sync by id called without it; ' +
    'the speed-up compares it with the full-scan baseline, which is measured without the HTTP layer as well.';
  console.log(
    `sync-device benchmark — ${o.iterations} sequential syncs per mode, ${o.concurrentTotal} at concurrency ${o.concurrency}; ` +
      'latencies in ms, through the HTTP layer; fake vendor in its own process, zero added latency\n',
  );
  const rows: Row[] = [];
  for (const db of dbs) {
    for (const size of o.sizes) {
      process.stderr.write(`  ${db}, ${size} devices…\n`);
      rows.push(await benchOne(db, size, o));
    }
  }
  console.log(
    table(
      ['db', 'devices', 'by id p50', 'p95', 'max', 'req/sync', 'by host p50', 'p95', 'max', 'req/sync', 'syncs/s @16', 'use case p50', 'full-scan p50', 'req/sync', 'speed-up (p50)'],
      rows.map((r) => [
        r.db,
        r.size.toLocaleString('en-US'),
        ms(r.byId.p50),
        ms(r.byId.p95),
        ms(r.byId.max),
        r.byId.requests.toFixed(2),
        ms(r.byHostname.p50),
        ms(r.byHostname.p95),
        ms(r.byHostname.max),
        r.byHostname.requests.toFixed(2),
        r.throughput.toFixed(0),
        ms(r.byIdUseCase.p50),
        ms(r.baseline.p50),
        r.baseline.requests.toFixed(0),
        `${(r.baseline.p50 / r.byIdUseCase.p50).toFixed(0)}×`,
      ]),
    ),
  );
  console.log(note);
  console.log(
    '\nsync-device by computer_id through a real port (undici client → hub on its port → fake on its own port), ' +
      'with the fake answering the same request directly and the database statement run directly, interleaved:\n',
  );
  console.log(
    table(
      ['db', 'devices', 'end to end p50', 'p95', 'fake p50', 'p95', 'database p50', 'p95', 'hub share p50', 'p95', 'inject p50'],
      rows.map((r) => [
        r.db,
        r.size.toLocaleString('en-US'),
        ms(r.port.endToEnd.p50),
        ms(r.port.endToEnd.p95),
        ms(r.port.fake.p50),
        ms(r.port.fake.p95),
        ms(r.port.database.p50),
        ms(r.port.database.p95),
        ms(r.port.hubP50),
        ms(r.port.hubP95),
        ms(r.byId.p50),
      ]),
    ),
  );
  console.log('\n"hub share" = end to end − fake − database (per percentile); "inject p50" is the "by id p50" above.');
  console.log(
    '\nThe same, once NinjaOne is collected too and the day checked: each sync also re-evaluates its computer\'s variances ' +
      '(the answer\'s `variances`). "re-evaluation adds" = end to end checked − end to end not checked. Target: ≤ 5 ms p50.\n',
  );
  console.log(
    table(
      ['db', 'devices', 'open variances', 'not checked p50', 'p95', 'checked p50', 'p95', 'fake p50', 'database p50', 're-evaluation adds p50', 'p95'],
      rows.map((r) => [
        r.db,
        r.size.toLocaleString('en-US'),
        r.openVariances.toLocaleString('en-US'),
        ms(r.port.endToEnd.p50),
        ms(r.port.endToEnd.p95),
        ms(r.portChecked.endToEnd.p50),
        ms(r.portChecked.endToEnd.p95),
        ms(r.portChecked.fake.p50),
        ms(r.portChecked.database.p50),
        ms(r.portChecked.endToEnd.p50 - r.port.endToEnd.p50),
        ms(r.portChecked.endToEnd.p95 - r.port.endToEnd.p95),
      ]),
    ),
  );
}
