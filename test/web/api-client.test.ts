/**
 * The dashboard client's error handling, against the hub's real error answers (app.inject
 * answers fed to `toApiError`) and a fetch that fails.
 */
import { describe, expect, it } from 'vitest';
import { detachedDeps } from '../../scripts/api-types.js';
import { buildServer } from '../../src/http/server.js';
import { ApiError, CLIENT_ERROR_CODES, toApiError, unwrap } from '../../web/src/api/client.js';

describe('dashboard API client', () => {
  it('turns a hub error body into an ApiError with its message, code and fields', async () => {
    const app = await buildServer(detachedDeps(), { web: { root: '/nonexistent' } });
    try {
      const res = await app.inject({ method: 'GET', url: '/api/variances/?limit=0' });
      expect(res.statusCode).toBe(400);
      const err = toApiError(res.statusCode, res.json());
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(400);
      expect(err.code).toBe('HUB_ERR_VALIDATION');
      expect(err.message).toBe(res.json().error);
      expect(err.details).toMatchObject({ field: expect.any(String) });
    } finally {
      await app.close();
    }
  });

  it('names an answer that is not the hub\'s', () => {
    const err = toApiError(502, '<html>Bad gateway</html>');
    expect(err.code).toBe(CLIENT_ERROR_CODES.unexpected);
    expect(err.message).toContain('502');
  });

  it('unwrap returns data, throws ApiError on an error status and on a network failure', async () => {
    const ok = new Response('{}', { status: 200 });
    await expect(unwrap(Promise.resolve({ data: { a: 1 }, response: ok }))).resolves.toEqual({ a: 1 });

    const bad = new Response('', { status: 409 });
    await expect(
      unwrap(Promise.resolve({ error: { error: 'Variance 42 is resolved; it cannot be resolved', code: 'HUB_ERR_VARIANCE_TRANSITION', id: 42 }, response: bad })),
    ).rejects.toMatchObject({ status: 409, code: 'HUB_ERR_VARIANCE_TRANSITION', details: { id: 42 } });

    await expect(unwrap(Promise.reject(new TypeError('fetch failed')))).rejects.toMatchObject({ status: 0, code: CLIENT_ERROR_CODES.network });
  });
});
