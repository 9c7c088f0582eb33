/**
 * What the browser tests share: a fresh dashboard build, a real demo hub (child process), and
 * Debian's Chromium driven by playwright-core (no browser is downloaded; see
 * scripts/ensure-chromium.mjs, which `npm test` runs first).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { isolatedEnv, listening, startHub, type HubProcess } from '../e2e/hub-process.js';

const run = promisify(execFile);

export const SCREENSHOT_DIR = join(process.cwd(), 'test-artifacts', 'screenshots');
const WEB_DIR = join(process.cwd(), 'web');
const BUILT_INDEX = join(process.cwd(), 'dist', 'web', 'index.html');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/web/ with Vite unless it is newer than everything under web/. */
export async function ensureWebBuild(): Promise<void> {
  if (existsSync(BUILT_INDEX) && statSync(BUILT_INDEX).mtimeMs >= newestMtime(WEB_DIR)) return;
  const vite = join(process.cwd(), 'node_modules', 'vite', 'bin', 'vite.js');
  await run(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: process.cwd() });
}

export interface DashboardEnv {
  readonly baseUrl: string;
  readonly browser: Browser;
  /** The hub process: its log names the demo fakes' URLs ({@link demoFakeOrigins}). */
  readonly hub: HubProcess;
  close(): Promise<void>;
}

export interface DashboardEnvOptions {
  /** More environment for the hub (e.g. AUTH_MODE). */
  readonly env?: Record<string, string>;
  /** Runs before the hub starts, with its environment (same DATA_DIR): e.g. `keys create`. */
  readonly beforeStart?: (env: NodeJS.ProcessEnv) => Promise<void>;
}

/** A demo hub on a free port with its own data directory, and a headless Chromium. */
export async function startDashboardEnv(options: DashboardEnvOptions = {}): Promise<DashboardEnv> {
  await ensureWebBuild();
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'inventory-hub-browser-'));
  let hub: HubProcess | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    if (hub && hub.child.exitCode === null && hub.child.signalCode === null) {
      hub.child.kill('SIGTERM');
      await hub.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const env = isolatedEnv({ DATA_DIR: dataDir, ...options.env });
    await options.beforeStart?.(env);
    hub = startHub(env);
    const baseUrl = await listening(hub);
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true });
    return { baseUrl, browser, hub, close };
  } catch (err) {
    hub?.kill();
    await close();
    throw err;
  }
}

/**
 * The origins of the demo hub's fake ThreatLocker and NinjaOne (their `/__admin` APIs live
 * there), from the hub's DEMO MODE warning.
 */
export async function demoFakeOrigins(hub: HubProcess): Promise<{ threatlocker: string; ninja: string }> {
  const line = await hub.waitFor((l) => typeof l.demoThreatLocker === 'string' && typeof l.demoNinjaOne === 'string');
  return { threatlocker: new URL(String(line.demoThreatLocker)).origin, ninja: new URL(String(line.demoNinjaOne)).origin };
}
