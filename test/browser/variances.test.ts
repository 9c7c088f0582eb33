/**
 * The variances page in Chromium against a real demo hub: filters (type, customer) show what
 * GET /api/variances returns for the same filter and stay in the URL; "Use NinjaOne name"
 * renames the computer in the ThreatLocker fake and the row leaves the open list; "Sync",
 * "Accept" and a bulk action; a vendor fault shows the hub's error and leaves the row as it was.
 * Every assertion is checked against the API (or the fake's admin API).
 */
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from '../../web/src/api/schema.js';
import { demoFakeOrigins, SCREENSHOT_DIR, startDashboardEnv, type DashboardEnv } from './dashboard-env.js';

type VarianceList = paths['/api/variances/']['get']['responses'][200]['content']['application/json'];
type Variance = VarianceList['items'][number];

/** The page answers within a few seconds; a busy 2-core machine needs the margin. */
const POLL = { timeout: 15_000 };

describe('variances page in a browser', { timeout: 90_000 }, () => {
  let env: DashboardEnv;
  let started: DashboardEnv | undefined;
  /** The demo hub's fake ThreatLocker: its /__admin API reads computers and injects faults. */
  let threatLockerOrigin = '';
  let context: BrowserContext | undefined;
  let page: Page;

  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${env.baseUrl}${path}`);
    expect(res.status, `GET ${path}`).toBe(200);
    return (await res.json()) as T;
  };
  const list = (query: Record<string, string>) => getJson<VarianceList>(`/api/variances/?${new URLSearchParams({ limit: '100', ...query }).toString()}`);
  const variance = (id: number) => getJson<Variance>(`/api/variances/${id}`);
  /** The ids of the table's rows, once the table shows. */
  const shownIds = async (): Promise<number[]> => {
    await page.locator('table.variance-table caption').waitFor();
    return (await page.locator('table.variance-table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-variance-id')))));
  };
  const row = (id: number) => page.locator(`tr[data-variance-id="${id}"]`);
  const toast = () => page.locator('.toasts .toast');
  const tlComputer = async (computerId: string) => {
    const res = await fetch(`${threatLockerOrigin}/__admin/computers/${computerId}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { computerName: string | null; hostname: string };
  };
  const tlKey = (v: Variance) => v.devices.find((d) => d.vendor === 'threatlocker')?.device_key;

  beforeAll(async () => {
    env = started = await startDashboardEnv();
    threatLockerOrigin = (await demoFakeOrigins(env.hub)).threatlocker;
    context = await env.browser.newContext({ baseURL: env.baseUrl, locale: 'en-US', viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  });

  afterAll(async () => {
    await context?.close();
    await started?.close();
  });

  it('lists the open variances GET /api/variances returns, with the total', async () => {
    const api = await list({});
    expect(api.total).toBeGreaterThan(0);
    await page.goto('/variances');
    await page.getByRole('heading', { level: 1, name: 'Variances' }).waitFor();
    expect(await shownIds()).toEqual(api.items.map((v) => v.id));
    expect(await page.locator('table.variance-table caption').textContent()).toContain(`${api.total.toLocaleString('en-US')} variance`);
    if (api.next_cursor) {
      await page.getByRole('button', { name: /^Load more/ }).click();
      const second = await getJson<VarianceList>(`/api/variances/?limit=100&cursor=${encodeURIComponent(api.next_cursor)}`);
      await expect.poll(shownIds, POLL).toEqual([...api.items, ...second.items].map((v) => v.id));
    }
    await page.goto('/variances');
    await shownIds();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'variances.png') });
  });

  it('filters by type and by customer, keeps the filters in the URL across a reload, and sorts', async () => {
    await page.goto('/variances');
    await shownIds();
    await page.getByLabel('Type', { exact: true }).selectOption('DISPLAY_NAME_MISMATCH');
    const byType = await list({ type: 'DISPLAY_NAME_MISMATCH' });
    expect(byType.total).toBeGreaterThan(0);
    await expect.poll(shownIds, POLL).toEqual(byType.items.map((v) => v.id));
    expect(new URL(page.url()).searchParams.get('type')).toBe('DISPLAY_NAME_MISMATCH');
    expect(await page.locator('tbody tr[data-type]').evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute('data-type')))])).toEqual(['DISPLAY_NAME_MISMATCH']);

    const organization = byType.items.find((v) => v.organization)?.organization;
    expect(organization).toBeTruthy();
    await page.getByLabel('Customer', { exact: true }).selectOption(organization!);
    const both = await list({ type: 'DISPLAY_NAME_MISMATCH', organization: organization! });
    await expect.poll(shownIds, POLL).toEqual(both.items.map((v) => v.id));
    expect(both.items.every((v) => v.organization === organization)).toBe(true);

    await page.reload();
    expect(await page.getByLabel('Type', { exact: true }).inputValue()).toBe('DISPLAY_NAME_MISMATCH');
    expect(await page.getByLabel('Customer', { exact: true }).inputValue()).toBe(organization);
    expect(await shownIds()).toEqual(both.items.map((v) => v.id));

    // Back: the type-only list again.
    await page.goBack();
    await expect.poll(shownIds, POLL).toEqual(byType.items.map((v) => v.id));

    // Sorting by hostname (server-side), then the other way round.
    await page.getByRole('button', { name: /^Hostname/ }).click();
    const asc = await list({ type: 'DISPLAY_NAME_MISMATCH', sort: 'hostname', order: 'asc' });
    await expect.poll(shownIds, POLL).toEqual(asc.items.map((v) => v.id));
    expect(new URL(page.url()).searchParams.get('sort')).toBe('hostname');
    await page.getByRole('button', { name: /^Hostname/ }).click();
    const desc = await list({ type: 'DISPLAY_NAME_MISMATCH', sort: 'hostname', order: 'desc' });
    await expect.poll(shownIds, POLL).toEqual(desc.items.map((v) => v.id));

    // Free text: a hostname.
    const host = byType.items[0]!.hostname;
    await page.getByLabel('Search hostname or display name').fill(host);
    await page.getByRole('button', { name: 'Search' }).click();
    const searched = await list({ type: 'DISPLAY_NAME_MISMATCH', q: host, sort: 'hostname', order: 'desc' });
    await expect.poll(shownIds, POLL).toEqual(searched.items.map((v) => v.id));
  });

  it('"Use NinjaOne name" renames the computer in ThreatLocker and the row leaves the open list', async () => {
    const candidates = (await list({ type: 'DISPLAY_NAME_MISMATCH' })).items.filter((v) => tlKey(v) && typeof (v.evidence as Record<string, unknown>).rmm_display_name === 'string');
    const target = candidates[0]!;
    const ninjaName = (target.evidence as Record<string, string>).rmm_display_name!;
    const computerId = tlKey(target)!;
    expect((await tlComputer(computerId)).computerName).not.toBe(ninjaName);

    await page.goto('/variances?type=DISPLAY_NAME_MISMATCH');
    await shownIds();
    // The differing part of the names is marked.
    expect(await row(target.id).locator('mark.name-diff').count()).toBeGreaterThan(0);
    await row(target.id).getByRole('button', { name: 'Use NinjaOne name' }).click();
    await row(target.id).waitFor({ state: 'detached' });
    await expect.poll(async () => (await toast().allTextContents()).join('\n'), POLL).toMatch(/Renamed .+ to .+; display-name mismatch resolved/);

    expect((await variance(target.id)).status).toBe('resolved');
    expect((await tlComputer(computerId)).computerName).toBe(ninjaName);
    const open = await list({ type: 'DISPLAY_NAME_MISMATCH' });
    expect(open.items.map((v) => v.id)).not.toContain(target.id);
    expect(await page.locator('table.variance-table caption').textContent()).toContain(`${open.total.toLocaleString('en-US')} variance`);
  });

  it('a ThreatLocker failure shows the hub\'s error and code, and leaves the row as it was', async () => {
    const target = (await list({ type: 'DISPLAY_NAME_MISMATCH' })).items.find((v) => tlKey(v) && typeof (v.evidence as Record<string, unknown>).rmm_display_name === 'string');
    if (!target) throw new Error('the demo has no second display-name mismatch to rename');
    const computerId = tlKey(target)!;
    const nameBefore = (await tlComputer(computerId)).computerName;
    await page.goto('/variances?type=DISPLAY_NAME_MISMATCH');
    await shownIds();
    const before = await row(target.id).innerText();

    const fault = await fetch(`${threatLockerOrigin}/__admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'status', status: 401, times: null }),
    });
    expect(fault.status).toBe(204);
    try {
      await row(target.id).getByRole('button', { name: 'Use NinjaOne name' }).click();
      const alert = row(target.id).getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(/Failed to update ThreatLocker computer name: .*HUB_ERR_VENDOR_AUTH/);
      await row(target.id).getByRole('button', { name: 'Sync' }).click();
      await expect.poll(async () => row(target.id).getByRole('alert').textContent(), POLL).toMatch(/Failed to sync ThreatLocker device: .*HUB_ERR_VENDOR_AUTH/);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'variances-error.png') });
    } finally {
      await fetch(`${threatLockerOrigin}/__admin/faults`, { method: 'DELETE' });
    }
    expect((await variance(target.id)).status).toBe('open');
    expect((await tlComputer(computerId)).computerName).toBe(nameBefore);
    // The row still shows what it showed (the error below it aside), buttons enabled again.
    expect((await row(target.id).innerText()).startsWith(before.split('\n').slice(0, 3).join('\n'))).toBe(true);
    expect(await row(target.id).getByRole('button', { name: 'Use NinjaOne name' }).getAttribute('aria-disabled')).toBe('false');
  });

  it('"Sync" on a device says what the sync found', async () => {
    const target = (await list({ type: 'SITE_MISMATCH' })).items.find(tlKey) ?? (await list({ type: 'MISSING_NINJA' })).items.find(tlKey)!;
    await page.goto(`/variances?type=${target.type}`);
    await shownIds();
    // What one sync asks ThreatLocker, for comparison.
    const lookups = async () =>
      ((await (await fetch(`${threatLockerOrigin}/__admin/requests/count?operation=ComputerGetByAllParameters`)).json()) as { count: number }).count;
    await fetch(`${threatLockerOrigin}/__admin/requests`, { method: 'DELETE' });
    const direct = await fetch(`${env.baseUrl}/api/threatlocker/sync-device`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ computer_id: tlKey(target), updated_by: 'test' }),
    });
    expect(direct.status).toBe(200);
    const perSync = await lookups();
    expect(perSync).toBeGreaterThan(0);

    // ThreatLocker answers slowly: the button shows it is busy, and a second click sends nothing.
    await fetch(`${threatLockerOrigin}/__admin/requests`, { method: 'DELETE' });
    await fetch(`${threatLockerOrigin}/__admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'delay', ms: 800, operation: 'ComputerGetByAllParameters' }),
    });
    await row(target.id).getByRole('button', { name: 'Sync' }).click();
    const busy = row(target.id).getByRole('button', { name: 'Syncing…' });
    expect(await busy.getAttribute('aria-disabled')).toBe('true');
    // force: Playwright would otherwise wait until the button is enabled again, then click it.
    await busy.click({ force: true });
    await expect.poll(async () => (await toast().allTextContents()).join('\n'), POLL).toMatch(/^Synced /m);
    expect(await lookups()).toBe(perSync);
    // Nothing changed in ThreatLocker: the variance stays open, and so does its row.
    expect((await variance(target.id)).status).toBe('open');
    expect(await row(target.id).count()).toBe(1);
  });

  it('"Accept" with a reason and a date moves the row to the accepted list', async () => {
    const target = (await list({ type: 'MISSING_THREATLOCKER' })).items[0]!;
    await page.goto('/variances?type=MISSING_THREATLOCKER');
    await shownIds();
    await row(target.id).getByRole('button', { name: 'Accept' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('Lab machine, no ThreatLocker by design');
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await dialog.getByLabel('Accepted until').fill(until);
    await dialog.getByRole('button', { name: 'Accept' }).click();
    await row(target.id).waitFor({ state: 'detached' });
    await dialog.waitFor({ state: 'detached' });

    const accepted = await variance(target.id);
    expect(accepted).toMatchObject({ status: 'accepted', accepted_until: until, accepted_by: 'dashboard' });
    await page.getByLabel('Status', { exact: true }).selectOption('accepted');
    const acceptedList = await list({ type: 'MISSING_THREATLOCKER', status: 'accepted' });
    expect(acceptedList.items.map((v) => v.id)).toContain(target.id);
    await expect.poll(shownIds, POLL).toEqual(acceptedList.items.map((v) => v.id));
    expect(new URL(page.url()).searchParams.get('status')).toBe('accepted');
  });

  it('a bulk "Resolve" on three rows shows which succeeded and which failed, and why', async () => {
    // Not the display-name mismatches: the tests above need them open.
    const three = (await list({})).items.filter((v) => v.type !== 'DISPLAY_NAME_MISMATCH').slice(0, 3);
    expect(three).toHaveLength(3);
    await page.goto('/variances');
    await shownIds();
    // Someone else resolves one of them meanwhile: its result is a failure.
    const res = await fetch(`${env.baseUrl}/api/variances/${three[2]!.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resolved_by: 'someone else' }),
    });
    expect(res.status).toBe(200);

    for (const v of three) await row(v.id).getByRole('checkbox').check();
    const bulk = page.getByRole('group', { name: /^Bulk actions on 3 selected/ });
    await bulk.getByRole('button', { name: 'Resolve' }).click();
    await page.getByRole('dialog').getByLabel('Note (optional)').fill('cleanup');
    await page.getByRole('dialog').getByRole('button', { name: 'Resolve' }).click();

    const results = page.locator('.bulk-results');
    await results.waitFor();
    expect(await results.getByRole('heading').textContent()).toBe('Resolve: 2 succeeded, 1 failed');
    for (const v of three.slice(0, 2)) {
      expect(await results.locator(`li[data-variance-id="${v.id}"]`).textContent()).toMatch(/^Succeeded/);
      expect((await variance(v.id)).status).toBe('resolved');
      await row(v.id).waitFor({ state: 'detached' });
    }
    const failed = await results.locator(`li[data-variance-id="${three[2]!.id}"]`).textContent();
    expect(failed).toMatch(/^Failed/);
    expect(failed).toContain('HUB_ERR_VARIANCE_TRANSITION');
    expect((await variance(three[2]!.id)).resolved_by).toBe('someone else');
    // The list now follows the hub: that variance is no longer open either.
    await row(three[2]!.id).waitFor({ state: 'detached' });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'variances-bulk.png') });
  });

  it('a bulk "Sync" gives one result per row', async () => {
    const ids = (await list({})).items.filter((v) => tlKey(v) && v.type !== 'DISPLAY_NAME_MISMATCH').slice(0, 3);
    expect(ids).toHaveLength(3);
    await page.goto('/variances');
    await shownIds();
    for (const v of ids) await row(v.id).getByRole('checkbox').check();
    await page.getByRole('group', { name: /^Bulk actions on 3 selected/ }).getByRole('button', { name: 'Sync' }).click();
    const results = page.locator('.bulk-results');
    await results.waitFor({ timeout: 60_000 });
    expect(await results.getByRole('heading').textContent()).toBe('Sync: 3 succeeded, 0 failed');
    for (const v of ids) expect(await results.locator(`li[data-variance-id="${v.id}"]`).textContent()).toMatch(/^Succeeded .*Synced /);
  });

  it('fits a phone screen in the dark theme', async () => {
    const phone = await env.browser.newContext({ baseURL: env.baseUrl, locale: 'en-US', colorScheme: 'dark', viewport: { width: 375, height: 740 } });
    try {
      const small = await phone.newPage();
      await small.goto('/variances');
      await small.locator('table.variance-table caption').waitFor();
      const width = Number(await small.evaluate('document.documentElement.scrollWidth'));
      expect(width).toBeLessThanOrEqual(375);
      await small.screenshot({ path: join(SCREENSHOT_DIR, 'variances-phone-dark.png') });
    } finally {
      await phone.close();
    }
  });
});
