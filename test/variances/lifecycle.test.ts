/**
 * The variance store over several days, on every test database: findings are fed directly
 * (no dependency on the rules), the clock is injected.
 */
import { sql, type Transaction } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import type { DB } from '../../src/db/schema.js';
import { HubError } from '../../src/errors.js';
import {
  acceptVariance,
  applyBulk,
  applyCheckResult,
  canonicalJson,
  planDay,
  reopenVariance,
  resolveVariance,
  type CheckRunOutcome,
} from '../../src/variances/lifecycle.js';
import type { FoundVariance } from '../../src/variances/types.js';
import { openTestDatabase, TEST_DATABASES, type TestDatabase } from '../helpers/database.js';
import { displayMismatch, missingNinja } from '../helpers/variances.js';

/** The fixtures' findings, all in one organization. */
const missing = (host: string, evidence: Record<string, unknown> = {}): FoundVariance => missingNinja(host, 'Acme', evidence);
const mismatch = (host: string, tl: string, ninja: string): FoundVariance => displayMismatch(host, tl, ninja);

describe('planDay (pure)', () => {
  it('compares evidence whatever the key order jsonb gives back', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { y: 2, z: 1 }] }, b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
  });

  it('keeps the first of two findings with one subject key', () => {
    const plan = planDay([], [missing('a'), missing('a', { other: true })], '2026-03-10', new Date());
    expect(plan.found).toBe(1);
    expect(plan.opens).toHaveLength(1);
    expect(plan.opens[0]?.evidence).toEqual({ last_contact: '2026-03-09T10:00:00Z' });
  });
});

describe.each(TEST_DATABASES)('variance lifecycle on %s', (kind) => {
  let db: TestDatabase;
  const clock = fixedClock('2026-03-10T15:00:00Z', 'America/Chicago');

  /** Applies one day's findings as a check run would (clock at that day's afternoon). */
  async function day(date: string, found: readonly FoundVariance[]): Promise<CheckRunOutcome> {
    clock.set(`${date}T15:00:00Z`);
    return db.db.transaction().execute((tx) => applyCheckResult(tx, { date, found, trigger: 'cli', startedAt: clock.now(), clock }));
  }
  const variance = (host: string, type = 'MISSING_NINJA') =>
    db.db.selectFrom('variance').selectAll().where('hostname', '=', host).where('type', '=', type).executeTakeFirstOrThrow();
  const events = async (id: number) =>
    (await db.db.selectFrom('variance_event').selectAll().where('variance_id', '=', id).orderBy('id').execute()).map((e) => ({
      kind: e.kind,
      actor: e.actor,
      snapshot_date: e.snapshot_date,
    }));
  const tx = <T>(fn: (t: Transaction<DB>) => Promise<T>) => db.db.transaction().execute(fn);

  beforeAll(async () => {
    db = await openTestDatabase(kind);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await db?.close();
  });
  beforeEach(async () => {
    await db.truncate();
    clock.set('2026-03-10T15:00:00Z');
  });

  it('opens, sees, resolves automatically and reopens across days', async () => {
    const d1 = await day('2026-03-01', [missing('pc-a'), mismatch('pc-b', 'B', 'Bee')]);
    expect(d1).toMatchObject({ date: '2026-03-01', found: 2, opened: 2, seen: 0, resolved: 0, reopened: 0, openTotal: 2 });
    expect(d1.counts).toMatchObject({ MISSING_NINJA: 1, DISPLAY_NAME_MISMATCH: 1, DUPLICATE_TL: 0 });
    const a = await variance('pc-a');
    expect(a).toMatchObject({ status: 'open', first_seen: '2026-03-01', last_seen: '2026-03-01', organization: 'Acme', match_quality: null, resolved_at: null });
    expect(a.devices).toEqual(missing('pc-a').devices);

    // Same evidence the next day: last_seen moves, no event.
    const d2 = await day('2026-03-02', [missing('pc-a'), mismatch('pc-b', 'B', 'Bee')]);
    expect(d2).toMatchObject({ opened: 0, seen: 0, resolved: 0, reopened: 0 });
    expect(await variance('pc-a')).toMatchObject({ status: 'open', first_seen: '2026-03-01', last_seen: '2026-03-02' });
    expect(await events(a.id)).toEqual([{ kind: 'opened', actor: null, snapshot_date: '2026-03-01' }]);

    // Only the contact time moved: stored, but not an event (it moves every day).
    const d3a = await day('2026-03-03', [missing('pc-a', { last_contact: '2026-03-02T10:00:00Z' }), mismatch('pc-b', 'B', 'Bee')]);
    expect(d3a).toMatchObject({ seen: 0, opened: 0 });
    expect((await variance('pc-a')).evidence).toMatchObject({ last_contact: '2026-03-02T10:00:00Z' });
    expect(await events(a.id)).toHaveLength(1);

    // What the variance says changed: one `seen` event, with what it said before.
    const d3 = await day('2026-03-03', [missing('pc-a', { last_contact: '2026-03-02T10:00:00Z', group: 'Servers' }), mismatch('pc-b', 'B', 'Bee')]);
    expect(d3).toMatchObject({ seen: 1, opened: 0 });
    expect((await events(a.id)).map((e) => e.kind)).toEqual(['opened', 'seen']);
    const seen = await db.db.selectFrom('variance_event').select('details').where('variance_id', '=', a.id).where('kind', '=', 'seen').executeTakeFirstOrThrow();
    expect(seen.details).toMatchObject({ previous: { evidence: { last_contact: '2026-03-02T10:00:00Z' } } });
    expect((seen.details as { previous: { evidence: Record<string, unknown> } }).previous.evidence).not.toHaveProperty('group');

    // Gone: resolved automatically, by no one.
    const d4 = await day('2026-03-04', [mismatch('pc-b', 'B', 'Bee')]);
    expect(d4).toMatchObject({ resolved: 1, openTotal: 1 });
    expect(await variance('pc-a')).toMatchObject({ status: 'resolved', resolved_by: null, last_seen: '2026-03-03', resolved_at: new Date('2026-03-04T15:00:00Z') });

    // Back: reopened, same id, first_seen kept.
    const d5 = await day('2026-03-05', [missing('pc-a', { last_contact: '2026-03-02T10:00:00Z', group: 'Servers' }), mismatch('pc-b', 'B', 'Bee')]);
    expect(d5).toMatchObject({ reopened: 1, opened: 0, openTotal: 2 });
    expect(await variance('pc-a')).toMatchObject({ id: a.id, status: 'open', first_seen: '2026-03-01', last_seen: '2026-03-05', resolved_at: null });
    expect(await events(a.id)).toEqual([
      { kind: 'opened', actor: null, snapshot_date: '2026-03-01' },
      { kind: 'seen', actor: null, snapshot_date: '2026-03-03' },
      { kind: 'resolved_auto', actor: null, snapshot_date: '2026-03-04' },
      { kind: 'reopened', actor: null, snapshot_date: '2026-03-05' },
    ]);

    // Observations say which variances were found on which day.
    const obs = await db.db.selectFrom('variance_observation').select(['snapshot_date', 'variance_id', 'status']).where('variance_id', '=', a.id).orderBy('snapshot_date').execute();
    expect(obs.map((o) => o.snapshot_date)).toEqual(['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-05']);
    const runs = await db.db.selectFrom('variance_run').select(['snapshot_date', 'status', 'opened', 'resolved', 'reopened', 'trigger']).orderBy('id').execute();
    expect(runs).toHaveLength(6); // 2026-03-03 was run twice
    expect(runs[4]).toEqual({ snapshot_date: '2026-03-04', status: 'completed', opened: 0, resolved: 1, reopened: 0, trigger: 'cli' });
  });

  it('re-running a day changes nothing more', async () => {
    await day('2026-03-01', [missing('pc-a'), missing('pc-c')]);
    await day('2026-03-02', [missing('pc-a', { changed: 1 })]);
    const snapshot = async () => ({
      variances: await db.db.selectFrom('variance').selectAll().orderBy('id').execute(),
      events: await db.db.selectFrom('variance_event').select(['id', 'variance_id', 'kind', 'at', 'details']).orderBy('id').execute(),
      observations: await db.db.selectFrom('variance_observation').selectAll().orderBy('snapshot_date').orderBy('variance_id').execute(),
    });
    const before = await snapshot();
    clock.set('2026-03-02T20:00:00Z');
    const again = await db.db.transaction().execute((t) =>
      applyCheckResult(t, { date: '2026-03-02', found: [missing('pc-a', { changed: 1 })], trigger: 'api', startedAt: clock.now(), clock }),
    );
    expect(again).toMatchObject({ opened: 0, seen: 0, resolved: 0, reopened: 0, acceptancesExpired: 0, found: 1, openTotal: 1 });
    expect(await snapshot()).toEqual(before);
    // The run itself is recorded (twice for the day).
    expect(await db.db.selectFrom('variance_run').select('id').where('snapshot_date', '=', '2026-03-02').execute()).toHaveLength(2);
  });

  it('a re-run of the day with different data replaces that day\'s observations', async () => {
    await day('2026-03-01', [missing('pc-a'), missing('pc-c')]);
    await day('2026-03-01', [missing('pc-a')]);
    const c = await variance('pc-c');
    expect(c.status).toBe('resolved');
    const obs = await db.db.selectFrom('variance_observation').select('variance_id').where('snapshot_date', '=', '2026-03-01').execute();
    expect(obs.map((o) => o.variance_id)).toEqual([(await variance('pc-a')).id]);
  });

  it('refuses a day before the latest checked day, and changes nothing', async () => {
    await day('2026-03-05', [missing('pc-a')]);
    const before = await db.db.selectFrom('variance').selectAll().execute();
    const err = await day('2026-03-04', []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect(err).toMatchObject({ code: 'HUB_ERR_VARIANCES_DATE_BEHIND', status: 409, details: { date: '2026-03-04', latest_date: '2026-03-05' } });
    expect(await db.db.selectFrom('variance').selectAll().execute()).toEqual(before);
    expect(await db.db.selectFrom('variance_run').select('id').execute()).toHaveLength(1);
  });

  it('a person resolves; the next check reopens it while the data still shows it', async () => {
    await day('2026-03-01', [missing('pc-a')]);
    const a = await variance('pc-a');
    clock.set('2026-03-01T18:00:00Z');
    const resolved = await tx((t) => resolveVariance(t, a.id, { by: 'alice', note: 'agent installed' }, clock));
    expect(resolved).toMatchObject({ status: 'resolved', resolved_by: 'alice', resolved_at: new Date('2026-03-01T18:00:00Z') });
    await day('2026-03-02', [missing('pc-a')]);
    expect(await variance('pc-a')).toMatchObject({ status: 'open', resolved_by: null, resolved_at: null });
    const history = await db.db.selectFrom('variance_event').selectAll().where('variance_id', '=', a.id).orderBy('id').execute();
    expect(history.map((e) => [e.kind, e.actor, e.note])).toEqual([
      ['opened', null, null],
      ['resolved', 'alice', 'agent installed'],
      ['reopened', null, null],
    ]);
    expect(history[2]?.details).toEqual({ previous_resolution: { resolved_at: '2026-03-01T18:00:00.000Z', resolved_by: 'alice' } });

    // Resolved by a person and really gone: it stays resolved.
    clock.set('2026-03-02T18:00:00Z');
    await tx((t) => resolveVariance(t, a.id, { by: 'alice' }, clock));
    await day('2026-03-03', []);
    expect(await variance('pc-a')).toMatchObject({ status: 'resolved', resolved_by: 'alice' });
  });

  it('accepted with expiry: stays accepted through its last day, then reopens if still found', async () => {
    await day('2026-03-01', [missing('pc-a')]);
    const a = await variance('pc-a');
    clock.set('2026-03-01T18:00:00Z');
    const accepted = await tx((t) => acceptVariance(t, a.id, { reason: 'lab machine', until: '2026-03-03', by: 'bob' }, clock));
    expect(accepted).toMatchObject({ status: 'accepted', accepted_until: '2026-03-03', accepted_reason: 'lab machine', accepted_by: 'bob' });

    expect(await day('2026-03-02', [missing('pc-a', { changed: true })])).toMatchObject({ seen: 1, reopened: 0 });
    expect(await day('2026-03-03', [missing('pc-a', { changed: true })])).toMatchObject({ reopened: 0, acceptancesExpired: 0 });
    expect(await variance('pc-a')).toMatchObject({ status: 'accepted', last_seen: '2026-03-03' });
    const obs = await db.db.selectFrom('variance_observation').select('status').where('snapshot_date', '=', '2026-03-03').executeTakeFirstOrThrow();
    expect(obs.status).toBe('accepted');

    expect(await day('2026-03-04', [missing('pc-a', { changed: true })])).toMatchObject({ reopened: 1, acceptancesExpired: 1 });
    expect(await variance('pc-a')).toMatchObject({ status: 'open', accepted_until: null, accepted_reason: null, accepted_by: null });
    expect((await events(a.id)).map((e) => [e.kind, e.actor])).toEqual([
      ['opened', null],
      ['accepted', 'bob'],
      ['seen', null],
      ['acceptance_expired', null],
      ['reopened', null],
    ]);
    const expired = await db.db.selectFrom('variance_event').select('details').where('kind', '=', 'acceptance_expired').executeTakeFirstOrThrow();
    expect(expired.details).toEqual({ accepted_until: '2026-03-03', accepted_reason: 'lab machine', accepted_by: 'bob' });
  });

  it('accepted and gone: stays accepted until it expires, then resolves', async () => {
    await day('2026-03-01', [missing('pc-a')]);
    const a = await variance('pc-a');
    await tx((t) => acceptVariance(t, a.id, { reason: 'retiring', until: '2026-03-02', by: 'bob' }, clock));
    await day('2026-03-02', []);
    expect(await variance('pc-a')).toMatchObject({ status: 'accepted' });
    expect(await day('2026-03-03', [])).toMatchObject({ resolved: 1, acceptancesExpired: 1 });
    expect(await variance('pc-a')).toMatchObject({ status: 'resolved', accepted_until: null, resolved_by: null });
    expect((await events(a.id)).map((e) => e.kind)).toEqual(['opened', 'accepted', 'acceptance_expired', 'resolved_auto']);
  });

  it('person actions refuse invalid transitions and bad acceptances with codes', async () => {
    await day('2026-03-10', [missing('pc-a')]);
    const a = await variance('pc-a');
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof HubError ? `${e.code}:${typeof e.details?.field === 'string' ? e.details.field : ''}` : String(e)));
    expect(await code(tx((t) => reopenVariance(t, a.id, { by: 'x' }, clock)))).toBe('HUB_ERR_VARIANCE_TRANSITION:');
    expect(await code(tx((t) => resolveVariance(t, 999, { by: 'x' }, clock)))).toBe('HUB_ERR_VARIANCE_NOT_FOUND:');
    expect(await code(tx((t) => acceptVariance(t, a.id, { reason: 'r', until: '2026-03-10', by: 'x' }, clock)))).toBe('HUB_ERR_VALIDATION:until');
    expect(await code(tx((t) => acceptVariance(t, a.id, { reason: 'r', until: '2026-02-30', by: 'x' }, clock)))).toBe('HUB_ERR_VALIDATION:until');
    expect(await code(tx((t) => acceptVariance(t, a.id, { reason: ' ', until: '2026-04-01', by: 'x' }, clock)))).toBe('HUB_ERR_VALIDATION:reason');
    expect(await code(tx((t) => resolveVariance(t, a.id, { by: 'x' }, clock)))).toBe('ok');
    expect(await code(tx((t) => resolveVariance(t, a.id, { by: 'x' }, clock)))).toBe('HUB_ERR_VARIANCE_TRANSITION:');
    expect(await code(tx((t) => acceptVariance(t, a.id, { reason: 'r', until: '2026-04-01', by: 'x' }, clock)))).toBe('HUB_ERR_VARIANCE_TRANSITION:');
    expect(await code(tx((t) => reopenVariance(t, a.id, { by: 'x' }, clock)))).toBe('ok');
    // An acceptance may be renewed; the event keeps the previous term.
    expect(await code(tx((t) => acceptVariance(t, a.id, { reason: 'r', until: '2026-04-01', by: 'x' }, clock)))).toBe('ok');
    expect(await code(tx((t) => acceptVariance(t, a.id, { reason: 'r2', until: '2026-05-01', by: 'y' }, clock)))).toBe('ok');
    const last = await db.db.selectFrom('variance_event').selectAll().where('variance_id', '=', a.id).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(last).toMatchObject({ kind: 'accepted', actor: 'y', note: 'r2', details: { until: '2026-05-01', previous: { accepted_until: '2026-04-01', accepted_reason: 'r', accepted_by: 'x' } } });
    expect(await code(tx((t) => reopenVariance(t, a.id, { by: 'z' }, clock)))).toBe('ok');
    expect(await variance('pc-a')).toMatchObject({ status: 'open', accepted_until: null });
  });

  it('bulk: per-id results, expected failures do not stop the others, an unexpected one rolls all back', async () => {
    await day('2026-03-10', [missing('pc-a'), missing('pc-b')]);
    const a = await variance('pc-a');
    const b = await variance('pc-b');
    await tx((t) => resolveVariance(t, b.id, { by: 'x' }, clock));
    const results = await tx((t) => applyBulk(t, [a.id, b.id, 404], { action: 'resolve', by: 'carol', note: null }, clock));
    expect(results).toEqual([
      { id: a.id, ok: true, status: 'resolved' },
      { id: b.id, ok: false, code: 'HUB_ERR_VARIANCE_TRANSITION', error: expect.any(String) },
      { id: 404, ok: false, code: 'HUB_ERR_VARIANCE_NOT_FOUND', error: expect.any(String) },
    ]);
    expect(await variance('pc-a')).toMatchObject({ status: 'resolved', resolved_by: 'carol' });

    // A failure half-way (here: a statement the database refuses) rolls back the ids before it.
    const err = await tx(async (t) => {
      await applyBulk(t, [a.id], { action: 'reopen', by: 'dave' }, clock);
      await sql`SELECT 1/0`.execute(t);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await variance('pc-a')).toMatchObject({ status: 'resolved', resolved_by: 'carol' });
    expect(await db.db.selectFrom('variance_event').select('id').where('actor', '=', 'dave').execute()).toEqual([]);
  });

  it('a check that fails half-way leaves nothing behind', async () => {
    await day('2026-03-01', [missing('pc-a')]);
    const before = {
      v: await db.db.selectFrom('variance').selectAll().orderBy('id').execute(),
      e: await db.db.selectFrom('variance_event').selectAll().orderBy('id').execute(),
      r: await db.db.selectFrom('variance_run').selectAll().orderBy('id').execute(),
    };
    const err = await db.db
      .transaction()
      .execute(async (t) => {
        await applyCheckResult(t, { date: '2026-03-02', found: [missing('pc-b')], trigger: 'cli', startedAt: clock.now(), clock });
        await sql`SELECT 1/0`.execute(t);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect({
      v: await db.db.selectFrom('variance').selectAll().orderBy('id').execute(),
      e: await db.db.selectFrom('variance_event').selectAll().orderBy('id').execute(),
      r: await db.db.selectFrom('variance_run').selectAll().orderBy('id').execute(),
    }).toEqual(before);
  });

  it('two checks at once apply one after the other (the variance lock)', async () => {
    const found = [missing('pc-a'), missing('pc-b'), mismatch('pc-c', 'C', 'See')];
    const [a, b] = await Promise.all([day('2026-03-01', found), day('2026-03-01', found)]);
    expect([a.opened, b.opened].sort()).toEqual([0, 3]);
    expect(await db.db.selectFrom('variance_event').select('kind').execute()).toHaveLength(3);
    expect(await db.db.selectFrom('variance_observation').select('variance_id').execute()).toHaveLength(3);
  });

  it('a person acting during a check waits for it, and the check never undoes the action', async () => {
    await day('2026-03-01', [missing('pc-a')]);
    const a = await variance('pc-a');
    let resolving: Promise<unknown> | undefined;
    let finished = false;
    clock.set('2026-03-02T15:00:00Z');
    await db.db.transaction().execute(async (t) => {
      await applyCheckResult(t, { date: '2026-03-02', found: [missing('pc-a')], trigger: 'cli', startedAt: clock.now(), clock });
      // Started while the check's transaction holds the lock: it must wait for the commit.
      resolving = tx((t2) => resolveVariance(t2, a.id, { by: 'alice' }, clock)).then(() => (finished = true));
      await new Promise((r) => setTimeout(r, 200));
      expect(finished).toBe(false);
    });
    await resolving;
    expect(await variance('pc-a')).toMatchObject({ status: 'resolved', resolved_by: 'alice', last_seen: '2026-03-02' });
  });

  it('applies a large day in a handful of statements', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => missing(`pc-${i}`));
    expect(await day('2026-03-01', many)).toMatchObject({ opened: 3000, openTotal: 3000 });
    expect(await day('2026-03-02', many.slice(0, 2000))).toMatchObject({ opened: 0, resolved: 1000, openTotal: 2000 });
    const n = await db.db.selectFrom('variance_observation').select((eb) => eb.fn.countAll<string>().as('n')).where('snapshot_date', '=', '2026-03-02').executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(2000);
  });
});
