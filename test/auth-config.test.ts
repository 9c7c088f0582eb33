/** AUTH_MODE posture: open only on loopback by default; elsewhere it must be chosen. */
import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackHost, loadConfig } from '../src/config.js';

describe('AUTH_MODE posture', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])('%s is loopback: open by default', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
    expect(loadConfig({ HOST: host }).security).toMatchObject({ authMode: 'open', authModeExplicit: false, loopback: true });
  });

  it.each(['0.0.0.0', '::', '10.0.0.5', 'hub.example.com'])('%s without AUTH_MODE refuses to start, saying what to set', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
    expect(() => loadConfig({ HOST: host })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: host })).toThrow(/AUTH_MODE=required .*AUTH_MODE=open/);
  });

  it('an explicit choice is accepted anywhere', () => {
    expect(loadConfig({ HOST: '0.0.0.0', AUTH_MODE: 'required' }).security.authMode).toBe('required');
    expect(loadConfig({ HOST: '0.0.0.0', AUTH_MODE: 'open' }).security).toMatchObject({ authMode: 'open', authModeExplicit: true, loopback: false });
  });

  it('reports every bad security setting at once', () => {
    try {
      loadConfig({ AUTH_MODE: 'maybe', METRICS_OPEN: 'perhaps', RATE_LIMIT_PER_MIN: '0', CORS_ORIGINS: 'https://a.example/path', TRUST_PROXY: 'not a proxy!' });
      expect.unreachable();
    } catch (err) {
      const problems = (err as ConfigError).problems.join('\n');
      for (const name of ['AUTH_MODE', 'METRICS_OPEN', 'RATE_LIMIT_PER_MIN', 'CORS_ORIGINS', 'TRUST_PROXY']) expect(problems).toContain(name);
    }
  });

  it('defaults: 600/min, 60/min on syncs, metrics need read, CORS off, no proxy trusted', () => {
    expect(loadConfig({}).security).toMatchObject({ rateLimitPerMin: 600, rateLimitSyncPerMin: 60, metricsOpen: false, corsOrigins: [], trustProxy: false });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).security.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(loadConfig({ TRUST_PROXY: '2' }).security.trustProxy).toBe(2);
  });
});
