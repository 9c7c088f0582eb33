/**
 * The dashboard's only way to the hub: an openapi-fetch client typed by `schema.d.ts`, which
 * `npm run generate:api` writes from the hub's own OpenAPI document.
 *
 * @example
 *   const status = await unwrap(api.GET('/api/status'));
 *   const page = await unwrap(api.GET('/api/variances/', { params: { query: { type: 'MISSING_NINJA' } } }));
 */
import createClient from 'openapi-fetch';
// With `.js`: the server's tests (tsconfig.json, NodeNext) compile this file too.
import type { paths } from './schema.js';

/** Same origin: the hub serves the dashboard (and `vite` proxies /api during development). */
export const api = createClient<paths>({ baseUrl: '' });

const unauthenticatedListeners = new Set<() => void>();

/**
 * Calls `listener` whenever the hub answers 401 to a request (the session ended, or the key was
 * revoked) — except sign-in's own answer to a wrong key. Returns the unsubscribe function.
 */
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

api.use({
  onResponse({ request, response }) {
    if (response.status === 401 && new URL(request.url).pathname !== '/api/session') {
      for (const l of unauthenticatedListeners) l();
    }
    return undefined;
  },
});

/**
 * Codes the dashboard gives failures that never reached the hub's error handler. The hub's
 * own codes are `HUB_ERR_*` (docs/api.md, "Error codes").
 */
export const CLIENT_ERROR_CODES = {
  /** No answer at all: the hub is down or the network failed. */
  network: 'NETWORK_ERROR',
  /** An error status whose body is not the hub's `{error, code}` (e.g. a proxy's page). */
  unexpected: 'UNEXPECTED_RESPONSE',
} as const;

/**
 * A failed request, in words a page can show: the hub's `error` (a sentence safe to show) and
 * its stable `code`, with the HTTP status and any further fields of the body (`field`, `id`…).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Turns an error answer (status and parsed body) into an ApiError. */
export function toApiError(status: number, body: unknown): ApiError {
  if (isRecord(body) && typeof body.error === 'string' && typeof body.code === 'string') {
    const { error, code, ...details } = body;
    return new ApiError(status, code, error, details);
  }
  return new ApiError(status, CLIENT_ERROR_CODES.unexpected, `The hub answered ${status} without an error description`);
}

/**
 * Awaits an openapi-fetch call and returns its data, or throws an ApiError (also when the hub
 * cannot be reached). Aborts (an AbortSignal passed to the call) are rethrown as they are.
 */
export async function unwrap<D>(pending: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
  let result: Awaited<typeof pending>;
  try {
    result = await pending;
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, CLIENT_ERROR_CODES.network, 'The hub cannot be reached; check that it is running');
  }
  if (!result.response.ok) throw toApiError(result.response.status, result.error);
  return result.data as D;
}
