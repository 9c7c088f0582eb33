/**
 * The Overview and Collections pages in Chromium against a real demo hub: every figure shown is
 * the API's (fetched by the test beside the page), the coverage matrix sorts, the trend chart
 * draws with its table of figures, and "Start collection" runs a collection to its end, which
 * the Collections page then lists.
 */
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from '../../web/src/api/schema.js';
import { demoFakeOrigins, SCREENSHOT_DIR, startDashboardEnv, type DashboardEnv } from './dashboard-env.js';

type Json<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { 'application/json': infer T } } } } } ? T : never;
type Status = Json<'/api/status'>;
type Summary = Json<'/api/variances/summary'>;
type Coverage = Json<'/api/organizations/coverage'>;
type History = Json<'/api/collectors/history'>;

const number = (n: number) => n.toLocaleString('en-US');

/** The text of each body row of the table with this caption, cell by cell. */
async function tableRows(page: Page, caption: string): Promise<string[][]> {
  const table = page.locator('table', { has: page.locator('caption', { hasText: caption }) });
  await table.locator('tbody tr').first().waitFor();
  const rows = await table.locator('tbody tr').all();
  return Promise.all(rows.map(async (row) => (await row.locator('th, td').allTextContents()).map((text) => text.trim())));
}

describe('overview and collections in a browser', () => {
  let env: DashboardEnv;
  let context: BrowserContext | undefined;
  let started: DashboardEnv | undefined;
  let page: Page;
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${env.baseUrl}${path}`);
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };

  /** Clears the fake ThreatLocker's faults (a cancelled run may leave one unfired), then adds one. */
  const delayThreatLocker = async (fault: { nth?: number; ms: number }) => {
    const { threatlocker } = await demoFakeOrigins(env.hub);
    expect((await fetch(`${threatlocker}/__admin/faults`, { method: 'DELETE' })).status).toBe(204);
    const res = await fetch(`${threatlocker}/__admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'ComputerGetByAllParameters', kind: 'delay', ...fault }),
    });
    expect(res.status).toBe(204);
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

  it('shows the vendors and the open variances by type as the API counts them', async () => {
    const status = await get<Status>('/api/status');
    const summary = await get<Summary>('/api/variances/summary');
    expect(status.total_exceptions).toBeGreaterThan(0);

    await page.goto('/');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();

    const vendors = await tableRows(page, 'Collections by vendor');
    expect(vendors.map((r) => [r[0], r[1], r[3]])).toEqual([
      ['ThreatLocker', status.vendor_status.ThreatLocker.latest_date, number(status.device_counts.ThreatLocker)],
      ['NinjaOne', status.vendor_status.Ninja.latest_date, number(status.device_counts.Ninja)],
    ]);

    const byType = await tableRows(page, 'Open variances by type');
    expect(byType.map((r) => [r[0], r[1]])).toEqual(summary.types.map((t) => [t.type, number(t.open)]));
    // The summary's open counts are the status's (which lists only types that have some).
    for (const t of summary.types) expect(t.open).toBe(status.exception_counts[t.type] ?? 0);
    // Each type links to its variances.
    const first = summary.types[0]!;
    expect(await page.getByRole('link', { name: first.type, exact: true }).getAttribute('href')).toBe(`/variances?type=${first.type}`);
  });

  it('lists the coverage rows of the API and sorts them by a column', async () => {
    const coverage = await get<Coverage>('/api/organizations/coverage');
    expect(coverage.rows.length).toBeGreaterThan(1);
    await page.goto('/');
    const caption = 'Coverage by customer';
    const name = (r: Coverage['rows'][number]) => r.threatlocker_organization ?? r.ninja_organization;
    const figures = (r: Coverage['rows'][number]) => [number(r.threatlocker_devices), number(r.ninja_devices), r.matched_percent === null ? '—' : `${r.matched_percent.toLocaleString('en-US', { maximumFractionDigits: 1 })} %`, number(r.open_variances)];

    const shown = await tableRows(page, caption);
    expect(shown).toHaveLength(coverage.rows.length);
    // The hub's order (by name, no-organization last) is the default.
    shown.forEach((cells, i) => {
      const row = coverage.rows[i]!;
      expect(cells[0]!.startsWith(name(row) ?? 'No organization')).toBe(true);
      expect(cells.slice(1)).toEqual(figures(row));
    });
    // Unmapped customers are rows, said in words.
    const unmapped = coverage.rows.filter((r) => name(r) !== null && (r.threatlocker_organization === null || r.ninja_organization === null));
    for (const r of unmapped) expect(shown.find((c) => c[0]!.startsWith(name(r)!))?.[0]).toMatch(/Only in (ThreatLocker|NinjaOne)/);

    const table = page.locator('table', { has: page.locator('caption', { hasText: caption }) });
    const header = table.locator('th', { hasText: 'ThreatLocker devices' });
    expect(await header.getAttribute('aria-sort')).toBe('none');
    await header.getByRole('button').click();
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    const expected = [...coverage.rows].sort((a, b) => b.threatlocker_devices - a.threatlocker_devices).map((r) => number(r.threatlocker_devices));
    expect((await tableRows(page, caption)).map((c) => c[1])).toEqual(expected);

    await header.getByRole('button').click();
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    expect((await tableRows(page, caption)).map((c) => c[1])).toEqual([...expected].reverse());
    expect(await table.locator('th', { hasText: 'Customer' }).getAttribute('aria-sort')).toBe('none');
  });

  it('draws the 30-day trend with a table of its figures', async () => {
    const summary = await get<Summary>('/api/variances/summary');
    await page.goto('/');
    const figure = page.locator('figure.trend');
    await figure.locator('canvas').first().waitFor();
    const headers = (await figure.locator('table thead th').allTextContents()).map((t) => t.trim());
    expect(headers).toEqual(['Day', ...summary.types.map((t) => t.type)]);
    expect(await figure.locator('[role="img"]').getAttribute('aria-label')).toContain('Line chart');
    // The checked day is a row of the figures, with the summary's latest counts.
    const row = figure.locator('table tbody tr', { has: page.locator('th', { hasText: summary.snapshot_date! }) });
    expect((await row.locator('td').allTextContents()).map((t) => t.trim())).toEqual(summary.types.map((t) => number(t.latest)));
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'overview.png'), fullPage: true });
  });

  it('starts a collection, shows its progress to the end, and the Collections page lists it', async () => {
    // The demo fleet is collected in about a second: hold ThreatLocker's second page for a few
    // seconds (the fakes' latency fault) so that the run is seen part-way.
    await delayThreatLocker({ nth: 2, ms: 4_000 });

    await page.goto('/');
    const button = page.getByRole('button', { name: 'Start collection', exact: true });
    await button.click();
    const batch = page.locator('.collection-batch');
    await batch.waitFor();
    // Two bars, one per vendor, labelled with the vendor's name.
    expect(await batch.locator('progress').count()).toBe(2);
    const threatlocker = page.getByLabel('ThreatLocker', { exact: true });
    // Part-way: ThreatLocker's first page is in, its second is held; the page polls and shows it.
    await page.locator('.job-progress[data-status="running"] .job-progress-figure').first().waitFor({ timeout: 10_000 });
    // Polled from the test, not page.waitForFunction: that evaluates a string in the page, which
    // the hub's Content-Security-Policy (no 'unsafe-eval') rightly refuses.
    const partWay = () =>
      page
        .locator('.job-progress[data-status="running"] progress')
        .evaluateAll((bars) => bars.some((bar) => ((bar as unknown as { value: number }).value > 0 && (bar as unknown as { value: number }).value < 100)));
    await expect.poll(partWay, { timeout: 10_000 }).toBe(true);
    expect(await button.isDisabled()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'overview-collecting.png'), fullPage: true });
    expect(await batch.textContent()).toContain('Running');

    await batch.and(page.locator('[data-status="completed"]')).waitFor({ timeout: 60_000 });
    expect(await threatlocker.evaluate((b) => (b as unknown as { value: number }).value)).toBe(100);
    expect(await batch.locator('progress').evaluateAll((bars) => bars.map((b) => (b as unknown as { value: number }).value))).toEqual([100, 100]);
    expect(await batch.textContent()).toContain('Completed');
    // The button is usable again once the run ended.
    expect(await button.isEnabled()).toBe(true);

    const batchId = await batch.getAttribute('data-batch-id');
    const history = await get<History>('/api/collectors/history?limit=10');
    const jobs = history.collection_history.filter((j) => j.batch_id === batchId);
    expect(jobs.map((j) => j.status)).toEqual(['completed', 'completed']);
    expect(jobs.every((j) => j.devices_fetched > 0)).toBe(true);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Collections', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Collections' }).waitFor();
    const rows = page.locator('table.run-history tbody tr');
    await rows.first().waitFor();
    for (const job of jobs) {
      const cells = (await rows.and(page.locator(`[data-job-id="${job.job_id}"]`)).locator('th, td').allTextContents()).map((t) => t.trim());
      expect(cells[0]).toBe(job.job_name === 'ninja-collector' ? 'NinjaOne' : 'ThreatLocker');
      expect(cells[1]).toBe('Completed');
      expect(cells[2]).toBe(job.snapshot_date);
      expect(cells[3]).toBe(number(job.devices_fetched));
      expect(cells[4]).toBe(job.devices_written === null ? '—' : number(job.devices_written));
    }
    expect(await rows.count()).toBe(Math.min(history.total_runs, 50));
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'collections.png'), fullPage: true });
  });

  it('cancels a running job from the Collections page after a confirmation', async () => {
    const dialogErrors: unknown[] = [];
    const recordDialogError = (err: unknown) => void dialogErrors.push(err);
    // Hold ThreatLocker's first page long enough to cancel it.
    await delayThreatLocker({ ms: 8_000 });

    await page.goto('/collections');
    await page.getByRole('heading', { level: 1, name: 'Collections' }).waitFor();
    await page.getByRole('button', { name: 'Start collection', exact: true }).click();
    const cancel = page.locator('.job-progress-row', { has: page.locator('[data-status="running"] label', { hasText: 'ThreatLocker' }) }).getByRole('button', { name: 'Cancel', exact: true });
    await cancel.waitFor({ timeout: 10_000 });
    const jobId = await page.locator('.job-progress-row .job-progress', { has: page.locator('label', { hasText: 'ThreatLocker' }) }).first().getAttribute('data-job-id');

    // Dismissing the confirmation changes nothing.
    page.once('dialog', (dialog) => dialog.dismiss().catch(recordDialogError));
    await cancel.click();
    const job = async () => get<Json<'/api/collectors/runs/job/{id}'>>(`/api/collectors/runs/job/${jobId}`);
    expect((await job()).cancel_requested).toBe(false);

    let message = '';
    page.once('dialog', (dialog) => {
      message = dialog.message();
      dialog.accept().catch(recordDialogError);
    });
    await cancel.click();
    expect(message).toContain('Cancel the ThreatLocker collection?');
    const batch = page.locator('.collection-batch');
    await batch.and(page.locator('[data-status="failed"], [data-status="cancelled"], [data-status="completed"]')).waitFor({ timeout: 30_000 });
    const ended = await job();
    expect(ended.cancel_requested).toBe(true);
    expect(ended.status).toBe('cancelled');
    const row = page.locator(`table.run-history tbody tr[data-job-id="${jobId}"]`);
    await row.waitFor();
    expect((await row.locator('td').first().textContent())?.trim()).toBe('Cancelled');
    expect(dialogErrors).toEqual([]);
  });

  it('fits both pages in a phone screen, in the dark theme', async () => {
    const phone = await env.browser.newContext({ baseURL: env.baseUrl, locale: 'en-US', colorScheme: 'dark', viewport: { width: 375, height: 740 } });
    try {
      const small = await phone.newPage();
      for (const [path, ready, shot] of [
        ['/', 'figure.trend canvas', 'overview-full-phone-dark.png'],
        ['/collections', 'table.run-history', 'collections-phone-dark.png'],
      ] as const) {
        await small.goto(path);
        await small.locator(ready).first().waitFor();
        // A string: the root tsconfig has no DOM types (the page's code is web/'s).
        expect(Number(await small.evaluate('document.documentElement.scrollWidth')), path).toBeLessThanOrEqual(375);
        await small.screenshot({ path: join(SCREENSHOT_DIR, shot), fullPage: true });
      }
    } finally {
      await phone.close();
    }
  });

  it('says in words why a collection cannot start while another runs, then follows that one', async () => {
    await page.goto('/');
    const button = page.getByRole('button', { name: 'Start collection', exact: true });
    // Shown once the page has read the progress.
    await page.getByText('No collection is running.').waitFor({ timeout: 5_000 });
    // Started elsewhere after the page looked (it polls only while something runs).
    await delayThreatLocker({ ms: 5_000 });
    const run = await fetch(`${env.baseUrl}/api/collectors/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ collectors: ['threatlocker'] }) });
    expect(run.status).toBe(202);
    const refused = await fetch(`${env.baseUrl}/api/collectors/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as { error: string; code: string };

    await button.click();
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 10_000 });
    expect(await alert.textContent()).toContain(body.error);
    expect(await alert.textContent()).toContain(body.code);
    // The page now follows the running one and the button waits for it.
    await page.locator('.job-progress[data-status="running"]').waitFor({ timeout: 5_000 });
    expect(await button.isDisabled()).toBe(true);
    await page.getByText('No collection is running.').waitFor({ timeout: 15_000 });
    expect(await button.isEnabled()).toBe(true);
  });
});
