/**
 * Collections in a fresh process, so that the peak RSS is their own: starts the fake vendor in
 * yet another process, opens a fresh database, and collects three times — the first-ever
 * collection, the next day's (the nightly steady state) and a rerun that same day — then
 * prints one JSON line.
 * Usage: tsx bench/collect-one.ts <threatlocker|ninja> <devices> <pglite|postgres>
 */
import { pino } from 'pino';
import { createDeps } from '../src/app.js';
import { fixedClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import type { CollectorName } from '../src/collectors/runs.js';
import type { DatabaseKind } from '../src/db/database.js';
import { benchDatabase, NO_RATE_LIMITS, startRemoteFake } from './lib.js';

const [collector, sizeArg, dbKind] = process.argv.slice(2) as [CollectorName, string, DatabaseKind];
const size = Number(sizeArg);
const fake = await startRemoteFake(collector, size, 7);
const database = await benchDatabase(dbKind);
const lines: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
const clock = fixedClock('2026-03-09T12:00:00Z');
const deps = await createDeps(loadConfig({ LOG_LEVEL: 'info', ...NO_RATE_LIMITS }), {
  logger,
  clock,
  database,
  skipMigrations: true,
  ...fake.vendorConfig,
});
try {
  const runs = [];
  for (const [label, at] of [
    ['first', '2026-03-09T12:00:00Z'],
    ['nightly', '2026-03-10T12:00:00Z'],
    ['rerun', '2026-03-10T13:00:00Z'],
  ] as const) {
    clock.set(at);
    const t = performance.now();
    const { jobs } = await deps.runs.runAndWait({ collectors: [collector], trigger: 'cli' });
    const ms = performance.now() - t;
    const job = jobs[0]!;
    if (job.status !== 'completed') throw new Error(`${job.job_name} ${job.status}: ${job.message}`);
    const done = lines.filter((l) => l.msg === 'collector run completed').pop();
    runs.push({ label, devices: job.devices_written, ms, lockMs: done?.lockMs ?? done?.swapMs, swapMs: done?.swapMs, phases: done?.phases, pages: job.pages_fetched });
  }
  process.stdout.write(`${JSON.stringify({ collector, size, db: dbKind, runs, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
} finally {
  await deps.close();
  await database.close();
  await fake.close();
}
