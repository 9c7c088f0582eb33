/**
 * Collector benchmark: whole fleets from the fakes into PostgreSQL and PGlite, each run in its
 * own process (peak RSS is per process); devices per second, the lock window, peak RSS — and,
 * measured in the same run, the floor (fetch and parse every page with nothing stored, plus a
 * COPY of the same rows into an empty table; see collect-floor.ts) and each run's ratio to it.
 * Absolute times do not carry between machines; the ratio does.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { CollectorName } from '../src/collectors/runs.js';
import type { DatabaseKind } from '../src/db/database.js';
import { postgresAvailable, table } from './lib.js';

const run = promisify(execFile);

export interface CollectBenchOptions {
  readonly cases: readonly { collector: CollectorName; size: number }[];
  readonly databases: readonly DatabaseKind[];
}

interface Result {
  collector: string;
  size: number;
  db: string;
  runs: { label: string; devices: number; ms: number; lockMs: number; pages: number }[];
  maxRssMb: number;
  floor: { fetchMs: number; copyMs: number; rows: number };
}

async function runJson<T>(script: string, args: readonly string[]): Promise<T> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, ...args], { maxBuffer: 1 << 20, timeout: 600_000 });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as T;
}

export async function runCollectBench(o: CollectBenchOptions): Promise<void> {
  const dbs: DatabaseKind[] = [];
  for (const d of o.databases) {
    if (d === 'postgres' && !(await postgresAvailable())) console.log('PostgreSQL is not reachable (set BENCH_DATABASE_URL); skipping it.');
    else dbs.push(d);
  }
  console.log('collector benchmark — one fresh process per run; fake vendor in its own process, zero added latency\n');
  const results: Result[] = [];
  for (const db of dbs) {
    for (const c of o.cases) {
      const args = [c.collector, String(c.size), db];
      process.stderr.write(`  ${db}, ${c.collector}, ${c.size} devices: floor…\n`);
      const floor = await runJson<Result['floor']>('bench/collect-floor.ts', args);
      process.stderr.write(`  ${db}, ${c.collector}, ${c.size} devices: collections…\n`);
      results.push({ ...(await runJson<Omit<Result, 'floor'>>('bench/collect-one.ts', args)), floor });
    }
  }
  console.log(
    table(
      ['db', 'collector', 'fleet', 'run', 'devices written', 'pages', 'total s', 'devices/s', 'floor s', 'ratio', 'lock window s', 'peak RSS MB'],
      results.flatMap((r) => {
        const floorMs = r.floor.fetchMs + r.floor.copyMs;
        return r.runs.map((x) => [
          r.db,
          r.collector,
          r.size.toLocaleString('en-US'),
          x.label,
          x.devices.toLocaleString('en-US'),
          String(x.pages),
          (x.ms / 1000).toFixed(1),
          Math.round(x.devices / (x.ms / 1000)).toLocaleString('en-US'),
          (floorMs / 1000).toFixed(1),
          `${(x.ms / floorMs).toFixed(2)}×`,
          (x.lockMs / 1000).toFixed(2),
          r.maxRssMb.toFixed(0),
        ]);
      }),
    ),
  );
  console.log(
    `\nfloor = fetching and parsing every page with nothing stored + one COPY of the same rows into an empty table (${results
      .map((r) => `${r.db} ${r.collector} ${r.size.toLocaleString('en-US')}: ${(r.floor.fetchMs / 1000).toFixed(1)} s + ${(r.floor.copyMs / 1000).toFixed(1)} s`)
      .join('; ')}).`,
  );
  console.log('lock window = how long syncs of that vendor would wait for the swap (the exclusive snapshot-write lock held).');
  console.log('\nrun: first = first-ever collection (every identity new); nightly = the next day (the steady state); rerun = again the same day.');
}
