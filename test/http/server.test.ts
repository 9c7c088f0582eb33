/**
 * The HTTP shell: health, JSON for unknown routes, OpenAPI and interactive docs.
 */
import net from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import type { DB } from '../../src/db/schema.js';
import { buildServer } from '../../src/http/server.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, withId, type Harness } from '../helpers/harness.js';

/** Sends raw bytes to a listening server and resolves with everything it answers until it closes. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

/** Splits a raw HTTP/1.1 answer into its status and its JSON body. */
function parseRaw(answer: string): { status: number; contentType: string | undefined; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /^content-type: *(.*)$/im.exec(head)?.[1];
  return { status, contentType, body: JSON.parse(body) };
}

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

  it('logs one line per request, when it is answered, with its id, route and status', async () => {
    h.logLines.length = 0;
    await h.app.inject({ method: 'GET', url: '/api/nope?x=1', headers: { authorization: 'Bearer not-logged' } });
    const lines = h.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = lines.filter((l) => l.reqId !== undefined);
    expect(requests).toEqual([expect.objectContaining({ msg: 'request', method: 'GET', url: '/api/nope?x=1', statusCode: 404, ms: expect.any(Number) })]);
    expect(h.logLines.join('\n')).not.toContain('not-logged');
  });

  it('a request that arrives while the server drains is refused at once, in the hub\'s error shape', async () => {
    const server = await buildServer(h.deps);
    await server.listen({ port: 0, host: '127.0.0.1' });
    const port = (server.server.address() as net.AddressInfo).port;
    const pc = withId(h.fake.admin.add({ hostname: 'DRAIN-01', computerName: 'DRAIN-01' }));
    h.fake.admin.clearRequests();
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 500 });
    // One connection: a sync the fake holds, then — once the close began — a second request.
    const socket = net.connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    let out = '';
    socket.on('data', (d: string) => (out += d));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const body = JSON.stringify({ computer_id: pc.computerId });
    socket.write(`POST /api/threatlocker/sync-device HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    for (let i = 0; i < 200 && h.fake.admin.requestCount('ComputerGetByAllParameters') === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const closed = server.close();
    socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n');
    await ended;
    const answers = out.split(/(?=HTTP\/1\.1 )/);
    await closed;
    expect(answers.map((a) => /^HTTP\/1\.1 (\d{3})/.exec(a)?.[1])).toEqual(['200', '503']);
    const refused = parseRaw(answers[1] ?? '');
    expect(refused.body).toEqual({ error: 'The hub is shutting down; try again shortly', code: 'HUB_ERR_SHUTTING_DOWN', request_id: expect.any(String) });
    expect(answers[1]).toMatch(/^connection: close$/im);
  });

  it('unknown routes answer JSON 404', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'No route GET /api/nope', code: 'HUB_ERR_ROUTE_NOT_FOUND', request_id: expect.any(String) });
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

  describe('errors of the HTTP layer itself have the documented shape', () => {
    it.each([
      ['bad percent-encoding in a path', '/api/collectors/runs/job/%ZZ', 400, 'HUB_ERR_VALIDATION', 'url'],
      ['an undecodable path (a lone surrogate in UTF-8)', '/api/collectors/runs/job/a%ED%A0%80b', 400, 'HUB_ERR_VALIDATION', 'url'],
      ['a path parameter over the router limit', `/api/collectors/runs/job/${'j'.repeat(150)}`, 400, 'HUB_ERR_VALIDATION', 'url'],
      ['an id over the schema limit', `/api/collectors/runs/job/${'j'.repeat(60)}`, 400, 'HUB_ERR_VALIDATION', 'id'],
    ])('%s', async (_name, url, status, code, field) => {
      const res = await h.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.json()).toEqual({ error: expect.any(String), code, field, request_id: expect.any(String) });
    });

    it('a Content-Length that does not match the body', async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/threatlocker/sync-device',
        headers: { 'content-type': 'application/json', 'content-length': '5' },
        payload: '{"hostname":"x"}',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_VALIDATION', field: 'content-length' });
    });

    it('a body without a Content-Type', async () => {
      const res = await h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', payload: '{"hostname":"x"}' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_VALIDATION', field: 'content-type' });
    });

    it('a method no route has', async () => {
      const res = await h.app.inject({ method: 'PROPFIND' as 'GET', url: '/api/health' });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_ROUTE_NOT_FOUND' });
    });

    describe('on a real socket', () => {
      let port: number;
      beforeAll(async () => {
        const app = await buildServer(h.deps);
        await app.listen({ port: 0, host: '127.0.0.1' });
        port = (app.server.address() as net.AddressInfo).port;
        return () => app.close();
      });

      it.each([
        ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400, 'HUB_ERR_VALIDATION'],
        ['a method HTTP does not know', 'FOO /api/health HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'HUB_ERR_VALIDATION'],
        ['a header line without a colon', 'GET /api/health HTTP/1.1\r\nHost x\r\n\r\n', 400, 'HUB_ERR_VALIDATION'],
        ['headers over the size limit', `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`, 431, 'HUB_ERR_HEADERS_TOO_LARGE'],
      ])('%s', async (_name, bytes, status, code) => {
        const answer = parseRaw(await rawExchange(port, bytes));
        expect(answer.status).toBe(status);
        expect(answer.contentType).toMatch(/application\/json/);
        expect(answer.body).toEqual({ error: expect.any(String), code });
      });
    });
  });

  describe('read endpoints while the database is unavailable answer 503 HUB_ERR_DATABASE', () => {
    const READS = [
      '/api/status',
      '/api/threatlocker/sync-history',
      '/api/collectors/status',
      '/api/collectors/history',
      '/api/collectors/progress',
      '/api/collectors/runs/latest',
      '/api/collectors/runs/job/th_00000000',
      '/api/collectors/runs/batch/bc_00000000',
    ];

    async function expectAll503(db: Kysely<DB>) {
      const app = await buildServer({ ...h.deps, db });
      try {
        for (const url of READS) {
          const res = await app.inject({ method: 'GET', url });
          expect({ url, status: res.statusCode, body: res.json() }).toEqual({
            url,
            status: 503,
            body: { error: 'The database is unavailable; try again later', code: 'HUB_ERR_DATABASE', request_id: expect.any(String) },
          });
        }
      } finally {
        await app.close();
      }
    }

    it('PostgreSQL on a port nothing listens on', async () => {
      // Find a free port, then leave it empty.
      const probe = net.createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const port = (probe.address() as net.AddressInfo).port;
      await new Promise((r) => probe.close(r));
      const dead = await openDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/nowhere`, poolSize: 2 });
      try {
        await expectAll503(dead.db);
      } finally {
        await dead.close();
      }
    });

    it('an embedded database that was closed', async () => {
      const client = await PGlite.create('memory://');
      await client.close();
      const db = new Kysely<DB>({ dialect: new PGliteDialect(client) });
      await expectAll503(db);
    }, 120_000); // starting a WASM database and a second server is slow on a busy machine
  });
});
