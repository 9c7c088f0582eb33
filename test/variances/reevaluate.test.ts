/**
 * Variances re-evaluated by sync-device and update-name (docs/variances.md, "After a sync"), on
 * every test database: a rename to NinjaOne's name resolves the DISPLAY_NAME_MISMATCH in the
 * same response; nothing else is touched; no check yet means no re-evaluation, never a failed
 * sync; a sync and a check run at once end consistent.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkRunDeps } from '../../src/app.js';
import { lockVariances, lockVariancesIfChecked } from '../../src/variances/lifecycle.js';
import { readNeighbourhood } from '../../src/variances/reevaluate.js';
import { runVarianceCheck } from '../../src/variances/run.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, withId, type Harness } from '../helpers/harness.js';
import { writeDevice } from '../helpers/variances.js';

const D = TEST_TODAY;
const NINJA_NAME = 'CHI-PC1 | Bob Smith';

interface Item {
  id: number;
  type: string;
  status: string;
  hostname: string;
  devices: { vendor: string; device_key: string; display_name: string | null }[];
}
interface Changes {
  resolved: Item[];
  still_open: Item[];
  opened: Item[];
}

describe.each(TEST_DATABASES)('variances after a sync on %s', (kind) => {
  let h: Harness;
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

  const post = (url: string, payload: unknown) =>
    h.app.inject({ method: 'POST', url: `/api/threatlocker/${url}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  const run = () => runVarianceCheck(checkRunDeps(h.deps), { date: D, trigger: 'cli' });
  const openList = async (): Promise<Item[]> => (await h.app.inject({ method: 'GET', url: '/api/variances?status=open&limit=100' })).json<{ items: Item[] }>().items;
  const snapshotOf = () =>
    h.deps.db.selectFrom('variance').select(['id', 'status', 'last_seen', 'updated_at', 'evidence']).orderBy('id').execute();

  /**
   * Both tools collected for D: CHI-PC1 in both (ThreatLocker shows `tlName`, NinjaOne
   * NINJA_NAME); CHI-PC2 in both with different names; CHI-PC3 in ThreatLocker only. The
   * ThreatLocker computer CHI-PC1 exists in the fake too, so it can be synced and renamed.
   */
  async function seed(tlName: string, ninjaName = NINJA_NAME) {
    const pc = withId(h.fake.admin.add({ hostname: 'CHI-PC1', computerName: tlName, organization: 'Acme' }));
    const { db, vendorIds } = h.deps;
    const key = pc.computerId.toLowerCase();
    await writeDevice(db, vendorIds, 'threatlocker', D, { key, hostname: 'CHI-PC1', display_name: tlName });
    await writeDevice(db, vendorIds, 'threatlocker', D, { key: 'bbbbbbbb-0000-4000-8000-000000000002', hostname: 'CHI-PC2', display_name: 'Two' });
    await writeDevice(db, vendorIds, 'threatlocker', D, { key: 'bbbbbbbb-0000-4000-8000-000000000003', hostname: 'CHI-PC3', display_name: 'CHI-PC3' });
    await writeDevice(db, vendorIds, 'ninja', D, { key: '101', hostname: 'CHI-PC1', display_name: ninjaName });
    await writeDevice(db, vendorIds, 'ninja', D, { key: '102', hostname: 'CHI-PC2', display_name: 'Zwei' });
    return { computerId: pc.computerId, key };
  }

  const mismatchOf = (items: Item[], key: string) =>
    items.filter((v) => v.type === 'DISPLAY_NAME_MISMATCH' && v.devices.some((d) => d.device_key === key));

  it('resolves the DISPLAY_NAME_MISMATCH in the response of the rename that fixes it', async () => {
    const pc = await seed('Old Name');
    await run();
    const before = await openList();
    const [mismatch] = mismatchOf(before, pc.key);
    expect(mismatch).toBeDefined();
    const untouched = (await snapshotOf()).filter((v) => v.id !== mismatch?.id);

    const res = await post('update-name', { computer_id: pc.computerId, new_name: NINJA_NAME, updated_by: 'tech1' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ variances: Changes; variances_reason: string | null }>();
    expect(body.variances_reason).toBeNull();
    expect(body.variances.resolved.map((v) => v.id)).toEqual([mismatch?.id]);
    expect(body.variances.resolved[0]).toMatchObject({ type: 'DISPLAY_NAME_MISMATCH', status: 'resolved', hostname: 'chi-pc1' });
    expect(body.variances.opened).toEqual([]);
    expect(body.variances.still_open).toEqual([]);

    const after = await openList();
    expect(mismatchOf(after, pc.key)).toEqual([]);
    // Unrelated devices' variances (CHI-PC2's mismatch, CHI-PC3's MISSING_NINJA) are as they were.
    expect((await snapshotOf()).filter((v) => v.id !== mismatch?.id)).toEqual(untouched);
    expect(after.map((v) => v.hostname).sort()).toEqual(['chi-pc2', 'chi-pc3']);
    const event = await h.deps.db
      .selectFrom('variance_event')
      .select(['kind', 'actor', 'run_id', 'snapshot_date'])
      .where('variance_id', '=', mismatch?.id ?? 0)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(event).toEqual({ kind: 'resolved_auto', actor: 'sync:tech1', run_id: null, snapshot_date: D });
    const observation = await h.deps.db.selectFrom('variance_observation').selectAll().where('variance_id', '=', mismatch?.id ?? 0).execute();
    expect(observation).toEqual([]);

    // The next check over the day agrees: nothing more to do.
    const again = await run();
    expect(again).toMatchObject({ opened: 0, resolved: 0, reopened: 0 });
  });

  it('lists a variance the sync did not change as still open', async () => {
    const pc = await seed('Old Name');
    await run();
    const [mismatch] = mismatchOf(await openList(), pc.key);
    const res = await post('sync-device', { computer_id: pc.computerId });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ variances: Changes }>();
    expect(body.variances.still_open.map((v) => v.id)).toEqual([mismatch?.id]);
    expect(body.variances.still_open[0]).toMatchObject({ status: 'open', type: 'DISPLAY_NAME_MISMATCH' });
    expect(body.variances.resolved).toEqual([]);
    expect(body.variances.opened).toEqual([]);
  });

  it('opens a mismatch when a rename moves away from NinjaOne\'s name', async () => {
    const pc = await seed(NINJA_NAME);
    await run();
    expect(mismatchOf(await openList(), pc.key)).toEqual([]);
    const res = await post('update-name', { computer_id: pc.computerId, new_name: 'Front desk', updated_by: 'tech2' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ variances: Changes }>();
    expect(body.variances.opened).toHaveLength(1);
    expect(body.variances.opened[0]).toMatchObject({ type: 'DISPLAY_NAME_MISMATCH', status: 'open', hostname: 'chi-pc1' });
    expect(body.variances.opened[0]?.devices.map((d) => d.display_name).sort()).toEqual(['CHI-PC1 | Bob Smith', 'Front desk']);
    expect(mismatchOf(await openList(), pc.key).map((v) => v.id)).toEqual(body.variances.opened.map((v) => v.id));
    const opened = await h.deps.db.selectFrom('variance_event').select(['kind', 'actor']).where('variance_id', '=', body.variances.opened[0]?.id ?? 0).execute();
    expect(opened).toEqual([{ kind: 'opened', actor: 'sync:tech2' }]);
    expect(await h.deps.db.selectFrom('variance_observation').select('status').where('variance_id', '=', body.variances.opened[0]?.id ?? 0).execute()).toEqual([
      { status: 'open' },
    ]);
    expect(await run()).toMatchObject({ opened: 0, resolved: 0, reopened: 0 });
  });

  it('answers variances: null, and still syncs, when the day was not checked', async () => {
    const pc = await seed('Old Name');
    const res = await post('sync-device', { computer_id: pc.computerId });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, variances: null, variances_reason: 'not_checked' });
    expect(await h.deps.db.selectFrom('variance').select('id').execute()).toEqual([]);
  });

  it('answers variances: null when only ThreatLocker has a collection (sync of a device with no check)', async () => {
    const pc = withId(h.fake.admin.add({ hostname: 'CHI-PC9', computerName: 'Nine', organization: 'Acme' }));
    const res = await post('update-name', { computer_id: pc.computerId, new_name: 'Nine again' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, variances: null, variances_reason: 'not_checked' });
  });

  it('answers variances: null, reason incomplete_day, when a tool\'s collection of the checked day is no longer complete', async () => {
    const pc = await seed('Old Name');
    await run();
    const before = await snapshotOf();
    await h.deps.db.updateTable('snapshot_day').set({ collected_at: null }).where('vendor_id', '=', h.deps.vendorIds.ninja).where('snapshot_date', '=', D).execute();
    const res = await post('update-name', { computer_id: pc.computerId, new_name: NINJA_NAME });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, variances: null, variances_reason: 'incomplete_day' });
    expect(res.json().variances_message).toContain('ninja');
    expect(await snapshotOf()).toEqual(before);
  });

  it('finds the pair through the 15-character NetBIOS prefix', async () => {
    const pc = withId(h.fake.admin.add({ hostname: 'AEC-0273961943512', computerName: 'Old', organization: 'Acme' }));
    const key = pc.computerId.toLowerCase();
    const { db, vendorIds } = h.deps;
    await writeDevice(db, vendorIds, 'threatlocker', D, { key, hostname: 'AEC-0273961943512', display_name: 'Old' });
    // NinjaOne has the NetBIOS name only (hostname = systemName, 15 characters).
    await writeDevice(db, vendorIds, 'ninja', D, { key: '301', hostname: 'AEC-02739619435', display_name: 'Reception PC' });
    await run();
    const [mismatch] = mismatchOf(await openList(), key);
    expect(mismatch).toMatchObject({ type: 'DISPLAY_NAME_MISMATCH' });
    const res = await post('update-name', { computer_id: pc.computerId, new_name: 'Reception PC' });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ variances: Changes }>().variances.resolved.map((v) => v.id)).toEqual([mismatch?.id]);
    expect(await run()).toMatchObject({ opened: 0, resolved: 0, reopened: 0 });
  });

  it('reads the neighbourhood: namesakes, the 15-character prefix both ways, the names of open variances; nothing of other days', async () => {
    const { db, vendorIds } = h.deps;
    const tl = (key: string, hostname: string, date = D) => writeDevice(db, vendorIds, 'threatlocker', date, { key, hostname });
    const nj = (key: string, hostname: string, date = D) => writeDevice(db, vendorIds, 'ninja', date, { key, hostname });
    await tl('tl-long-12', 'AEC-0273961943512');
    await tl('tl-long-99', 'AEC-0273961943599.corp.example');
    await tl('tl-short', 'AEC-02739619');
    await tl('tl-pc1', 'CHI-PC1');
    await tl('tl-pc3', 'CHI-PC3');
    await nj('501', 'AEC-02739619435');
    await nj('502', 'AEC-0273961943512');
    await nj('503', 'CHI-PC1');
    await nj('504', 'chi-pc1', '2026-01-02');
    await tl('tl-other-day', 'AEC-0273961943500', '2026-01-02');
    // CHI-PC3 is in ThreatLocker only: an open MISSING_NINJA about tl-pc3, hostname chi-pc3.
    await run();
    const read = async (vendor: 'threatlocker' | 'ninja', deviceKey: string, canonicalHostname: string) => {
      const n = await readNeighbourhood(db, vendorIds, { vendor, deviceKey, canonicalHostname, snapshotDate: D });
      return { threatlocker: n.threatlocker.map((d) => d.deviceKey), ninja: n.ninja.map((d) => d.deviceKey) };
    };
    // A long ThreatLocker name: its namesake, every long name sharing its prefix, the NetBIOS name.
    expect(await read('threatlocker', 'tl-long-12', 'aec-0273961943512')).toEqual({ threatlocker: ['tl-long-12', 'tl-long-99'], ninja: ['501', '502'] });
    // A NetBIOS name reads the long names it starts, and their namesakes.
    expect(await read('ninja', '501', 'aec-02739619435')).toEqual({ threatlocker: ['tl-long-12', 'tl-long-99'], ninja: ['501', '502'] });
    // A short name is only itself.
    expect(await read('threatlocker', 'tl-pc1', 'chi-pc1')).toEqual({ threatlocker: ['tl-pc1'], ninja: ['503'] });
    // Renamed since the check: the open variance's name (chi-pc3) is still read, beside the new one.
    expect(await read('threatlocker', 'tl-pc3', 'chi-pc1')).toEqual({ threatlocker: ['tl-pc1', 'tl-pc3'], ninja: ['503'] });
    expect(await read('threatlocker', 'tl-none', 'nobody')).toEqual({ threatlocker: [], ninja: [] });
  });

  it('judges organizations with the whole day\'s mapping, not only the neighbourhood\'s', async () => {
    const pc = withId(h.fake.admin.add({ hostname: 'CHI-PC1', computerName: 'CHI-PC1', organization: 'Acme' }));
    const key = pc.computerId.toLowerCase();
    const { db, vendorIds } = h.deps;
    // CHI-PC1 moved customer in NinjaOne only: Acme and Beta exist in both tools (other devices).
    await writeDevice(db, vendorIds, 'threatlocker', D, { key, hostname: 'CHI-PC1', organization_name: 'Acme' });
    await writeDevice(db, vendorIds, 'ninja', D, { key: '101', hostname: 'CHI-PC1', organization_name: 'Beta' });
    await writeDevice(db, vendorIds, 'threatlocker', D, { key: 'bbbbbbbb-0000-4000-8000-000000000004', hostname: 'CHI-PC4', organization_name: 'Beta' });
    await writeDevice(db, vendorIds, 'ninja', D, { key: '104', hostname: 'CHI-PC4', organization_name: 'Beta' });
    await writeDevice(db, vendorIds, 'threatlocker', D, { key: 'bbbbbbbb-0000-4000-8000-000000000005', hostname: 'CHI-PC5', organization_name: 'Acme' });
    await writeDevice(db, vendorIds, 'ninja', D, { key: '105', hostname: 'CHI-PC5', organization_name: 'Acme' });
    await run();
    const site = (await openList()).filter((v) => v.type === 'SITE_MISMATCH');
    expect(site.map((v) => v.hostname)).toEqual(['chi-pc1']);
    const res = await post('sync-device', { computer_id: pc.computerId });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ variances: Changes }>();
    expect(body.variances.still_open.map((v) => v.id)).toContain(site[0]?.id);
    expect(body.variances.resolved).toEqual([]);
  });

  it('a failing re-evaluation is logged and answered as variances: null; the sync stands', async () => {
    const pc = await seed('Old Name');
    await run();
    // Breaks what the re-evaluation reads first, for this test only.
    await sql`ALTER TABLE variance_run RENAME COLUMN organizations TO organizations_hidden`.execute(h.deps.db);
    try {
      const res = await post('update-name', { computer_id: pc.computerId, new_name: NINJA_NAME });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ success: true, device: { display_name: NINJA_NAME }, variances: null, variances_reason: 'failed' });
      expect(h.logLines.some((l) => l.includes('variance re-evaluation after a sync failed'))).toBe(true);
    } finally {
      await sql`ALTER TABLE variance_run RENAME COLUMN organizations_hidden TO organizations`.execute(h.deps.db);
    }
    const snap = await h.deps.db.selectFrom('device_snapshot').select('display_name').where('source', '=', 'sync').executeTakeFirstOrThrow();
    expect(snap.display_name).toBe(NINJA_NAME);
  });

  it('the variance lock with a wait limit is taken only for the checked day, and leaves lock_timeout as it was', async () => {
    await seed('Old Name');
    await run();
    const heldLocks = (tx: Parameters<typeof lockVariances>[0]) =>
      sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`.execute(tx);
    const attempt = (date: string) =>
      h.deps.db.transaction().execute(async (tx) => {
        await sql`SET LOCAL lock_timeout = '7s'`.execute(tx);
        const locked = await lockVariancesIfChecked(tx, date, 50);
        const setting = (await sql<{ v: string }>`SELECT current_setting('lock_timeout') AS v`.execute(tx)).rows[0]?.v;
        return { locked, setting, held: (await heldLocks(tx)).rows[0]?.n };
      });
    expect(await attempt(D)).toEqual({ locked: true, setting: '7s', held: 1 });
    expect(await attempt('2026-01-02')).toEqual({ locked: false, setting: '7s', held: 0 });
  });

  // Only on PostgreSQL (defined there only, not skipped elsewhere): PGlite has one connection,
  // so a second transaction holding the lock would hold the sync too.
  if (kind === 'postgres') {
    it('does not wait out a check run holding the variances: variances null, reason busy', async () => {
      const pc = await seed('Old Name');
      await run();
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked = (): void => undefined;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = h.deps.db.transaction().execute(async (tx) => {
        await lockVariances(tx);
        locked();
        await held;
      });
      try {
        await isLocked;
        const res = await post('update-name', { computer_id: pc.computerId, new_name: NINJA_NAME });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ success: true, variances: null, variances_reason: 'busy' });
      } finally {
        release();
        await holder;
      }
      // The next run has the last word.
      expect(await run()).toMatchObject({ resolved: 1 });
    });
  }

  it('a sync and a check run at once both complete, and the end state is the one a run gives', async () => {
    const pc = await seed('Old Name');
    await run();
    const [res, summary] = await Promise.all([post('update-name', { computer_id: pc.computerId, new_name: NINJA_NAME }), run()]);
    expect(res.statusCode).toBe(200);
    expect(summary.runId).toBeGreaterThan(0);
    // Whichever applied first, the mismatch is resolved now and a further run changes nothing.
    expect(mismatchOf(await openList(), pc.key)).toEqual([]);
    expect(await run()).toMatchObject({ opened: 0, resolved: 0, reopened: 0 });
    const rows = await h.deps.db.selectFrom('variance').select(['subject_key']).execute();
    expect(new Set(rows.map((r) => r.subject_key)).size).toBe(rows.length);
  });
});
