/**
 * GET /metrics — the Prometheus text exposition of this hub's registry
 * (src/observability/metrics.ts). Not under /api and not in the OpenAPI document: it is for
 * Prometheus, not for API clients.
 *
 * Needs the `read` scope (checked by the security hook, src/http/security.ts), unless
 * METRICS_OPEN=true: a scraper that cannot send a key may then read it without one.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Deps } from '../../app.js';

export function metricsRoutes(deps: Pick<Deps, 'metrics' | 'config'>): FastifyPluginAsync {
  return async (instance) => {
    instance.get('/metrics', { config: { scope: deps.config.security.metricsOpen ? 'public' : 'read' }, schema: { hide: true } }, async (_req, reply) => {
      const text = await deps.metrics.render();
      return reply.type(deps.metrics.contentType).send(text);
    });
  };
}
