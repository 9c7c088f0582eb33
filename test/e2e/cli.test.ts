/**
 * The command line as an operator runs it: `collect` against a (fake) ThreatLocker, with its
 * exit codes, and `retention --dry-run`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeThreatLocker, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';

const run = promisify(execFile);

describe('inventory-hub CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'inventory-hub-cli-'));
  let fake: FakeThreatLocker;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fake = await startFakeThreatLocker({ fleetSize: 300, seed: 3 });
    env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', THREATLOCKER_API_BASE_URL: fake.url, THREATLOCKER_API_KEY: fake.apiKey, THREATLOCKER_TIMEOUT_MS: '2000' };
    for (const k of Object.keys(env)) if (k.startsWith('NINJA_') || k === 'DATABASE_URL') delete env[k];
  });
  afterAll(async () => {
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env, cwd: process.cwd() }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('collect threatlocker: exit 0 and a summary', async () => {
    const r = await cli('collect', 'threatlocker');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^threatlocker-collector: completed — Collected \d+ devices for \d{4}-\d{2}-\d{2}/m);
    expect(r.stdout + r.stderr).not.toContain(fake.apiKey);
  });

  it('collect exits non-zero when the vendor fails', async () => {
    fake.admin.injectFault({ kind: 'status', status: 401, times: null });
    try {
      const r = await cli('collect', 'all');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^threatlocker-collector: failed — ThreatLocker collector failed: /m);
    } finally {
      fake.admin.clearFaults();
    }
  });

  it('refuses an unknown collector', async () => {
    const r = await cli('collect', 'crowdstrike');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/must be one of all, ninja, threatlocker/);
  });

  it('retention --dry-run reports and changes nothing', async () => {
    const r = await cli('retention', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Daily snapshots are kept from \d{4}-\d{2}-\d{2} on \(SNAPSHOT_RETENTION_DAYS=65\)/);
    expect(r.stdout).toMatch(/Would delete 0 rows from 0 vendor-days\./);
  });

  it('lists every configuration problem and exits 2', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], {
      env: { ...env, PORT: 'x', INVENTORY_TIMEZONE: 'Nowhere/City' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toMatch(/PORT must be an integer[\s\S]*INVENTORY_TIMEZONE must be an IANA time zone/);
  });
});
