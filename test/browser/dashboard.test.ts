/**
 * The dashboard in Chromium against a real demo hub: the overview shows what GET /api/status
 * says, the navigation reaches every section, and a deep link opens its page. A screenshot of
 * each page goes to test-artifacts/screenshots/.
 */
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from '../../web/src/api/schema.js';
import { SCREENSHOT_DIR, startDashboardEnv, type DashboardEnv } from './dashboard-env.js';

type Status = paths['/api/status']['get']['responses'][200]['content']['application/json'];

const SECTIONS = [
  { link: 'Overview', path: '/', heading: 'Overview' },
  { link: 'Variances', path: '/variances', heading: 'Variances' },
  { link: 'Collections', path: '/collections', heading: 'Collections' },
  { link: 'Organizations', path: '/organizations', heading: 'Organizations' },
  { link: 'Exports', path: '/exports', heading: 'Exports' },
] as const;

/** The text of each body row of the table with this caption, cell by cell. */
async function tableRows(page: Page, caption: string): Promise<string[][]> {
  const table = page.locator('table', { has: page.locator('caption', { hasText: caption }) });
  await table.waitFor();
  const rows = await table.locator('tbody tr').all();
  return Promise.all(rows.map(async (row) => (await row.locator('th, td').allTextContents()).map((text) => text.trim())));
}

describe('dashboard in a browser', () => {
  let env: DashboardEnv;
  // Undefined in afterAll when beforeAll failed part-way.
  let context: BrowserContext | undefined;
  let started: DashboardEnv | undefined;
  let page: Page;

  beforeAll(async () => {
    env = started = await startDashboardEnv();
    context = await env.browser.newContext({ baseURL: env.baseUrl, locale: 'en-US', viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await started?.close();
  });

  it('shows on the overview the counts GET /api/status returns', async () => {
    const status = (await (await fetch(`${env.baseUrl}/api/status`)).json()) as Status;
    expect(status.device_counts.ThreatLocker).toBeGreaterThan(0);
    expect(status.total_exceptions).toBeGreaterThan(0);

    await page.goto('/');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // Open mode (the default on loopback): no sign-in screen, no sign-out, and the header says so.
    expect(await page.getByText('Open access').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(await page.getByLabel('API key').count()).toBe(0);
    const number = (n: number) => n.toLocaleString('en-US');

    expect(await tableRows(page, 'Collections by vendor')).toEqual([
      ['ThreatLocker', status.vendor_status.ThreatLocker.latest_date, status.vendor_status.ThreatLocker.freshness_message, number(status.device_counts.ThreatLocker)],
      ['NinjaOne', status.vendor_status.Ninja.latest_date, status.vendor_status.Ninja.freshness_message, number(status.device_counts.Ninja)],
    ]);
    // Every type is listed (zeros too), its open count first; the change since the previous
    // checked day follows (test/browser/overview.test.ts).
    const openByType = (await tableRows(page, 'Open variances by type')).filter((row) => row[1] !== '0').map((row) => row.slice(0, 2));
    expect(openByType.sort()).toEqual(Object.entries(status.exception_counts).map(([type, n]) => [type, number(n)]).sort());
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'overview.png'), fullPage: true });
  });

  it('reaches every section from the navigation', async () => {
    await page.goto('/');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const section of SECTIONS) {
      await nav.getByRole('link', { name: section.link, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: section.heading }).waitFor();
      expect(new URL(page.url()).pathname).toBe(section.path);
      expect(await nav.getByRole('link', { name: section.link, exact: true }).getAttribute('aria-current')).toBe('page');
      if (section.path !== '/') await page.screenshot({ path: join(SCREENSHOT_DIR, `${section.link.toLowerCase()}.png`), fullPage: true });
    }
  });

  it('opens a deep link to filtered variances directly', async () => {
    await page.goto('/variances?type=DISPLAY_NAME_MISMATCH');
    await page.getByRole('heading', { level: 1, name: 'Variances' }).waitFor();
    expect(await page.locator('.filter code').textContent()).toBe('DISPLAY_NAME_MISMATCH');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'variances-deep-link.png'), fullPage: true });
  });

  it('opens a device deep link directly', async () => {
    await page.goto('/devices/threatlocker/4294a629-6818-4d20-a365-0993f596198f');
    await page.getByRole('heading', { level: 1, name: 'Device' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'device.png'), fullPage: true });
  });

  it('wraps the navigation at phone width (in the dark theme)', async () => {
    const phone = await env.browser.newContext({ baseURL: env.baseUrl, locale: 'en-US', colorScheme: 'dark', viewport: { width: 375, height: 740 } });
    try {
      const small = await phone.newPage();
      await small.goto('/');
      await small.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      await small.locator('caption', { hasText: 'Open variances by type' }).waitFor();
      // A string: the root tsconfig has no DOM types (the page's code is web/'s).
      const width = Number(await small.evaluate('document.documentElement.scrollWidth'));
      expect(width).toBeLessThanOrEqual(375);
      await small.screenshot({ path: join(SCREENSHOT_DIR, 'overview-phone-dark.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });
});
