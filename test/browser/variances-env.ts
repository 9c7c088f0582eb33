/**
 * A dashboard environment for the variances page's tests and the screenshot script: what
 * startDashboardEnv gives (a fresh build, a real demo hub, Chromium), plus the origins of the
 * demo hub's fake vendors (from its start-up WARN line), whose `/__admin/...` API lets a test
 * read a computer's name or inject a vendor fault.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { isolatedEnv, listening, startHub, type HubProcess } from '../e2e/hub-process.js';
import { ensureWebBuild, SCREENSHOT_DIR, type DashboardEnv } from './dashboard-env.js';

export interface DemoDashboardEnv extends DashboardEnv {
  readonly hub: HubProcess;
  /** e.g. http://127.0.0.1:39615 — the ThreatLocker fake (its portal API is under /portalapi). */
  readonly threatLockerOrigin: string;
}

export async function startDemoDashboardEnv(extraEnv: Record<string, string> = {}): Promise<DemoDashboardEnv> {
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
    hub = startHub(isolatedEnv({ DATA_DIR: dataDir, ...extraEnv }));
    const demo = await hub.waitFor((l) => typeof l.demoThreatLocker === 'string');
    const baseUrl = await listening(hub);
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true });
    return { baseUrl, browser, close, hub, threatLockerOrigin: new URL(String(demo.demoThreatLocker)).origin };
  } catch (err) {
    hub?.kill();
    await close();
    throw err;
  }
}
