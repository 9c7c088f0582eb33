/**
 * Logs a person can read: LOG_FORMAT validation, the pretty/JSON choice, redaction in both
 * formats, and the start-up banner's plain words.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger, resolveLogFormat } from '../../src/logger.js';
import { describeDatabaseForPeople, startupBanner } from '../../src/startup-banner.js';

/** Collects what a logger writes, one entry per write. */
function sink(): { stream: Writable & { write(chunk: string): boolean }; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('LOG_FORMAT', () => {
  it('is unset by default (the choice is made from stdout)', () => {
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(loadConfig({ LOG_FORMAT: '  ' }).logFormat).toBeUndefined();
  });

  it.each(['json', 'pretty'] as const)('accepts %s', (format) => {
    expect(loadConfig({ LOG_FORMAT: format }).logFormat).toBe(format);
  });

  it('refuses anything else, listed with the other problems', () => {
    let error: unknown;
    try {
      loadConfig({ LOG_FORMAT: 'yaml', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toContainEqual(expect.stringMatching(/^LOG_FORMAT must be json or pretty .*got "yaml"/));
    expect(problems).toContainEqual(expect.stringMatching(/^LOG_LEVEL/));
  });
});

describe('resolveLogFormat', () => {
  it.each([
    { setting: undefined, isTTY: true, expected: 'pretty' },
    { setting: undefined, isTTY: false, expected: 'json' },
    // A pipe's `isTTY` is undefined, not false: e2e tests read the child's stdout through one.
    { setting: undefined, isTTY: undefined, expected: 'json' },
    { setting: 'json', isTTY: true, expected: 'json' },
    { setting: 'pretty', isTTY: false, expected: 'pretty' },
    { setting: 'pretty', isTTY: undefined, expected: 'pretty' },
  ] as const)('$setting on a terminal=$isTTY → $expected', ({ setting, isTTY, expected }) => {
    expect(resolveLogFormat(setting, isTTY)).toBe(expected);
  });
});

describe('createLogger', () => {
  const secret = 'tl-key-0123456789';

  it('writes JSON lines, redacted, to a given destination unless told otherwise', () => {
    const out = sink();
    const log = createLogger('info', out.stream);
    log.info({ apiKey: secret, headers: { authorization: secret }, collector: 'threatlocker' }, 'hello');
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'hello', level: 30, service: 'inventory-hub', collector: 'threatlocker', apiKey: '[redacted]' });
    expect(out.text()).not.toContain(secret);
  });

  it('writes one readable line per event in pretty format, still redacted', () => {
    const out = sink();
    const log = createLogger('info', out.stream, 'pretty');
    log.warn({ apiKey: secret, client: { client_secret: secret }, collector: 'ninja' }, 'vendor call failed');
    const text = out.text();
    expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
    expect(text).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] WARN: vendor call failed/);
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(() => JSON.parse(text) as unknown).toThrow();
    // Fields that never change within a process are left out of the readable line.
    expect(text).not.toContain('inventory-hub');
  });
});

describe('startup banner', () => {
  const address = 'http://127.0.0.1:5400';

  it('says where to go, that it is a demo, which database, and that the API is open', () => {
    const text = startupBanner({ address, dashboard: true, demo: true, threatlocker: true, ninja: true, database: { kind: 'pglite', location: '/srv/ih/data' } });
    expect(text.startsWith(`Inventory Hub listening on ${address}`)).toBe(true);
    expect(text).toContain(`dashboard: ${address}/`);
    expect(text).toContain(`API docs: ${address}/api/docs`);
    expect(text).toContain('DEMO MODE');
    expect(text).toContain('the embedded database in /srv/ih/data (DATA_DIR)');
    expect(text).toContain('the API is open (AUTH_MODE=open');
  });

  it('names real vendors and PostgreSQL by host and database, never the password', () => {
    const url = 'postgres://hub:s3cret-pw@db.internal:5433/inventory';
    const text = startupBanner({ address, dashboard: false, demo: false, threatlocker: false, ninja: true, database: { kind: 'postgres', location: 'x', url } });
    expect(text).toContain('real vendors: NinjaOne');
    expect(text).not.toContain('ThreatLocker');
    expect(text).toContain('PostgreSQL database "inventory" on db.internal:5433');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('hub:');
    expect(text).toContain('no dashboard');
  });

  it('describes an in-memory embedded database', () => {
    expect(describeDatabaseForPeople({ kind: 'pglite', location: 'memory' })).toContain('in memory');
  });
});
