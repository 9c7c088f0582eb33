/**
 * Control characters and unpaired surrogates in any string a request carries — path
 * parameters, query parameters, body fields — are a 400 naming the field, on every route the
 * server registers (read from its OpenAPI document, so a route added later is covered too).
 * Nothing is sent to a vendor and nothing is written.
 */
import { threatlockerDeps } from '../../src/app.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { syncThreatLockerDevice } from '../../src/sync/sync-device.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, withId, type Harness } from '../helpers/harness.js';

/** The odd strings, each placed inside otherwise ordinary text. */
const LONE = 'ab\ud800cd';
const ODD: ReadonlyArray<[string, string]> = [
  ['NUL', 'ab\u0000cd'],
  ['BEL', 'ab\u0007cd'],
  ['a tab', 'ab\tcd'],
  ['a newline', 'ab\ncd'],
  ['DEL', 'ab\u007fcd'],
  ['a C1 control', 'ab\u0085cd'],
  ['a lone surrogate', LONE],
];

interface Operation {
  method: string;
  path: string;
  params: string[];
  query: string[];
  body: string[];
}

interface OpenApiDoc {
  paths: Record<string, Record<string, {
    parameters?: { in: string; name: string }[];
    requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
  }>>;
}

function operations(doc: OpenApiDoc): Operation[] {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const body = Object.keys(op.requestBody?.content['application/json']?.schema.properties ?? {});
      out.push({ method: method.toUpperCase(), path, params, query, body });
    }
  }
  return out;
}

/**
 * Percent-encoding of `value`. A lone surrogate has no UTF-8 form, so it is sent as the bytes a
 * careless client produces for it (CESU-8), which no decoder accepts.
 */
function percentEncode(value: string): string {
  return value.replace(/\ud800/g, '\uFFFF').split('\uFFFF').map(encodeURIComponent).join('%ED%A0%80');
}

/** `/api/x/{id}` with every parameter filled, one of them (percent-encoded) with `odd`. */
function url(op: Operation, odd?: { param?: string; query?: string; value: string }): string {
  let path = op.path;
  for (const p of op.params) path = path.replace(`{${p}}`, p === odd?.param ? percentEncode(odd.value) : 'th_00000000');
  if (odd?.query) path += `?${odd.query}=${percentEncode(odd.value)}`;
  return path;
}

describe.each(TEST_DATABASES)('text input on %s', (kind) => {
  let h: Harness;
  let ops: Operation[];
  beforeAll(async () => {
    h = await createHarness(kind);
    ops = operations((await h.app.inject({ method: 'GET', url: '/api/openapi.json' })).json<OpenApiDoc>());
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  it('the route list covers every part of the API', () => {
    const names = ops.map((o) => `${o.method} ${o.path}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /api/threatlocker/sync-device',
        'POST /api/threatlocker/update-name',
        'GET /api/threatlocker/sync-history',
        'GET /api/status',
        'GET /api/health',
        'POST /api/collectors/run',
        'GET /api/collectors/runs/job/{id}',
        'POST /api/collectors/runs/job/{id}/cancel',
        'GET /api/collectors/runs/latest',
      ]),
    );
  });

  async function expectRefused(send: () => Promise<{ statusCode: number; json(): unknown }>, field: string, where: string, inUrl = false) {
    const res = await send();
    if (inUrl && odd === LONE) {
      // Undecodable bytes: a path refuses them as a bad URL; a query decodes them to U+FFFD
      // (ordinary text, so the route answers as usual). Never a 5xx; an error has a code.
      // A successful answer need not be JSON (the CSV export); only errors are read.
      const body = (res.statusCode < 400 ? {} : res.json()) as { code?: unknown };
      expect({ where, below500: res.statusCode < 500, coded: res.statusCode < 400 || typeof body.code === 'string' }).toEqual({
        where,
        below500: true,
        coded: true,
      });
      return;
    }
    expect({ where, status: res.statusCode, body: res.json() }).toEqual({
      where,
      status: 400,
      body: { error: expect.stringMatching(new RegExp(`^${field.replace('.', '\\.')} must`)), code: 'HUB_ERR_VALIDATION', field, request_id: expect.any(String) },
    });
  }

  let odd = '';
  it.each(ODD)('%s in any path parameter, query parameter or body field is a 400 naming it', async (_name, value) => {
    odd = value;
    let checked = 0;
    for (const op of ops) {
      for (const param of op.params) {
        await expectRefused(() => h.app.inject({ method: op.method as 'GET', url: url(op, { param, value }) }), param, `${op.method} ${op.path} :${param}`, true);
        checked++;
      }
      // Declared query parameters, and one the route does not know (ignored, but still checked).
      for (const query of [...op.query, 'extra']) {
        const send = () =>
          h.app.inject({
            method: op.method as 'GET',
            url: url(op, { query, value }),
            // A body the POST routes refuse on their own (an empty collectors list; no device
            // named): a query value that decodes to ordinary text must still start nothing.
            ...(op.method === 'POST' ? { headers: { 'content-type': 'application/json' }, payload: '{"collectors": []}' } : {}),
          });
        await expectRefused(send, query, `${op.method} ${op.path} ?${query}`, true);
        checked++;
      }
      for (const field of op.body) {
        const send = () =>
          h.app.inject({ method: op.method as 'POST', url: url(op), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ [field]: value }) });
        await expectRefused(send, field, `${op.method} ${op.path} body.${field}`);
        checked++;
      }
    }
    // A list element (collectors) is named by its position.
    await expectRefused(
      () => h.app.inject({ method: 'POST', url: '/api/collectors/run', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ collectors: ['ninja', value] }) }),
      'collectors.1',
      'collectors list',
    );
    expect(checked).toBeGreaterThan(20);
    expect(h.fake.admin.requestCount()).toBe(0);
    expect(await h.deps.db.selectFrom('device_snapshot').select('id').execute()).toHaveLength(0);
    expect(await h.deps.db.selectFrom('job_runs').select('job_id').execute()).toHaveLength(0);
  });

  it('update-name with a NUL in new_name never reaches ThreatLocker', async () => {
    const pc = withId(h.fake.admin.add({ hostname: 'RFG-DYP6X14', computerName: 'RFG-DYP6X14' }));
    h.fake.admin.clearRequests();
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/threatlocker/update-name',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ computer_id: pc.computerId, new_name: 'RFG-DYP6X14 | Tami\u0000' }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'new_name must not contain control characters', code: 'HUB_ERR_VALIDATION', field: 'new_name', request_id: expect.any(String) });
    expect(h.fake.admin.requests()).toEqual([]);
    expect(h.fake.admin.get(pc.computerId)?.computerName).toBe('RFG-DYP6X14');
  });

  it('ordinary non-ASCII text is accepted', async () => {
    const pc = withId(h.fake.admin.add({ hostname: 'MUC-01', computerName: 'MUC-01' }));
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/threatlocker/update-name',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ computer_id: pc.computerId, new_name: 'MUC-01 | Jürgen Groß 😀', updated_by: 'Zoë' }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().device.display_name).toBe('MUC-01 | Jürgen Groß 😀');
  });

  describe('the sync log records every attempt that reached the use case, whatever its text', () => {
    it('a successful sync asked for by a name with a NUL and a lone surrogate', async () => {
      const pc = withId(h.fake.admin.add({ hostname: 'CHI-01', computerName: 'CHI-01' }));
      const result = await syncThreatLockerDevice(threatlockerDeps(h.deps), { computerId: pc.computerId }, 'ali\u0000ce\ud800');
      expect(result.ok).toBe(true);
      const rows = await h.deps.db.selectFrom('device_sync_log').select(['id', 'updated_by', 'outcome']).execute();
      expect(rows).toEqual([{ id: result.syncId, updated_by: 'alice', outcome: 'success' }]);
    });

    it('a failed lookup with odd text in the hostname', async () => {
      const result = await syncThreatLockerDevice(threatlockerDeps(h.deps), { hostname: 'gho\u0000st' }, 'bob\u0000');
      expect(result).toMatchObject({ ok: false, reason: 'not_found' });
      expect(result.syncId).toBeGreaterThan(0);
      const rows = await h.deps.db.selectFrom('device_sync_log').select(['id', 'requested_hostname', 'updated_by', 'outcome']).execute();
      expect(rows).toEqual([{ id: result.syncId, requested_hostname: 'ghost', updated_by: 'bob', outcome: 'not_found' }]);
    });
  });
});
