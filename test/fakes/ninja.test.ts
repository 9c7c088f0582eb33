/**
 * The fake NinjaOne over real HTTP: OAuth grants and rotation, bearer checks, keyset paging,
 * the device filter, faults, the admin API, and the generated data's quirks.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { buildCatalogue } from '../../src/fakes/catalogue.js';
import {
  generateNinjaFleet,
  startFakeNinja,
  type FakeNinja,
  type FakeNinjaDevice,
  type FakeNinjaLocation,
  type FakeNinjaOrganization,
} from '../../src/fakes/ninja/index.js';
import { generateThreatLockerFleet } from '../../src/fakes/threatlocker/index.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => any;
}

let fake: FakeNinja;
let bearer: string;

async function call(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  options: { form?: Record<string, string>; body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null; target?: FakeNinja } = {},
): Promise<Answer> {
  const target = options.target ?? fake;
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined || options.raw !== undefined) {
    headers['content-type'] = 'application/json';
    payload = options.raw ?? JSON.stringify(options.body);
  }
  const token = options.token === undefined ? (target === fake ? bearer : undefined) : options.token;
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await request(`${target.url}${path}`, { method, headers: { ...headers, ...options.headers }, body: payload });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

const credentials = (target: FakeNinja = fake) => ({ client_id: target.clientId, client_secret: target.clientSecret });
const grant = (form: Record<string, string>, target: FakeNinja = fake, path = '/ws/oauth/token') => call('POST', path, { form, target, token: null });

async function accessToken(target: FakeNinja = fake, scope = 'monitoring'): Promise<string> {
  const answer = await grant({ grant_type: 'client_credentials', ...credentials(target), scope }, target);
  expect(answer.status).toBe(200);
  return answer.json().access_token as string;
}

const get = (path: string) => call('GET', path);
const ids = (rows: { id: number }[]) => rows.map((r) => r.id);

function expectApiError(answer: Answer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.json()).toEqual({ resultCode: 'FAILURE', errorMessage: expect.any(String), incidentId: expect.any(String) });
}

/** Starts a fake with explicit devices and a token for it. */
async function withFake<T>(options: Parameters<typeof startFakeNinja>[0], run: (target: FakeNinja, token: string) => Promise<T>): Promise<T> {
  const target = await startFakeNinja(options);
  try {
    return await run(target, await accessToken(target));
  } finally {
    await target.close();
  }
}
const authed = (target: FakeNinja, token: string, path: string) => call('GET', path, { target, token });

beforeAll(async () => {
  fake = await startFakeNinja({ seed: 1 });
  bearer = await accessToken();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.admin.reset();
});

describe('OAuth token endpoint', () => {
  it('grants client_credentials at both token paths, with the NinjaOne response shape', async () => {
    for (const path of ['/ws/oauth/token', '/oauth/token']) {
      const answer = await grant({ grant_type: 'client_credentials', ...credentials(), scope: 'monitoring' }, fake, path);
      expect(answer.status).toBe(200);
      expect(answer.json()).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'monitoring' });
      expect(answer.headers['cache-control']).toBe('no-store');
    }
    expect(fake.admin.tokenRequestCount()).toBe(2);
  });

  it('grants the intersection of the requested scopes with the allowed ones', async () => {
    const answer = await grant({ grant_type: 'client_credentials', ...credentials(), scope: 'monitoring management superuser' });
    expect(answer.json().scope).toBe('monitoring management');
    const none = await grant({ grant_type: 'client_credentials', ...credentials(), scope: 'superuser' });
    expect([none.status, none.json().error]).toEqual([400, 'invalid_scope']);
  });

  it('rejects a bad client with 401 invalid_client, and never echoes the secret', async () => {
    for (const form of [
      { ...credentials(), client_secret: 'wrong-secret' },
      { ...credentials(), client_id: 'someone-else' },
      { client_id: fake.clientId },
    ]) {
      const answer = await grant({ grant_type: 'client_credentials', ...form });
      expect(answer.status).toBe(401);
      expect(answer.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
      expect(answer.text).not.toContain(fake.clientSecret);
    }
  });

  it('accepts client credentials in an HTTP Basic header', async () => {
    const basic = Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64');
    const answer = await call('POST', '/ws/oauth/token', { form: { grant_type: 'client_credentials' }, headers: { authorization: `Basic ${basic}` }, token: null });
    expect([answer.status, answer.json().scope]).toEqual([200, 'monitoring']);
  });

  it('is form-encoded and POST only, and names unsupported grants', async () => {
    const json = await call('POST', '/ws/oauth/token', { body: { grant_type: 'client_credentials', ...credentials() }, token: null });
    expect([json.status, json.json().error]).toEqual([400, 'invalid_request']);
    const getToken = await call('GET', '/ws/oauth/token', { token: null });
    expect([getToken.status, getToken.headers.allow]).toEqual([405, 'POST']);
    const password = await grant({ grant_type: 'password', ...credentials() });
    expect([password.status, password.json().error]).toEqual([400, 'unsupported_grant_type']);
    const missing = await grant({ ...credentials() });
    expect([missing.status, missing.json().error]).toEqual([400, 'invalid_request']);
  });

  it('issues a refresh token on client_credentials only with offline_access and the refreshTokens option', async () => {
    const withOffline = await grant({ grant_type: 'client_credentials', ...credentials(), scope: 'monitoring offline_access' });
    expect(withOffline.json()).not.toHaveProperty('refresh_token');
    await withFake({ devices: [], refreshTokens: true }, async (target) => {
      const plain = await grant({ grant_type: 'client_credentials', ...credentials(target), scope: 'monitoring' }, target);
      expect(plain.json()).not.toHaveProperty('refresh_token');
      const offline = await grant({ grant_type: 'client_credentials', ...credentials(target), scope: 'monitoring offline_access' }, target);
      expect(offline.json()).toMatchObject({ scope: 'monitoring offline_access', refresh_token: expect.any(String) });
    });
  });

  it('rotates refresh tokens: each grant returns a new one and the old one is spent', async () => {
    const first = fake.admin.issueRefreshToken();
    const refreshed = await grant({ grant_type: 'refresh_token', refresh_token: first, ...credentials() });
    expect(refreshed.status).toBe(200);
    const body = refreshed.json();
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'monitoring offline_access', refresh_token: expect.any(String) });
    expect(body.refresh_token).not.toBe(first);

    const reused = await grant({ grant_type: 'refresh_token', refresh_token: first, ...credentials() });
    expect([reused.status, reused.json().error]).toEqual([400, 'invalid_grant']);
    const next = await grant({ grant_type: 'refresh_token', refresh_token: body.refresh_token, ...credentials() });
    expect(next.status).toBe(200);
    expect((await call('GET', '/v2/organizations', { token: next.json().access_token })).status).toBe(200);
    // A refresh grant still authenticates the client.
    const stolen = await grant({ grant_type: 'refresh_token', refresh_token: next.json().refresh_token, client_id: fake.clientId, client_secret: 'x' });
    expect(stolen.status).toBe(401);
  });

  it('loses a reply after the grant took effect: the token is rotated, the connection reset, a re-presentation counted', async () => {
    const first = fake.admin.issueRefreshToken();
    const spentBefore = fake.admin.spentRefreshTokenPresentations(); // earlier tests presented spent tokens too
    const spentSince = () => fake.admin.spentRefreshTokenPresentations() - spentBefore;
    fake.admin.loseReplies('token');
    await expect(grant({ grant_type: 'refresh_token', refresh_token: first, ...credentials() })).rejects.toThrow();
    expect([fake.admin.isLiveRefreshToken(first), spentSince()]).toEqual([false, 0]);
    expect(fake.admin.requests().map((r) => [r.operation, r.status])).toEqual([['token', null]]);
    const again = await grant({ grant_type: 'refresh_token', refresh_token: first, ...credentials() });
    expect([again.status, again.json().error, spentSince()]).toEqual([400, 'invalid_grant', 1]);
    // An unknown token is refused too, but was never spent.
    await grant({ grant_type: 'refresh_token', refresh_token: 'never-issued', ...credentials() });
    expect(spentSince()).toBe(1);

    // Over the admin API, for any operation; it applies once per count.
    expect((await call('POST', '/__admin/lost-replies', { body: { operation: 'organizations', count: 1 } })).status).toBe(204);
    expectApiError(await call('POST', '/__admin/lost-replies', { body: { operation: 'organizations', count: 0 } }), 400);
    await expect(get('/v2/organizations')).rejects.toThrow();
    expect((await get('/v2/organizations')).status).toBe(200);
  });

  it('logs token requests with the secret and the refresh token redacted', async () => {
    const refresh = fake.admin.issueRefreshToken();
    await grant({ grant_type: 'refresh_token', refresh_token: refresh, ...credentials() });
    await get('/v2/organizations');
    const [tokenCall, apiCall] = fake.admin.requests();
    expect(tokenCall).toMatchObject({
      method: 'POST',
      path: '/ws/oauth/token',
      operation: 'token',
      status: 200,
      body: { grant_type: 'refresh_token', refresh_token: '[redacted]', client_id: fake.clientId, client_secret: '[redacted]' },
    });
    expect(apiCall?.headers.authorization).toBe('[redacted]');
    const logged = JSON.stringify(fake.admin.requests());
    for (const secret of [fake.clientSecret, refresh, bearer]) expect(logged).not.toContain(secret);
    expect([fake.admin.tokenRequestCount(), fake.admin.requestCount('organizations'), fake.admin.requestCount()]).toEqual([1, 1, 2]);
  });
});

describe('bearer checks', () => {
  it('answers 401 JSON for a missing, unknown or expired token', async () => {
    const missing = await call('GET', '/v2/devices', { token: null });
    expectApiError(missing, 401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expectApiError(await call('GET', '/v2/devices', { token: 'not-a-token' }), 401);
    expectApiError(await call('GET', '/v2/devices', { token: null, headers: { authorization: 'Basic abc' } }), 401);

    const token = await accessToken();
    expect((await call('GET', '/v2/organizations', { token })).status).toBe(200);
    fake.admin.expireAllTokens();
    expectApiError(await call('GET', '/v2/organizations', { token }), 401);
    bearer = await accessToken(); // the shared token expired too
  });

  it('expires tokens after tokenTtlSeconds on its clock', async () => {
    let now = Date.parse('2026-03-10T12:00:00Z');
    await withFake({ devices: [], tokenTtlSeconds: 60, now: () => now }, async (target, token) => {
      now += 59_999;
      expect((await authed(target, token, '/v2/organizations')).status).toBe(200);
      const later = await grant({ grant_type: 'client_credentials', ...credentials(target) }, target);
      expect(later.json().expires_in).toBe(60);
      now += 1;
      expectApiError(await authed(target, token, '/v2/organizations'), 401);
      expect((await authed(target, later.json().access_token as string, '/v2/organizations')).status).toBe(200); // issued later
    });
  });

  it('answers 403 for a token without the monitoring scope', async () => {
    const token = await accessToken(fake, 'management control');
    expectApiError(await call('GET', '/v2/devices-detailed', { token }), 403);
  });
});

describe('devices', () => {
  const visible = (): FakeNinjaDevice[] => fake.admin.list();

  it('serves /v2/... and /api/v2/... identically, as a bare array sorted by id', async () => {
    const v2 = (await get('/v2/devices-detailed?pageSize=50')).json() as FakeNinjaDevice[];
    const api = (await get('/api/v2/devices-detailed?pageSize=50')).json() as FakeNinjaDevice[];
    expect(api).toEqual(v2);
    expect(v2).toHaveLength(50);
    expect(ids(v2)).toEqual([...ids(v2)].sort((a, b) => a - b));
    expect(ids(v2)).toEqual(ids(visible().slice(0, 50)));
  });

  it('sends the basic record on /v2/devices and the detailed one on /v2/devices-detailed, never invented keys', async () => {
    const basic = (await get('/v2/devices?pageSize=20')).json() as Record<string, unknown>[];
    const detailed = (await get('/v2/devices-detailed?pageSize=20')).json() as Record<string, unknown>[];
    for (const row of basic) {
      expect(row).toHaveProperty('offline');
      for (const key of ['os', 'system', 'publicIP', 'ipAddresses', 'lastLoggedInUser']) expect(row).not.toHaveProperty(key);
    }
    expect(detailed.some((r) => typeof r.publicIP === 'string' && typeof r.os === 'object')).toBe(true);
    for (const row of [...basic, ...detailed]) {
      for (const invented of ['status', 'publicIp', 'user', 'domain', 'network', 'locationName', 'agentInstallTimestamp']) expect(row).not.toHaveProperty(invented);
    }
  });

  it('pages by `after`: every device exactly once, in id order', async () => {
    const seen: number[] = [];
    let after: number | undefined;
    for (;;) {
      const rows = (await get(`/v2/devices-detailed?pageSize=100${after === undefined ? '' : `&after=${after}`}`)).json() as FakeNinjaDevice[];
      seen.push(...ids(rows));
      if (rows.length < 100) break;
      after = rows[rows.length - 1]?.id;
    }
    expect(seen).toEqual(ids(visible()));
    expect(fake.admin.requestCount('devices-detailed')).toBe(Math.floor(visible().length / 100) + 1);
  });

  it('starts after any id, even one that does not exist', async () => {
    const all = ids(visible());
    const gap = all.findIndex((id, i) => i > 0 && id - (all[i - 1] as number) > 1);
    const missing = (all[gap] as number) - 1;
    expect(all).not.toContain(missing);
    expect(ids((await get(`/v2/devices?pageSize=3&after=${missing}`)).json())).toEqual(all.slice(gap, gap + 3));
    expect((await get(`/v2/devices?after=${all[all.length - 1]}`)).json()).toEqual([]);
  });

  it('ends with an empty page when the fleet is an exact multiple of the page size', async () => {
    await withFake({ devices: Array.from({ length: 6 }, () => ({})) }, async (target, token) => {
      const first = (await authed(target, token, '/v2/devices-detailed?pageSize=3')).json() as FakeNinjaDevice[];
      const second = (await authed(target, token, `/v2/devices-detailed?pageSize=3&after=${first[2]?.id}`)).json() as FakeNinjaDevice[];
      const third = await authed(target, token, `/v2/devices-detailed?pageSize=3&after=${second[2]?.id}`);
      expect([first.length, second.length]).toEqual([3, 3]);
      expect([third.status, third.json()]).toEqual([200, []]);
    });
  });

  it('answers [] for an empty tenant', async () => {
    await withFake({ devices: [] }, async (target, token) => {
      for (const path of ['/v2/devices', '/v2/devices-detailed?pageSize=1000', '/api/v2/devices-detailed']) {
        const answer = await authed(target, token, path);
        expect([answer.status, answer.json()]).toEqual([200, []]);
      }
      expect((await authed(target, token, '/v2/organizations')).json().length).toBeGreaterThan(0);
    });
  });

  it('ignores unknown parameters such as limit, organizationId and page', async () => {
    const answer = (await get('/v2/devices?pageSize=5&limit=250&organizationId=2&page=3')).json() as FakeNinjaDevice[];
    expect(ids(answer)).toEqual(ids(visible().slice(0, 5)));
  });

  it('returns everything without pageSize by default, or unpagedLimit rows', async () => {
    expect((await get('/v2/devices')).json()).toHaveLength(visible().length);
    await withFake({ fleetSize: 200, unpagedLimit: 50 }, async (target, token) => {
      expect((await authed(target, token, '/v2/devices-detailed')).json()).toHaveLength(50);
      expect((await authed(target, token, '/v2/devices-detailed?pageSize=80')).json()).toHaveLength(80);
    });
  });

  it('rejects a pageSize or after that is not a number with 400', async () => {
    expectApiError(await get('/v2/devices?pageSize=ten'), 400);
    expectApiError(await get('/v2/devices?pageSize=0'), 400);
    expectApiError(await get('/v2/devices?after=-1'), 400);
  });

  it.each([
    ['org eq 2', (d: FakeNinjaDevice) => d.organizationId === 2],
    ['org=2', (d: FakeNinjaDevice) => d.organizationId === 2],
    ['org != 2', (d: FakeNinjaDevice) => d.organizationId !== 2],
    ['loc in (3,4)', (d: FakeNinjaDevice) => d.locationId === 3 || d.locationId === 4],
    ['class eq WINDOWS_SERVER', (d: FakeNinjaDevice) => d.nodeClass === 'WINDOWS_SERVER'],
    ['class in (VMWARE_VM_GUEST,HYPERV_VMM_GUEST)', (d: FakeNinjaDevice) => d.nodeClass.endsWith('_GUEST')],
    ['class notin (WINDOWS_WORKSTATION)', (d: FakeNinjaDevice) => d.nodeClass !== 'WINDOWS_WORKSTATION'],
    ['status eq PENDING', (d: FakeNinjaDevice) => d.approvalStatus === 'PENDING'],
    ['status=APPROVED AND offline', (d: FakeNinjaDevice) => d.approvalStatus === 'APPROVED' && d.offline],
    ['class eq WINDOWS_WORKSTATION AND online', (d: FakeNinjaDevice) => d.nodeClass === 'WINDOWS_WORKSTATION' && !d.offline],
    ['created after 2025-01-01', (d: FakeNinjaDevice) => d.created >= Date.parse('2025-01-01T00:00:00Z') / 1000],
  ])('filters with df=%s', async (df, keep) => {
    const expected = ids(visible().filter(keep));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(visible().length);
    const answer = await get(`/v2/devices-detailed?df=${encodeURIComponent(df)}`);
    expect(ids(answer.json())).toEqual(expected);
  });

  it('pages a filtered list with after and filters by id', async () => {
    const expected = ids(visible().filter((d) => d.organizationId === 3));
    const first = ids((await get(`/v2/devices?df=${encodeURIComponent('org eq 3')}&pageSize=4`)).json());
    const second = ids((await get(`/v2/devices?df=${encodeURIComponent('org eq 3')}&pageSize=4&after=${first[3]}`)).json());
    expect([...first, ...second]).toEqual(expected.slice(0, 8));
    const some = expected.slice(0, 3);
    expect(ids((await get(`/v2/devices?df=${encodeURIComponent(`id in (${some.join(',')})`)}`)).json())).toEqual(some);
  });

  it.each(['org eq two', 'org in 1,2', 'class eq DESKTOP', 'status eq ONLINE', 'colour eq blue', 'org', 'org eq 1 OR org eq 2', 'created eq 2025-01-01', 'org before 2025-01-01', 'group 5'])(
    'answers 400 FAILURE for the unparsable filter %s',
    async (df) => {
      expectApiError(await get(`/v2/devices?df=${encodeURIComponent(df)}`), 400);
    },
  );

  it('serves one device in the detailed shape, 404 when missing and 400 for a bad id', async () => {
    const target = visible()[7] as FakeNinjaDevice;
    const answer = await get(`/v2/device/${target.id}`);
    expect(answer.json()).toEqual(JSON.parse(JSON.stringify(fake.admin.get(target.id))));
    expect((await get(`/api/v2/device/${target.id}`)).json().id).toBe(target.id);
    expectApiError(await get('/v2/device/999999999'), 404);
    expectApiError(await get('/v2/device/abc'), 400);
  });

  it("lists one organization's devices, 404 for an unknown organization", async () => {
    const rows = (await get('/v2/organization/4/devices?pageSize=1000')).json() as FakeNinjaDevice[];
    expect(ids(rows)).toEqual(ids(visible().filter((d) => d.organizationId === 4)));
    expect(rows[0]).not.toHaveProperty('system');
    const paged = (await get(`/v2/organization/4/devices?pageSize=2&after=${rows[1]?.id}`)).json();
    expect(ids(paged)).toEqual(ids(rows.slice(2, 4)));
    expectApiError(await get('/v2/organization/9999/devices'), 404);
  });

  it('serves custom fields as a flat object of strings, {} for devices without any', async () => {
    const windows = visible().find((d) => d.nodeClass === 'WINDOWS_WORKSTATION' && d.id % 17 !== 0 && d.id % 23 !== 0) as FakeNinjaDevice;
    expect((await get(`/v2/device/${windows.id}/custom-fields`)).json()).toEqual({ tpmversion: '2.0, 0, 1.38', secureboot: 'true', tpmenabled: 'true' });
    const nms = visible().find((d) => d.deviceType === 'NMS') as FakeNinjaDevice;
    expect((await get(`/api/v2/device/${nms.id}/custom-fields`)).json()).toEqual({});
    expect(fake.admin.setCustomFields(nms.id, { assettag: 'A-1' })).toBe(true);
    expect((await get(`/v2/device/${nms.id}/custom-fields`)).json()).toEqual({ assettag: 'A-1' });
    expectApiError(await get('/v2/device/999999999/custom-fields'), 404);
  });

  it('answers 404 for unknown paths and 405 for other verbs', async () => {
    expectApiError(await get('/v2/computers'), 404);
    expectApiError(await get('/v3/devices'), 404);
    const post = await call('POST', '/v2/devices', { body: {} });
    expectApiError(post, 405);
    expect(post.headers.allow).toBe('GET');
  });
});

describe('device search', () => {
  it('finds devices by a case-insensitive substring of their names, as {query, devices} with the key that matched', async () => {
    const [a, b, c] = fake.admin.list();
    fake.admin.update(a!.id, { systemName: 'ZZ-FIND-01', dnsName: 'zz-find-01.corp.local' });
    fake.admin.update(b!.id, { systemName: 'OTHER', dnsName: 'zz-find-011.corp.local' });
    fake.admin.update(c!.id, { displayName: 'Front desk zz-find-01' });
    const answer = await get('/v2/devices/search?q=zz-find-01');
    expect(answer.status).toBe(200);
    const body = answer.json();
    expect(body.query).toBe('zz-find-01');
    expect(body.devices.map((d: { id: number; matchAttr: string }) => [d.id, d.matchAttr])).toEqual([
      [a!.id, 'systemName'],
      [b!.id, 'dnsName'],
      [c!.id, 'displayName'],
    ]);
    expect(body.devices[0]).not.toHaveProperty('os'); // the basic shape
    expect((await call('GET', '/api/v2/devices/search?q=ZZ-FIND&limit=2')).json().devices).toHaveLength(2);
    expectApiError(await get('/v2/devices/search'), 400);
    expectApiError(await get('/v2/devices/search?q=x&limit=0'), 400);
    expect(fake.admin.requestCount('devices-search')).toBe(4);
  });
});

describe('organizations and locations', () => {
  it('lists organizations and pages them by after', async () => {
    const orgs = (await get('/v2/organizations')).json() as FakeNinjaOrganization[];
    expect(orgs).toEqual(fake.admin.organizations());
    expect(orgs[0]).toEqual({ id: 1, name: 'Summit Managed Services', description: 'Internal IT', nodeApprovalMode: 'AUTOMATIC', tags: [], fields: {}, userData: {} });
    expect(orgs.some((o) => o.nodeApprovalMode === 'MANUAL')).toBe(true);
    const page = (await get('/api/v2/organizations?pageSize=3&after=2')).json() as FakeNinjaOrganization[];
    expect(ids(page)).toEqual([3, 4, 5]);
  });

  it('adds locations, policies and settings on the detailed organization endpoints', async () => {
    const detailed = (await get('/v2/organizations-detailed?pageSize=2')).json();
    expect(detailed).toHaveLength(2);
    expect(detailed[1]).toMatchObject({ id: 2, name: 'Rigby Financial Group', policies: expect.any(Array), settings: expect.any(Object) });
    expect(detailed[1].locations.map((l: FakeNinjaLocation) => l.name)).toEqual(['Main Office', 'Elm Street Branch', 'Spare Shelf']);
    expect((await get('/v2/organization/1')).json().locations.map((l: FakeNinjaLocation) => l.name)).toEqual(['Head Office', 'ES Spare']);
    expectApiError(await get('/v2/organization/999'), 404);
  });

  it('lists all locations with their organizationId, and one organization’s locations', async () => {
    const all = (await get('/v2/locations')).json() as FakeNinjaLocation[];
    expect(all).toEqual(fake.admin.locations());
    expect(all.every((l) => typeof l.organizationId === 'number')).toBe(true);
    expect(ids((await get('/v2/locations?pageSize=4&after=4')).json())).toEqual([5, 6, 7, 8]);
    const rigby = (await get('/v2/organization/2/locations')).json() as FakeNinjaLocation[];
    expect(rigby.map((l) => l.name)).toEqual(['Main Office', 'Elm Street Branch', 'Spare Shelf']);
    expectApiError(await get('/v2/organization/999/locations'), 404);
  });
});

describe('faults', () => {
  it('answers 429 with Retry-After in seconds, as an HTTP date, or without it', async () => {
    const date = 'Wed, 21 Oct 2026 07:28:00 GMT';
    fake.admin.injectFault({ kind: 'status', status: 429, retryAfter: '2', operation: 'devices-detailed' });
    fake.admin.injectFault({ kind: 'status', status: 429, retryAfter: date, operation: 'devices-detailed', nth: 2 });
    fake.admin.injectFault({ kind: 'status', status: 429, operation: 'devices-detailed', nth: 3 });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await get('/v2/devices-detailed?pageSize=1'));
    expect(answers.map((a) => a.status)).toEqual([429, 429, 429, 200]);
    expect(answers.map((a) => a.headers['retry-after'])).toEqual(['2', date, undefined, undefined]);
    expect(answers[0]?.json()).toMatchObject({ resultCode: 'FAILURE' });
  });

  it('sends gateway HTML for 502/503, and fires only for its operation, from the nth request, `times` times', async () => {
    fake.admin.injectFault({ kind: 'status', status: 503, operation: 'locations', nth: 2, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      await get('/v2/organizations'); // another operation: not counted
      statuses.push((await get('/v2/locations')).status);
    }
    expect(statuses).toEqual([200, 503, 503, 200, 200]);
    const failed = fake.admin.requests().find((r) => r.status === 503);
    expect(failed?.operation).toBe('locations');
    fake.admin.injectFault({ kind: 'status', status: 502 });
    const html = await get('/v2/devices');
    expect([html.status, html.headers['content-type']]).toEqual([502, 'text/html; charset=utf-8']);
    expect(html.text).toContain('502 Bad Gateway');
  });

  it('can fail the token endpoint with an OAuth-shaped body', async () => {
    fake.admin.injectFault({ kind: 'status', status: 400, operation: 'token', body: { error: 'invalid_grant' } });
    const answer = await grant({ grant_type: 'client_credentials', ...credentials() });
    expect([answer.status, answer.json()]).toEqual([400, { error: 'invalid_grant' }]);
    expect((await grant({ grant_type: 'client_credentials', ...credentials() })).status).toBe(200);
  });

  it('fires on every matching request with times null until cleared', async () => {
    fake.admin.injectFault({ kind: 'status', status: 500, times: null });
    for (let i = 0; i < 3; i++) expectApiError(await get('/v2/organizations'), 500);
    fake.admin.clearFaults();
    expect((await get('/v2/organizations')).status).toBe(200);
  });

  it('delays, resets the connection, or answers an empty body or null', async () => {
    fake.admin.injectFault({ kind: 'delay', ms: 60_000, operation: 'organizations' });
    let delayedDone = false;
    const delayed = get('/v2/organizations').then((a) => {
      delayedDone = true;
      return a;
    });
    while (fake.admin.requestCount('organizations') === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Held: other requests are served meanwhile, and the delayed one has no answer yet.
    expect((await get('/v2/locations')).status).toBe(200);
    expect([delayedDone, fake.admin.requests().map((r) => r.status)]).toEqual([false, [null, 200]]);
    fake.admin.releaseDelays();
    expect((await delayed).json()).toHaveLength(fake.admin.organizations().length);
    fake.admin.clearRequests();

    fake.admin.injectFault({ kind: 'reset' });
    await expect(get('/v2/devices')).rejects.toThrow();
    fake.admin.injectFault({ kind: 'empty' });
    expect((await get('/v2/devices')).text).toBe('');
    fake.admin.injectFault({ kind: 'null' });
    expect((await get('/v2/devices')).text).toBe('null');
    expect(fake.admin.requests().map((r) => r.status)).toEqual([null, 200, 200]);
  });

  it('still checks the token after a delay fault', async () => {
    fake.admin.injectFault({ kind: 'delay', ms: 10 });
    expectApiError(await call('GET', '/v2/devices', { token: 'nope' }), 401);
  });

  it('releases a pending delay on close, so no timer keeps the process alive', async () => {
    const slow = await startFakeNinja({ devices: [] });
    slow.admin.injectFault({ kind: 'delay', ms: 60_000 });
    const pending = call('POST', '/ws/oauth/token', { target: slow, form: { grant_type: 'client_credentials', ...credentials(slow) }, token: null }).then(
      (a) => a.status,
      () => 'closed',
    );
    while (slow.admin.tokenRequestCount() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await slow.close();
    expect([200, 'closed']).toContain(await pending);
  });
});

describe('admin API', () => {
  it('adds, reads, updates, sets offline and removes devices in-process', async () => {
    const added = fake.admin.add({ systemName: 'NEW-PC-01', displayName: undefined, organizationId: 3 });
    expect(added).toMatchObject({ systemName: 'NEW-PC-01', organizationId: 3, locationId: 6, approvalStatus: 'APPROVED', offline: false });
    expect(added.id).toBeGreaterThan(Math.max(...ids(fake.admin.list().filter((d) => d.id !== added.id))));
    const served = (await get(`/v2/device/${added.id}`)).json();
    expect(served).not.toHaveProperty('displayName');
    expect(served.systemName).toBe('NEW-PC-01');

    const copy = fake.admin.get(added.id) as FakeNinjaDevice;
    (copy.system as { serialNumber: string }).serialNumber = 'mutated';
    expect(fake.admin.get(added.id)?.system?.serialNumber).not.toBe('mutated');

    expect(fake.admin.update(added.id, { displayName: 'NEW-PC-01 | Ana Diaz', id: 1 })).toMatchObject({ id: added.id, displayName: 'NEW-PC-01 | Ana Diaz' });
    expect(fake.admin.setOffline(added.id, true)?.offline).toBe(true);
    expect(ids((await get(`/v2/devices?df=${encodeURIComponent(`id eq ${added.id} AND offline`)}`)).json())).toEqual([added.id]);
    expect(fake.admin.remove(added.id)).toBe(true);
    expect(fake.admin.remove(added.id)).toBe(false);
    expectApiError(await get(`/v2/device/${added.id}`), 404);
    expect(() => fake.admin.add({ id: fake.admin.list()[0]?.id })).toThrow();
  });

  it('adds organizations and locations', async () => {
    const org = fake.admin.addOrganization({ name: 'Brand New Client' });
    const loc = fake.admin.addLocation({ organizationId: org.id, name: 'Annex' });
    expect((await get(`/v2/organization/${org.id}/locations`)).json()).toEqual([loc]);
    expect(fake.admin.add({ organizationId: org.id }).locationId).toBe(loc.id);
    expect(() => fake.admin.addLocation({ organizationId: 9999 })).toThrow();
  });

  it('works over HTTP: devices, offline, custom fields, organizations, locations', async () => {
    const added = await call('POST', '/__admin/devices', { body: { systemName: 'HTTP-PC', dnsName: 'http-pc.corp.local' } });
    expect(added.status).toBe(201);
    const id = added.json().id as number;
    expect((await call('GET', `/__admin/devices/${id}`)).json().dnsName).toBe('http-pc.corp.local');
    expect((await call('PATCH', `/__admin/devices/${id}`, { body: { displayName: 'HTTP-PC | Bo' } })).json().displayName).toBe('HTTP-PC | Bo');
    expect((await call('POST', `/__admin/devices/${id}/offline`, { body: { offline: true } })).json().offline).toBe(true);
    expectApiError(await call('POST', `/__admin/devices/${id}/offline`, { body: { offline: 'yes' } }), 400);
    expect((await call('PUT', `/__admin/devices/${id}/custom-fields`, { body: { secureboot: 'false' } })).status).toBe(204);
    expect((await get(`/v2/device/${id}/custom-fields`)).json()).toEqual({ secureboot: 'false' });
    expect((await call('DELETE', `/__admin/devices/${id}`)).status).toBe(204);
    expectApiError(await call('GET', `/__admin/devices/${id}`), 404);
    expect((await call('GET', '/__admin/devices')).json()).toHaveLength(fake.admin.list().length);

    const org = (await call('POST', '/__admin/organizations', { body: { name: 'Via HTTP' } })).json();
    const loc = await call('POST', '/__admin/locations', { body: { organizationId: org.id, name: 'Floor 2' } });
    expect(loc.status).toBe(201);
    expect((await call('GET', '/__admin/locations')).json().at(-1)).toMatchObject({ organizationId: org.id, name: 'Floor 2' });
    expect((await call('GET', '/__admin/organizations')).json().at(-1).name).toBe('Via HTTP');
  });

  it('injects faults, issues refresh tokens, expires tokens, reads the log and resets over HTTP', async () => {
    expect((await call('POST', '/__admin/faults', { body: { kind: 'status', status: 503, operation: 'devices' } })).status).toBe(204);
    expectApiError(await call('POST', '/__admin/faults', { body: { kind: 'explode' } }), 400);
    expect((await get('/v2/devices')).status).toBe(503);

    const refresh = (await call('POST', '/__admin/refresh-tokens', { body: {} })).json().refresh_token as string;
    const granted = await grant({ grant_type: 'refresh_token', refresh_token: refresh, ...credentials() });
    expect(granted.status).toBe(200);
    expect((await call('POST', '/__admin/tokens/expire')).status).toBe(204);
    expectApiError(await call('GET', '/v2/organizations', { token: granted.json().access_token }), 401);
    bearer = await accessToken();

    expect((await call('GET', '/__admin/requests/count?operation=devices')).json()).toEqual({ count: 1 });
    expect((await call('GET', '/__admin/token-requests/count')).json()).toEqual({ count: 2 });
    expect((await call('GET', '/__admin/requests')).json()).toHaveLength(fake.admin.requestCount());

    await call('POST', '/__admin/faults', { body: { kind: 'status', status: 500, times: null } });
    const target = fake.admin.list()[0] as FakeNinjaDevice;
    fake.admin.update(target.id, { displayName: 'Changed' });
    expect((await call('POST', '/__admin/reset')).status).toBe(204);
    expect((await get('/v2/devices?pageSize=1')).status).toBe(200);
    expect(fake.admin.get(target.id)?.displayName).toBe(target.displayName);
    expect((await call('DELETE', '/__admin/requests')).status).toBe(204);
    expect(fake.admin.requestCount()).toBe(0);
  });

  it('serves explicit devices, filling missing keys and omitting keys set to undefined', async () => {
    await withFake({ devices: [{ systemName: 'ONLY-PC', displayName: '' }, { id: 500, nodeClass: 'NMS_SWITCH', os: undefined, system: undefined }] }, async (target, token) => {
      const rows = (await authed(target, token, '/v2/devices-detailed')).json() as FakeNinjaDevice[];
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ id: 1, systemName: 'ONLY-PC', displayName: '', organizationId: 1, offline: false, os: expect.any(Object) });
      expect(rows[1]?.id).toBe(500);
      expect(rows[1]).not.toHaveProperty('os');
      expect(rows[1]).not.toHaveProperty('system');
    });
  });
});

describe('generated data', () => {
  const fleet = generateNinjaFleet({ seed: 1, size: 700 });
  const { devices } = fleet;
  const agents = devices.filter((d) => d.deviceType !== 'NMS');

  it('is deterministic for a seed, and the credentials too', async () => {
    expect(generateNinjaFleet({ seed: 1, size: 700 })).toEqual(fleet);
    expect(generateNinjaFleet({ seed: 2, size: 700 }).devices.map((d) => d.systemName)).not.toEqual(devices.map((d) => d.systemName));
    const twin = await startFakeNinja({ seed: 1, devices: [] });
    try {
      expect([twin.clientId, twin.clientSecret]).toEqual([fake.clientId, fake.clientSecret]);
    } finally {
      await twin.close();
    }
    expect(fake.clientSecret).not.toBe(fake.clientId);
  });

  it('has numeric ids in ascending order that follow enrolment time', () => {
    expect(ids(devices)).toEqual([...ids(devices)].sort((a, b) => a - b));
    expect(new Set(ids(devices)).size).toBe(devices.length);
    const created = devices.map((d) => d.created);
    expect(created).toEqual([...created].sort((a, b) => a - b));
  });

  it('renders the same catalogue as ThreatLocker, with NetBIOS names and machines missing in one tool', () => {
    const catalogue = buildCatalogue({ seed: 1, size: 700 });
    const tl = generateThreatLockerFleet({ seed: 1, size: 700 });
    const ninjaNames = new Set(devices.map((d) => d.systemName));
    const tlHosts = new Set(tl.computers.map((c) => (c.hostname ?? '').split('.')[0]?.toUpperCase()));
    const windows = catalogue.machines.filter((m) => m.os.family === 'windows');
    for (const m of windows) {
      const netbios = m.hostname.toUpperCase().slice(0, 15);
      expect(ninjaNames.has(netbios), m.hostname).toBe(m.inNinja && !m.deleted);
    }
    expect(windows.some((m) => m.inNinja && !m.inThreatLocker && ninjaNames.has(m.hostname.toUpperCase().slice(0, 15)) && !tlHosts.has(m.hostname.toUpperCase()))).toBe(true);
    expect(windows.some((m) => !m.inNinja && tlHosts.has(m.hostname.toUpperCase()))).toBe(true);
    // The documented truncation: ThreatLocker keeps the full name, NinjaOne the first 15 characters.
    expect(tlHosts.has('AEC-027396194353')).toBe(true);
    expect(devices.find((d) => d.systemName === 'AEC-02739619435')?.dnsName).toBe('aec-027396194353.aec.corp.local');
    expect(fleet.organizations.map((o) => o.name)).toEqual(catalogue.organizations.map((o) => o.name));
  });

  it('has dnsName in both cases and missing, and systemName never longer than 15 on Windows', () => {
    const dns = agents.map((d) => d.dnsName);
    expect(dns.some((n) => n !== undefined && n === n.toLowerCase() && n.includes('.'))).toBe(true);
    expect(dns.some((n) => n !== undefined && n !== n.toLowerCase())).toBe(true);
    expect(agents.some((d) => d.dnsName === undefined && d.nodeClass.startsWith('WINDOWS') && d.systemName?.length === 15)).toBe(true);
    const windows = agents.filter((d) => d.netbiosName !== undefined);
    expect(windows.every((d) => (d.systemName ?? '').length <= 15 && d.systemName === d.systemName?.toUpperCase())).toBe(true);
  });

  it('omits displayName on some devices and sends "" on others', () => {
    expect(devices.some((d) => !('displayName' in d) || d.displayName === undefined)).toBe(true);
    expect(devices.some((d) => d.displayName === '')).toBe(true);
    expect(devices.some((d) => / \| [A-Z][a-z]+ [A-Z][a-z]+$/.test(d.displayName ?? ''))).toBe(true);
  });

  it('has serial placeholders, "" serials, piped and empty IP entries, and publicIP', () => {
    const serials = agents.map((d) => d.system?.serialNumber);
    expect(serials.some((s) => ['To be filled by O.E.M.', 'System Serial Number', 'Default string'].includes(s ?? ''))).toBe(true);
    expect(agents.some((d) => d.system?.serialNumber === '' && d.system.biosSerialNumber !== '')).toBe(true);
    expect(devices.some((d) => d.ipAddresses?.some((ip) => /^\d+\.\d+\.\d+\.\d+\|fe80::/.test(ip)))).toBe(true);
    expect(devices.some((d) => d.ipAddresses?.includes(''))).toBe(true);
    expect(agents.filter((d) => d.approvalStatus === 'APPROVED').every((d) => /^\d+\.\d+\.\d+\.\d+$/.test(d.publicIP ?? ''))).toBe(true);
  });

  it('sends epoch seconds as floats and an offline flag, never a status key', () => {
    for (const d of devices) {
      for (const t of [d.created, d.lastContact, d.lastUpdate]) {
        expect(t).toBeGreaterThan(1e9);
        expect(t).toBeLessThan(1e10);
      }
      expect(typeof d.offline).toBe('boolean');
      expect(d).not.toHaveProperty('status');
    }
    expect(devices.some((d) => !Number.isInteger(d.lastContact))).toBe(true);
    expect(devices.some((d) => d.offline) && devices.some((d) => !d.offline)).toBe(true);
    expect(agents.every((d) => typeof d.os?.lastBootTime === 'number')).toBe(true);
  });

  it('has VM guests of both hypervisors pointing at a host, and NMS devices without os or system', () => {
    const byId = new Map(devices.map((d) => [d.id, d]));
    const guests = devices.filter((d) => d.nodeClass === 'VMWARE_VM_GUEST' || d.nodeClass === 'HYPERV_VMM_GUEST');
    expect(new Set(guests.map((g) => g.nodeClass))).toEqual(new Set(['VMWARE_VM_GUEST', 'HYPERV_VMM_GUEST']));
    for (const g of guests) {
      const host = byId.get(g.parentDeviceId as number);
      expect(host?.nodeClass).toBe(g.nodeClass === 'VMWARE_VM_GUEST' ? 'VMWARE_VM_HOST' : 'HYPERV_VMM_HOST');
      expect(host?.organizationId).toBe(g.organizationId);
      expect(g.deviceType).toBe('VMGUEST');
      expect(g.system?.virtualMachine).toBe(true);
    }
    const nms = devices.filter((d) => d.nodeClass.startsWith('NMS_'));
    expect(nms.length).toBeGreaterThan(0);
    for (const d of nms) {
      expect(d).not.toHaveProperty('os');
      expect(d).not.toHaveProperty('system');
      expect(d.deviceType).toBe('NMS');
    }
  });

  it('has PENDING devices, spares by name and by location, and reinstall duplicates', () => {
    expect(devices.filter((d) => d.approvalStatus === 'PENDING').length).toBeGreaterThan(2);
    const locationName = new Map(fleet.locations.map((l) => [l.id, l.name]));
    const spareLocations = new Set(devices.map((d) => locationName.get(d.locationId)).filter((n) => /spare/i.test(n ?? '')));
    expect(spareLocations).toEqual(new Set(['ES Spare', 'Spare Shelf']));
    expect(devices.some((d) => /SPARE - was Blake Thomas/.test(d.displayName ?? ''))).toBe(true);

    const byName = new Map<string, FakeNinjaDevice[]>();
    for (const d of agents) byName.set(d.systemName as string, [...(byName.get(d.systemName as string) ?? []), d]);
    const pairs = [...byName.values()].filter((rows) => rows.length > 1);
    expect(pairs.length).toBeGreaterThan(0);
    for (const [old, fresh] of pairs) {
      expect((fresh as FakeNinjaDevice).id).toBeGreaterThan((old as FakeNinjaDevice).id);
      expect(old?.offline).toBe(true);
      const gap = (fresh as FakeNinjaDevice).created - (old as FakeNinjaDevice).lastContact;
      expect(gap).toBeGreaterThan(0);
      expect(gap).toBeLessThanOrEqual(5 * 60);
    }
  });

  it('has one NinjaOne organization per catalogue organization and their sites as locations', () => {
    const rigby = fleet.organizations.find((o) => o.name === 'Rigby Financial Group') as FakeNinjaOrganization;
    expect(fleet.locations.filter((l) => l.organizationId === rigby.id).map((l) => l.name)).toEqual(['Main Office', 'Elm Street Branch', 'Spare Shelf']);
    const owners = new Set(devices.map((d) => d.organizationId));
    expect(fleet.organizations.filter((o) => !owners.has(o.id)).map((o) => o.name)).toEqual(['Newfield Dental Lab']);
    // The tenancy does not depend on the fleet size.
    expect(generateNinjaFleet({ seed: 1, size: 0 }).locations).toEqual(fleet.locations);
  });
});
