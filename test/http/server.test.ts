/**
 * The HTTP shell: health, JSON for unknown routes, OpenAPI and interactive docs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, type Harness } from '../helpers/harness.js';

describe.each(TEST_DATABASES)('server on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });

  it('GET /api/health is healthy with a database', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'healthy', database: 'ok', timestamp: '2026-03-10T15:00:00.000Z' });
    expect(res.json().version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('unknown routes answer JSON 404', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'No route GET /api/nope', code: 'HUB_ERR_ROUTE_NOT_FOUND' });
  });

  it('a wrong method answers JSON too', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/threatlocker/sync-device' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('HUB_ERR_ROUTE_NOT_FOUND');
  });

  it('serves the OpenAPI document with every endpoint and the docs UI', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/health', '/api/threatlocker/sync-device', '/api/threatlocker/update-name', '/api/threatlocker/sync-history']),
    );
    const body = doc.paths['/api/threatlocker/sync-device'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['computer_id', 'hostname', 'updated_by']));
    const ui = await h.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });

  it('GET /api/health is 503 when the database does not answer', async () => {
    // A second server over a database that is already closed.
    const { openTestDatabase } = await import('../helpers/database.js');
    const dead = await openTestDatabase(kind);
    await dead.close();
    const app = await buildServer({ ...h.deps, db: dead.db, database: dead });
    try {
      const res = await app.inject({ method: 'GET', url: '/api/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'unhealthy', database: 'unavailable' });
    } finally {
      await app.close();
    }
  });
});
