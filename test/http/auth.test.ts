/**
 * Authentication and authorization: the route × scope matrix (generated from the route table,
 * so a new route is covered the day it is added), key lifecycle, sessions with the Origin
 * check, the audit log, and the rate limits.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApiKey } from '../../src/auth/keys.js';
import { API_SCOPES, type ApiScope } from '../../src/db/schema.js';
import { buildServer } from '../../src/http/server.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_NOW, TEST_TODAY, type Harness } from '../helpers/harness.js';
import { applyFindings, missingNinja } from '../helpers/variances.js';

const SAMPLE_PARAMS: Record<string, string> = { id: '1', vendor: 'threatlocker', key: 'abc', date: '2026-03-09' };

function concrete(url: string): string {
  return url.replace(/:(\w+)/g, (_, name: string) => (url.startsWith('/api/keys') ? '0123456789ab' : (SAMPLE_PARAMS[name] ?? '1')));
}

describe.each(TEST_DATABASES)('authentication on %s', (kind) => {
  let h: Harness;
  const keys = {} as Record<ApiScope, string>;
  let keyIds = {} as Record<ApiScope, string>;
  beforeAll(async () => {
    h = await createHarness(kind, { env: { AUTH_MODE: 'required' } });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
    keyIds = {} as Record<ApiScope, string>;
    for (const scope of API_SCOPES) {
      const created = await createApiKey(h.deps.db, { name: `${scope}-key`, scopes: [scope] }, h.clock.now());
      keys[scope] = created.key;
      keyIds[scope] = created.info.id;
    }
  });

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const auditRows = async (n: number) => {
    await vi.waitFor(async () => {
      await h.app.security.audit.idle();
      const c = await h.deps.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      expect(Number(c.n)).toBeGreaterThanOrEqual(n);
    });
    return h.deps.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
  };

  it('every /api route and /metrics declares a scope; the table holds the routes this test expects to see', () => {
    const urls = h.app.security.routes.map((r) => `${r.method} ${r.url}`);
    for (const must of ['POST /api/threatlocker/sync-device', 'POST /api/keys', 'GET /api/audit', 'GET /metrics', 'GET /api/health']) expect(urls).toContain(must);
    for (const r of h.app.security.routes) expect(['read', 'operate', 'admin', 'public']).toContain(r.scope);
    expect(h.app.security.routes.find((r) => r.url === '/api/health')?.scope).toBe('public');
    expect(h.app.security.routes.find((r) => r.url === '/metrics')?.scope).toBe('read');
  });

  it('a route added without a scope refuses to register', async () => {
    const app = await buildServer(h.deps);
    try {
      expect(() => app.get('/api/unscoped', async () => ({}))).toThrow(/declares no scope/);
    } finally {
      await app.close();
    }
  });

  it('route × scope matrix: 401 without a key, 403 naming the scope with the wrong one, allowed with the right one', async () => {
    const table = h.app.security.routes.filter((r) => r.scope !== 'public' && r.method !== 'HEAD');
    expect(table.length).toBeGreaterThan(35);
    for (const r of table) {
      const url = concrete(r.url);
      const method = r.method as 'GET' | 'POST' | 'PUT' | 'DELETE';
      const none = await h.app.inject({ method, url });
      expect({ route: `${r.method} ${r.url}`, status: none.statusCode, code: none.json<{ code: string }>().code }).toEqual({
        route: `${r.method} ${r.url}`,
        status: 401,
        code: 'HUB_ERR_UNAUTHENTICATED',
      });
      for (const scope of API_SCOPES) {
        const res = await h.app.inject({ method, url, headers: bearer(keys[scope]) });
        const where = `${r.method} ${r.url} with ${scope}`;
        if (scope === r.scope) {
          expect([where, res.statusCode]).not.toEqual([where, 401]);
          expect([where, res.statusCode]).not.toEqual([where, 403]);
        } else {
          expect({ where, status: res.statusCode, body: res.json() }).toMatchObject({ where, status: 403, body: { code: 'HUB_ERR_FORBIDDEN', scope: r.scope } });
        }
      }
    }
    await h.app.security.audit.idle();
  }, 120_000);

  it('X-API-Key works like Authorization: Bearer; unknown, malformed, revoked and expired keys get the same 401', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/api/status', headers: { 'x-api-key': keys.read } })).statusCode).toBe(200);
    const unknown = await h.app.inject({ method: 'GET', url: '/api/status', headers: bearer(`ih_${'f'.repeat(12)}_${'A'.repeat(43)}`) });
    const malformed = await h.app.inject({ method: 'GET', url: '/api/status', headers: bearer('nonsense') });
    const wrongSecret = await h.app.inject({ method: 'GET', url: '/api/status', headers: bearer(`ih_${keyIds.read}_${'B'.repeat(43)}`) });
    await h.app.inject({ method: 'DELETE', url: `/api/keys/${keyIds.read}`, headers: bearer(keys.admin) });
    const revoked = await h.app.inject({ method: 'GET', url: '/api/status', headers: bearer(keys.read) });
    const strip = (r: { statusCode: number; json: () => Record<string, unknown> }) => {
      const body = r.json();
      delete body.request_id;
      return { status: r.statusCode, ...body };
    };
    expect(strip(unknown)).toEqual({ status: 401, code: 'HUB_ERR_UNAUTHENTICATED', error: 'The API key is not valid' });
    for (const r of [malformed, wrongSecret, revoked]) expect(strip(r)).toEqual(strip(unknown));
  });

  it('key lifecycle: create through the API → use → last used → expire → revoke', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: { ...bearer(keys.admin), 'content-type': 'application/json' },
      payload: { name: 'ci', scopes: ['read', 'operate'], expires_at: '2026-03-11T00:00:00Z' },
    });
    expect(created.statusCode).toBe(201);
    const { key, info } = created.json<{ key: string; info: { id: string; last_used_at: null } }>();
    expect(key).toMatch(/^ih_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(info.last_used_at).toBeNull();
    const stored = await h.deps.db.selectFrom('api_key').selectAll().where('id', '=', info.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(key.slice(16));
    const listed = await h.app.inject({ method: 'GET', url: '/api/keys', headers: bearer(keys.admin) });
    expect(listed.body).not.toContain(key);

    expect((await h.app.inject({ method: 'GET', url: '/api/status', headers: bearer(key) })).statusCode).toBe(200);
    await vi.waitFor(async () => {
      const row = await h.deps.db.selectFrom('api_key').select('last_used_at').where('id', '=', info.id).executeTakeFirstOrThrow();
      expect(row.last_used_at?.toISOString()).toBe(new Date(TEST_NOW).toISOString());
    });

    h.clock.set('2026-03-11T00:00:01Z');
    expect((await h.app.inject({ method: 'GET', url: '/api/status', headers: bearer(key) })).statusCode).toBe(401);
    h.clock.set(TEST_NOW);
    expect((await h.app.inject({ method: 'GET', url: '/api/status', headers: bearer(key) })).statusCode).toBe(200);

    const revoked = await h.app.inject({ method: 'DELETE', url: `/api/keys/${info.id}`, headers: bearer(keys.admin) });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ id: info.id, revoked_at: expect.any(String) });
    expect((await h.app.inject({ method: 'GET', url: '/api/status', headers: bearer(key) })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'DELETE', url: '/api/keys/0123456789ab', headers: bearer(keys.admin) })).json()).toMatchObject({ code: 'HUB_ERR_KEY_NOT_FOUND' });
  });

  it('updated_by defaults to the key name; the key id is recorded beside it in the sync log', async () => {
    const pc = h.fake.admin.add({ hostname: 'AUTH-PC1', computerName: 'AUTH-PC1' });
    const post = (payload: object) =>
      h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', headers: { ...bearer(keys.operate), 'content-type': 'application/json' }, payload });
    const first = await post({ computer_id: pc.computerId });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ updated_by: 'operate-key' });
    expect((await post({ computer_id: pc.computerId, updated_by: 'tech1' })).json()).toMatchObject({ updated_by: 'tech1' });
    const log = await h.deps.db.selectFrom('device_sync_log').select(['updated_by', 'api_key_id']).orderBy('id').execute();
    expect(log).toEqual([
      { updated_by: 'operate-key', api_key_id: keyIds.operate },
      { updated_by: 'tech1', api_key_id: keyIds.operate },
    ]);
  });

  it('the exceptions endpoints record the key name when the body names nobody, and the key id on the event', async () => {
    await applyFindings(h.deps.db, h.clock, TEST_TODAY, [missingNinja('pc-a', 'Acme'), missingNinja('pc-b', 'Acme')]);
    const ids = (await h.deps.db.selectFrom('variance').select(['id', 'hostname']).orderBy('hostname').execute()).map((v) => v.id);
    const post = (url: string, payload: object) =>
      h.app.inject({ method: 'POST', url, headers: { ...bearer(keys.operate), 'content-type': 'application/json' }, payload });
    const resolved = await post(`/api/exceptions/${ids[0]}/resolve`, {});
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json()).toMatchObject({ updated_by: 'operate-key' });
    const named = await post(`/api/exceptions/${ids[1]}/mark-manually-fixed`, { updated_by: 'tech1' });
    expect(named.json()).toMatchObject({ updated_by: 'tech1' });
    const events = await h.deps.db.selectFrom('variance_event').select(['variance_id', 'actor', 'api_key_id']).where('kind', '=', 'resolved').orderBy('id').execute();
    expect(events).toEqual([
      { variance_id: ids[0], actor: 'operate-key', api_key_id: keyIds.operate },
      { variance_id: ids[1], actor: 'tech1', api_key_id: keyIds.operate },
    ]);
  });

  it('audit: allowed and denied requests each leave one row, never the key; GET /api/audit pages by cursor', async () => {
    const pc = h.fake.admin.add({ hostname: 'AUDIT-PC', computerName: 'AUDIT-PC' });
    const body = { 'content-type': 'application/json' };
    await h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', headers: { ...bearer(keys.operate), ...body }, payload: { computer_id: pc.computerId } });
    await h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', headers: { ...bearer(keys.read), ...body }, payload: { computer_id: pc.computerId } });
    await h.app.inject({ method: 'GET', url: '/api/status' });
    await h.app.inject({ method: 'GET', url: '/api/status', headers: { ...bearer(keys.read), 'x-request-id': 'req-abc.1' } });
    const rows = await auditRows(3);
    expect(rows.map((r) => ({ key: r.key_name, key_id: r.key_id, route: r.route, target: r.target, outcome: r.outcome, status: r.status_code }))).toEqual([
      { key: 'operate-key', key_id: keyIds.operate, route: '/api/threatlocker/sync-device', target: `device:${pc.computerId}`, outcome: 'ok', status: 200 },
      // Denied before its body is read: no target.
      { key: 'read-key', key_id: keyIds.read, route: '/api/threatlocker/sync-device', target: null, outcome: 'denied', status: 403 },
      { key: 'anonymous', key_id: null, route: '/api/status', target: null, outcome: 'denied', status: 401 },
    ]);
    const text = JSON.stringify(rows);
    for (const k of Object.values(keys)) expect(text).not.toContain(k.slice(16));

    const page1 = await h.app.inject({ method: 'GET', url: '/api/audit?limit=2', headers: bearer(keys.admin) });
    const p1 = page1.json<{ entries: { route: string; status_code: number }[]; next_cursor: string }>();
    expect(p1.entries.map((e) => e.status_code)).toEqual([401, 403]);
    const page2 = await h.app.inject({ method: 'GET', url: `/api/audit?limit=2&cursor=${p1.next_cursor}`, headers: bearer(keys.admin) });
    expect(page2.json()).toMatchObject({ entries: [{ status_code: 200 }], next_cursor: null });
    const byKey = await h.app.inject({ method: 'GET', url: `/api/audit?key=${keyIds.read}`, headers: bearer(keys.admin) });
    expect(byKey.json<{ entries: unknown[] }>().entries).toHaveLength(1);
  });

  it('X-Request-Id: a sane one is kept, otherwise one is made; it is in the header, the error body and the log line', async () => {
    const kept = await h.app.inject({ method: 'GET', url: '/api/status', headers: { 'x-request-id': 'trace-42' } });
    expect(kept.headers['x-request-id']).toBe('trace-42');
    expect(kept.json()).toMatchObject({ request_id: 'trace-42', code: 'HUB_ERR_UNAUTHENTICATED' });
    const made = await h.app.inject({ method: 'GET', url: '/api/status', headers: { 'x-request-id': 'bad id\u0001' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.logLines.some((l) => l.includes('"reqId":"trace-42"'))).toBe(true);
  });

  it('sessions: a key becomes an HttpOnly SameSite=Strict cookie; changes need the own Origin; sign-out ends it server-side', async () => {
    const bad = await h.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: 'nope' } });
    expect(bad.statusCode).toBe(401);
    const signIn = await h.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: { key: keys.operate } });
    expect(signIn.statusCode).toBe(200);
    const setCookie = String(signIn.headers['set-cookie']);
    expect(setCookie).toMatch(/^ih_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Secure'); // plain HTTP here
    const cookie = setCookie.split(';')[0] ?? '';
    expect((await h.app.inject({ method: 'GET', url: '/api/session', headers: { cookie } })).json()).toMatchObject({ authenticated: true, key: { name: 'operate-key' } });

    const mutate = (headers: Record<string, string>) =>
      h.app.inject({ method: 'POST', url: '/api/variances/1/reopen', headers: { cookie, 'content-type': 'application/json', ...headers }, payload: { reopened_by: 'x' } });
    expect((await mutate({})).json()).toMatchObject({ code: 'HUB_ERR_FORBIDDEN', reason: 'origin' });
    expect((await mutate({ origin: 'https://evil.example' })).statusCode).toBe(403);
    expect((await mutate({ origin: 'http://localhost:80' })).json()).toMatchObject({ code: 'HUB_ERR_VARIANCE_NOT_FOUND' });
    expect((await mutate({ referer: 'http://localhost:80/variances' })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: '/api/keys', headers: { cookie } })).json()).toMatchObject({ code: 'HUB_ERR_FORBIDDEN', scope: 'admin' });

    const signOut = await h.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie } });
    expect(signOut.statusCode).toBe(204);
    expect((await h.app.inject({ method: 'GET', url: '/api/status', headers: { cookie } })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/api/session', headers: { cookie } })).json()).toMatchObject({ authenticated: false });
  });

  it('security headers on the dashboard and docs; /api/docs still loads', async () => {
    const docs = await h.app.inject({ method: 'GET', url: '/api/docs' });
    expect([200, 302]).toContain(docs.statusCode);
    expect(docs.headers['content-security-policy']).toContain("default-src 'self'");
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
    const script = await h.app.inject({ method: 'GET', url: '/api/docs/static/swagger-initializer.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-security-policy']).toContain("script-src 'self'");
    const page = await h.app.inject({ method: 'GET', url: '/' });
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(page.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe.each(TEST_DATABASES)('open mode, limits and CORS on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind, { env: { RATE_LIMIT_SYNC_PER_MIN: '2', RATE_LIMIT_PER_MIN: '5', CORS_ORIGINS: 'https://portal.example.com' } });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  it('loopback with no AUTH_MODE is open: no key needed, audit names "open"', async () => {
    expect(h.deps.config.security.authMode).toBe('open');
    const res = await h.app.inject({ method: 'POST', url: '/api/variances/1/reopen', headers: { 'content-type': 'application/json' }, payload: { reopened_by: 'x' } });
    expect(res.statusCode).toBe(404);
    await h.app.security.audit.idle();
    await vi.waitFor(async () => {
      const rows = await h.deps.db.selectFrom('audit_log').selectAll().execute();
      expect(rows.map((r) => [r.key_name, r.target, r.outcome, r.status_code])).toEqual([['open', 'variance:1', 'failed', 404]]);
    });
  });

  it('429 in the hub shape with Retry-After, per client address; recovers after the window', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const sync = () =>
        h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', headers: { 'content-type': 'application/json' }, payload: { hostname: 'none-such' } });
      expect((await sync()).statusCode).toBe(404);
      expect((await sync()).statusCode).toBe(404);
      const limited = await sync();
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ code: 'HUB_ERR_RATE_LIMITED', retry_after_seconds: expect.any(Number), request_id: expect.any(String) });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Other routes have their own, larger budget.
      expect((await h.app.inject({ method: 'GET', url: '/api/status' })).statusCode).toBe(200);
      vi.setSystemTime(Date.now() + 61_000);
      expect((await sync()).statusCode).toBe(404);
    } finally {
      vi.useRealTimers();
    }
  });

  it('CORS answers only the allow-listed origin', async () => {
    const ok = await h.app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'https://portal.example.com' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://portal.example.com');
    const other = await h.app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
