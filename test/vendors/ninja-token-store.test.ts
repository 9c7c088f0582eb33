/**
 * NinjaOne refresh-token rotation through the database token store, on every test database:
 * two hub processes (`serve` and `collect ninja`: two database handles on PostgreSQL, two
 * clients on one handle on PGlite) refreshing at once, a reply lost after NinjaOne rotated,
 * and a refresh in flight never holding up the process's other queries.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { startFakeNinja, type FakeNinja } from '../../src/fakes/ninja/index.js';
import { loadVendorIds } from '../../src/inventory/vendors.js';
import { VendorError } from '../../src/vendors/http.js';
import { NinjaClient } from '../../src/vendors/ninja/client.js';
import { databaseTokenStore } from '../../src/vendors/ninja/token-store.js';
import { openTestDatabase, TEST_DATABASES, type TestDatabase } from '../helpers/database.js';

describe.each(TEST_DATABASES)('NinjaOne token store on %s', (kind) => {
  let database: TestDatabase;
  /** What a second hub process would open: its own handle on PostgreSQL; PGlite allows one per process. */
  let other: Database;
  let fake: FakeNinja;
  let ninjaId: number;
  const clients: NinjaClient[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(kind);
    // The test database URL carries no password, so its printable location is the URL itself.
    other = kind === 'postgres' ? await openDatabase({ databaseUrl: database.location, poolSize: 4 }) : database;
    fake = await startFakeNinja({ devices: [] });
    ninjaId = (await loadVendorIds(database.db)).ninja;
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await fake?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
    if (other !== database) await other?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
    await database?.close();
  });
  beforeEach(async () => {
    await database.truncate();
    fake.admin.reset();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  function client(on: Database, configured: string): NinjaClient {
    const c = new NinjaClient({
      baseUrl: fake.baseUrl,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      refreshToken: configured,
      tokenStore: databaseTokenStore(on, ninjaId, configured, () => new Date()),
      timeoutMs: 10_000,
      logger: pino({ level: 'silent' }),
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50 },
    });
    clients.push(c);
    return c;
  }

  const storedRow = () => database.db.selectFrom('vendor_token').selectAll().where('vendor_id', '=', ninjaId).executeTakeFirstOrThrow();

  it('two processes refreshing at once: exactly one exchange, both served, the newest token stored', async () => {
    const initial = fake.admin.issueRefreshToken();
    const serve = client(database, initial);
    const collect = client(other, initial);
    const [a, b] = await Promise.all([serve.listOrganizations(), collect.listOrganizations()]);
    expect([a.size, b.size]).toEqual([fake.admin.organizations().length, fake.admin.organizations().length]);
    expect(fake.admin.requests().filter((r) => r.operation === 'token').map((r) => r.status)).toEqual([200]);
    expect(fake.admin.requestCount('organizations')).toBe(2);
    const row = await storedRow();
    expect(row.refresh_token).not.toBe(initial);
    expect([fake.admin.isLiveRefreshToken(row.refresh_token), fake.admin.spentRefreshTokenPresentations()]).toEqual([true, 0]);
  });

  it('a process whose shared access token was refused renews from the stored chain, never from a spent token', async () => {
    const initial = fake.admin.issueRefreshToken();
    const serve = client(database, initial);
    const collect = client(other, initial);
    await serve.listOrganizations();
    const first = (await storedRow()).refresh_token;
    fake.admin.expireAllTokens(); // the stored access token now answers 401
    await collect.listOrganizations();
    await serve.listOrganizations();
    const second = (await storedRow()).refresh_token;
    // One more exchange for both processes (collect renewed; serve took collect's token from the store).
    expect(fake.admin.requests().filter((r) => r.operation === 'token').map((r) => r.status)).toEqual([200, 200]);
    expect(new Set([initial, first, second]).size).toBe(3);
    expect([fake.admin.isLiveRefreshToken(second), fake.admin.spentRefreshTokenPresentations()]).toEqual([true, 0]);
  });

  it('a reply lost after NinjaOne rotated: no retry, no spent token presented, the stored token untouched', async () => {
    const initial = fake.admin.issueRefreshToken();
    const serve = client(database, initial);
    fake.admin.loseReplies('token');
    const err = await serve.listOrganizations().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VendorError);
    expect(err).toMatchObject({ kind: 'unavailable', attempts: 1 });
    expect(fake.admin.requests().map((r) => [r.operation, r.status])).toEqual([['token', null]]);
    expect(fake.admin.spentRefreshTokenPresentations()).toBe(0);
    // Nothing was written blindly (on PostgreSQL the failed exchange's transaction, which had
    // created the row from the configured token, rolled back: the chain still starts there).
    const row = await database.db.selectFrom('vendor_token').selectAll().executeTakeFirst();
    expect([row?.refresh_token ?? initial, row?.access_token ?? null]).toEqual([initial, null]);
  });

  it('a refresh in flight holds up neither this process’s other queries nor, on PGlite, its only connection', async () => {
    const initial = fake.admin.issueRefreshToken();
    const serve = client(database, initial);
    fake.admin.injectFault({ operation: 'token', kind: 'delay', ms: 60_000 });
    let refreshed = false;
    const call = serve.listOrganizations().then((orgs) => {
      refreshed = true;
      return orgs;
    });
    while (fake.admin.tokenRequestCount() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // The exchange is now waiting inside the lock; the same handle still answers.
    const vendors = await database.db.selectFrom('vendor').select('name').execute();
    expect([vendors.length > 0, refreshed]).toEqual([true, false]);
    fake.admin.releaseDelays();
    expect((await call).size).toBe(fake.admin.organizations().length);
    expect(fake.admin.isLiveRefreshToken((await storedRow()).refresh_token)).toBe(true);
  });
});
