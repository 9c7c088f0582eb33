/**
 * The HTTP shell: Fastify with zod schemas for validation, serialization and the OpenAPI
 * document. Every answer — including unknown routes, malformed bodies and crashes — is JSON.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Deps } from '../app.js';
import { HubError, isDatabaseUnavailable, statusOf, type ErrorCode } from '../errors.js';
import { VERSION } from '../version.js';
import { collectorRoutes } from './routes/collectors.js';
import { deviceRoutes } from './routes/devices.js';
import { exceptionRoutes } from './routes/exceptions.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { organizationRoutes } from './routes/organizations.js';
import { statusRoutes } from './routes/status.js';
import { threatlockerRoutes } from './routes/threatlocker.js';
import { varianceReportRoutes } from './routes/variance-reports.js';
import { varianceRoutes } from './routes/variances.js';
import { findUnsafeText } from './schemas.js';
import { registerWeb, type PageFallback, type WebOptions } from './web.js';
import { authRoutes } from './routes/auth.js';
import { registerSecurity, requestIdOf } from './security.js';

/** The route label of requests no route matched (404s, URLs the router refused). */
export const UNMATCHED_ROUTE = 'unmatched';
/** Bodies are small JSON objects; anything bigger is a mistake or an attack. */
const BODY_LIMIT = 64 * 1024;
/** A path parameter longer than this is refused by the router (ids are at most 50 characters). */
const MAX_PARAM_LENGTH = 100;
/** Time a client gets to send its whole request (headers and a ≤ 64 KiB body). */
const REQUEST_RECEIVE_MS = 10_000;
/**
 * How long a connection may sit silent: longer than a sync may take (the handler is silent
 * while it waits for the vendor), with room for the answer to be written.
 */
const IDLE_MARGIN_MS = 10_000;

function errorBody(code: ErrorCode, error: string, extra: Record<string, unknown> = {}) {
  return { error, code, ...extra };
}

/** "body.updated_by" → "updated_by"; a root-level problem names the body itself. */
function fieldOf(path: readonly PropertyKey[] | undefined): string | undefined {
  if (!path || path.length === 0) return undefined;
  return path.map(String).join('.');
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (malformed request line or
 * headers, headers too large, a request not received in time): answered on the raw socket in
 * the hub's shape, then the connection is closed (the stream cannot be trusted any more).
 */
function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one to answer (as Node's own handler does).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let code: ErrorCode = 'HUB_ERR_VALIDATION';
  let message = 'Malformed HTTP request';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    code = 'HUB_ERR_HEADERS_TOO_LARGE';
    message = 'Request headers are larger than the server accepts';
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    code = 'HUB_ERR_REQUEST_TIMEOUT';
    message = `The request was not received in full within ${REQUEST_RECEIVE_MS} ms`;
  } else if (err.code === 'HPE_INVALID_METHOD') {
    message = 'Unsupported HTTP method';
  }
  this.log.debug({ err: { code: err.code, message: err.message } }, 'client error');
  if (socket.writable) {
    const status = statusOf(code);
    const body = JSON.stringify(errorBody(code, message));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Fastify's own request errors, each answered with a registry code and a fitting status. */
function fastifyErrorReply(fe: FastifyError): { code: ErrorCode; message: string; field?: string } | undefined {
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'HUB_ERR_PAYLOAD_TOO_LARGE', message: `Request body is larger than ${BODY_LIMIT} bytes` };
    case 'FST_ERR_BAD_URL':
      return { code: 'HUB_ERR_VALIDATION', message: 'The URL path is not valid (bad percent-encoding)', field: 'url' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { code: 'HUB_ERR_VALIDATION', message: `A path parameter is longer than ${MAX_PARAM_LENGTH} characters`, field: 'url' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'HUB_ERR_VALIDATION', message: 'Content-Length does not match the body', field: 'content-length' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return { code: 'HUB_ERR_VALIDATION', message: 'Content-Type must be application/json', field: 'content-type' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'HUB_ERR_VALIDATION', message: 'Request body is not valid JSON', field: 'body' };
    default:
      // Any other request error Fastify raises is something wrong with the request.
      if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
        return { code: 'HUB_ERR_VALIDATION', message: fe.message };
      }
      return undefined;
  }
}

/**
 * One log line per request, written when it is answered, instead of Fastify's two (incoming
 * and completed): half the logging cost on the sync path, and the line that matters has it
 * all. Fastify's other request logs (errors, unknown routes) are kept.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else reply.log.info(fields, 'request');
  }
}

function trustProxyOption(v: boolean | number | readonly string[]): boolean | string[] {
  return Array.isArray(v) ? [...(v as readonly string[])] : (v as boolean);
}

export interface ServerOptions {
  /** Where the built dashboard is (tests point it at a fixture); see `web.ts`. */
  readonly web?: WebOptions;
}

export async function buildServer(deps: Deps, options: ServerOptions = {}): Promise<FastifyInstance> {
  const syncDeadlineMs = deps.config.syncDeadlineMs;
  const app = Fastify({
    // Without the assertion Fastify infers pino's Logger as the instance's logger type, which
    // routes typed with FastifyBaseLogger do not accept; the rule does not see that inference.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- see above
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    logController: new OneLinePerRequest(),
    // While draining on shutdown, new requests get a 503 instead of waiting on a closing server:
    // answered by the hook below in the hub's error shape (Fastify's own 503 has no code).
    return503OnClosing: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // X-Request-Id: accepted when plain, else generated; in every log line (Fastify's default
    // label, reqId) and error body.
    genReqId: requestIdOf,
    requestIdHeader: false,
    // Behind a reverse proxy (TRUST_PROXY): client address and scheme from X-Forwarded-*.
    // (A hop count is accepted by Fastify, but its types omit it.)
    trustProxy: trustProxyOption(deps.config.security.trustProxy),
    // A slow or stalled client cannot hold a connection: the whole request must arrive in time,
    // and a connection silent for longer than the longest answer (a sync at its deadline) is
    // closed. Syncs answer by their own deadline (SYNC_DEADLINE_MS), well within that.
    requestTimeout: REQUEST_RECEIVE_MS,
    connectionTimeout: syncDeadlineMs + IDLE_MARGIN_MS,
    clientErrorHandler,
    // Bad percent-encoding and over-long parameters are found by the router, before any route.
    // (They bypass the hooks, so the request id is added here.)
    frameworkErrors: (err, req, reply: FastifyReply) => {
      const mapped = fastifyErrorReply(err) ?? { code: 'HUB_ERR_VALIDATION' as const, message: err.message };
      void reply
        .code(statusOf(mapped.code))
        .header('x-request-id', req.id)
        .send({ request_id: req.id, ...errorBody(mapped.code, mapped.message, mapped.field ? { field: mapped.field } : {}) });
    },
  }).withTypeProvider<ZodTypeProvider>();
  // Node's default (60 s) would outlast the whole-request limit.
  app.server.headersTimeout = REQUEST_RECEIVE_MS;

  // Requests that still arrive while the server drains (on a connection that was busy, or
  // pipelined) are refused at once; Fastify has already marked their answers Connection: close.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_req, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    // Sent as text: the route's own response schemas do not describe this answer.
    void reply
      .code(statusOf('HUB_ERR_SHUTTING_DOWN'))
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(errorBody('HUB_ERR_SHUTTING_DOWN', 'The hub is shutting down; try again shortly')));
  });

  // Request metrics, labelled by the route's pattern (`/api/devices/:id`), never the raw URL:
  // one series per route, whatever ids clients send. Unknown URLs share one label.
  app.addHook('onResponse', (req, reply, done) => {
    deps.metrics.request(req.method, req.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  // No string a request carries may hold control characters or unpaired surrogates: checked
  // here, for every route (also routes added later), before the route's own validation.
  app.addHook('preValidation', async (req) => {
    const unsafe =
      findUnsafeText(req.params, 'params') ?? findUnsafeText(req.query, 'query') ?? findUnsafeText(req.body, 'body');
    if (unsafe) throw new HubError('HUB_ERR_VALIDATION', unsafe.message, { field: unsafe.field });
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // One JSON parser for every content type: JSON is accepted as application/json or any
  // +json type; anything else is a 400 naming the header (Fastify's default would be a 415
  // with its own body shape, which the dashboard does not expect).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== 'application/json' && !type.endsWith('+json') && type !== 'text/json') {
      done(new HubError('HUB_ERR_VALIDATION', `Content-Type must be application/json (got "${type || 'none'}")`, { field: 'content-type' }), undefined);
      return;
    }
    const text = String(body);
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HubError('HUB_ERR_VALIDATION', 'Request body is not valid JSON', { field: 'body' }), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | HubError | Error, req, reply) => {
    if (err instanceof HubError) {
      return reply.code(err.status).send(errorBody(err.code, err.message, err.details ?? {}));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issue = err.validation[0];
      const field = fieldOf(issue?.instancePath ? issue.instancePath.split('/').filter(Boolean) : undefined);
      const where = err.validationContext ?? 'body';
      return reply.code(400).send(errorBody('HUB_ERR_VALIDATION', issue?.message ?? `invalid ${where}`, { field: field ?? where }));
    }
    const mapped = fastifyErrorReply(err as FastifyError);
    if (mapped) return reply.code(statusOf(mapped.code)).send(errorBody(mapped.code, mapped.message, mapped.field ? { field: mapped.field } : {}));
    if (isDatabaseUnavailable(err)) {
      req.log.error({ err }, 'database unavailable');
      return reply.code(statusOf('HUB_ERR_DATABASE')).send(errorBody('HUB_ERR_DATABASE', 'The database is unavailable; try again later'));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(statusOf('HUB_ERR_INTERNAL')).send(errorBody('HUB_ERR_INTERNAL', 'Internal server error'));
  });

  // Set once the dashboard is registered (below): a GET outside /api may be a dashboard page.
  let dashboardPage: PageFallback = () => undefined;
  app.setNotFoundHandler((req, reply) => {
    if (dashboardPage(req, reply)) return;
    reply.code(404).send(errorBody('HUB_ERR_ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`));
  });

  // Before any route: every route is checked for its scope as it is added.
  await registerSecurity(app, deps);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Inventory Hub API',
        version: VERSION,
        description: 'Daily device inventory across ThreatLocker and NinjaOne, with on-demand device sync.',
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });

  app.get('/api/openapi.json', { config: { scope: 'public' }, schema: { hide: true } }, async () => app.swagger());
  // The one place /metrics is registered (scope `read` unless METRICS_OPEN; see routes/metrics.ts).
  await app.register(metricsRoutes(deps));
  await app.register(healthRoutes(deps), { prefix: '/api' });
  await app.register(threatlockerRoutes(deps), { prefix: '/api/threatlocker' });
  await app.register(statusRoutes(deps), { prefix: '/api' });
  await app.register(collectorRoutes(deps), { prefix: '/api/collectors' });
  await app.register(varianceRoutes(deps), { prefix: '/api/variances' });
  await app.register(organizationRoutes(deps), { prefix: '/api/organizations' });
  await app.register(varianceReportRoutes(deps), { prefix: '/api' });
  await app.register(exceptionRoutes(deps), { prefix: '/api/exceptions' });
  await app.register(deviceRoutes(deps), { prefix: '/api/devices' });
  await app.register(authRoutes(deps), { prefix: '/api' });
  // Last: the dashboard answers what no API route does (outside /api).
  dashboardPage = await registerWeb(app, options.web);
  return app;
}
