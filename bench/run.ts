/**
 * npm run bench [-- <suite> …] [--sizes 1000,10000] [--db pglite,postgres] [--iterations N]
 * Suites: sync, collect. Figures are printed, never asserted.
 */
import { parseArgs } from 'node:util';
import type { DatabaseKind } from '../src/db/database.js';
import { runCollectBench } from './collect.js';
import { runSyncBench } from './sync.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sizes: { type: 'string', default: '1000,10000,50000' },
    db: { type: 'string', default: 'pglite,postgres' },
    iterations: { type: 'string', default: '300' },
    concurrent: { type: 'string', default: '2000' },
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
  } else if (suite === 'collect') {
    await runCollectBench({
      cases: [
        { collector: 'threatlocker', size: 10_000 },
        { collector: 'threatlocker', size: 100_000 },
        { collector: 'ninja', size: 100_000 },
      ],
      databases,
    });
  } else {
    console.error(`unknown benchmark suite "${suite}" (available: sync, collect)`);
    process.exitCode = 2;
  }
}
