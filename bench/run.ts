/**
 * npm run bench [-- <suite> …] [--sizes 1000,10000] [--db pglite,postgres] [--iterations N]
 *   [--cases threatlocker:100000,ninja:100000] (collect)
 * Suites: sync, auth (sync-device with and without authentication, audit and metrics;
 *   [--rounds 4]), collect, status ([--devices 50000] [--days 65], per vendor),
 *   variances ([--devices 100000] per vendor; give --db postgres for the production case),
 *   web (the dashboard's first-load JS + CSS, gzipped),
 *   web-variances (the variances page's first row with 10,000 open variances, in Chromium; PostgreSQL).
 * Figures are printed, never asserted.
 */
import { parseArgs } from 'node:util';
import type { DatabaseKind } from '../src/db/database.js';
import { runAuthBench } from './auth.js';
import { runCollectBench } from './collect.js';
import { runStatusBench } from './status.js';
import { runSyncBench } from './sync.js';
import { runVariancesBench } from './variances.js';
import { runWebBench } from './web.js';
import { runWebVariancesBench } from './web-variances.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sizes: { type: 'string', default: '1000,10000,50000' },
    db: { type: 'string', default: 'pglite,postgres' },
    iterations: { type: 'string', default: '300' },
    concurrent: { type: 'string', default: '2000' },
    /** auth only: alternating rounds per hub. */
    rounds: { type: 'string', default: '4' },
    /** status and variances: devices per vendor (default 50,000 for status, 100,000 for variances); status: days of history. */
    devices: { type: 'string' },
    days: { type: 'string', default: '65' },
    /** collect only: collector:size pairs. */
    cases: { type: 'string', default: 'threatlocker:10000,threatlocker:100000,ninja:100000' },
  },
});

const suites = positionals.length > 0 ? positionals : ['sync'];
const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
const databases = values.db.split(',').map((s) => s.trim()) as DatabaseKind[];

for (const suite of suites) {
  if (suite === 'sync') {
    await runSyncBench({
      sizes,
      databases,
      iterations: Number(values.iterations),
      concurrentTotal: Number(values.concurrent),
      concurrency: 16,
    });
  } else if (suite === 'auth') {
    await runAuthBench({
      sizes,
      databases,
      iterations: Number(values.iterations),
      concurrentTotal: Number(values.concurrent) / 4,
      concurrency: 16,
      rounds: Number(values.rounds),
    });
  } else if (suite === 'collect') {
    await runCollectBench({
      cases: values.cases.split(',').map((c) => {
        const [collector, size] = c.trim().split(':');
        return { collector: collector as 'threatlocker' | 'ninja', size: Number(size) };
      }),
      databases,
    });
  } else if (suite === 'status') {
    await runStatusBench({ databases, devices: Number(values.devices ?? 50000), days: Number(values.days), iterations: Number(values.iterations) });
  } else if (suite === 'variances') {
    await runVariancesBench({ databases, devices: Number(values.devices ?? 100000) });
  } else if (suite === 'web') {
    await runWebBench();
  } else if (suite === 'web-variances') {
    await runWebVariancesBench({ variances: 10_000, runs: 5 });
  } else {
    console.error(`unknown benchmark suite "${suite}" (available: sync, auth, collect, status, variances, web, web-variances)`);
    process.exitCode = 2;
  }
}
