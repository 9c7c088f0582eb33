/**
 * The embedded database's data directory is held by one process at a time: a second process
 * (the CLI while `serve` runs) fails with what to do; a lock left by a dead process is taken
 * over; a clean close leaves no lock behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirectoryLockedError, LOCK_FILE, openDatabase } from '../../src/db/database.js';
import { isolatedEnv, runCli } from '../e2e/hub-process.js';

/** A child process that opens the data directory and holds it until its stdin closes. */
function startHolder(dataDir: string) {
  const script = `
    import { openDatabase } from './src/db/database.ts';
    const db = await openDatabase({ dataDir: ${JSON.stringify(dataDir)} });
    process.stdout.write('holding\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await db.close(); process.stdout.write('closed\\n'); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const holding = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => {
      if (out.includes('holding')) resolve();
    });
    exited.then((code) => reject(new Error(`holder exited with ${code}: ${out}`)), reject);
  });
  return { child, holding, exited, output: () => out };
}

/** The pid of a process that has exited (so it is certainly not alive). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

describe('PGlite data-directory lock', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'inventory-hub-lock-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a second process fails with what to do (CLI exit 2) while another holds the directory; the lock is gone after a clean stop', async () => {
    const dataDir = newDir();
    const holder = startHolder(dataDir);
    try {
      await holder.holding;
      const lock = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number; host: string };
      expect(lock).toMatchObject({ pid: holder.child.pid, host: hostname() });

      const r = await runCli(isolatedEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), 'migrate');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`the hub is already running with this data directory (pid ${holder.child.pid}`);
      expect(r.stderr).toContain('stop it, use the API (POST /api/collectors/run, /api/threatlocker/sync-device), or use PostgreSQL (DATABASE_URL)');
      expect(r.stdout).not.toMatch(/Applied|up to date/);

      // The same in-process: the error is typed and names the holder.
      const err = await openDatabase({ dataDir }).then(
        async (db) => {
          await db.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DataDirectoryLockedError);
      expect((err as DataDirectoryLockedError).owner.pid).toBe(holder.child.pid);
    } finally {
      holder.child.stdin.end();
    }
    expect(await holder.exited).toBe(0);
    expect(holder.output()).toContain('closed');
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

    // Free again: the CLI now opens it.
    const again = await runCli(isolatedEnv({ DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), 'migrate');
    expect(again.code).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  }, 300_000);

  it('takes over a lock whose owner is dead', async () => {
    const dataDir = newDir();
    const pid = await deadPid();
    writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', procStart: null }));
    const db = await openDatabase({ dataDir });
    try {
      const lock = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number };
      expect(lock.pid).toBe(process.pid);
      expect(Number((await db.db.selectNoFrom((eb) => eb.val(1).as('one')).executeTakeFirstOrThrow()).one)).toBe(1);
    } finally {
      await db.close();
    }
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  }, 300_000);

  it('refuses a lock held by a live process on this host, and a lock from another host', async () => {
    const dataDir = newDir();
    // This test process's parent is alive for as long as the test runs.
    writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: 'x', procStart: null }));
    await expect(openDatabase({ dataDir })).rejects.toThrow(`(pid ${process.ppid}, started x`);
    writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), host: 'elsewhere.example', startedAt: 'x', procStart: null }));
    await expect(openDatabase({ dataDir })).rejects.toThrow(/on elsewhere\.example/);
    // Neither refusal removed the holder's lock.
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8'))).toMatchObject({ host: 'elsewhere.example' });
  }, 300_000);
});
