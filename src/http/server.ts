/**
 * The HTTP shell: Fastify with zod schemas for validation, serialization and the OpenAPI
 * document. Every answer — including unknown routes, malformed bodies and crashes — is JSON.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Deps } from '../app.js';
import { HubError, statusOf, type ErrorCode } from '../errors.js';
import { VERSION } from '../version.js';
import { collectorRoutes } from './routes/collectors.js';
import { healthRoutes } from './routes/health.js';
import { statusRoutes } from './routes/status.js';
import { threatlockerRoutes } from './routes/threatlocker.js';

/** Bodies are small JSON objects; anything bigger is a mistake or an attack. */
const BODY_LIMIT = 64 * 1024;

function errorBody(code: ErrorCode, error: string, extra: Record<string, unknown> = {}) {
  return { error, code, ...extra };
}

/** "body.updated_by" → "updated_by"; a root-level problem names the body itself. */
function fieldOf(path: readonly PropertyKey[] | undefined): string | undefined {
  if (!path || path.length === 0) return undefined;
  return path.map(String).join('.');
}

export async function buildServer(deps: Deps): Promise<FastifyInstance> {
  const app = Fastify({
    // Without the assertion Fastify infers pino's Logger as the instance's logger type, which
    // routes typed with FastifyBaseLogger do not accept; the rule does not see that inference.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- see above
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // While draining on shutdown, new requests get a 503 instead of waiting on a closing server.
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();

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
    const fe = err as FastifyError;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(errorBody('HUB_ERR_PAYLOAD_TOO_LARGE', `Request body is larger than ${BODY_LIMIT} bytes`));
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(400).send(errorBody('HUB_ERR_VALIDATION', fe.message));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(statusOf('HUB_ERR_INTERNAL')).send(errorBody('HUB_ERR_INTERNAL', 'Internal server error'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('HUB_ERR_ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`));
  });

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

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes(deps), { prefix: '/api' });
  await app.register(threatlockerRoutes(deps), { prefix: '/api/threatlocker' });
  await app.register(statusRoutes(deps), { prefix: '/api' });
  await app.register(collectorRoutes(deps), { prefix: '/api/collectors' });
  return app;
}
