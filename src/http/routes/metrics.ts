/**
 * GET /metrics — the Prometheus text exposition of this hub's registry
 * (src/observability/metrics.ts). Not under /api and not in the OpenAPI document: it is for
 * Prometheus, not for API clients.
 *
 * Open for now, like the rest of the API. When keys arrive, this plugin is the one place to
 * require a scope (an onRequest hook here), so a scraper's key need not open the whole API.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Deps } from '../../app.js';

export function metricsRoutes(deps: Pick<Deps, 'metrics'>): FastifyPluginAsync {
  return async (instance) => {
    instance.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      const text = await deps.metrics.render();
      return reply.type(deps.metrics.contentType).send(text);
    });
  };
}
