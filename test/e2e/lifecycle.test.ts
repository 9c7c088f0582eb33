/**
 * Graceful shutdown of the real server process against a fake ThreatLocker the test controls:
 * SIGTERM drains a request in flight (it still gets its answer while new connections are
 * refused), and stops a running collection (the run ends `cancelled`, the data it would have
 * replaced stays) instead of finishing it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { startFakeThreatLocker, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';
import { THREATLOCKER_PAGE_SIZE } from '../../src/vendors/threatlocker/client.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createPostgresDatabase, isolatedEnv, listening, runCli, startHub, type HubProcess } from './hub-process.js';

const FLEET = 3_000;
const LIST = 'ComputerGetByAllParameters';

/** Whether a new TCP connection to `url` is refused. */
function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

async function until(condition: () => boolean, what: string, limit = 60_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > limit) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(TEST_DATABASES)('hub process lifecycle on %s', (kind) => {
  let fake: FakeThreatLocker;
  let env: NodeJS.ProcessEnv;
  let dataDir: string | undefined;
  let pgDrop: (() => Promise<void>) | undefined;
  let hub: HubProcess | undefined;
  const open = () => openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });

  /** Today's ThreatLocker rows as a comparable digest (count and content). */
  const digest = async () => {
    const db = await open();
    try {
      const r = await sql<{ n: string; h: string | null }>`
        SELECT count(*) AS n, md5(string_agg(device_identity_id::text || ':' || display_name || ':' || source, ',' ORDER BY device_identity_id)) AS h
          FROM device_snapshot s JOIN vendor v ON v.id = s.vendor_id WHERE v.name = 'ThreatLocker'`.execute(db.db);
      return { n: Number(r.rows[0]?.n), h: r.rows[0]?.h };
    } finally {
      await db.close();
    }
  };

  beforeAll(async () => {
    fake = await startFakeThreatLocker({ fleetSize: FLEET, seed: 22 });
    let database: Record<string, string>;
    if (kind === 'postgres') {
      const pgdb = await createPostgresDatabase();
      pgDrop = () => pgdb.drop();
      database = { DATABASE_URL: pgdb.url };
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'inventory-hub-lifecycle-'));
      database = { DATA_DIR: dataDir };
    }
    env = isolatedEnv({ ...database, THREATLOCKER_API_BASE_URL: fake.url, THREATLOCKER_API_KEY: fake.apiKey, THREATLOCKER_TIMEOUT_MS: '20000' });
    // The data a stopped collection must leave alone.
    const r = await runCli(env, 'collect', 'threatlocker');
    expect(r.code, r.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    hub?.kill();
    await fake.close();
    await pgDrop?.();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('SIGTERM while a sync is in flight: the sync gets its answer, new connections are refused, exit 0', async () => {
    hub = startHub(env);
    const url = await listening(hub);
    const computer = fake.admin.list()[0]!;
    fake.admin.clearRequests();
    // The fake holds the lookup long enough for the shutdown to begin while it is in flight.
    fake.admin.injectFault({ operation: LIST, kind: 'delay', ms: 3_000 });
    let settled = false;
    const answer = fetch(`${url}/api/threatlocker/sync-device`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ computer_id: computer.computerId, updated_by: 'lifecycle-test' }),
    }).finally(() => (settled = true));
    await until(() => fake.admin.requestCount(LIST) > 0, 'the sync to reach the fake');

    process.kill(hub.child.pid!, 'SIGTERM');
    await hub.waitFor((l) => l.msg === 'shutting down: draining requests');
    let refusedWhileInFlight = false;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- `settled` is set by the sync's callback
    while (!settled && !refusedWhileInFlight) refusedWhileInFlight = await refused(url);

    const res = await answer;
    expect(refusedWhileInFlight).toBe(true);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, device: { computer_id: String(computer.computerId).toLowerCase() }, updated_by: 'lifecycle-test' });
    expect(await hub.exited).toBe(0);
    expect(hub.lines.some((l) => l.msg === 'stopped cleanly')).toBe(true);
    const db = await open();
    try {
      const log = await db.db.selectFrom('device_sync_log').select(['outcome', 'updated_by']).where('updated_by', '=', 'lifecycle-test').execute();
      expect(log).toEqual([{ outcome: 'success', updated_by: 'lifecycle-test' }]);
    } finally {
      await db.close();
    }
  }, 240_000);

  it('SIGTERM while a collection runs: the run ends cancelled, the previous data stays, the process stops without finishing the fetch', async () => {
    const before = await digest();
    expect(before.n).toBeGreaterThan(FLEET / 2);
    hub = startHub(env);
    const url = await listening(hub);
    fake.admin.clearRequests();
    // Every page is slow, so the fetch is still early when the signal arrives.
    fake.admin.injectFault({ operation: LIST, kind: 'delay', ms: 500, times: null });
    try {
      const res = await fetch(`${url}/api/collectors/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ collectors: ['threatlocker'], force: true }),
      });
      expect(res.status).toBe(202);
      const jobId = ((await res.json()) as { collectors: { job_id: string }[] }).collectors[0]!.job_id;
      await until(() => fake.admin.requestCount(LIST) >= 2, 'two pages to be requested');

      process.kill(hub.child.pid!, 'SIGTERM');
      expect(await hub.exited).toBe(0);
      const pagesRequested = fake.admin.requestCount(LIST);
      // The fetch did not run to its end (the whole fleet is this many pages).
      expect(pagesRequested).toBeLessThan(FLEET / THREATLOCKER_PAGE_SIZE);

      const db = await open();
      try {
        const job = await db.db.selectFrom('job_runs').selectAll().where('job_id', '=', jobId).executeTakeFirstOrThrow();
        expect(job).toMatchObject({ status: 'cancelled', message: 'Cancelled; the previous data is unchanged' });
        expect(job.ended_at).not.toBeNull();
        const batch = await db.db.selectFrom('job_batches').select('status').where('batch_id', '=', job.batch_id).executeTakeFirstOrThrow();
        expect(batch.status).toBe('cancelled');
        const staged = await db.db.selectFrom('collector_staging').select('job_id').where('job_id', '=', jobId).execute();
        expect(staged).toEqual([]);
      } finally {
        await db.close();
      }
      expect(await digest()).toEqual(before);
    } finally {
      fake.admin.clearFaults();
    }
  }, 240_000);
});
