/**
 * `inventory-hub check` as an operator runs it, over an embedded database holding both
 * vendors' collected day: its summary, and exit 2 for a day that cannot be checked.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { migrateToLatest, openDatabase } from '../../src/db/database.js';
import { loadVendorIds } from '../../src/inventory/vendors.js';
import { writeDevice } from '../helpers/variances.js';

const run = promisify(execFile);

describe('inventory-hub check', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'inventory-hub-check-'));
  const today = systemClock('UTC').today();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', INVENTORY_TIMEZONE: 'UTC' };
  for (const k of Object.keys(env)) if (k.startsWith('NINJA_') || k.startsWith('THREATLOCKER_') || k === 'DATABASE_URL') delete env[k];

  beforeAll(async () => {
    const database = await openDatabase({ dataDir });
    try {
      await migrateToLatest(database.db);
      const ids = await loadVendorIds(database.db);
      await writeDevice(database.db, ids, 'threatlocker', today, { key: 'aaaaaaaa-0000-4000-8000-000000000001', hostname: 'PC-A' });
      await writeDevice(database.db, ids, 'threatlocker', today, { key: 'aaaaaaaa-0000-4000-8000-000000000002', hostname: 'PC-B' });
      await writeDevice(database.db, ids, 'ninja', today, { key: '101', hostname: 'PC-A' });
    } finally {
      await database.close();
    }
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env, cwd: process.cwd() }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('checks today and prints counts per type and what the run changed', async () => {
    const r = await cli('check');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Variances of ${today} \\(run 1\\): \\d+ found$`, 'm'));
    expect(r.stdout).toMatch(/^ {2}MISSING_NINJA +1$/m);
    expect(r.stdout).toMatch(/^Opened \d+, resolved 0, reopened 0, changed 0, acceptances expired 0; open now: \d+\./m);
  });

  it('exits 2, saying why, for a day without both collections', async () => {
    const r = await cli('check', '--date', '2020-01-01');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Not checked \(HUB_ERR_VARIANCES_INCOMPLETE_DAY\): /m);
  });

  it('refuses a malformed date', async () => {
    const r = await cli('check', '--date', '2020-02-30');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/must be a date/);
  });
});
