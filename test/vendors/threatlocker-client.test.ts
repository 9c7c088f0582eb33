/**
 * The ThreatLocker client against the fake over real HTTP: request shapes, paging edge cases,
 * retries, typed failures, and the rename contract.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeThreatLocker, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';
import { VendorError } from '../../src/vendors/http.js';
import { ThreatLockerClient } from '../../src/vendors/threatlocker/client.js';
import { withId } from '../helpers/harness.js';

describe('ThreatLockerClient', () => {
  let fake: FakeThreatLocker;
  let client: ThreatLockerClient;
  const logLines: string[] = [];

  beforeAll(async () => {
    fake = await startFakeThreatLocker({ fleetSize: 1200, seed: 7 });
    client = new ThreatLockerClient({
      baseUrl: fake.baseUrl,
      apiKey: fake.apiKey,
      organizationId: fake.rootOrganizationId,
      timeoutMs: 1_000,
      logger: pino({ level: 'debug' }, { write: (l: string) => void logLines.push(l) }),
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 1_500 },
    });
  });
  afterAll(async () => {
    await client.close();
    await fake.close();
  });
  beforeEach(async () => {
    fake.admin.reset();
  });

  async function collect(pageSize?: number) {
    const rows = [];
    let pages = 0;
    for await (const page of client.list(pageSize)) {
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
    const started = Date.now();
    expect(await client.findById(id)).not.toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
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
