/**
 * The ThreatLocker client against the fake over real HTTP: request shapes, paging edge cases
 * and bounds, hostname lookups, retries, typed failures, cancellation and deadlines, and the
 * rename contract.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startFakeThreatLocker, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';
import { VendorError } from '../../src/vendors/http.js';
import { ThreatLockerClient, type ThreatLockerClientOptions } from '../../src/vendors/threatlocker/client.js';
import { withId } from '../helpers/harness.js';

/** How long `vi.waitFor` polls for an event (not a pass/fail time limit: a busy machine may be slow). */
const WAIT = { timeout: 15_000, interval: 10 };

describe('ThreatLockerClient', () => {
  let fake: FakeThreatLocker;
  let client: ThreatLockerClient;
  const logLines: string[] = [];

  const extra: ThreatLockerClient[] = [];
  const makeClient = (overrides: Partial<ThreatLockerClientOptions> = {}) => {
    const c = new ThreatLockerClient({
      baseUrl: fake.baseUrl,
      apiKey: fake.apiKey,
      organizationId: fake.rootOrganizationId,
      timeoutMs: 1_000,
      logger: pino({ level: 'debug' }, { write: (l: string) => void logLines.push(l) }),
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 1_500 },
      ...overrides,
    });
    extra.push(c);
    return c;
  };

  beforeAll(async () => {
    fake = await startFakeThreatLocker({ fleetSize: 1200, seed: 7 });
    client = makeClient();
  });
  afterAll(async () => {
    await Promise.all(extra.map((c) => c.close()));
    await fake.close();
  });
  beforeEach(async () => {
    fake.admin.reset();
    logLines.length = 0;
  });

  async function collect(pageSize?: number, using: ThreatLockerClient = client) {
    const rows = [];
    let pages = 0;
    for await (const page of using.list(pageSize)) {
      pages++;
      rows.push(...page);
    }
    return { rows, pages };
  }

  it('sends the raw key (no Bearer) and the managed organization header', async () => {
    const pc = fake.admin.list()[0]!;
    await client.findById(pc.computerId!);
    const req = fake.admin.requests()[0]!;
    expect(req.method).toBe('POST');
    expect(req.path.toLowerCase()).toBe('/portalapi/computer/computergetbyallparameters');
    const header = (name: string) => Object.entries(req.headers).find(([k]) => k.toLowerCase() === name)?.[1];
    expect(header('authorization')).toBe('[redacted]'); // the fake's log hides it; the call succeeded, so it was right
    expect(header('managedorganizationid')).toBe(fake.rootOrganizationId);
    expect(req.body).toMatchObject({ computerId: pc.computerId, childOrganizations: true, pageNumber: 1 });
  });

  it('lists the whole fleet, every row once, deleted computers excluded', async () => {
    const expected = fake.admin.list().filter((c) => !c.isDeleted).length;
    const { rows, pages } = await collect();
    expect(rows).toHaveLength(expected);
    expect(new Set(rows.map((r) => r.computerId)).size).toBe(expected);
    expect(pages).toBe(Math.ceil(expected / 500));
  });

  it('ends cleanly when the fleet is an exact multiple of the page size', async () => {
    const total = fake.admin.list().filter((c) => !c.isDeleted).length;
    const { rows } = await collect(total / 4 === Math.floor(total / 4) ? total / 4 : undefined);
    expect(rows.length).toBe(total);
    // Force the exact-multiple case explicitly: trim the fleet to 1000 live computers.
    const live = fake.admin.list().filter((c) => !c.isDeleted);
    for (const c of live.slice(1000)) fake.admin.remove(c.computerId!);
    fake.admin.clearRequests();
    const exact = await collect(500);
    expect(exact.rows).toHaveLength(1000);
    expect(exact.pages).toBe(2);
    expect(fake.admin.requestCount('ComputerGetByAllParameters')).toBe(3); // the third page is []
  });

  it('treats an empty tenant, an empty body and a null body as no rows', async () => {
    for (const c of fake.admin.list()) fake.admin.remove(c.computerId!);
    expect((await collect()).rows).toEqual([]);
    fake.admin.reset();
    fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'empty' });
    expect((await collect()).rows).toEqual([]);
    fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'null' });
    expect(await client.findById(fake.admin.list()[0]!.computerId!)).toBeNull();
  });

  it('finds by hostname: exact match first, then the canonical short name', async () => {
    const a = withId(fake.admin.add({ hostname: 'LAB-PC7' }));
    const b = withId(fake.admin.add({ hostname: "LAB-PC7.school.local" }));
    fake.admin.add({ hostname: 'LAB-PC77' });
    const exact = await client.findByHostname('lab-pc7');
    expect(exact.matchedBy).toBe('hostname');
    expect(exact.devices.map((c) => c.computerId!)).toEqual([a.computerId]);
    const fqdn = await client.findByHostname('LAB-PC7.other.domain');
    expect(fqdn.matchedBy).toBe('canonical_hostname');
    expect(fqdn.devices.map((c) => c.computerId!).sort()).toEqual([a.computerId, b.computerId].sort());
    expect((await client.findByHostname('lab-pc')).devices).toEqual([]);
  });

  it('checks the id of the row it gets back', async () => {
    fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'status', status: 200, body: [fake.admin.list()[1]] });
    expect(await client.findById(fake.admin.list()[0]!.computerId!)).toBeNull();
  });

  it('retries 502/503/504 and resets, then gives up with a typed error', async () => {
    const id = fake.admin.list()[0]!.computerId!;
    fake.admin.injectFault({ kind: 'status', status: 502, times: 2 });
    expect(await client.findById(id)).not.toBeNull();
    fake.admin.clearRequests();
    fake.admin.injectFault({ kind: 'status', status: 503, times: null });
    const err = await client.findById(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VendorError);
    expect(err).toMatchObject({ kind: 'unavailable', code: 'HUB_ERR_VENDOR_UNAVAILABLE', httpStatus: 503, attempts: 3 });
    expect(fake.admin.requestCount()).toBe(3);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    const id = fake.admin.list()[0]!.computerId!;
    // HTTP dates have whole seconds: two seconds ahead is at least one second of waiting.
    const at = new Date(Date.now() + 2_000).toUTCString();
    fake.admin.injectFault({ kind: 'status', status: 429, retryAfter: at });
    expect(await client.findById(id)).not.toBeNull();
    expect(fake.admin.requests().map((r) => r.status)).toEqual([429, 200]);
    // The wait planned before the second attempt is the one the date asked for.
    const retry = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'vendor call failed, retrying');
    expect(retry).toMatchObject({ kind: 'rate_limited', status: 429, attempt: 1 });
    expect(retry.waitMs).toBeGreaterThanOrEqual(900);
  });

  it('never retries other 4xx', async () => {
    fake.admin.injectFault({ kind: 'status', status: 400, times: null });
    const err = await client.findById(fake.admin.list()[0]!.computerId!).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'request', httpStatus: 400 });
    expect(fake.admin.requestCount()).toBe(1);
  });

  it('reports a timeout as such', async () => {
    fake.admin.injectFault({ kind: 'delay', ms: 1_500 });
    const err = await client.findById(fake.admin.list()[0]!.computerId!).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', code: 'HUB_ERR_VENDOR_TIMEOUT' });
  });

  it('reports a wrong key as auth and never puts the key in an error or log', async () => {
    const bad = new ThreatLockerClient({
      baseUrl: fake.baseUrl,
      apiKey: 'f'.repeat(64),
      organizationId: undefined,
      timeoutMs: 1_000,
      logger: pino({ level: 'trace' }, { write: (l: string) => void logLines.push(l) }),
    });
    try {
      const err = (await bad.findById(fake.admin.list()[0]!.computerId!).catch((e: unknown) => e)) as VendorError;
      expect(err).toMatchObject({ kind: 'auth', httpStatus: 401 });
      expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('f'.repeat(64));
      expect(logLines.join('\n')).not.toContain('f'.repeat(64));
      expect(logLines.join('\n')).not.toContain(fake.apiKey);
    } finally {
      await bad.close();
    }
  });

  describe('bounded paging', () => {
    it('stops with a typed error when the server ignores pageNumber', async () => {
      fake.admin.setPaging('ignore-page-number');
      const err = await collect().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VendorError);
      expect(err).toMatchObject({ kind: 'malformed', code: 'HUB_ERR_VENDOR_MALFORMED' });
      expect((err as VendorError).message).toMatch(/page it had already sent/);
      // Page 1, then page 2 (the same rows again): nothing more.
      expect(fake.admin.requests().map((r) => (r.body as { pageNumber: number }).pageNumber)).toEqual([1, 2]);
    });

    it('stops with a typed error when full pages keep coming past totalRows', async () => {
      fake.admin.setPaging('endless');
      const live = fake.admin.list().filter((c) => !c.isDeleted).length;
      const err = await collect(100).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'malformed' });
      expect((err as VendorError).message).toMatch(new RegExp(`for a fleet of ${live} \\(totalRows\\)`));
      // One page of slack beyond the fleet, then the next page is refused.
      expect(fake.admin.requestCount()).toBe(Math.floor(live / 100) + 2);
    });

    it('stops past the hard page cap', async () => {
      fake.admin.setPaging('endless');
      const capped = makeClient({ maxPages: 3 });
      const err = await collect(100, capped).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'malformed' });
      expect((err as VendorError).message).toMatch(/went past 3 pages/);
      expect(fake.admin.requestCount()).toBe(4);
    });
  });

  describe('hostname lookups take at most two requests', () => {
    it('reads a second page when more than one page of computers matches the search', async () => {
      for (let i = 0; i < 520; i++) fake.admin.add({ hostname: `KIOSK-${String(i).padStart(3, '0')}` });
      const target = withId(fake.admin.add({ hostname: 'KIOSK' }));
      fake.admin.clearRequests();
      const found = await client.findByHostname('kiosk');
      expect(found).toMatchObject({ matchedBy: 'hostname' });
      expect(found.devices.map((d) => d.computerId)).toEqual([target.computerId]);
      expect(fake.admin.requests().map((r) => (r.body as { pageNumber: number }).pageNumber)).toEqual([1, 2]);
    });

    it('refuses a name that matches more than two pages hold, after one request', async () => {
      for (let i = 0; i < 1_100; i++) fake.admin.add({ hostname: `LAB-${String(i).padStart(4, '0')}` });
      fake.admin.clearRequests();
      const err = await client.findByHostname('lab').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VendorError);
      expect(err).toMatchObject({ kind: 'too_broad', code: 'HUB_ERR_HOSTNAME_TOO_BROAD', status: 422 });
      expect((err as VendorError).message).toMatch(/computer_id/);
      // Every row says how many matched: no second request is needed to know.
      expect(fake.admin.requestCount()).toBe(1);
    });

    it('stops at two requests when the server ignores pageNumber', async () => {
      for (let i = 0; i < 600; i++) fake.admin.add({ hostname: `DESK-${String(i).padStart(3, '0')}` });
      fake.admin.setPaging('ignore-page-number');
      fake.admin.clearRequests();
      const err = await client.findByHostname('desk').catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'malformed' });
      expect(fake.admin.requestCount()).toBe(2);
    });
  });

  describe('cancellation and deadlines reach every method', () => {
    it('list: an abort ends the page in flight at once', async () => {
      fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 60_000, nth: 2 });
      const controller = new AbortController();
      const slow = makeClient({ timeoutMs: 60_000 });
      const pages: number[] = [];
      const run = (async () => {
        for await (const page of slow.list(500, { signal: controller.signal })) pages.push(page.length);
      })().catch((e: unknown) => e);
      await vi.waitFor(() => expect(fake.admin.requestCount()).toBe(2), WAIT);
      controller.abort();
      const err = await run;
      expect(err).toBe(controller.signal.reason);
      expect(pages).toEqual([500]);
      // Page 2 was never answered: the abort ended it, and the fake saw the connection close.
      expect(fake.admin.requests()[1]?.status).toBeNull();
      await vi.waitFor(() => expect(fake.admin.requests()[1]?.closedBeforeAnswer).toBe(true), WAIT);
    });

    it('findById, findByHostname and renameComputer send nothing once aborted or past the deadline', async () => {
      const pc = withId(fake.admin.list()[0]!);
      const signal = AbortSignal.abort();
      const passed = { deadline: Date.now() - 1 };
      expect(await client.findById(pc.computerId, { signal }).catch((e: unknown) => e)).toBe(signal.reason);
      expect(await client.findByHostname(pc.hostname!, { signal }).catch((e: unknown) => e)).toBe(signal.reason);
      expect(await client.renameComputer(pc.computerId, 'X', null, { signal }).catch((e: unknown) => e)).toBe(signal.reason);
      for (const call of [client.findById(pc.computerId, passed), client.findByHostname(pc.hostname!, passed), client.renameComputer(pc.computerId, 'X', null, passed)]) {
        expect(await call.catch((e: unknown) => e)).toMatchObject({ kind: 'timeout', attempts: 0 });
      }
      expect(fake.admin.requestCount()).toBe(0);
      expect(fake.admin.get(pc.computerId)?.computerName).toBe(pc.computerName);
    });

    it('renameComputer: a Retry-After past the deadline fails fast, before the PATCH', async () => {
      const pc = withId(fake.admin.list()[2]!);
      fake.admin.injectFault({ operation: 'ComputerGetForEditById', kind: 'status', status: 429, retryAfter: '90' });
      const err = await client.renameComputer(pc.computerId, 'Y', null, { deadline: Date.now() + 30_000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'rate_limited', details: expect.objectContaining({ retry_after_seconds: 90 }) });
      expect(fake.admin.requests().map((r) => `${r.operation} ${r.status}`)).toEqual(['ComputerGetForEditById 429']);
    });
  });

  it('renames with GET-for-edit then PATCH of the whole DTO with `name`', async () => {
    const pc = fake.admin.list()[3]!;
    const { previousName } = await client.renameComputer(pc.computerId!, 'NEW | Name "Q"', pc.organizationId);
    expect(previousName).toBe(pc.computerName ?? pc.hostname);
    const ops = fake.admin.requests().map((r) => `${r.method} ${r.operation}`);
    expect(ops).toEqual(['GET ComputerGetForEditById', 'PATCH ComputerUpdateForEdit']);
    const patch = fake.admin.requests()[1]!;
    expect(patch.body).toMatchObject({ computerId: pc.computerId, name: 'NEW | Name "Q"', computerGroupId: expect.any(String), options: [] });
    expect(fake.admin.get(pc.computerId!)?.computerName).toBe('NEW | Name "Q"');
  });
});
