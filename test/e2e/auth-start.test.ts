/**
 * `serve` off loopback, as an operator starts it: refused without AUTH_MODE (a configuration
 * error, exit 2), refused with AUTH_MODE=required and no usable key (exit 2), started with
 * AUTH_MODE=open and a warning, and started with AUTH_MODE=required once `keys create` made a key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeThreatLocker, type FakeThreatLocker } from '../../src/fakes/threatlocker/index.js';
import { isolatedEnv, listening, runCli, startHub, type HubProcess } from './hub-process.js';

// Each command is a fresh Node process (tsx, the embedded database): allow for a busy machine.
describe('serve off loopback', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  let fake: FakeThreatLocker;
  let hub: HubProcess | undefined;
  const env = (extra: Record<string, string>) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inventory-hub-auth-start-'));
    dirs.push(dataDir);
    // A (fake) vendor configured, so that serve starts a real deployment, not the demo.
    return isolatedEnv({ HOST: '0.0.0.0', DATA_DIR: dataDir, THREATLOCKER_API_BASE_URL: fake.url, THREATLOCKER_API_KEY: fake.apiKey, ...extra });
  };

  beforeAll(async () => {
    fake = await startFakeThreatLocker({ fleetSize: 20, seed: 5 });
  });
  afterEach(async () => {
    if (hub) {
      hub.kill();
      await hub.exited;
      hub = undefined;
    }
  });
  afterAll(async () => {
    await fake.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('without AUTH_MODE: refuses to start (exit 2), naming AUTH_MODE', async () => {
    const e = env({});
    delete e.AUTH_MODE;
    const r = await runCli(e, 'serve');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HOST 0\.0\.0\.0 is not a loopback address: set AUTH_MODE=required/);
    expect(r.stdout).not.toMatch(/listening/);
  });

  it('AUTH_MODE=required without a key: refuses to start (exit 2), saying how to create one', async () => {
    const r = await runCli(env({ AUTH_MODE: 'required' }), 'serve');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/AUTH_MODE=required but there is no usable API key: create one with `inventory-hub keys create/);
  });

  it('AUTH_MODE=open: starts, and warns that the whole API is open', async () => {
    hub = startHub(env({ AUTH_MODE: 'open' }));
    const url = await listening(hub);
    const warning = hub.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('AUTH_MODE=open on 0.0.0.0'));
    expect(warning).toMatchObject({ level: 40, host: '0.0.0.0' });
    const port = new URL(url).port;
    expect((await fetch(`http://127.0.0.1:${port}/api/status`)).status).toBe(200);
  });

  it('AUTH_MODE=required with a key made by `keys create`: starts; the API wants the key', async () => {
    const e = env({ AUTH_MODE: 'required' });
    const created = await runCli(e, 'keys', 'create', '--name', 'ops', '--scope', 'read');
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^ih_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    hub = startHub(e);
    const port = new URL(await listening(hub)).port;
    expect(hub.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('AUTH_MODE=open'))).toBe(false);
    expect((await fetch(`http://127.0.0.1:${port}/api/status`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect(hub.output()).not.toContain(key.slice(16));
  });
});
