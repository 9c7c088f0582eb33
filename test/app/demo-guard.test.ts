/**
 * Demo and real databases never mix: demo mode refuses a database holding anything that is
 * not the demo's, and a hub with real vendors refuses a demo database — at start-up and at
 * the start of every collector run.
 */
import { pino } from 'pino';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDeps, type Deps } from '../../src/app.js';
import { fixedClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { DEMO_FLEET_SIZE, DEMO_SEED, type DemoKeys } from '../../src/demo.js';
import { HubError } from '../../src/errors.js';
import { startFakeThreatLocker, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';
import { buildServer } from '../../src/http/server.js';
import { openTestDatabase, TEST_DATABASES, type TestDatabase } from '../helpers/database.js';
import { TEST_NOW } from '../helpers/harness.js';

describe.each(TEST_DATABASES)('demo and real databases on %s', (kind) => {
  let database: TestDatabase;
  let fake: FakeThreatLocker;
  let demoKeys: DemoKeys;
  const config = loadConfig({ LOG_LEVEL: 'silent', COLLECTOR_HEARTBEAT_SECONDS: '1', COLLECTOR_STALE_SECONDS: '30' });
  const opened: Deps[] = [];

  const deps = async (mode: 'demo' | 'real') => {
    const d = await createDeps(config, {
      database,
      skipMigrations: true,
      clock: fixedClock(TEST_NOW, 'America/Chicago'),
      logger: pino({ level: 'silent' }),
      threatlocker: { baseUrl: fake.baseUrl, apiKey: fake.apiKey, organizationId: undefined, timeoutMs: 5_000 },
      ninja: null,
      mode,
      demoKeys,
    });
    opened.push(d);
    return d;
  };
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );
  const closeDeps = async (d: Deps) => {
    opened.splice(opened.indexOf(d), 1);
    await d.close();
  };
  const mark = async () => (await database.db.selectFrom('hub_database').select('mode').executeTakeFirst())?.mode;

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    // The demo's own catalogue (as demo mode starts it): its devices are the demo's.
    fake = await startFakeThreatLocker({ seed: DEMO_SEED, fleetSize: DEMO_FLEET_SIZE });
    demoKeys = { threatlocker: fake.admin.list().map((c) => String(c.computerId).toLowerCase()), ninja: [] };
  }, 180_000);
  afterAll(async () => {
    for (const d of opened) await d.close();
    await fake.close();
    await database.close();
  });
  beforeEach(async () => {
    for (const d of opened.splice(0)) await d.close();
    await database.truncate();
  });

  it('demo mode marks an empty database as a demo database; real vendors are then refused with what to do', async () => {
    const demo = await deps('demo');
    expect(await mark()).toBe('demo');
    await demo.runs.runAndWait({ collectors: ['threatlocker'], trigger: 'demo' });
    // A demo on a demo database is fine (the second `npm start`).
    await deps('demo');

    const err = await refusal(deps('real'));
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('HUB_ERR_DATABASE_MODE');
    expect((err as HubError).message).toMatch(/demo database.*Point DATABASE_URL \(or, for the embedded database, DATA_DIR\) at a database of its own/s);
    expect(await mark()).toBe('demo');
  });

  it('demo mode refuses a database holding real data, and one marked real', async () => {
    const real = await deps('real');
    expect(await mark()).toBe('real');
    const err = await refusal(deps('demo'));
    expect((err as HubError).code).toBe('HUB_ERR_DATABASE_MODE');
    expect((err as HubError).message).toMatch(/Demo mode refused: this database is marked as a real database/);
    await closeDeps(real);

    // Unmarked (as before databases were marked), holding a device the demo does not know.
    await database.truncate();
    await sql`INSERT INTO device_identity (vendor_id, vendor_device_key, first_seen_date, last_seen_date)
              SELECT id, 'a-real-device', '2026-03-09', '2026-03-09' FROM vendor WHERE name = 'ThreatLocker'`.execute(database.db);
    const err2 = await refusal(deps('demo'));
    expect((err2 as HubError).code).toBe('HUB_ERR_DATABASE_MODE');
    expect((err2 as HubError).message).toMatch(/holds data that is not the demo's \(1 devices that are not in the demo catalogue\)/);
    expect((err2 as HubError).message).toMatch(/DATA_DIR=\.\/demo-data/);
    expect(await mark()).toBeUndefined();
  });

  it('adopts an unmarked database that holds only the demo catalogue (filled by an earlier version)', async () => {
    const real = await deps('real');
    await real.runs.runAndWait({ collectors: ['threatlocker'], trigger: 'demo' });
    await closeDeps(real);
    await sql`DELETE FROM hub_database`.execute(database.db);
    await deps('demo');
    expect(await mark()).toBe('demo');
  });

  it('a collector run of a real hub is refused when the database became a demo database after start-up', async () => {
    const real = await deps('real');
    const app = await buildServer(real);
    try {
      await sql`DELETE FROM hub_database`.execute(database.db);
      await sql`INSERT INTO hub_database (mode) VALUES ('demo')`.execute(database.db);
      const res = await app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_DATABASE_MODE' });
      const runs = await database.db.selectFrom('job_runs').select('job_id').execute();
      expect(runs).toEqual([]);
      const snapshots = await database.db.selectFrom('device_snapshot').select('id').execute();
      expect(snapshots).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
