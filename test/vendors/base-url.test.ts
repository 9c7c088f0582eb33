/**
 * Vendor base-URL conventions (src/vendors/base-url.ts), table-driven, and proof that the
 * clients apply them whatever form the URL was handed over in (configuration, demo, tests).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeNinja, type FakeNinja } from '../../src/fakes/ninja/index.js';
import { startFakeThreatLocker, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';
import { ninjaBaseUrl, threatLockerBaseUrl } from '../../src/vendors/base-url.js';
import { NinjaClient } from '../../src/vendors/ninja/client.js';
import { ThreatLockerClient } from '../../src/vendors/threatlocker/client.js';

describe('threatLockerBaseUrl', () => {
  it.each([
    ['https://portalapi.g.threatlocker.com', 'https://portalapi.g.threatlocker.com/portalapi'],
    ['https://portalapi.g.threatlocker.com/', 'https://portalapi.g.threatlocker.com/portalapi'],
    ['https://portalapi.g.threatlocker.com//', 'https://portalapi.g.threatlocker.com/portalapi'],
    ['https://portalapi.g.threatlocker.com/portalapi', 'https://portalapi.g.threatlocker.com/portalapi'],
    ['https://portalapi.g.threatlocker.com/portalApi/', 'https://portalapi.g.threatlocker.com/portalApi'],
    ['https://portalapi.g.threatlocker.com/portalapi?x=1#y', 'https://portalapi.g.threatlocker.com/portalapi'],
    ['http://127.0.0.1:9999/proxy', 'http://127.0.0.1:9999/proxy/portalapi'],
    ['http://127.0.0.1:9999/proxy/portalapi/', 'http://127.0.0.1:9999/proxy/portalapi'],
  ])('%s → %s', (input, expected) => {
    expect(threatLockerBaseUrl(input)).toBe(expected);
    expect(threatLockerBaseUrl(expected)).toBe(expected);
  });
});

describe('ninjaBaseUrl', () => {
  it.each([
    ['https://app.ninjarmm.com', 'https://app.ninjarmm.com'],
    ['https://app.ninjarmm.com/', 'https://app.ninjarmm.com'],
    ['https://eu.ninjarmm.com/api', 'https://eu.ninjarmm.com'],
    ['https://eu.ninjarmm.com/api/', 'https://eu.ninjarmm.com'],
    ['https://eu.ninjarmm.com/v2', 'https://eu.ninjarmm.com'],
    ['https://eu.ninjarmm.com/v2/', 'https://eu.ninjarmm.com'],
    ['https://eu.ninjarmm.com/api/v2', 'https://eu.ninjarmm.com'],
    ['https://eu.ninjarmm.com/API/V2/', 'https://eu.ninjarmm.com'],
    ['https://eu.ninjarmm.com/api/v2?x=1#y', 'https://eu.ninjarmm.com'],
    ['http://127.0.0.1:9999/proxy/api/v2', 'http://127.0.0.1:9999/proxy'],
  ])('%s → %s', (input, expected) => {
    expect(ninjaBaseUrl(input)).toBe(expected);
    expect(ninjaBaseUrl(expected)).toBe(expected);
  });
});

describe('the clients apply the convention themselves', () => {
  let tl: FakeThreatLocker;
  let ninja: FakeNinja;
  const logger = pino({ level: 'silent' });
  beforeAll(async () => {
    [tl, ninja] = await Promise.all([startFakeThreatLocker({ fleetSize: 5 }), startFakeNinja({ fleetSize: 5 })]);
  });
  afterAll(async () => {
    await Promise.all([tl.close(), ninja.close()]);
  });

  it.each(['', '/', '/portalapi', '/portalapi/'])('ThreatLocker at host%s', async (suffix) => {
    const client = new ThreatLockerClient({ baseUrl: `${tl.url}${suffix}`, apiKey: tl.apiKey, organizationId: undefined, timeoutMs: 2_000, logger });
    try {
      const rows = [];
      for await (const page of client.list()) rows.push(...page);
      expect(rows.length).toBeGreaterThan(0); // a wrong path would have answered 404
    } finally {
      await client.close();
    }
  });

  it.each(['', '/', '/api', '/api/v2/', '/v2'])('NinjaOne at host%s', async (suffix) => {
    const client = new NinjaClient({ baseUrl: `${ninja.url}${suffix}`, clientId: ninja.clientId, clientSecret: ninja.clientSecret, timeoutMs: 2_000, logger });
    try {
      expect((await client.listOrganizations()).size).toBe(ninja.admin.organizations().length);
      expect(ninja.admin.requests().at(-1)?.path).toBe('/v2/organizations');
    } finally {
      await client.close();
    }
  });
});
