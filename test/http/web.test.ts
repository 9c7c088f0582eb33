/**
 * The dashboard's files at `/`: static files with their cache headers, the single-page
 * fallback for deep links, the API's JSON 404 kept for `/api/…`, and a plain 503 without a build.
 * The app is built from a fixture directory, not from a real `vite build`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detachedDeps } from '../../scripts/api-types.js';
import { buildServer } from '../../src/http/server.js';

const INDEX = '<!doctype html><title>Inventory Hub</title><div id="root"></div>';
const SCRIPT = 'console.log("dashboard");';

describe('dashboard files', () => {
  let root: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'inventory-hub-web-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), INDEX);
    writeFileSync(join(root, 'assets', 'index-abc123.js'), SCRIPT);
    app = await buildServer(detachedDeps(), { web: { root } });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at /, revalidated on every load', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toBe(INDEX);
  });

  it('serves hashed assets with a year-long immutable cache', async () => {
    const res = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.body).toBe(SCRIPT);
  });

  it.each(['/variances?type=DISPLAY_NAME_MISMATCH', '/devices/threatlocker/abc', '/collections', '/no/such/page'])(
    'answers index.html for the deep link %s',
    async (url) => {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toBe(INDEX);
    },
  );

  it('answers HEAD for a deep link too', async () => {
    const res = await app.inject({ method: 'HEAD', url: '/variances' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
  });

  it.each(['/api/nope', '/api', '/api/variances/42/nope', '/assets/missing.js'])('keeps the JSON 404 for %s', async (url) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toMatchObject({ code: 'HUB_ERR_ROUTE_NOT_FOUND' });
  });

  it('leaves the router\'s own refusals under /api as they were (an over-long path parameter)', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/collectors/runs/job/${'j'.repeat(150)}` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'HUB_ERR_VALIDATION', field: 'url' });
  });

  it('keeps the JSON 404 for other methods outside /api', async () => {
    const res = await app.inject({ method: 'POST', url: '/variances', payload: {} });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'HUB_ERR_ROUTE_NOT_FOUND' });
  });

  it('still serves the OpenAPI document', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toHaveProperty('paths./api/status');
  });
});

describe('dashboard not built', () => {
  let root: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'inventory-hub-web-empty-'));
    app = await buildServer(detachedDeps(), { web: { root } });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each(['/', '/variances?type=MISSING_NINJA'])('answers %s with a short 503 page saying to build', async (url) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('npm run build');
  });

  it('keeps the API JSON 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'HUB_ERR_ROUTE_NOT_FOUND' });
  });
});
