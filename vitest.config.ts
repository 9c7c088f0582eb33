import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Each file opens its own databases (PGlite in memory, a throwaway PostgreSQL database);
    // two workers keep a 2-core machine busy without starving the WASM database.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'hub', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/browser/**'] },
      },
      {
        // The dashboard in a real browser against a real demo hub. Run after the rest (group 1):
        // `npm start` in the end-to-end suite rebuilds dist/web/, which these tests serve.
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          // A Vite build when the dashboard changed, then a demo hub's start (seeding ~700
          // devices per vendor): tens of seconds on a busy 2-core machine.
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
