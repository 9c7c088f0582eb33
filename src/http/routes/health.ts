import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Deps } from '../../app.js';
import { VERSION } from '../../version.js';

/** A health probe must answer quickly even when the database hangs. */
const DATABASE_PROBE_TIMEOUT_MS = 2_000;

const HealthBody = z.object({
  status: z.enum(['healthy', 'unhealthy']),
  timestamp: z.string(),
  version: z.string(),
  database: z.enum(['ok', 'unavailable']),
  error: z.string().optional(),
});

async function probeDatabase(deps: Deps): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`select 1`.execute(deps.db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${DATABASE_PROBE_TIMEOUT_MS} ms`)), DATABASE_PROBE_TIMEOUT_MS);
      }),
    ]);
    return null;
  } catch (err) {
    deps.logger.warn({ err }, 'health check: database not answering');
    return err instanceof Error && err.message.startsWith('no answer') ? err.message : 'database query failed';
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    instance.withTypeProvider<ZodTypeProvider>().get(
      '/health',
      { config: { scope: 'public' },  schema: { summary: 'Liveness and database reachability', tags: ['health'], response: { 200: HealthBody, 503: HealthBody } } },
      async (_req, reply) => {
        const problem = await probeDatabase(deps);
        const base = { timestamp: deps.clock.now().toISOString(), version: VERSION };
        if (problem) return reply.code(503).send({ status: 'unhealthy' as const, ...base, database: 'unavailable' as const, error: problem });
        return reply.code(200).send({ status: 'healthy' as const, ...base, database: 'ok' as const });
      },
    );
  };
}
