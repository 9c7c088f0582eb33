/**
 * A deployment with only NinjaOne configured: the hub runs with the real NinjaOne collector and
 * no ThreatLocker; ThreatLocker's routes answer a coded error instead of crashing.
 */
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeps, type Deps } from '../../src/app.js';
import { fixedClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { startFakeNinja, type FakeNinja } from '../../src/fakes/ninja/index.js';
import { buildServer } from '../../src/http/server.js';
import { openTestDatabase, TEST_DATABASES, type TestDatabase } from '../helpers/database.js';
import { TEST_NOW } from '../helpers/harness.js';

describe.each(TEST_DATABASES)('NinjaOne-only hub on %s', (kind) => {
  let database: TestDatabase;
  let ninja: FakeNinja;
  let deps: Deps;
  let app: FastifyInstance;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    ninja = await startFakeNinja({ fleetSize: 80, seed: 5 });
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      NINJA_BASE_URL: ninja.url,
      NINJA_CLIENT_ID: ninja.clientId,
      NINJA_CLIENT_SECRET: ninja.clientSecret,
      COLLECTOR_HEARTBEAT_SECONDS: '1',
      COLLECTOR_STALE_SECONDS: '30',
    });
    expect(config.demo).toBe(false);
    expect(config.threatlocker).toBeUndefined();
    deps = await createDeps(config, { database, skipMigrations: true, clock: fixedClock(TEST_NOW, 'America/Chicago'), logger: pino({ level: 'silent' }) });
    app = await buildServer(deps);
  }, 180_000);
  afterAll(async () => {
    await app.close();
    await deps.close();
    await ninja.close();
    await database.close();
  });

  it('collects NinjaOne through the API', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['ninja'] } });
    expect(res.statusCode).toBe(202);
    await deps.runs.idle();
    const job = await database.db.selectFrom('job_runs').selectAll().where('job_id', '=', res.json<{ collectors: { job_id: string }[] }>().collectors[0]!.job_id).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ job_name: 'ninja-collector', status: 'completed' });
    expect(job.devices_written).toBeGreaterThan(0);
    expect(ninja.admin.requests().length).toBeGreaterThan(0);
  });

  it('a run request without a list runs the collectors the hub has: NinjaOne only', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/collectors/run', payload: {} });
    expect(res.statusCode).toBe(202);
    expect(res.json<{ collectors: { job_name: string }[] }>().collectors.map((c) => c.job_name)).toEqual(['ninja-collector']);
    await deps.runs.idle();
  });

  it('refuses a ThreatLocker run as not configured', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'HUB_ERR_VALIDATION', field: 'collectors' });
  });

  it('sync-device and update-name answer HUB_ERR_VENDOR_NOT_CONFIGURED', async () => {
    for (const [url, payload] of [
      ['/api/threatlocker/sync-device', { hostname: 'chi-2k5fsb4' }],
      ['/api/threatlocker/update-name', { hostname: 'chi-2k5fsb4', new_name: 'x' }],
    ] as const) {
      const res = await app.inject({ method: 'POST', url, payload });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_VENDOR_NOT_CONFIGURED' });
      expect(res.json<{ error: string }>().error).toMatch(/THREATLOCKER_API_KEY/);
    }
    const history = await app.inject({ method: 'GET', url: '/api/threatlocker/sync-history' });
    expect(history.statusCode).toBe(200);
  });

  it('/api/status and /api/collectors/status show ThreatLocker as not configured', async () => {
    const status = await app.inject({ method: 'GET', url: '/api/status' });
    expect(status.statusCode).toBe(200);
    const body = status.json<{ vendor_status: Record<string, { configured: boolean }>; warnings: string[] }>();
    expect(body.vendor_status.ThreatLocker!.configured).toBe(false);
    expect(body.vendor_status.Ninja!.configured).toBe(true);
    expect(body.warnings).toContain('ThreatLocker is not configured on this hub');

    const collectors = await app.inject({ method: 'GET', url: '/api/collectors/status' });
    expect(collectors.json()).toMatchObject({ threatlocker: { status: 'not_configured' }, ninja: { status: 'idle' } });
  });
});
