/**
 * Dashboard sign-in against a real demo hub with AUTH_MODE=required and a key made beforehand
 * with `inventory-hub keys create`: the sign-in screen first; a wrong key is refused in words;
 * the right one opens the overview with an HttpOnly SameSite=Strict session cookie (the key is
 * kept nowhere in the page); sign-out ends the session on the hub and shows the screen again.
 */
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/hub-process.js';
import { SCREENSHOT_DIR, startDashboardEnv, type DashboardEnv } from './dashboard-env.js';

describe('dashboard sign-in', () => {
  let env: DashboardEnv | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let key = '';

  beforeAll(async () => {
    env = await startDashboardEnv({
      env: { AUTH_MODE: 'required' },
      beforeStart: async (hubEnv) => {
        const created = await runCli(hubEnv, 'keys', 'create', '--name', 'dashboard user', '--scope', 'read,operate');
        if (created.code !== 0) throw new Error(`keys create failed: ${created.stderr}`);
        key = created.stdout.trim();
      },
    });
    context = await env.browser.newContext({ baseURL: env.baseUrl, locale: 'en-US', viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await env?.close();
  });

  /** A request from outside the browser carrying the session cookie (fetch() may drop a Cookie header). */
  const withCookie = async (method: 'GET' | 'DELETE', path: string, token: string) => {
    const res = await request(`${env!.baseUrl}${path}`, { method, headers: { cookie: `ih_session=${token}` } });
    await res.body.dump();
    return res.statusCode;
  };

  const sessionFromPage = () =>
    page.evaluate(async () => (await (await fetch('/api/session')).json()) as { authenticated: boolean; mode: string; key: { name: string } | null });

  it('asks for a key first; the API refuses without one', async () => {
    expect(key).toMatch(/^ih_[0-9a-f]{12}_/);
    await page.goto('/');
    await page.getByLabel('API key').waitFor();
    expect(await page.getByLabel('API key').getAttribute('type')).toBe('password');
    expect(await page.getByRole('link', { name: 'Variances' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(await sessionFromPage()).toEqual({ authenticated: false, mode: 'required', key: null });
    expect((await fetch(`${env!.baseUrl}/api/status`)).status).toBe(401);
  });

  it('a wrong key is refused in words, with its code', async () => {
    await page.getByLabel('API key').fill(`${key.slice(0, 16)}${'x'.repeat(43)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/The API key is not valid.*HUB_ERR_UNAUTHENTICATED/);
    expect(await context!.cookies()).toEqual([]);
  });

  it('the right key opens the overview; the session is an HttpOnly SameSite=Strict cookie', async () => {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.getByRole('table', { name: 'Collections by vendor' }).waitFor();
    expect(await page.getByText('Signed in as dashboard user').count()).toBe(1);
    const cookies = await context!.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'ih_session', httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    expect(cookies[0]!.value).not.toContain(key.slice(16));
    // The key is in no storage the page keeps.
    // (A string: the test's tsconfig has no DOM types.)
    const stored = String(await page.evaluate('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })'));
    expect(stored.includes(key.slice(16))).toBe(false);
    expect(await sessionFromPage()).toMatchObject({ authenticated: true, mode: 'required', key: { name: 'dashboard user' } });
    // Another section loads with the session too.
    await page.getByRole('link', { name: 'Variances' }).click();
    await page.getByRole('heading', { level: 1, name: 'Variances' }).waitFor();
    await page.locator('table').first().waitFor();
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'signed-in.png') });
  });

  it('sign-out ends the session on the hub and shows the sign-in screen again', async () => {
    const token = (await context!.cookies())[0]!.value;
    expect(await withCookie('GET', '/api/status', token)).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await sessionFromPage()).toEqual({ authenticated: false, mode: 'required', key: null });
    // The old cookie, replayed, is refused: the session ended server-side, not just in the browser.
    expect(await withCookie('GET', '/api/status', token)).toBe(401);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'sign-in.png') });
  });

  it('a 401 mid-use (the session ended elsewhere) brings the sign-in screen back', async () => {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signed in once the header offers to sign out (the sign-in screen has a heading too).
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    // End the session behind the page's back, then navigate: the page's next request gets 401.
    const token = (await context!.cookies())[0]!.value;
    expect(await withCookie('GET', '/api/status', token)).toBe(200);
    expect(await withCookie('DELETE', '/api/session', token)).toBe(204);
    expect(await withCookie('GET', '/api/status', token)).toBe(401);
    // A page not shown yet in this test: its first request is the one that meets the 401.
    await page.getByRole('link', { name: 'Collections' }).click();
    await page.getByLabel('API key').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'sign-in-after-401.png') });
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
  });
});
