/**
 * The device, organization mapping and exports pages in Chromium against a real demo hub; what
 * each shows and does is checked against the API. Screenshots: device.png, organizations.png,
 * exports.png (and device-phone-dark.png) in test-artifacts/screenshots/.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from '../../web/src/api/schema.js';
import { SCREENSHOT_DIR, startDashboardEnv, type DashboardEnv } from './dashboard-env.js';

type DeviceView = paths['/api/devices/{vendor}/{key}']['get']['responses'][200]['content']['application/json'];
type VarianceList = paths['/api/variances/']['get']['responses'][200]['content']['application/json'];
type Mapping = paths['/api/organizations/mapping']['get']['responses'][200]['content']['application/json'];

describe('device, organizations and exports pages in a browser', () => {
  let env: DashboardEnv;
  let started: DashboardEnv | undefined;
  let context: BrowserContext | undefined;
  let page: Page;

  const getJson = async <T,>(path: string): Promise<T> => {
    const res = await fetch(`${env.baseUrl}${path}`);
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    env = started = await startDashboardEnv();
    context = await env.browser.newContext({ baseURL: env.baseUrl, locale: 'en-US', viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await started?.close();
  });

  it('shows a matched pair side by side, its difference marked, its variance with events and its timeline', async () => {
    const list = await getJson<VarianceList>('/api/variances/?type=DISPLAY_NAME_MISMATCH&limit=1');
    const variance = list.items[0];
    expect(variance).toBeDefined();
    const tl = variance!.devices.find((d) => d.vendor === 'threatlocker')!;
    const view = await getJson<DeviceView>(`/api/devices/threatlocker/${tl.device_key}`);
    expect(view.counterpart).not.toBeNull();
    expect(view.differences).toContain('display_name');

    await page.goto(`/devices/threatlocker/${tl.device_key}`);
    await page.getByRole('heading', { level: 1, name: 'Device' }).waitFor();
    const table = page.locator('table.device-fields');
    // The heading can render before the device's data arrives: wait for the table itself.
    await table.locator('thead th').first().waitFor();
    expect((await table.locator('thead th').allTextContents()).map((t) => t.trim())).toEqual(['Field', 'ThreatLocker', 'NinjaOne']);

    const nameRow = table.locator('tr[data-field="display_name"]');
    expect((await nameRow.locator('td').allTextContents()).map((t) => t.trim())).toEqual([
      view.latest!.display_name,
      view.counterpart!.latest.display_name,
    ]);
    // The marker is text, not colour alone; exactly the API's differences carry it.
    const marked = await table.locator('tbody tr', { hasText: 'Differs' }).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-field')));
    expect(marked.sort()).toEqual([...view.differences].sort());

    const pairing = page.locator('p.pairing');
    expect(await pairing.textContent()).toContain(`matched on ${view.counterpart!.matched_on}`);
    expect(await pairing.locator('[data-match-quality]').getAttribute('data-match-quality')).toBe(view.counterpart!.match_quality);

    for (const v of view.variances) {
      const item = page.locator(`li[data-variance-id="${v.id}"]`);
      expect(await item.locator('h3').textContent()).toContain(v.type);
      expect(await item.locator('h3 .badge').textContent()).toBe(v.status);
      expect(await item.locator('table.events tbody tr').count()).toBe(v.events.length);
      expect(await item.locator('table.events tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')))).toEqual(
        v.events.map((e) => e.kind),
      );
    }
    expect(view.variances.map((v) => v.id)).toContain(variance!.id);

    const firstDay = view.timeline[0]!;
    const day = page.locator(`.timeline > li[data-date="${firstDay.snapshot_date}"]`);
    expect(await day.locator('h3').textContent()).toContain('first stored day');
    expect(await day.locator('li[data-field="display_name"]').textContent()).toBe(`Display name: ${firstDay.changes.display_name!.to as string}`);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'device.png'), fullPage: true });
  });

  it('syncs a ThreatLocker device: a toast with the result and a new row in the sync history', async () => {
    const list = await getJson<VarianceList>('/api/variances/?type=DISPLAY_NAME_MISMATCH&limit=1');
    const key = list.items[0]!.devices.find((d) => d.vendor === 'threatlocker')!.device_key;
    const before = await getJson<DeviceView>(`/api/devices/threatlocker/${key}`);

    await page.goto(`/devices/threatlocker/${key}`);
    await page.getByRole('heading', { level: 1, name: 'Device' }).waitFor();
    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    const toast = page.locator('.toast-success', { hasText: 'Synced' });
    await toast.waitFor();
    expect(await toast.textContent()).toContain(before.latest!.hostname);

    const after = await getJson<DeviceView>(`/api/devices/threatlocker/${key}`);
    expect(after.sync_history).toHaveLength(before.sync_history.length + 1);
    const newest = after.sync_history[0]!;
    expect(newest.outcome).toBe('success');
    expect(newest.updated_by).toBe('dashboard_user');
    // The page reloaded: the new attempt is its newest row.
    const row = page.locator(`table.sync-history tr[data-sync-id="${newest.id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-outcome')).toBe('success');
    expect(await page.locator('table.sync-history tbody tr').count()).toBe(after.sync_history.length);
  });

  it('says a device the hub never stored is not found, with a way back to Variances', async () => {
    const key = '00000000-0000-4000-8000-000000000000';
    const res = await fetch(`${env.baseUrl}/api/devices/threatlocker/${key}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('HUB_ERR_DEVICE_NOT_FOUND');

    await page.goto(`/devices/threatlocker/${key}`);
    await page.getByRole('heading', { level: 1, name: 'Device not found' }).waitFor();
    expect(await page.locator('main').textContent()).toContain(key);
    await page.getByRole('link', { name: 'Back to Variances' }).click();
    await page.getByRole('heading', { level: 1, name: 'Variances' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/variances');
  });

  it('fits a device page at phone width in the dark theme', async () => {
    const list = await getJson<VarianceList>('/api/variances/?type=DISPLAY_NAME_MISMATCH&limit=1');
    const key = list.items[0]!.devices.find((d) => d.vendor === 'threatlocker')!.device_key;
    const phone = await env.browser.newContext({ baseURL: env.baseUrl, locale: 'en-US', colorScheme: 'dark', viewport: { width: 375, height: 740 } });
    try {
      const small = await phone.newPage();
      await small.goto(`/devices/threatlocker/${key}`);
      await small.locator('table.device-fields').waitFor();
      expect(Number(await small.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(375);
      await small.screenshot({ path: join(SCREENSHOT_DIR, 'device-phone-dark.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });

  it('links an unmapped ThreatLocker organization to a NinjaOne one, then unlinks it', async () => {
    const before = await getJson<Mapping>('/api/organizations/mapping');
    const tlOrg = before.unmapped.threatlocker[0];
    expect(tlOrg, 'the demo has an unmapped ThreatLocker organization').toBeDefined();
    const ninjaOrg = before.organizations.ninja[0]!;
    const manual = (m: Mapping) => m.pairs.filter((p) => p.threatlocker_organization === tlOrg && p.ninja_organization === ninjaOrg && p.how === 'explicit');
    expect(manual(before)).toHaveLength(0);

    await page.goto('/organizations');
    await page.getByRole('heading', { level: 1, name: 'Organizations' }).waitFor();
    const row = page.locator(`table.org-unmapped tr[data-side="threatlocker"][data-organization="${tlOrg}"]`);
    await row.getByLabel(`NinjaOne organization for ${tlOrg}`).selectOption(ninjaOrg);
    await row.getByRole('button', { name: 'Link', exact: true }).click();
    await page.locator('.toast-success', { hasText: 'Linked' }).waitFor();

    const linked = await getJson<Mapping>('/api/organizations/mapping');
    expect(manual(linked)).toHaveLength(1);
    expect(manual(linked)[0]!.created_by).toBe('dashboard_user');
    expect(linked.unmapped.threatlocker).not.toContain(tlOrg);
    // The page shows what it read back: the manual link, and the organization no longer unmapped.
    const pair = page.locator(`table.org-pairs tr[data-how="explicit"][data-threatlocker="${tlOrg}"][data-ninja="${ninjaOrg}"]`);
    expect(await pair.locator('td').nth(2).textContent()).toBe('Manual link');
    expect(await row.count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'organizations.png'), fullPage: true });

    await pair.getByRole('button', { name: 'Unlink', exact: true }).click();
    await page.locator('.toast-success', { hasText: 'Removed the link' }).waitFor();
    const unlinked = await getJson<Mapping>('/api/organizations/mapping');
    expect(manual(unlinked)).toHaveLength(0);
    expect(unlinked.unmapped.threatlocker).toContain(tlOrg);
    expect(await pair.count()).toBe(0);
    await row.waitFor();
  });

  it('exports the filter of its URL: the CSV download is the API export, the XLSX link carries the same filter', async () => {
    const query = 'type=DISPLAY_NAME_MISMATCH&status=all';
    await page.goto(`/exports?${query}`);
    await page.getByRole('heading', { level: 1, name: 'Exports' }).waitFor();
    expect(await page.getByLabel('Type').inputValue()).toBe('DISPLAY_NAME_MISMATCH');
    expect(await page.getByLabel('Status').inputValue()).toBe('all');

    const list = await getJson<VarianceList>(`/api/variances/?${query}&limit=1`);
    expect(await page.locator('.export-count').getAttribute('data-total')).toBe(String(list.total));

    const csvLink = page.getByRole('link', { name: 'Download CSV' });
    const xlsxLink = page.getByRole('link', { name: 'Download XLSX' });
    const csvHref = new URL((await csvLink.getAttribute('href'))!, env.baseUrl);
    const xlsxHref = new URL((await xlsxLink.getAttribute('href'))!, env.baseUrl);
    expect(csvHref.pathname).toBe('/api/variances/export/csv');
    expect(xlsxHref.pathname).toBe('/api/variances/export/xlsx');
    expect(Object.fromEntries(csvHref.searchParams)).toEqual({ type: 'DISPLAY_NAME_MISMATCH', status: 'all' });
    expect(Object.fromEntries(xlsxHref.searchParams)).toEqual(Object.fromEntries(csvHref.searchParams));

    const [download] = await Promise.all([page.waitForEvent('download'), csvLink.click()]);
    // Bytes, not text: fetch's text() would drop the byte order mark the file starts with.
    const downloaded = await readFile(await download.path());
    const expected = Buffer.from(await (await fetch(`${env.baseUrl}/api/variances/export/csv?${query}`)).arrayBuffer());
    expect(downloaded.equals(expected)).toBe(true);
    expect(downloaded.toString('utf8').split('\r\n').filter((l) => l !== '')).toHaveLength(list.total + 1);

    const xlsx = await fetch(xlsxHref);
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers.get('x-total-count')).toBe(String(list.total));

    // Changing the filter on the page changes the URL and both links.
    await page.getByLabel('Status').selectOption('open');
    await page.waitForURL((url) => url.searchParams.get('status') === null && url.searchParams.get('type') === 'DISPLAY_NAME_MISMATCH');
    // The links follow the URL on the next render: poll rather than read once.
    const statusOf = async (link: typeof csvLink) => new URL((await link.getAttribute('href'))!, env.baseUrl).searchParams.get('status');
    await expect.poll(() => statusOf(csvLink)).toBe('open');
    await expect.poll(() => statusOf(xlsxLink)).toBe('open');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'exports.png'), fullPage: true });
  });
});
