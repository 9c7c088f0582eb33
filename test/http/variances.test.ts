/**
 * The variance and organization endpoints through app.inject(), on every test database.
 * Variances are seeded straight into the store (no rules involved); /run is tested here only
 * for its refusals (test/variances/run.test.ts covers real runs).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, type Harness } from '../helpers/harness.js';
import { applyFindings, displayMismatch, missingNinja, writeDevice } from '../helpers/variances.js';

describe.each(TEST_DATABASES)('variance endpoints on %s', (kind) => {
  let h: Harness;
  const get = (url: string) => h.app.inject({ method: 'GET', url });
  const post = (url: string, payload?: unknown) => h.app.inject({ method: 'POST', url, ...(payload === undefined ? {} : { payload: payload as object }) });
  const idOf = async (host: string) =>
    (await h.deps.db.selectFrom('variance').select('id').where('hostname', '=', host).executeTakeFirstOrThrow()).id;

  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
    await applyFindings(h.deps.db, h.clock, TEST_TODAY, [
      missingNinja('pc-a', 'Acme'),
      missingNinja('pc_b', 'Globex'),
      displayMismatch('srv-1', 'SRV 1', 'Server One', 'Acme'),
    ]);
  });

  it('lists open variances newest first, in the documented shape', async () => {
    const res = await get('/api/variances');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.next_cursor).toBeNull();
    expect(body.items.map((v: { hostname: string }) => v.hostname)).toEqual(['srv-1', 'pc_b', 'pc-a']);
    expect(body.items[0]).toEqual({
      id: expect.any(Number),
      type: 'DISPLAY_NAME_MISMATCH',
      status: 'open',
      hostname: 'srv-1',
      organization: 'Acme',
      match_quality: 'exact',
      devices: [
        { vendor: 'threatlocker', device_key: 'srv-1-id', hostname: 'srv-1', display_name: 'SRV 1', organization_name: 'Acme', location_name: null },
        { vendor: 'ninja', device_key: 'srv-1-n', hostname: 'srv-1', display_name: 'Server One', organization_name: 'Acme', location_name: 'HQ' },
      ],
      evidence: { threatlocker_display_name: 'SRV 1', ninja_display_name: 'Server One' },
      hint: expect.any(String),
      first_seen: TEST_TODAY,
      last_seen: TEST_TODAY,
      resolved_at: null,
      resolved_by: null,
      accepted_until: null,
      accepted_reason: null,
      accepted_by: null,
      updated_at: '2026-03-10T15:00:00.000Z',
    });
  });

  it('pages with an opaque keyset cursor', async () => {
    const first = (await get('/api/variances?limit=2')).json();
    expect(first.items).toHaveLength(2);
    expect(typeof first.next_cursor).toBe('string');
    // A variance opened while paging does not shift the next page.
    await applyFindings(h.deps.db, h.clock, TEST_TODAY, [missingNinja('pc-a'), missingNinja('pc_b', 'Globex'), displayMismatch('srv-1', 'SRV 1', 'Server One'), missingNinja('new-1')]);
    const second = (await get(`/api/variances?limit=2&cursor=${encodeURIComponent(first.next_cursor)}`)).json();
    expect(second.items.map((v: { hostname: string }) => v.hostname)).toEqual(['pc-a']);
    expect(second.next_cursor).toBeNull();
  });

  it('filters by status, type, organization and hostname prefix', async () => {
    const hosts = async (q: string) => (await get(`/api/variances?${q}`)).json().items.map((v: { hostname: string }) => v.hostname);
    expect(await hosts('type=MISSING_NINJA')).toEqual(['pc_b', 'pc-a']);
    expect(await hosts('organization=Acme')).toEqual(['srv-1', 'pc-a']);
    expect(await hosts('organization=acme')).toEqual([]);
    expect(await hosts('hostname=PC')).toEqual(['pc_b', 'pc-a']);
    // LIKE wildcards are literal: "pc_" matches pc_b only, "%" nothing.
    expect(await hosts('hostname=pc_')).toEqual(['pc_b']);
    expect(await hosts('hostname=%25')).toEqual([]);
    expect(await hosts('status=resolved')).toEqual([]);
    await post(`/api/variances/${await idOf('pc-a')}/resolve`, { resolved_by: 'alice' });
    expect(await hosts('status=resolved')).toEqual(['pc-a']);
    expect(await hosts('status=all')).toEqual(['srv-1', 'pc_b', 'pc-a']);
    expect(await hosts('')).toEqual(['srv-1', 'pc_b']);
  });

  it('refuses bad list parameters naming the field', async () => {
    for (const [q, field] of [
      ['status=closed', 'status'],
      ['type=MISSING', 'type'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${Buffer.from('{"v":1,"id":-1}').toString('base64url')}`, 'cursor'],
      ['hostname=a%09b', 'hostname'],
    ] as const) {
      const res = await get(`/api/variances?${q}`);
      expect([q, res.statusCode, res.json().code, res.json().field]).toEqual([q, 400, 'HUB_ERR_VALIDATION', field]);
    }
  });

  it('answers one variance with its events, and 400/404 for bad or unknown ids', async () => {
    const id = await idOf('pc-a');
    const res = await get(`/api/variances/${id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'open', events: [{ kind: 'opened', actor: null, snapshot_date: TEST_TODAY, at: '2026-03-10T15:00:00.000Z', run_id: expect.any(Number), note: null, details: null }] });
    for (const bad of ['abc', '0', '-1', '1.5', '99999999999']) {
      const r = await get(`/api/variances/${bad}`);
      expect([bad, r.statusCode, r.json().code, r.json().field]).toEqual([bad, 400, 'HUB_ERR_VALIDATION', 'id']);
    }
    const missing = await get('/api/variances/424242');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'Variance 424242 not found', code: 'HUB_ERR_VARIANCE_NOT_FOUND', id: 424242, request_id: expect.any(String) });
  });

  it('accept, resolve and reopen: shapes, events and coded refusals', async () => {
    const id = await idOf('pc-a');
    const accepted = await post(`/api/variances/${id}/accept`, { reason: 'lab machine', until: '2026-04-01', accepted_by: 'bob' });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toMatchObject({ id, status: 'accepted', accepted_until: '2026-04-01', accepted_reason: 'lab machine', accepted_by: 'bob' });

    const resolved = await post(`/api/variances/${id}/resolve`, { resolved_by: 'alice', note: 'removed' });
    expect(resolved.json()).toMatchObject({ status: 'resolved', resolved_by: 'alice', resolved_at: '2026-03-10T15:00:00.000Z', accepted_until: null });
    const again = await post(`/api/variances/${id}/resolve`, { resolved_by: 'alice' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({ error: expect.stringContaining('resolved'), code: 'HUB_ERR_VARIANCE_TRANSITION', id, status: 'resolved', request_id: expect.any(String) });
    expect((await post(`/api/variances/${id}/accept`, { reason: 'r', until: '2026-04-01', accepted_by: 'bob' })).statusCode).toBe(409);

    const reopened = await post(`/api/variances/${id}/reopen`, { reopened_by: 'carol' });
    expect(reopened.json()).toMatchObject({ status: 'open', resolved_at: null, resolved_by: null });
    expect((await post(`/api/variances/${id}/reopen`, { reopened_by: 'carol' })).json().code).toBe('HUB_ERR_VARIANCE_TRANSITION');

    const events = (await get(`/api/variances/${id}`)).json().events;
    expect(events.map((e: { kind: string; actor: string | null; note: string | null }) => [e.kind, e.actor, e.note])).toEqual([
      ['opened', null, null],
      ['accepted', 'bob', 'lab machine'],
      ['resolved', 'alice', 'removed'],
      ['reopened', 'carol', null],
    ]);
    expect((await post('/api/variances/424242/resolve', { resolved_by: 'x' })).statusCode).toBe(404);
  });

  it('refuses bad action bodies naming the field, and changes nothing', async () => {
    const id = await idOf('pc-a');
    const cases: [string, unknown, string][] = [
      ['accept', { until: '2026-04-01', accepted_by: 'bob' }, 'reason'],
      ['accept', { reason: '  ', until: '2026-04-01', accepted_by: 'bob' }, 'reason'],
      ['accept', { reason: 'r', accepted_by: 'bob' }, 'until'],
      ['accept', { reason: 'r', until: '2026-02-30', accepted_by: 'bob' }, 'until'],
      ['accept', { reason: 'r', until: '01/04/2026', accepted_by: 'bob' }, 'until'],
      ['accept', { reason: 'r', until: TEST_TODAY, accepted_by: 'bob' }, 'until'],
      ['accept', { reason: 'r', until: '2026-03-09', accepted_by: 'bob' }, 'until'],
      ['accept', { reason: 'r', until: '2026-04-01' }, 'accepted_by'],
      ['accept', { reason: 'r'.repeat(1001), until: '2026-04-01', accepted_by: 'bob' }, 'reason'],
      ['resolve', {}, 'resolved_by'],
      ['resolve', { resolved_by: 7 }, 'resolved_by'],
      ['resolve', { resolved_by: 'x', note: 5 }, 'note'],
      ['reopen', { reopened_by: null }, 'reopened_by'],
    ];
    for (const [action, body, field] of cases) {
      const res = await post(`/api/variances/${id}/${action}`, body);
      expect([action, body, res.statusCode, res.json().code, res.json().field]).toEqual([action, body, 400, 'HUB_ERR_VALIDATION', field]);
    }
    const notObject = await h.app.inject({ method: 'POST', url: `/api/variances/${id}/resolve`, headers: { 'content-type': 'application/json' }, payload: '[1]' });
    expect(notObject.statusCode).toBe(400);
    expect((await get(`/api/variances/${id}`)).json()).toMatchObject({ status: 'open', events: [{ kind: 'opened' }] });
  });

  it('bulk: per-id results in one transaction, and validation of the whole request', async () => {
    const a = await idOf('pc-a');
    const b = await idOf('pc_b');
    await post(`/api/variances/${b}/resolve`, { resolved_by: 'x' });
    const res = await post('/api/variances/bulk', { action: 'resolve', ids: [a, b, 999], resolved_by: 'dana', note: 'batch' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      action: 'resolve',
      succeeded: 1,
      failed: 2,
      results: [
        { id: a, ok: true, status: 'resolved' },
        { id: b, ok: false, code: 'HUB_ERR_VARIANCE_TRANSITION', error: expect.any(String) },
        { id: 999, ok: false, code: 'HUB_ERR_VARIANCE_NOT_FOUND', error: expect.any(String) },
      ],
    });
    const accepted = await post('/api/variances/bulk', { action: 'accept', ids: [a, b], reason: 'known', until: '2026-03-20', accepted_by: 'eve' });
    expect(accepted.json().results).toEqual([
      { id: a, ok: false, code: 'HUB_ERR_VARIANCE_TRANSITION', error: expect.any(String) },
      { id: b, ok: false, code: 'HUB_ERR_VARIANCE_TRANSITION', error: expect.any(String) },
    ]);
    const reopened = await post('/api/variances/bulk', { action: 'reopen', ids: [a, b], reopened_by: 'eve' });
    expect(reopened.json()).toMatchObject({ succeeded: 2, failed: 0 });

    const cases: [unknown, string][] = [
      [{ action: 'close', ids: [a], resolved_by: 'x' }, 'action'],
      [{ ids: [a], resolved_by: 'x' }, 'action'],
      [{ action: 'resolve', ids: [], resolved_by: 'x' }, 'ids'],
      [{ action: 'resolve', ids: [a, a], resolved_by: 'x' }, 'ids'],
      [{ action: 'resolve', ids: 'all', resolved_by: 'x' }, 'ids'],
      [{ action: 'resolve', ids: [0], resolved_by: 'x' }, 'ids.0'],
      [{ action: 'resolve', ids: Array.from({ length: 501 }, (_, i) => i + 1), resolved_by: 'x' }, 'ids'],
      [{ action: 'resolve', ids: [a] }, 'resolved_by'],
      [{ action: 'accept', ids: [a], reason: 'r', until: '2026-03-01', accepted_by: 'x' }, 'until'],
    ];
    for (const [body, field] of cases) {
      const r = await post('/api/variances/bulk', body);
      expect([body, r.statusCode, r.json().code, r.json().field]).toEqual([body, 400, 'HUB_ERR_VALIDATION', field]);
    }
    // None of the refused requests changed anything.
    const statuses = await h.deps.db.selectFrom('variance').select(['hostname', 'status']).orderBy('id').execute();
    expect(statuses).toEqual([
      { hostname: 'pc-a', status: 'open' },
      { hostname: 'pc_b', status: 'open' },
      { hostname: 'srv-1', status: 'open' },
    ]);
  });

  it('POST /run refuses a day without both collections, and changes nothing', async () => {
    const runsBefore = await h.deps.db.selectFrom('variance_run').selectAll().execute();
    const none = await post('/api/variances/run', {});
    expect(none.statusCode).toBe(409);
    expect(none.json()).toMatchObject({ code: 'HUB_ERR_VARIANCES_INCOMPLETE_DAY', date: TEST_TODAY, missing_collections: ['threatlocker', 'ninja'] });

    // ThreatLocker collected; NinjaOne has only a device synced on demand: still incomplete.
    await writeDevice(h.deps.db, h.deps.vendorIds, 'threatlocker', '2026-03-09', { key: 'k1', hostname: 'pc-a' });
    await writeDevice(h.deps.db, h.deps.vendorIds, 'ninja', '2026-03-09', { key: '1', hostname: 'pc-a' }, 'sync');
    const partial = await post('/api/variances/run', { date: '2026-03-09' });
    expect(partial.statusCode).toBe(409);
    expect(partial.json()).toMatchObject({ code: 'HUB_ERR_VARIANCES_INCOMPLETE_DAY', missing_collections: ['ninja'] });
    expect(partial.json().error).toMatch(/NinjaOne/);
    expect(await h.deps.db.selectFrom('variance_run').selectAll().execute()).toEqual(runsBefore);

    for (const date of ['2026-3-9', '2026-02-30', 20260309, null]) {
      const r = await post('/api/variances/run', { date });
      expect([date, r.statusCode, r.json().field]).toEqual([date, 400, 'date']);
    }
    const notJson = await h.app.inject({ method: 'POST', url: '/api/variances/run', headers: { 'content-type': 'text/plain' }, payload: 'x' });
    expect(notJson.statusCode).toBe(400);
  });

  it('/api/status counts open variances by type', async () => {
    const body = (await get('/api/status')).json();
    expect(body.exception_counts).toEqual({ DISPLAY_NAME_MISMATCH: 1, MISSING_NINJA: 2 });
    expect(body.total_exceptions).toBe(3);
    await post(`/api/variances/${await idOf('srv-1')}/accept`, { reason: 'r', until: '2026-04-01', accepted_by: 'x' });
    expect((await get('/api/status')).json()).toMatchObject({ exception_counts: { MISSING_NINJA: 2 }, total_exceptions: 2 });
  });

  it('the OpenAPI document describes the new endpoints', async () => {
    const doc = (await get('/api/openapi.json')).json();
    for (const path of ['/api/variances/', '/api/variances/{id}', '/api/variances/{id}/accept', '/api/variances/bulk', '/api/variances/run', '/api/organizations/mapping', '/api/organizations/links']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
  });
});

describe.each(TEST_DATABASES)('organization endpoints on %s', (kind) => {
  let h: Harness;
  const put = (payload: unknown) => h.app.inject({ method: 'PUT', url: '/api/organizations/links', payload: payload as object });
  const del = (tl: string, ninja: string) =>
    h.app.inject({ method: 'DELETE', url: `/api/organizations/links?threatlocker_organization=${encodeURIComponent(tl)}&ninja_organization=${encodeURIComponent(ninja)}` });
  const mapping = async () => (await h.app.inject({ method: 'GET', url: '/api/organizations/mapping' })).json();

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

  it('maps organizations of the latest collected days: automatic, explicit, never, unmapped', async () => {
    expect(await mapping()).toEqual({
      dates: { threatlocker: null, ninja: null },
      organizations: { threatlocker: [], ninja: [] },
      pairs: [],
      unmapped: { threatlocker: [], ninja: [] },
    });
    const { db } = h.deps;
    const ids = h.deps.vendorIds;
    // An older day's organizations are not listed.
    await writeDevice(db, ids, 'threatlocker', '2026-03-08', { key: 'old', hostname: 'old', organization_name: 'Gone Inc' });
    await writeDevice(db, ids, 'threatlocker', TEST_TODAY, { key: 't1', hostname: 'a', organization_name: 'Acme' });
    await writeDevice(db, ids, 'threatlocker', TEST_TODAY, { key: 't2', hostname: 'b', organization_name: 'Globex' });
    await writeDevice(db, ids, 'threatlocker', TEST_TODAY, { key: 't3', hostname: 'c', organization_name: 'Initech' });
    await writeDevice(db, ids, 'threatlocker', TEST_TODAY, { key: 't4', hostname: 'd', organization_name: 'Umbrella' });
    await writeDevice(db, ids, 'ninja', '2026-03-09', { key: '1', hostname: 'a', organization_name: 'ACME' });
    await writeDevice(db, ids, 'ninja', '2026-03-09', { key: '2', hostname: 'b', organization_name: 'globex' });
    await writeDevice(db, ids, 'ninja', '2026-03-09', { key: '3', hostname: 'c', organization_name: 'Initech Corp' });
    await writeDevice(db, ids, 'ninja', '2026-03-09', { key: '4', hostname: 'e', organization_name: 'Hooli' });

    const created = await put({ threatlocker_organization: 'Initech', ninja_organization: 'Initech Corp', kind: 'link', created_by: 'alice' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({
      created: true,
      link: { threatlocker_organization: 'Initech', ninja_organization: 'Initech Corp', kind: 'link', created_by: 'alice', created_at: '2026-03-10T15:00:00.000Z' },
    });
    expect((await put({ threatlocker_organization: 'Globex', ninja_organization: 'globex', kind: 'never' })).statusCode).toBe(201);

    const m = await mapping();
    expect(m.dates).toEqual({ threatlocker: TEST_TODAY, ninja: '2026-03-09' });
    expect(m.organizations).toEqual({ threatlocker: ['Acme', 'Globex', 'Initech', 'Umbrella'], ninja: ['ACME', 'globex', 'Hooli', 'Initech Corp'] });
    expect(m.pairs).toEqual([
      { threatlocker_organization: 'Initech', ninja_organization: 'Initech Corp', how: 'explicit', created_by: 'alice', created_at: '2026-03-10T15:00:00.000Z' },
      { threatlocker_organization: 'Globex', ninja_organization: 'globex', how: 'never', created_by: 'dashboard_user', created_at: '2026-03-10T15:00:00.000Z' },
      { threatlocker_organization: 'Acme', ninja_organization: 'ACME', how: 'automatic', created_by: null, created_at: null },
    ]);
    expect(m.unmapped).toEqual({ threatlocker: ['Globex', 'Umbrella'], ninja: ['globex', 'Hooli'] });
  });

  it('PUT changes a link\'s kind (200), DELETE removes it (then 404)', async () => {
    expect((await put({ threatlocker_organization: ' Acme ', ninja_organization: 'ACME Corp', kind: 'link' })).statusCode).toBe(201);
    h.clock.set('2026-03-11T10:00:00Z');
    const changed = await put({ threatlocker_organization: 'Acme', ninja_organization: 'ACME Corp', kind: 'never', created_by: 'bob' });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ created: false, link: { kind: 'never', created_by: 'bob', created_at: '2026-03-11T10:00:00.000Z' } });
    expect(await h.deps.db.selectFrom('organization_link').selectAll().execute()).toHaveLength(1);

    const deleted = await del('Acme', 'ACME Corp');
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toMatchObject({ deleted: { threatlocker_organization: 'Acme', ninja_organization: 'ACME Corp', kind: 'never' } });
    const again = await del('Acme', 'ACME Corp');
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ code: 'HUB_ERR_ORGANIZATION_LINK_NOT_FOUND', threatlocker_organization: 'Acme', ninja_organization: 'ACME Corp' });
  });

  it('refuses bad link requests naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ ninja_organization: 'B', kind: 'link' }, 'threatlocker_organization'],
      [{ threatlocker_organization: ' ', ninja_organization: 'B', kind: 'link' }, 'threatlocker_organization'],
      [{ threatlocker_organization: 'A', ninja_organization: 'B'.repeat(256), kind: 'link' }, 'ninja_organization'],
      [{ threatlocker_organization: 'A', ninja_organization: 'B', kind: 'maybe' }, 'kind'],
      [{ threatlocker_organization: 'A', ninja_organization: 'B' }, 'kind'],
      [{ threatlocker_organization: 'A', ninja_organization: 'B', kind: 'link', created_by: 3 }, 'created_by'],
    ];
    for (const [body, field] of cases) {
      const r = await put(body);
      expect([body, r.statusCode, r.json().code, r.json().field]).toEqual([body, 400, 'HUB_ERR_VALIDATION', field]);
    }
    const noQuery = await h.app.inject({ method: 'DELETE', url: '/api/organizations/links?threatlocker_organization=A' });
    expect([noQuery.statusCode, noQuery.json().field]).toEqual([400, 'ninja_organization']);
    expect(await h.deps.db.selectFrom('organization_link').selectAll().execute()).toEqual([]);
  });
});
