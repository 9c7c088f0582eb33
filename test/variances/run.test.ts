/**
 * Check runs over real snapshot days (rules included), on every test database: what a run
 * opens and resolves, its refusals, serialization, the CLI-style summary, the API and the
 * automatic run after collections.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkRunDeps } from '../../src/app.js';
import { HubError } from '../../src/errors.js';
import { runVarianceCheck, type CheckRunSummary } from '../../src/variances/run.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, type Harness } from '../helpers/harness.js';
import { writeDevice } from '../helpers/variances.js';

const D1 = '2026-03-09';
const D2 = TEST_TODAY; // 2026-03-10

describe.each(TEST_DATABASES)('variance check runs on %s', (kind) => {
  let h: Harness;
  const run = (date: string, trigger: 'api' | 'cli' = 'cli'): Promise<CheckRunSummary> => runVarianceCheck(checkRunDeps(h.deps), { date, trigger });
  const open = (type: string) =>
    h.deps.db.selectFrom('variance').selectAll().where('type', '=', type).where('status', '=', 'open').orderBy('id').execute();

  /**
   * Day 1: pc-a in both tools (same names, same organization); pc-b only in ThreatLocker,
   * checked in the day before. Day 2: pc-b is in NinjaOne too; pc-a's display names now differ.
   */
  async function seedDay1(): Promise<void> {
    const { db, vendorIds } = h.deps;
    await writeDevice(db, vendorIds, 'threatlocker', D1, { key: 'aaaaaaaa-0000-4000-8000-000000000001', hostname: 'PC-A', display_name: 'PC-A' });
    await writeDevice(db, vendorIds, 'threatlocker', D1, { key: 'aaaaaaaa-0000-4000-8000-000000000002', hostname: 'PC-B', display_name: 'PC-B' });
    await writeDevice(db, vendorIds, 'ninja', D1, { key: '101', hostname: 'PC-A', display_name: 'PC-A' });
  }
  async function seedDay2(): Promise<void> {
    const { db, vendorIds } = h.deps;
    await writeDevice(db, vendorIds, 'threatlocker', D2, { key: 'aaaaaaaa-0000-4000-8000-000000000001', hostname: 'PC-A', display_name: 'A' });
    await writeDevice(db, vendorIds, 'threatlocker', D2, { key: 'aaaaaaaa-0000-4000-8000-000000000002', hostname: 'PC-B', display_name: 'PC-B' });
    await writeDevice(db, vendorIds, 'ninja', D2, { key: '101', hostname: 'PC-A', display_name: 'B' });
    await writeDevice(db, vendorIds, 'ninja', D2, { key: '102', hostname: 'PC-B', display_name: 'PC-B' });
  }

  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  it('opens a MISSING_NINJA for a computer NinjaOne lacks, then resolves it when NinjaOne has it', async () => {
    await seedDay1();
    const first = await run(D1);
    expect(first).toMatchObject({ date: D1, opened: first.found, resolved: 0, reopened: 0 });
    expect(first.counts.MISSING_NINJA).toBe(1);
    expect(first.counts.DISPLAY_NAME_MISMATCH).toBe(0);
    const missing = await open('MISSING_NINJA');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ hostname: 'pc-b', first_seen: D1, last_seen: D1, status: 'open' });
    expect(missing[0]?.devices).toEqual([expect.objectContaining({ vendor: 'threatlocker', device_key: 'aaaaaaaa-0000-4000-8000-000000000002' })]);
    expect(await open('DISPLAY_NAME_MISMATCH')).toEqual([]);

    await seedDay2();
    const second = await run(D2);
    expect(second.counts.MISSING_NINJA).toBe(0);
    expect(second.counts.DISPLAY_NAME_MISMATCH).toBe(1);
    expect(second.resolved).toBeGreaterThanOrEqual(1);
    expect(await h.deps.db.selectFrom('variance').select(['status', 'resolved_by']).where('id', '=', missing[0]?.id ?? 0).executeTakeFirst()).toEqual({
      status: 'resolved',
      resolved_by: null,
    });
    const mismatch = await open('DISPLAY_NAME_MISMATCH');
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]).toMatchObject({ hostname: 'pc-a', first_seen: D2 });
    expect((mismatch[0]?.devices as { vendor: string; display_name: string }[]).map((d) => [d.vendor, d.display_name]).sort()).toEqual([
      ['ninja', 'B'],
      ['threatlocker', 'A'],
    ]);
    const runs = await h.deps.db.selectFrom('variance_run').select(['snapshot_date', 'status', 'trigger']).orderBy('id').execute();
    expect(runs).toEqual([
      { snapshot_date: D1, status: 'completed', trigger: 'cli' },
      { snapshot_date: D2, status: 'completed', trigger: 'cli' },
    ]);
  });

  it('re-running a day is idempotent; an earlier day is refused', async () => {
    await seedDay1();
    await seedDay2();
    await run(D2);
    const before = await h.deps.db.selectFrom('variance').selectAll().orderBy('id').execute();
    const events = await h.deps.db.selectFrom('variance_event').select('id').execute();
    const again = await run(D2);
    expect(again).toMatchObject({ opened: 0, resolved: 0, reopened: 0, seen: 0 });
    expect(await h.deps.db.selectFrom('variance').selectAll().orderBy('id').execute()).toEqual(before);
    expect(await h.deps.db.selectFrom('variance_event').select('id').execute()).toEqual(events);

    const err = await run(D1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ code: 'HUB_ERR_VARIANCES_DATE_BEHIND', details: { latest_date: D2 } });
    expect(await h.deps.db.selectFrom('variance').selectAll().orderBy('id').execute()).toEqual(before);
  });

  it('refuses a day a vendor has not completed, changing nothing', async () => {
    const { db, vendorIds } = h.deps;
    await writeDevice(db, vendorIds, 'threatlocker', D1, { key: 'aaaaaaaa-0000-4000-8000-000000000002', hostname: 'PC-B' });
    const err = await run(D1).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HUB_ERR_VARIANCES_INCOMPLETE_DAY', details: { date: D1, missing_collections: ['ninja'] } });
    expect(await db.selectFrom('variance').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('variance_run').selectAll().execute()).toEqual([]);
  });

  /** variance_device as it should be: each device every variance names (its `devices`). */
  async function expectDeviceIndexMatchesVariances(): Promise<void> {
    const { db } = h.deps;
    const expected = await sql<{ vendor: string; device_key: string; variance_id: number }>`
      SELECT DISTINCT d->>'vendor' AS vendor, d->>'device_key' AS device_key, v.id AS variance_id
        FROM variance v, jsonb_array_elements(v.devices) d ORDER BY 3, 1, 2`.execute(db);
    const actual = await db.selectFrom('variance_device').selectAll().orderBy('variance_id').orderBy('vendor').orderBy('device_key').execute();
    expect(actual).toEqual(expected.rows);
  }

  it('variance_device lists the devices every variance names, also when a duplicate group gains a member', async () => {
    const { db, vendorIds } = h.deps;
    const dup = (key: string, lastOnline: string) => ({ key, hostname: 'PC-DUP', last_online: lastOnline });
    await writeDevice(db, vendorIds, 'threatlocker', D1, dup('cccccccc-0000-4000-8000-000000000001', `${D1}T01:00:00Z`));
    await writeDevice(db, vendorIds, 'threatlocker', D1, dup('cccccccc-0000-4000-8000-000000000002', `${D1}T02:00:00Z`));
    await writeDevice(db, vendorIds, 'ninja', D1, { key: '201', hostname: 'PC-DUP' });
    await seedDay1();
    await run(D1);
    const group = await open('DUPLICATE_TL');
    expect(group).toHaveLength(1);
    expect(await db.selectFrom('variance_device').select('device_key').where('variance_id', '=', group[0]?.id ?? 0).orderBy('device_key').execute()).toEqual([
      { device_key: 'cccccccc-0000-4000-8000-000000000001' },
      { device_key: 'cccccccc-0000-4000-8000-000000000002' },
    ]);
    await expectDeviceIndexMatchesVariances();

    // Day 2: a third reinstall joins the group (the same variance, its devices rewritten) and
    // pc-b's MISSING_NINJA is resolved (its row stays: the lookup serves history too).
    for (const [key, at] of [
      ['cccccccc-0000-4000-8000-000000000001', `${D2}T01:00:00Z`],
      ['cccccccc-0000-4000-8000-000000000002', `${D2}T02:00:00Z`],
      ['cccccccc-0000-4000-8000-000000000003', `${D2}T03:00:00Z`],
    ] as const) {
      await writeDevice(db, vendorIds, 'threatlocker', D2, dup(key, at));
    }
    await writeDevice(db, vendorIds, 'ninja', D2, { key: '201', hostname: 'PC-DUP' });
    await seedDay2();
    await run(D2);
    const grown = await open('DUPLICATE_TL');
    expect(grown.map((v) => v.id)).toEqual([group[0]?.id]);
    expect(await db.selectFrom('variance_device').select('device_key').where('variance_id', '=', group[0]?.id ?? 0).orderBy('device_key').execute()).toHaveLength(3);
    await expectDeviceIndexMatchesVariances();
  });

  it('two runs at once apply one after the other', async () => {
    await seedDay1();
    const [a, b] = await Promise.all([run(D1), run(D1)]);
    expect(a.opened + b.opened).toBe(a.found);
    expect(Math.min(a.opened, b.opened)).toBe(0);
    const n = await h.deps.db.selectFrom('variance').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(a.found);
  });

  it('a run that fails half-way rolls back and is recorded as failed', async () => {
    await seedDay1();
    // The run reads its links, then fails on the variance table.
    await sql`ALTER TABLE variance RENAME TO variance_hidden`.execute(h.deps.db);
    try {
      const err = await run(D1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
    } finally {
      await sql`ALTER TABLE variance_hidden RENAME TO variance`.execute(h.deps.db);
    }
    expect(await h.deps.db.selectFrom('variance').selectAll().execute()).toEqual([]);
    const runs = await h.deps.db.selectFrom('variance_run').select(['status', 'error_code', 'error', 'snapshot_date']).execute();
    expect(runs).toEqual([{ status: 'failed', error_code: 'HUB_ERR_INTERNAL', error: 'Unexpected error; see the server log', snapshot_date: D1 }]);
    // The failed run does not count as the latest: the same day runs again normally.
    expect((await run(D1)).counts.MISSING_NINJA).toBe(1);
  });

  it('POST /api/variances/run answers the summary', async () => {
    await seedDay1();
    await seedDay2();
    const res = await h.app.inject({ method: 'POST', url: '/api/variances/run', payload: {} });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      run_id: expect.any(Number),
      snapshot_date: D2,
      counts: expect.objectContaining({ DISPLAY_NAME_MISMATCH: 1, MISSING_NINJA: 0 }),
      opened: expect.any(Number),
      resolved: 0,
      reopened: 0,
      acceptances_expired: 0,
      stale_devices: expect.any(Number),
    });
    const behind = await h.app.inject({ method: 'POST', url: '/api/variances/run', payload: { date: D1 } });
    expect(behind.statusCode).toBe(409);
    expect(behind.json()).toMatchObject({ code: 'HUB_ERR_VARIANCES_DATE_BEHIND', latest_date: D2, date: D1 });
  });

  it('a person resolves; the next run reopens it while the data still shows it', async () => {
    await seedDay1();
    await run(D1);
    const [v] = await open('MISSING_NINJA');
    if (!v) throw new Error('expected a MISSING_NINJA');
    const resolved = await h.app.inject({ method: 'POST', url: `/api/variances/${v.id}/resolve`, payload: { resolved_by: 'alice' } });
    expect(resolved.json().status).toBe('resolved');
    const again = await run(D1);
    expect(again.reopened).toBe(1);
    expect((await h.app.inject({ method: 'GET', url: `/api/variances/${v.id}` })).json().events.map((e: { kind: string }) => e.kind)).toEqual([
      'opened',
      'resolved',
      'reopened',
    ]);
  });
});

describe.each(TEST_DATABASES)('the check after collections on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind, { fake: { fleetSize: 40, seed: 3 }, ninja: { fleetSize: 40, seed: 3 } });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  it('runs once both vendors have collected the day, and not before', async () => {
    const tl = await h.deps.runs.runAndWait({ collectors: ['threatlocker'], trigger: 'cli' });
    expect(tl.jobs.map((j) => j.status)).toEqual(['completed']);
    expect(await h.deps.db.selectFrom('variance_run').selectAll().execute()).toEqual([]);
    expect(h.logLines.some((l) => l.includes('variance check waits for the other collection'))).toBe(true);

    const ninja = await h.deps.runs.runAndWait({ collectors: ['ninja'], trigger: 'cli' });
    expect(ninja.jobs.map((j) => j.status)).toEqual(['completed']);
    const runs = await h.deps.db.selectFrom('variance_run').select(['snapshot_date', 'status', 'trigger']).execute();
    expect(runs).toEqual([{ snapshot_date: TEST_TODAY, status: 'completed', trigger: 'collection' }]);
  });

  it('a batch of both vendors checks the day once; a dry run does not check', async () => {
    await h.deps.runs.runAndWait({ collectors: ['threatlocker', 'ninja'], trigger: 'cli' });
    expect(await h.deps.db.selectFrom('variance_run').select('trigger').execute()).toEqual([{ trigger: 'collection' }]);
    await h.deps.runs.runAndWait({ collectors: ['threatlocker'], trigger: 'cli', dryRun: true });
    expect(await h.deps.db.selectFrom('variance_run').select('trigger').execute()).toHaveLength(1);
  });

  it('a failing check never fails the collection; it is logged and recorded', async () => {
    await sql`ALTER TABLE variance RENAME TO variance_hidden`.execute(h.deps.db);
    try {
      const { jobs, batch } = await h.deps.runs.runAndWait({ collectors: ['threatlocker', 'ninja'], trigger: 'cli' });
      expect(jobs.map((j) => j.status)).toEqual(['completed', 'completed']);
      expect(batch.status).toBe('completed');
    } finally {
      await sql`ALTER TABLE variance_hidden RENAME TO variance`.execute(h.deps.db);
    }
    expect(await h.deps.db.selectFrom('variance_run').select(['status', 'trigger', 'error_code']).execute()).toEqual([
      { status: 'failed', trigger: 'collection', error_code: 'HUB_ERR_INTERNAL' },
    ]);
    expect(h.logLines.some((l) => l.includes('variance check failed'))).toBe(true);
  });
});
