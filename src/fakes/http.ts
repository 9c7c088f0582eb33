/**
 * HTTP plumbing shared by the fake vendors: how a request appears in their logs and how an
 * answer is written.
 */
import type { FastifyReply } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';

/** Request headers for a fake's request log, with the credential hidden. */
export function loggedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[] | undefined> {
  return { ...headers, ...(headers.authorization !== undefined ? { authorization: '[redacted]' } : {}) };
}

/**
 * Answers with a content type that matches the payload — JSON, an HTML page (as a gateway
 * sends), or plain text — and records the status in the request's log entry.
 */
export function answer(
  reply: FastifyReply,
  entry: { status: number | null },
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): FastifyReply {
  entry.status = status;
  const isText = typeof payload === 'string';
  const type = isText && payload.startsWith('<') ? 'text/html' : isText ? 'text/plain' : 'application/json';
  return reply
    .code(status)
    .headers({ 'content-type': `${type}; charset=utf-8`, ...headers })
    .send(isText ? payload : JSON.stringify(payload));
}

/** Timers for `delay` faults that a closing fake releases at once, so none outlives it. */
export class Delays {
  private readonly pending = new Map<NodeJS.Timeout, () => void>();

  readonly wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve();
      }, ms);
      this.pending.set(timer, resolve);
    });

  releaseAll(): void {
    for (const [timer, release] of this.pending) {
      clearTimeout(timer);
      release();
    }
    this.pending.clear();
  }
}

/**
 * The JSON object an admin request sent (an empty body is `{}`); anything else is refused with
 * the fake's own error, built by `fail`.
 */
export function adminJsonObject(body: unknown, fail: (status: number, message: string) => Error): Record<string, unknown> {
  let parsed: unknown = {};
  try {
    if (typeof body === 'string' && body !== '') parsed = JSON.parse(body);
  } catch {
    throw fail(400, 'The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw fail(400, 'The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}
