/**
 * The NinjaOne client against the fake over real HTTP: token caching, sharing, renewal and
 * rotation, keyset paging edge cases, retries, typed failures, and secrets kept out of errors
 * and logs.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeNinja, type FakeNinja } from '../../src/fakes/ninja/index.js';
import { VendorError } from '../../src/vendors/http.js';
import { memoryTokenStore, NinjaClient, NINJA_SEARCH_LIMIT, type NinjaClientOptions, type RefreshTokenStore } from '../../src/vendors/ninja/client.js';

const RETRY = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 1_500 };

describe('NinjaClient', () => {
  let fake: FakeNinja;
  const logLines: string[] = [];
  const clients: NinjaClient[] = [];

  /** A client for `target` (default: the shared fake); closed after each test. */
  function makeClient(overrides: Partial<NinjaClientOptions> = {}, target: FakeNinja = fake): NinjaClient {
    const client = new NinjaClient({
      baseUrl: target.baseUrl,
      clientId: target.clientId,
      clientSecret: target.clientSecret,
      timeoutMs: 1_000,
      logger: pino({ level: 'trace' }, { write: (l: string) => void logLines.push(l) }),
      retry: RETRY,
      ...overrides,
    });
    clients.push(client);
    return client;
  }

  async function collect(client: NinjaClient, pageSize?: number, between?: (page: number) => void) {
    const rows = [];
    let pages = 0;
    for await (const page of client.list(pageSize)) {
      pages++;
      rows.push(...page);
      between?.(pages);
    }
    return { rows, pages };
  }

  const failure = (promise: Promise<unknown>): Promise<VendorError> =>
    promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e as VendorError,
    );

  beforeAll(async () => {
    fake = await startFakeNinja({ fleetSize: 2_400, seed: 7 });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.admin.reset();
    logLines.length = 0;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  describe('listing', () => {
    it('lists every device once with ONE token request, keyset-paged with pageSize and after', async () => {
      const expected = fake.admin.list().map((d) => d.id);
      const { rows, pages } = await collect(makeClient());
      expect(rows.map((r) => r.id)).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 1000));
      expect(fake.admin.tokenRequestCount()).toBe(1);

      const calls = fake.admin.requests().filter((r) => r.operation === 'devices-detailed');
      expect(calls.map((c) => c.path)).toEqual(calls.map(() => '/v2/devices-detailed'));
      expect(calls[0]?.query).toEqual({ pageSize: '1000' });
      expect(calls[1]?.query).toEqual({ pageSize: '1000', after: String(expected[999]) });
      expect(calls[2]?.query).toEqual({ pageSize: '1000', after: String(expected[1999]) });
      expect(calls).toHaveLength(pages); // the last page is short: no extra request
      const token = fake.admin.requests().find((r) => r.operation === 'token');
      expect(token?.body).toMatchObject({ grant_type: 'client_credentials', scope: 'monitoring', client_id: fake.clientId });
    });

    it('ends cleanly on the empty page after a fleet that is an exact multiple of the page size', async () => {
      for (const d of fake.admin.list().slice(2_000)) fake.admin.remove(d.id);
      const { rows, pages } = await collect(makeClient(), 500);
      expect([rows.length, pages]).toEqual([2_000, 4]);
      expect(fake.admin.requestCount('devices-detailed')).toBe(5);
    });

    it('yields nothing for an empty tenant', async () => {
      for (const d of fake.admin.list()) fake.admin.remove(d.id);
      expect(await collect(makeClient())).toEqual({ rows: [], pages: 0 });
      expect(fake.admin.requestCount('devices-detailed')).toBe(1);
    });

    it('refuses a server that ignores `after` instead of looping', async () => {
      const client = makeClient();
      const firstPage = (await client.list(100).next()).value;
      fake.admin.injectFault({ operation: 'devices-detailed', kind: 'status', status: 200, body: firstPage, nth: 2, times: null });
      const err = await failure(collect(client, 100));
      expect(err).toBeInstanceOf(VendorError);
      expect(err).toMatchObject({ kind: 'malformed', code: 'HUB_ERR_VENDOR_MALFORMED' });
      expect(fake.admin.requestCount('devices-detailed')).toBe(3);
    });

    it.each(['empty', 'null'] as const)('treats a list answered with an %s body as malformed, never as no devices', async (kind) => {
      fake.admin.injectFault({ operation: 'devices-detailed', kind });
      expect(await failure(collect(makeClient()))).toMatchObject({ kind: 'malformed' });
    });

    it('maps organizations and locations by id, following pages', async () => {
      for (let i = 0; i < 1_005; i++) fake.admin.addLocation({ organizationId: 2, name: `Room ${i}` });
      const client = makeClient();
      const [orgs, locations] = await Promise.all([client.listOrganizations(), client.listLocations()]);
      expect(orgs).toEqual(new Map(fake.admin.organizations().map((o) => [o.id, o.name])));
      expect(orgs.get(1)).toBe('Summit Managed Services');
      expect(locations).toEqual(new Map(fake.admin.locations().map((l) => [l.id, l.name])));
      expect(locations.size).toBeGreaterThan(1_000);
      expect(fake.admin.requestCount('locations')).toBe(2);
      expect(fake.admin.requests().filter((r) => r.operation === 'locations').map((r) => r.query.after)).toEqual([undefined, '1000']);
    });

    it('fails, never degrades to an empty map, when organizations or locations cannot be read', async () => {
      fake.admin.injectFault({ operation: 'organizations', kind: 'status', status: 500 });
      expect(await failure(makeClient().listOrganizations())).toMatchObject({ kind: 'unavailable', httpStatus: 500 });
      fake.admin.injectFault({ operation: 'locations', kind: 'null' });
      expect(await failure(makeClient().listLocations())).toMatchObject({ kind: 'malformed' });
    });

    it('finds one device by id, null when NinjaOne has none, and checks the id it gets back', async () => {
      const [a, b] = fake.admin.list();
      const client = makeClient();
      expect((await client.findById(a!.id))?.systemName).toBe(a!.systemName);
      expect(fake.admin.requests().at(-1)?.path).toBe(`/v2/device/${a!.id}`);
      expect(await client.findById(99_999_999)).toBeNull();
      fake.admin.injectFault({ operation: 'device', kind: 'status', status: 200, body: b });
      expect(await client.findById(a!.id)).toBeNull();
    });

  });

  describe('findByHostname', () => {
    it('finds a device by its systemName or dnsName, short or FQDN, any case, in two requests', async () => {
      const [a, b] = fake.admin.list();
      fake.admin.update(a!.id, { systemName: 'LAB-PC7', dnsName: 'lab-pc7.corp.local' });
      fake.admin.update(b!.id, { systemName: 'LAB-PC70', dnsName: 'lab-pc70.corp.local' });
      const client = makeClient();
      for (const name of ['LAB-PC7', 'lab-pc7', 'lab-pc7.corp.local', 'LAB-PC7.CORP.LOCAL']) {
        fake.admin.clearRequests();
        const found = await client.findByHostname(name);
        expect(found.devices.map((d) => d.id)).toEqual([a!.id]);
        expect(found.matchedBy).toBe('hostname');
        expect(found.devices[0]).toHaveProperty('os'); // the detailed shape
        const calls = fake.admin.requests().filter((r) => r.operation !== 'token');
        expect(calls.map((c) => c.operation)).toEqual(['devices-search', 'devices-detailed']);
        expect(calls[0]?.query).toEqual({ q: 'lab-pc7', limit: String(NINJA_SEARCH_LIMIT) });
        expect(calls[1]?.query).toMatchObject({ df: `id in (${a!.id})` });
      }
    });

    it('falls back to the canonical short name, returns every reuse of a name, and nothing for no match', async () => {
      const [a, b, c] = fake.admin.list();
      fake.admin.update(a!.id, { systemName: 'SHOP-01', dnsName: 'shop-01.east.local' });
      fake.admin.update(b!.id, { systemName: 'SHOP-01', dnsName: undefined });
      fake.admin.update(c!.id, { systemName: 'SHOP-011', dnsName: 'shop-011.east.local' });
      const client = makeClient();
      const canonical = await client.findByHostname('shop-01.west.local');
      expect([canonical.matchedBy, canonical.devices.map((d) => d.id).sort()]).toEqual(['canonical_hostname', [a!.id, b!.id].sort()]);
      const exact = await client.findByHostname('shop-01');
      expect([exact.matchedBy, exact.devices.map((d) => d.id).sort()]).toEqual(['hostname', [a!.id, b!.id].sort()]);

      fake.admin.clearRequests();
      expect(await client.findByHostname('shop')).toEqual({ devices: [], matchedBy: null });
      expect(await client.findByHostname('  ')).toEqual({ devices: [], matchedBy: null });
      // A substring hit that is not the name costs one request, and a blank name none.
      expect(fake.admin.requests().filter((r) => r.operation !== 'token').map((r) => r.operation)).toEqual(['devices-search']);
    });

    it('never adopts a device the search did not name, and reports a malformed search', async () => {
      const [a, b] = fake.admin.list();
      fake.admin.update(a!.id, { systemName: 'ONLY-ME', dnsName: 'only-me' });
      fake.admin.injectFault({ operation: 'devices-detailed', kind: 'status', status: 200, body: [fake.admin.get(b!.id)] });
      const client = makeClient();
      expect(await client.findByHostname('only-me')).toEqual({ devices: [], matchedBy: null });
      fake.admin.injectFault({ operation: 'devices-search', kind: 'null' });
      expect(await failure(client.findByHostname('only-me'))).toMatchObject({ kind: 'malformed' });
    });
  });

  describe('tokens', () => {
    it('shares one in-flight token request between concurrent callers', async () => {
      const client = makeClient();
      const id = fake.admin.list()[0]!.id;
      const [orgs, locations, device] = await Promise.all([client.listOrganizations(), client.listLocations(), client.findById(id)]);
      expect([orgs.size > 0, locations.size > 0, device?.id]).toEqual([true, true, id]);
      expect(fake.admin.tokenRequestCount()).toBe(1);
      await client.listOrganizations();
      expect(fake.admin.tokenRequestCount()).toBe(1);
    });

    it('renews a token that expires between pages: one extra token request, and the listing completes', async () => {
      const { rows, pages } = await collect(makeClient(), 500, (page) => {
        if (page === 2) fake.admin.expireAllTokens();
      });
      expect(rows.map((r) => r.id)).toEqual(fake.admin.list().map((d) => d.id));
      expect(pages).toBe(Math.ceil(rows.length / 500));
      expect(fake.admin.tokenRequestCount()).toBe(2);
      expect(fake.admin.requests().filter((r) => r.operation === 'devices-detailed').map((r) => r.status)).toContain(401);
    });

    it('renews a token shortly before it expires, without waiting for a 401', async () => {
      let now = Date.parse('2026-03-10T12:00:00Z');
      await withTarget({ devices: [], now: () => now }, async (target) => {
        const client = makeClient({ now: () => now }, target);
        await client.listOrganizations();
        now += 3_600_000 - 61_000; // a minute and a second before the one-hour lifetime ends
        await client.listOrganizations();
        expect(target.admin.tokenRequestCount()).toBe(1);
        now += 2_000; // inside the last minute: renewed before use, never refused
        await client.listOrganizations();
        expect(target.admin.tokenRequestCount()).toBe(2);
        expect(target.admin.requests().map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      });
    });

    it('retries a 401 only once', async () => {
      fake.admin.injectFault({ operation: 'organizations', kind: 'status', status: 401, times: null });
      expect(await failure(makeClient().listOrganizations())).toMatchObject({ kind: 'auth', httpStatus: 401 });
      expect([fake.admin.requestCount('organizations'), fake.admin.tokenRequestCount()]).toEqual([2, 2]);
    });

    it('uses the refresh_token grant and saves every rotated token before using its access token', async () => {
      await withTarget({ devices: [], refreshTokens: true }, async (target) => {
        const initial = target.admin.issueRefreshToken();
        const saved: { token: string; apiCallsBefore: number }[] = [];
        const memory = memoryTokenStore();
        const store: RefreshTokenStore = {
          withLock: (work) =>
            memory.withLock((lease) =>
              work({
                read: () => lease.read(),
                swap: async (spent, next) => {
                  saved.push({ token: next.refreshToken, apiCallsBefore: target.admin.requests().filter((r) => r.operation !== 'token').length });
                  return lease.swap(spent, next);
                },
              }),
            ),
        };
        const client = makeClient({ refreshToken: initial, tokenStore: store }, target);
        await client.listOrganizations();
        expect(saved).toHaveLength(1);
        expect(saved[0]?.apiCallsBefore).toBe(0);
        expect(memory.current()).not.toBe(initial);
        const tokenCall = target.admin.requests().find((r) => r.operation === 'token');
        expect(tokenCall?.body).toMatchObject({ grant_type: 'refresh_token', refresh_token: '[redacted]', client_secret: '[redacted]' });

        target.admin.expireAllTokens();
        await client.listLocations();
        expect(saved.map((s) => s.token)).toEqual([saved[0]?.token, memory.current()]);
        expect(new Set([initial, ...saved.map((s) => s.token)]).size).toBe(3);
        expect(saved[1]?.apiCallsBefore).toBe(2); // the organizations call and the rejected locations call
      });
    });

    it('prefers the token in the store over the configured one, and keeps it in memory without a store', async () => {
      await withTarget({ devices: [] }, async (target) => {
        const live = target.admin.issueRefreshToken();
        const spent = 'spent-token-from-an-old-config';
        const client = makeClient({ refreshToken: spent, tokenStore: memoryTokenStore(live) }, target);
        await client.listOrganizations();
        expect(target.admin.tokenRequestCount()).toBe(1);

        const alone = makeClient({ refreshToken: target.admin.issueRefreshToken() }, target);
        await alone.listOrganizations();
        target.admin.expireAllTokens();
        await alone.listOrganizations(); // presents the rotated token, not the spent initial one
        expect(target.admin.requests().filter((r) => r.operation === 'token').map((r) => r.status)).toEqual([200, 200, 200]);
      });
    });

    it('reports a spent refresh token as auth, without retrying it', async () => {
      await withTarget({ devices: [] }, async (target) => {
        const token = target.admin.issueRefreshToken();
        await makeClient({ refreshToken: token }, target).listOrganizations(); // spends it
        const err = await failure(makeClient({ refreshToken: token }, target).listOrganizations());
        expect(err).toMatchObject({ kind: 'auth', code: 'HUB_ERR_VENDOR_AUTH', httpStatus: 400 });
        expect(err.message).toContain('already used');
        expect(target.admin.tokenRequestCount()).toBe(2);
      });
    });

    it('never retries a refresh-token exchange whose reply was lost after NinjaOne rotated: the spent token is not presented again', async () => {
      await withTarget({ devices: [] }, async (target) => {
        const initial = target.admin.issueRefreshToken();
        const store = memoryTokenStore(initial);
        const client = makeClient({ tokenStore: store }, target);
        target.admin.loseReplies('token');
        const err = await failure(client.listOrganizations());
        expect(err).toMatchObject({ kind: 'unavailable', attempts: 1 });
        expect(err.message).toContain('not presented again');
        // One exchange, which NinjaOne took (the token is spent); no second presentation of it.
        expect(target.admin.requests().map((r) => [r.operation, r.status])).toEqual([['token', null]]);
        expect(target.admin.isLiveRefreshToken(initial)).toBe(false);
        expect(target.admin.spentRefreshTokenPresentations()).toBe(0);
        expect(store.current()).toBe(initial); // nothing overwritten blindly
      });
    });

    it('after a lost reply, recovers with the newer token another process stored meanwhile, never with the spent one', async () => {
      await withTarget({ devices: [] }, async (target) => {
        const initial = target.admin.issueRefreshToken();
        const memory = memoryTokenStore(initial);
        let reads = 0;
        let other: string | undefined;
        // Stands in for another holder of the chain that rotated it while this exchange was lost
        // (one that did not take the lock: an older hub version, or a token pasted in by hand).
        const store: RefreshTokenStore = {
          withLock: (work) =>
            memory.withLock((lease) =>
              work({
                read: async () => {
                  if (++reads === 2) {
                    other = target.admin.issueRefreshToken();
                    memory.put(other);
                  }
                  return lease.read();
                },
                swap: (spent, next) => lease.swap(spent, next),
              }),
            ),
        };
        const client = makeClient({ tokenStore: store }, target);
        target.admin.loseReplies('token');
        expect((await client.listOrganizations()).size).toBeGreaterThan(0);
        expect(target.admin.requests().map((r) => [r.operation, r.status])).toEqual([
          ['token', null],
          ['token', 200],
          ['organizations', 200],
        ]);
        expect(target.admin.spentRefreshTokenPresentations()).toBe(0);
        // The chain lives on: the stored token is the newest, unspent one.
        const stored = memory.current() as string;
        expect([stored !== other, target.admin.isLiveRefreshToken(stored), target.admin.isLiveRefreshToken(other as string)]).toEqual([true, true, false]);
      });
    });

    it('never retries a refresh-token exchange on 503, and presents the same token on the next call only', async () => {
      await withTarget({ devices: [] }, async (target) => {
        const initial = target.admin.issueRefreshToken();
        const store = memoryTokenStore(initial);
        const client = makeClient({ tokenStore: store }, target);
        target.admin.injectFault({ operation: 'token', kind: 'status', status: 503 });
        expect(await failure(client.listOrganizations())).toMatchObject({ kind: 'unavailable', httpStatus: 503, attempts: 1 });
        expect(target.admin.tokenRequestCount()).toBe(1);
        // The 503 came before the grant (the token is live): the next call goes on with the chain.
        expect((await client.listOrganizations()).size).toBeGreaterThan(0);
        expect(target.admin.isLiveRefreshToken(store.current() as string)).toBe(true);
        expect(target.admin.spentRefreshTokenPresentations()).toBe(0);
      });
    });

    it('a caller waiting for a shared token request stops at once when its own signal aborts; the others go on', async () => {
      const client = makeClient();
      fake.admin.injectFault({ operation: 'token', kind: 'delay', ms: 60_000 });
      const first = client.listOrganizations();
      while (fake.admin.tokenRequestCount() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const controller = new AbortController();
      const second = client.listLocations({ signal: controller.signal });
      const reason = new Error('request cancelled');
      controller.abort(reason);
      await expect(second).rejects.toBe(reason);
      expect(fake.admin.requestCount('locations')).toBe(0); // it stopped while the token was still pending
      fake.admin.releaseDelays();
      expect((await first).size).toBe(fake.admin.organizations().length);
      expect(fake.admin.tokenRequestCount()).toBe(1);
    });

    it('reports a wrong client secret as auth', async () => {
      const err = await failure(makeClient({ clientSecret: 'not-the-secret' }).listOrganizations());
      expect(err).toMatchObject({ kind: 'auth', httpStatus: 401 });
      expect(fake.admin.requestCount('organizations')).toBe(0);
    });

    it('retries a token endpoint outage, and keeps its kind when it lasts', async () => {
      fake.admin.injectFault({ operation: 'token', kind: 'status', status: 503 });
      expect((await makeClient().listOrganizations()).size).toBeGreaterThan(0);
      expect(fake.admin.tokenRequestCount()).toBe(2);
      fake.admin.injectFault({ operation: 'token', kind: 'status', status: 503, times: null });
      expect(await failure(makeClient().listOrganizations())).toMatchObject({ kind: 'unavailable', attempts: 3 });
    });
  });

  describe('failures', () => {
    /** The waits the client decided on before retrying, from its log. */
    const retryWaits = () =>
      logLines
        .map((l) => JSON.parse(l) as { msg?: string; waitMs?: number })
        .filter((l) => l.msg === 'vendor call failed, retrying')
        .map((l) => l.waitMs);

    it('honours Retry-After in seconds on 429', async () => {
      fake.admin.injectFault({ operation: 'organizations', kind: 'status', status: 429, retryAfter: '1' });
      expect((await makeClient().listOrganizations()).size).toBeGreaterThan(0);
      expect(fake.admin.requests().filter((r) => r.operation === 'organizations').map((r) => r.status)).toEqual([429, 200]);
      expect(retryWaits()).toEqual([1_000]); // the vendor's wait, not the few-ms backoff
    });

    it('honours Retry-After given as an HTTP date', async () => {
      // HTTP dates have whole seconds: a date a minute ahead asks for more than the 1.5 s cap.
      fake.admin.injectFault({ operation: 'locations', kind: 'status', status: 429, retryAfter: new Date(Date.now() + 60_000).toUTCString() });
      expect((await makeClient().listLocations()).size).toBeGreaterThan(0);
      expect(fake.admin.requests().filter((r) => r.operation === 'locations').map((r) => r.status)).toEqual([429, 200]);
      expect(retryWaits()).toEqual([RETRY.maxDelayMs]);
    });

    it('retries 502/503/504 and resets, then gives up with a typed error', async () => {
      fake.admin.injectFault({ operation: 'devices-detailed', kind: 'status', status: 502 });
      fake.admin.injectFault({ operation: 'devices-detailed', kind: 'reset', nth: 2 });
      const { rows } = await collect(makeClient());
      expect(rows).toHaveLength(fake.admin.list().length);
      fake.admin.clearRequests();
      fake.admin.injectFault({ operation: 'devices-detailed', kind: 'status', status: 504, times: null });
      const err = await failure(collect(makeClient()));
      expect(err).toMatchObject({ kind: 'unavailable', code: 'HUB_ERR_VENDOR_UNAVAILABLE', httpStatus: 504, attempts: 3 });
      expect(fake.admin.requestCount('devices-detailed')).toBe(3);
    });

    it('never retries other 4xx, and does not renew the token on 403', async () => {
      fake.admin.injectFault({ operation: 'device', kind: 'status', status: 400, times: null });
      expect(await failure(makeClient().findById(1))).toMatchObject({ kind: 'request', httpStatus: 400 });
      expect(fake.admin.requestCount('device')).toBe(1);
      fake.admin.injectFault({ operation: 'organizations', kind: 'status', status: 403, times: null });
      expect(await failure(makeClient().listOrganizations())).toMatchObject({ kind: 'auth', httpStatus: 403 });
      expect(fake.admin.requestCount('organizations')).toBe(1);
    });

    it('reports a timeout as such', async () => {
      fake.admin.injectFault({ operation: 'devices-detailed', kind: 'delay', ms: 1_500 });
      expect(await failure(collect(makeClient()))).toMatchObject({ kind: 'timeout', code: 'HUB_ERR_VENDOR_TIMEOUT' });
    });

    it('never puts the client secret, a refresh token (live or spent) or a bearer header in an error or a log line', async () => {
      await withTarget({ devices: [{}] }, async (target) => {
        const refresh = target.admin.issueRefreshToken();
        const client = makeClient({ refreshToken: refresh }, target);
        await client.listOrganizations();
        const rotated = target.admin.issueRefreshToken(); // stands in for "a token the vendor echoes back"
        const echoed = `bad request from ${target.clientSecret} with ${refresh}`;
        target.admin.injectFault({ operation: 'devices-detailed', kind: 'status', status: 400, body: { resultCode: 'FAILURE', errorMessage: echoed } });
        const err = await failure(collect(client));
        expect(err.message).toContain('[redacted]');
        const wrong = await failure(makeClient({ clientSecret: `${target.clientSecret}x`, refreshToken: rotated }, target).listOrganizations());
        expect(wrong.kind).toBe('auth');

        const everything = [JSON.stringify({ m: err.message, d: err.details }), JSON.stringify({ m: wrong.message, d: wrong.details }), ...logLines].join('\n');
        for (const secret of [target.clientSecret, refresh, rotated]) expect(everything).not.toContain(secret);
        expect(everything).not.toMatch(/Bearer \S/);
        expect(logLines.some((l) => l.includes('vendor token obtained'))).toBe(true);
      });
    });
  });

  async function withTarget(options: Parameters<typeof startFakeNinja>[0], run: (target: FakeNinja) => Promise<void>): Promise<void> {
    const target = await startFakeNinja(options);
    try {
      await run(target);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await target.close();
    }
  }
});
