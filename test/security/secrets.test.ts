/**
 * No secret reaches anything the hub shows or keeps. The ThreatLocker API key, the NinjaOne
 * client secret, NinjaOne's access and refresh tokens, API keys and session cookies are known
 * markers (or, where the fake issues them, captured as issued); then every route of the route
 * table is called (with a key, with a session cookie, with a wrong key, with bad bodies), vendor
 * calls fail with the credential echoed back, a bad key is tried, and a session signs in and out.
 * Everything captured — log lines, response bodies and headers (except the sign-in's own
 * Set-Cookie and the one answer that hands out a new key), the audit log, the sync log, the
 * job rows, /api/status and the OpenAPI document — is searched for any 12 characters of any
 * secret, in any letter case. Assertions compare booleans, so a failure never prints a secret.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/auth/keys.js';
import { REDACT_PATHS, createLogger } from '../../src/logger.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, withId, type Harness } from '../helpers/harness.js';

/** 43 base64url characters, as keys' secrets and session tokens are. */
const pad43 = (head: string) => {
  const s = (head + 'Qz7Wv2Lp9Xk4Rt8Yb1Nm6Hc3Jd5Fg0SaEeUuIiOoPp').slice(0, 43);
  if (!/^[A-Za-z0-9_-]{43}$/.test(s)) throw new Error('bad marker');
  return s;
};

const MARKER = {
  threatlockerKey: 'tlkeyMARKER-7q3x9Zk2Lp0wVb4N8c1Rt6Yh',
  ninjaClientSecret: 'njsecretMARKER-5r8tYh1Cq6Wm3Dz0Kx7Lp',
  /** An API key with every scope, stored by hash as `keys create` would. */
  apiKeyId: '5ec7e7000001',
  apiKeySecret: pad43('apikeyMARKER'),
  /** A session token, stored by hash as sign-in would. */
  session: pad43('sessionMARKER'),
  /** A well-formed key for the known id with the wrong secret. */
  wrongSecret: pad43('wrongkeyMARKER'),
};
const API_KEY = `ih_${MARKER.apiKeyId}_${MARKER.apiKeySecret}`;
const WRONG_KEY = `ih_${MARKER.apiKeyId}_${MARKER.wrongSecret}`;

/** True when any 12 consecutive characters of `secret` appear in `text`, in any letter case. */
function leaksPart(text: string, secret: string): boolean {
  const haystack = text.toLowerCase();
  for (let i = 0; i + 12 <= secret.length; i++) if (haystack.includes(secret.slice(i, i + 12).toLowerCase())) return true;
  return false;
}

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

describe.each(TEST_DATABASES)('no secret leaks on %s', (kind) => {
  let h: Harness;
  /** Every text captured from the hub: answers, headers. */
  const captured: string[] = [];
  /** Secrets learnt while the test runs (issued tokens, a created key, a signed-in cookie). */
  const secrets = new Map<string, string>();
  const learnVendorTokens = async () => {
    for (const row of await h.deps.db.selectFrom('vendor_token').select(['refresh_token', 'access_token']).execute()) {
      secrets.set(`ninja refresh token …${row.refresh_token.slice(-4)}`, row.refresh_token);
      if (row.access_token) secrets.set(`ninja access token …${row.access_token.slice(-4)}`, row.access_token);
    }
  };

  beforeAll(async () => {
    h = await createHarness(kind, {
      env: { AUTH_MODE: 'required' },
      fake: { apiKey: MARKER.threatlockerKey, fleetSize: 40 },
      ninja: { clientSecret: MARKER.ninjaClientSecret, fleetSize: 40, refreshToken: true },
      productionLogger: true,
    });
    secrets.set('ThreatLocker API key', MARKER.threatlockerKey);
    secrets.set('NinjaOne client secret', MARKER.ninjaClientSecret);
    secrets.set('API key', MARKER.apiKeySecret);
    secrets.set('wrong API key', MARKER.wrongSecret);
    secrets.set('session cookie', MARKER.session);
    if (h.ninjaRefreshToken === undefined) throw new Error('no refresh token configured');
    secrets.set('configured ninja refresh token', h.ninjaRefreshToken);
    const now = h.clock.now();
    await h.deps.db
      .insertInto('api_key')
      .values({ id: MARKER.apiKeyId, name: 'marker', scopes: ['read', 'operate', 'admin'], hash: sha256Hex(API_KEY), created_at: now, expires_at: null })
      .execute();
    await h.deps.db
      .insertInto('api_session')
      .values({ hash: sha256Hex(MARKER.session), key_id: MARKER.apiKeyId, created_at: now, expires_at: new Date(now.getTime() + 3_600_000) })
      .execute();
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
    await h?.close();
  });

  const bearer = { authorization: `Bearer ${API_KEY}` };
  const cookie = { cookie: `ih_session=${MARKER.session}`, origin: 'http://localhost:80' };

  /** One request; its answer (body and headers) is captured unless told otherwise. */
  async function call(method: Method, url: string, headers: Record<string, string>, payload?: unknown, keep: { body?: boolean; setCookie?: boolean } = {}) {
    const res = await h.app.inject({
      method,
      url,
      headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
    });
    const shownHeaders = { ...res.headers };
    if (keep.setCookie === false) delete shownHeaders['set-cookie'];
    captured.push(JSON.stringify(shownHeaders));
    if (keep.body !== false) captured.push(res.body);
    return res;
  }

  it('the redaction the process logger relies on is in place, and this test sees a leak when there is one', () => {
    // No log call passes these fields today; redaction is the net for the one that will. Drop
    // `headers.authorization` from REDACT_PATHS and a line logged as `{ headers: { authorization } }`
    // (below) carries the key; drop `*.client_secret` / `*.refresh_token` and an OAuth form does.
    for (const path of ['apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'client_secret', '*.client_secret', 'refresh_token', '*.refresh_token', 'access_token', '*.access_token']) {
      expect(REDACT_PATHS).toContain(path);
    }
    const lines: string[] = [];
    const sink = { write: (l: string) => void lines.push(l) };
    const leaky = { headers: { authorization: `Bearer ${API_KEY}` }, form: { client_secret: MARKER.ninjaClientSecret, refresh_token: MARKER.session }, apiKey: MARKER.threatlockerKey };
    createLogger('debug', sink, 'json').info(leaky, 'outbound request');
    const redacted = lines.join('\n');
    expect(redacted).toContain('[redacted]');
    for (const s of [MARKER.apiKeySecret, MARKER.ninjaClientSecret, MARKER.session, MARKER.threatlockerKey]) expect(leaksPart(redacted, s)).toBe(false);
    // Without redaction (a bare pino, as the other tests use) every one of them shows: the search works.
    lines.length = 0;
    pino({ level: 'debug' }, sink).info(leaky, 'outbound request');
    for (const s of [MARKER.apiKeySecret, MARKER.ninjaClientSecret, MARKER.session, MARKER.threatlockerKey]) expect(leaksPart(lines.join('\n'), s)).toBe(true);
  });

  it('every route, failing vendors, a bad key, sign-in and sign-out: no secret in anything captured', async () => {
    // Data first: both collectors (the NinjaOne one exchanges the configured refresh token), and a check.
    const run = await call('POST', '/api/collectors/run', bearer, { collectors: ['threatlocker', 'ninja'], force: true, run_cross_vendor: true });
    expect(run.statusCode).toBe(202);
    await h.deps.runs.idle();
    await learnVendorTokens();
    expect([...secrets.keys()].some((k) => k.startsWith('ninja access token'))).toBe(true);

    const pc = withId(h.fake.admin.list()[0]!);
    const variance = await h.deps.db.selectFrom('variance').select('id').orderBy('id').executeTakeFirst();
    const varianceId = String(variance?.id ?? 1);
    const job = await h.deps.db.selectFrom('job_runs').select(['job_id', 'batch_id']).executeTakeFirst();
    const params: Record<string, string> = {
      id: varianceId,
      vendor: 'threatlocker',
      key: pc.computerId,
      date: '2026-03-10',
    };
    const concrete = (url: string) =>
      url.replace(/:(\w+)/g, (_, name: string) => {
        if (url.startsWith('/api/keys/')) return '0123456789ab';
        if (url.startsWith('/api/collectors/runs/batch/')) return String(job?.batch_id ?? '1');
        if (url.startsWith('/api/collectors/runs/job/')) return String(job?.job_id ?? '1');
        return params[name] ?? '1';
      });
    const bodies: Record<string, unknown> = {
      'POST /api/threatlocker/sync-device': { computer_id: pc.computerId, updated_by: 'tech1' },
      'POST /api/threatlocker/update-name': { computer_id: pc.computerId, new_name: `${pc.hostname} | renamed` },
      'POST /api/collectors/run': { collectors: ['threatlocker'], force: true },
      'POST /api/variances/run': { date: '2026-03-10' },
      'POST /api/variances/bulk': { ids: [Number(varianceId)], action: 'resolve', resolved_by: 'tech1' },
      'POST /api/variances/:id/accept': { reason: 'known', until: '2026-04-01', accepted_by: 'tech1' },
      'POST /api/variances/:id/resolve': { resolved_by: 'tech1', note: 'done' },
      'POST /api/variances/:id/reopen': { reopened_by: 'tech1' },
      'PUT /api/organizations/links': { threatlocker_organization: 'Acme', ninja_organization: 'ACME', kind: 'link' },
      'POST /api/exceptions/:id/resolve': { resolved_by: 'tech1', notes: 'n' },
      'POST /api/exceptions/:id/mark-manually-fixed': { updated_by: 'tech1', notes: 'n' },
      'POST /api/exceptions/mark-fixed-by-hostname': { hostname: pc.hostname ?? 'PC-1', updated_by: 'tech1' },
      'POST /api/exceptions/bulk-update': { exception_ids: [Number(varianceId)], action: 'resolve', updated_by: 'tech1' },
      'POST /api/keys': { name: 'ci', scopes: ['read'] },
      'POST /api/session': { key: WRONG_KEY },
    };
    const queries: Record<string, string> = {
      'DELETE /api/organizations/links': '?threatlocker_organization=Acme&ninja_organization=ACME',
      'GET /api/variances/trends': '?start_date=2026-03-01&end_date=2026-03-10',
      'GET /api/devices/search': `?q=${encodeURIComponent(pc.hostname ?? 'PC')}`,
      'GET /api/audit': '?limit=500',
    };
    const table = h.app.security.routes.filter((r) => !r.url.includes('*') && r.method !== 'HEAD');
    expect(table.length).toBeGreaterThan(40);
    for (const r of table) {
      const method = r.method as Method;
      const url = concrete(r.url) + (queries[`${r.method} ${r.url}`] ?? '');
      // Sign-out comes last, on its own.
      if (r.method === 'DELETE' && r.url === '/api/session') continue;
      const body = method === 'GET' || method === 'DELETE' ? undefined : (bodies[`${r.method} ${r.url}`] ?? {});
      const createsKey = r.method === 'POST' && r.url === '/api/keys';
      const good = await call(method, url, bearer, body, { body: !createsKey });
      const viaCookie = await call(method, url, cookie, body, { body: !createsKey });
      if (createsKey) {
        // The one answer that shows a key: kept out of the search, its key searched for everywhere else.
        expect([good.statusCode, viaCookie.statusCode]).toEqual([201, 201]);
        secrets.set('API key created with a key', good.json<{ key: string }>().key.slice(16));
        secrets.set('API key created in a session', viaCookie.json<{ key: string }>().key.slice(16));
      }
      await call(method, url, { authorization: `Bearer ${WRONG_KEY}` }, body);
      await call(method, url, { 'x-api-key': WRONG_KEY }, body);
      await call(method, url, { cookie: `ih_session=${pad43('expiredORunknownMARKER')}` }, body);
      if (body !== undefined) {
        // Bad bodies: not JSON, wrong types, a secret where text is expected.
        await call(method, url, bearer, '{"computer_id":');
        await call(method, url, bearer, { computer_id: 42, new_name: null, key: 7, ids: 'x', collectors: [MARKER.wrongSecret], name: WRONG_KEY.repeat(5) });
      }
    }
    await h.deps.runs.idle();

    // Vendor calls that fail with the credential echoed back, and a NinjaOne token refresh.
    h.fake.admin.injectFault({ kind: 'echo-credential', status: 500, prefix: 180, times: null });
    await call('POST', '/api/threatlocker/sync-device', bearer, { computer_id: pc.computerId });
    await call('POST', '/api/threatlocker/update-name', bearer, { computer_id: pc.computerId, new_name: 'X | y' });
    h.fake.admin.clearFaults();
    h.fake.admin.injectFault({ kind: 'echo-credential', status: 401, prefix: 10, times: null });
    await call('POST', '/api/threatlocker/sync-device', bearer, { computer_id: pc.computerId });
    h.fake.admin.clearFaults();
    h.ninja?.admin.expireAllTokens();
    h.ninja?.admin.injectFault({ kind: 'echo-credential', status: 500, operation: 'devices-detailed', times: null });
    await call('POST', '/api/collectors/run', bearer, { collectors: ['ninja'], force: true });
    await h.deps.runs.idle();
    h.ninja?.admin.clearFaults();
    h.ninja?.admin.injectFault({ kind: 'echo-credential', status: 500, times: null });
    await call('POST', '/api/collectors/run', bearer, { collectors: ['ninja'], force: true });
    await h.deps.runs.idle();
    h.ninja?.admin.clearFaults();
    await learnVendorTokens();
    await call('GET', '/api/collectors/history', bearer);

    // Sign-in with the key (its Set-Cookie is the one place a session token is shown), use, sign-out.
    const signIn = await call('POST', '/api/session', { origin: 'http://localhost:80' }, { key: API_KEY }, { setCookie: false });
    expect(signIn.statusCode).toBe(200);
    const token = /ih_session=([^;]+)/.exec(String(signIn.headers['set-cookie']))?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    secrets.set('signed-in session cookie', token!);
    const session = { cookie: `ih_session=${token!}`, origin: 'http://localhost:80' };
    expect((await call('GET', '/api/session', session)).json()).toMatchObject({ authenticated: true });
    expect((await call('POST', '/api/threatlocker/sync-device', session, { computer_id: pc.computerId })).statusCode).toBe(200);
    expect((await call('DELETE', '/api/session', session)).statusCode).toBe(204);
    expect((await call('GET', '/api/status', session)).statusCode).toBe(401);
    expect((await call('DELETE', '/api/session', cookie)).statusCode).toBe(204);

    // What the hub shows and keeps.
    await h.app.security.audit.idle();
    const status = await call('GET', '/api/status', bearer);
    expect(status.statusCode).toBe(200);
    const openapi = await call('GET', '/api/openapi.json', {});
    expect(openapi.statusCode).toBe(200);
    const audit = await h.deps.db.selectFrom('audit_log').selectAll().execute();
    const syncLog = await h.deps.db.selectFrom('device_sync_log').selectAll().execute();
    const jobs = await h.deps.db.selectFrom('job_runs').selectAll().execute();
    const batches = await h.deps.db.selectFrom('job_batches').selectAll().execute();
    expect(audit.length).toBeGreaterThan(100);
    expect(syncLog.length).toBeGreaterThan(3);
    // The failures above were recorded, masked.
    expect(JSON.stringify(syncLog)).toContain('[redacted]');
    const everything = {
      answers: captured.join('\n'),
      logs: h.logLines.join('\n'),
      audit: JSON.stringify(audit),
      syncLog: JSON.stringify(syncLog),
      jobs: JSON.stringify({ jobs, batches }),
      status: status.body,
      openapi: openapi.body,
    };
    expect(h.logLines.length).toBeGreaterThan(100);
    expect(secrets.size).toBeGreaterThanOrEqual(12);
    const leaks: string[] = [];
    for (const [what, secret] of secrets) for (const [where, text] of Object.entries(everything)) if (leaksPart(text, secret)) leaks.push(`${what} in ${where}`);
    expect(leaks).toEqual([]);
  }, 240_000);
});
