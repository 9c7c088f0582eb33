import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../app.js';
import { inventoryStatus } from '../../inventory/status.js';

const VendorFreshness = z.object({
  latest_date: z.string().nullable(),
  freshness_status: z.enum(['current', 'yesterday', 'stale', 'very_stale', 'no_data']),
  freshness_message: z.string(),
  days_old: z.number().nullable(),
  configured: z.boolean().describe('Whether this hub has the vendor configured (a NinjaOne-only hub has no ThreatLocker)'),
});

const StatusBody = z.object({
  data_status: z.object({ status: z.enum(['current', 'stale_data', 'out_of_sync']), message: z.string(), latest_date: z.string().nullable() }),
  device_counts: z.object({ Ninja: z.number(), ThreatLocker: z.number() }),
  vendor_status: z.object({ Ninja: VendorFreshness, ThreatLocker: VendorFreshness }),
  collector_health: z.object({
    recent_failures: z.array(
      z.object({
        collector: z.string(),
        job_id: z.string(),
        job_name: z.string(),
        status: z.string(),
        message: z.string().nullable(),
        error: z.string().nullable(),
        started_at: z.string(),
        ended_at: z.string().nullable(),
      }),
    ),
    has_recent_failures: z.boolean(),
    total_failures_last_24h: z.number(),
  }),
  warnings: z.array(z.string()),
  has_warnings: z.boolean(),
  exception_counts: z.record(z.string(), z.number()),
  total_exceptions: z.number(),
  generated_at: z.string(),
});

export function statusRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    instance.withTypeProvider<ZodTypeProvider>().get(
      '/status',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Per-vendor freshness, device counts, recent collector failures and warnings (read-only)',
          tags: ['status'],
          response: { 200: StatusBody },
        },
      },
      async () => {
        const status = await inventoryStatus(deps.db, deps.clock, deps.vendorIds);
        const configured = { ThreatLocker: deps.threatlocker !== undefined, Ninja: deps.ninja !== undefined };
        const missing = (['ThreatLocker', 'Ninja'] as const).filter((v) => !configured[v]);
        return {
          ...status,
          vendor_status: {
            ThreatLocker: { ...status.vendor_status.ThreatLocker, configured: configured.ThreatLocker },
            Ninja: { ...status.vendor_status.Ninja, configured: configured.Ninja },
          },
          // A vendor this hub does not collect has no data by design: say why, too.
          warnings: [...status.warnings, ...missing.map((v) => `${v} is not configured on this hub`)],
        };
      },
    );
  };
}
