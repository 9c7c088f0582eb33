/**
 * Collector benchmark: whole fleets from the fakes into PostgreSQL and PGlite, each run in its
 * own process (peak RSS is per process); devices per second, the swap transaction, peak RSS.
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
  runs: { label: string; devices: number; ms: number; swapMs: number; pages: number }[];
  maxRssMb: number;
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
      process.stderr.write(`  ${db}, ${c.collector}, ${c.size} devices…\n`);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/collect-one.ts', c.collector, String(c.size), db], {
        maxBuffer: 1 << 20,
        timeout: 600_000,
      });
      results.push(JSON.parse(stdout.trim().split('\n').pop() as string) as Result);
    }
  }
  console.log(
    table(
      ['db', 'collector', 'fleet', 'run', 'devices written', 'pages', 'total s', 'devices/s', 'swap s', 'peak RSS MB'],
      results.flatMap((r) =>
        r.runs.map((x) => [
          r.db,
          r.collector,
          r.size.toLocaleString('en-US'),
          x.label,
          x.devices.toLocaleString('en-US'),
          String(x.pages),
          (x.ms / 1000).toFixed(1),
          Math.round(x.devices / (x.ms / 1000)).toLocaleString('en-US'),
          (x.swapMs / 1000).toFixed(2),
          r.maxRssMb.toFixed(0),
        ]),
      ),
    ),
  );
  console.log('\nrun: first = first-ever collection (every identity new); nightly = the next day (the steady state); rerun = again the same day.');
}
