import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const KEY = 'a'.repeat(64);

describe('loadConfig', () => {
  it('has working defaults (demo mode, embedded database)', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 5400, host: '127.0.0.1', databaseUrl: undefined, threatlocker: undefined, ninja: undefined, demo: true, logLevel: 'info' });
    expect(c.dataDir).toMatch(/data$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      // Off loopback the API posture must be chosen (see auth-config.test.ts).
      AUTH_MODE: 'required',
      DATABASE_URL: 'postgres://u:p@db/inventory',
      DATA_DIR: '/tmp/x',
      INVENTORY_TIMEZONE: 'America/Chicago',
      LOG_LEVEL: 'warn',
      THREATLOCKER_API_BASE_URL: 'https://portalapi.g.threatlocker.com',
      THREATLOCKER_API_KEY: KEY,
      THREATLOCKER_ORGANIZATION_ID: '4294a629-6818-4d20-a365-0993f596198f',
      THREATLOCKER_TIMEOUT_MS: '5000',
    });
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgres://u:p@db/inventory',
      dataDir: '/tmp/x',
      timeZone: 'America/Chicago',
      logLevel: 'warn',
      threatlocker: {
        baseUrl: 'https://portalapi.g.threatlocker.com',
        apiKey: KEY,
        organizationId: '4294a629-6818-4d20-a365-0993f596198f',
        timeoutMs: 5000,
      },
    });
  });

  it('lists every problem at once and never echoes the key', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        INVENTORY_TIMEZONE: 'Mars/Olympus',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://x',
        THREATLOCKER_API_KEY: 'secret-key-value',
        THREATLOCKER_ORGANIZATION_ID: 'nope',
        THREATLOCKER_TIMEOUT_MS: '-1',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.length).toBe(7);
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/INVENTORY_TIMEZONE/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL/);
    expect(problems.join('\n')).toMatch(/THREATLOCKER_ORGANIZATION_ID/);
    expect(problems.join('\n')).toMatch(/THREATLOCKER_TIMEOUT_MS/);
    expect(problems.join('\n')).toMatch(/THREATLOCKER_API_BASE_URL is required/);
    expect((error as Error).message).not.toContain('secret-key-value');
  });

  it('refuses half a ThreatLocker configuration', () => {
    expect(() => loadConfig({ THREATLOCKER_API_BASE_URL: 'https://x.example' })).toThrow(/THREATLOCKER_API_KEY is required/);
  });

  it('NinjaOne alone is a real deployment without ThreatLocker, not the demo', () => {
    const c = loadConfig({ NINJA_BASE_URL: 'https://eu.ninjarmm.com/', NINJA_CLIENT_ID: 'id', NINJA_CLIENT_SECRET: 'secret' });
    expect(c).toMatchObject({ demo: false, threatlocker: undefined, ninja: { baseUrl: 'https://eu.ninjarmm.com/', clientId: 'id' } });
  });

  it('ThreatLocker alone is a real deployment without NinjaOne', () => {
    const c = loadConfig({ THREATLOCKER_API_BASE_URL: 'https://portalapi.g.threatlocker.com', THREATLOCKER_API_KEY: KEY });
    expect(c).toMatchObject({ demo: false, ninja: undefined });
    expect(c.threatlocker?.apiKey).toBe(KEY);
  });

  it('variance settings: defaults, a list of locations, bounds', () => {
    expect(loadConfig({}).variances).toEqual({ staleDays: 30, spareAllowedLocations: [] });
    const c = loadConfig({ VARIANCE_STALE_DAYS: '45', VARIANCE_SPARE_ALLOWED_LOCATIONS: ' ES Spare , Lab,,ES Spare ' });
    expect(c.variances).toEqual({ staleDays: 45, spareAllowedLocations: ['ES Spare', 'Lab'] });
    expect(Object.isFrozen(c.variances)).toBe(true);
    expect(Object.isFrozen(c.variances.spareAllowedLocations)).toBe(true);
    expect(loadConfig({ VARIANCE_SPARE_ALLOWED_LOCATIONS: '  ' }).variances.spareAllowedLocations).toEqual([]);
    expect(() => loadConfig({ VARIANCE_STALE_DAYS: '0' })).toThrow(/VARIANCE_STALE_DAYS must be an integer from 1 to 3650/);
    expect(() => loadConfig({ VARIANCE_STALE_DAYS: 'month' })).toThrow(/VARIANCE_STALE_DAYS/);
  });
});
