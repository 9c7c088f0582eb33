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
import { sql } from 'kysely';
import { migrateToLatest, openDatabase } from '../../src/db/database.js';
import { startFakeNinja } from '../../src/fakes/ninja/index.js';
import { startFakeThreatLocker, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';
import { isolatedEnv, runCli } from './hub-process.js';

const run = promisify(execFile);

// Each command is a fresh Node process (tsx, the embedded database): allow for a busy machine.
describe('inventory-hub CLI', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'inventory-hub-cli-'));
  let fake: FakeThreatLocker;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fake = await startFakeThreatLocker({ fleetSize: 300, seed: 3 });
    env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', THREATLOCKER_API_BASE_URL: fake.url, THREATLOCKER_API_KEY: fake.apiKey, THREATLOCKER_TIMEOUT_MS: '2000' };
    for (const k of Object.keys(env)) if (k.startsWith('NINJA_') || k === 'DATABASE_URL') delete env[k];
  });
  const demoDir = mkdtempSync(join(tmpdir(), 'inventory-hub-cli-demo-'));
  afterAll(async () => {
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(demoDir, { recursive: true, force: true });
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

  it('serve in demo mode refuses, with exit 2 and what to do, a database holding real data', async () => {
    // dataDir holds the ThreatLocker collection of the first test; no vendor configured → demo mode.
    const r = await runCli(isolatedEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), 'serve');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Refusing to start with the embedded database in ${dataDir}: Demo mode refused: this database is marked as a real database`);
    expect(r.stderr).toContain('DATA_DIR=./demo-data');
    expect(r.stdout).not.toMatch(/Inventory Hub listening/);
  }, 120_000);

  it('collect and sync-device refuse a demo database with exit 2 and write nothing', async () => {
    const db = await openDatabase({ dataDir: demoDir });
    try {
      await migrateToLatest(db.db);
      await sql`INSERT INTO hub_database (mode) VALUES ('demo')`.execute(db.db);
    } finally {
      await db.close();
    }
    const envDemo = { ...env, DATA_DIR: demoDir };
    const collect = await runCli(envDemo, 'collect', 'threatlocker');
    expect(collect.code).toBe(2);
    expect(collect.stderr).toMatch(/^collect: This is a demo database: demo mode filled it with made-up devices/m);
    const sync = await runCli(envDemo, 'sync-device', '--hostname', 'anything');
    expect(sync.code).toBe(2);
    expect(sync.stderr).toMatch(/^sync-device: This is a demo database/m);
    const after = await openDatabase({ dataDir: demoDir });
    try {
      expect(await after.db.selectFrom('job_runs').select('job_id').execute()).toEqual([]);
      expect(await after.db.selectFrom('device_sync_log').select('id').execute()).toEqual([]);
    } finally {
      await after.close();
    }
  }, 120_000);

  it('NinjaOne only: collect ninja works; ThreatLocker commands say it is not configured (exit 2)', async () => {
    const ninja = await startFakeNinja({ fleetSize: 50, seed: 9 });
    const ninjaDir = mkdtempSync(join(tmpdir(), 'inventory-hub-cli-ninja-'));
    try {
      const envNinja = isolatedEnv({ DATA_DIR: ninjaDir, LOG_LEVEL: 'warn', NINJA_BASE_URL: ninja.url, NINJA_CLIENT_ID: ninja.clientId, NINJA_CLIENT_SECRET: ninja.clientSecret });
      const collected = await runCli(envNinja, 'collect', 'all');
      expect(collected.code, collected.stderr).toBe(0);
      expect(collected.stdout).toMatch(/^ninja-collector: completed — Collected \d+ devices/m);
      expect(collected.stdout).not.toMatch(/threatlocker-collector/);
      const tl = await runCli(envNinja, 'collect', 'threatlocker');
      expect(tl.code).toBe(2);
      expect(tl.stderr).toMatch(/the threatlocker collector is not configured \(set THREATLOCKER_API_BASE_URL and THREATLOCKER_API_KEY\)/);
      const sync = await runCli(envNinja, 'sync-device', '--hostname', 'x');
      expect(sync.code).toBe(2);
      expect(sync.stderr).toMatch(/sync-device needs THREATLOCKER_API_BASE_URL and THREATLOCKER_API_KEY/);
    } finally {
      await ninja.close();
      rmSync(ninjaDir, { recursive: true, force: true });
    }
  }, 180_000);
});
