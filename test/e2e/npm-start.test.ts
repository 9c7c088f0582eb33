/**
 * End to end: start the hub exactly as a user would (`npm start`, demo mode, embedded
 * database), run the specification's cURL example against it, then stop it with SIGTERM.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, openDatabase } from '../../src/db/database.js';
import { isolatedEnv, listening, startHub } from './hub-process.js';

const run = promisify(execFile);

interface LogLine {
  msg?: string;
  collector?: string;
  devices?: number;
  pid?: number;
  url?: string;
  level?: number;
}

describe('npm start (demo mode)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'inventory-hub-e2e-'));
  let child: ChildProcess;
  let baseUrl = '';
  const lines: LogLine[] = [];
  let output = '';

  beforeAll(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' };
    for (const k of Object.keys(env)) if (k.startsWith('THREATLOCKER_') || k === 'DATABASE_URL') delete env[k];
    child = spawn('npm', ['start'], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hub did not start:\n${output}`)), 270_000);
      let buffer = '';
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
        buffer += d.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const text = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            const line = JSON.parse(text) as LogLine;
            lines.push(line);
            if (line.msg?.startsWith('Inventory Hub listening') && line.url) {
              clearTimeout(timer);
              resolve(line.url);
            }
          } catch {
            // npm's own banner lines are not JSON
          }
        }
      });
      child.once('exit', (code) => reject(new Error(`hub exited with ${code}:\n${output}`)));
    });
  }, 300_000);

  afterAll(() => {
    if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says plainly that it runs a demo and how to configure real credentials', () => {
    const demo = lines.find((l) => l.msg?.startsWith('DEMO MODE'));
    expect(demo?.msg).toContain('THREATLOCKER_API_KEY');
  });

  it('answers the specification\'s cURL example', async () => {
    const { stdout } = await run('curl', [
      '-sS',
      '-X',
      'POST',
      `${baseUrl}/api/threatlocker/sync-device`,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{\n    "hostname": "chi-2k5fsb4",\n    "updated_by": "dashboard_user"\n  }',
    ]);
    const body = JSON.parse(stdout);
    expect(body).toMatchObject({
      success: true,
      message: 'ThreatLocker device synced successfully',
      device: {
        computer_id: '4294a629-6818-4d20-a365-0993f596198f',
        hostname: 'CHI-2K5FSB4',
        display_name: 'CHI-2K5FSB4 | Gerard Finnegan',
        organization_name: 'ChillCo',
      },
      updated_by: 'dashboard_user',
    });
    const health = await fetch(`${baseUrl}/api/health`);
    expect(health.status).toBe(200);
  });

  it('stops cleanly on SIGTERM and leaves the embedded database readable', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Signal the hub itself, as a service manager would; npm then exits with the hub's code.
    const hubPid = lines.find((l) => l.msg?.startsWith('Inventory Hub listening'))?.pid;
    expect(hubPid).toBeTypeOf('number');
    process.kill(hubPid!, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.msg === 'stopped cleanly')).toBe(true);
    // The data-directory lock went with the process.
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    const db = await openDatabase({ dataDir });
    try {
      const row = await db.db
        .selectFrom('device_snapshot')
        .innerJoin('vendor', 'vendor.id', 'device_snapshot.vendor_id')
        .where('vendor.name', '=', 'ThreatLocker')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      const seeded = lines.find((l) => l.msg?.startsWith('demo: Collected') && l.collector === 'threatlocker-collector')?.devices;
      expect(seeded).toBeGreaterThan(600);
      // The cURL sync replaced its device's row, so the day still holds exactly the seeded set.
      expect(Number(row.n)).toBe(seeded);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('starts again on the same data directory: a demo on its own demo database is fine', async () => {
    const again = startHub(isolatedEnv({ DATA_DIR: dataDir }));
    try {
      const url = await listening(again);
      expect(again.lines.find((l) => l.msg?.startsWith('database ready'))).toMatchObject({ mode: 'demo' });
      const health = await fetch(`${url}/api/health`);
      expect(health.status).toBe(200);
      process.kill(again.child.pid!, 'SIGTERM');
      expect(await again.exited).toBe(0);
    } finally {
      again.kill();
    }
  }, 300_000);
});
