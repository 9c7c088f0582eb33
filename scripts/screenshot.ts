/**
 * npm run screenshot: the README's picture of the dashboard. Starts a demo hub (its own data
 * directory, a free port), opens /variances in Debian's Chromium and saves
 * docs/screenshots/variances.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDashboardEnv } from '../test/browser/dashboard-env.js';

const OUT_DIR = join(process.cwd(), 'docs', 'screenshots');

const env = await startDashboardEnv();
try {
  const context = await env.browser.newContext({ baseURL: env.baseUrl, locale: 'en-US', viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  const page = await context.newPage();
  await page.goto('/variances');
  await page.locator('table.variance-table tbody tr').first().waitFor();
  mkdirSync(OUT_DIR, { recursive: true });
  const path = join(OUT_DIR, 'variances.png');
  await page.screenshot({ path });
  await context.close();
  console.log(`saved ${path}`);
} finally {
  await env.close();
}
