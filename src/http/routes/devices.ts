/**
 * Device search (upstream's GET /api/devices/search shape): the route parses, calls the search,
 * groups by canonical hostname.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../app.js';
import { searchDevices, type FoundDevice } from '../../inventory/search.js';
import { ErrorBody } from '../schemas.js';

const MAX_LIMIT = 200;

const SearchQuery = z.object({
  q: z
    .string({ error: 'Search term (q) is required' })
    .max(255, { error: 'q must be at most 255 characters' })
    .transform((v) => v.trim())
    .refine((v) => v !== '', { error: 'Search term (q) is required' }),
  vendor: z.enum(['ninja', 'threatlocker'], { error: 'vendor must be ninja or threatlocker' }).optional(),
  limit: z.coerce
    .number({ error: 'limit must be a number' })
    .int({ error: 'limit must be a whole number' })
    .min(1, { error: `limit must be from 1 to ${MAX_LIMIT}` })
    .max(MAX_LIMIT, { error: `limit must be from 1 to ${MAX_LIMIT}` })
    .default(50),
});

const Found = z.object({
  vendor: z.enum(['ninja', 'threatlocker']),
  hostname: z.string(),
  display_name: z.string().nullable(),
  organization_name: z.string().nullable(),
  snapshot_date: z.string(),
  canonical_key: z.string(),
  is_truncated: z.boolean().describe('A NinjaOne name of exactly 15 characters (NetBIOS): it may be cut short'),
});

export function deviceRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    instance.withTypeProvider<ZodTypeProvider>().get(
      '/search',
      {
        schema: {
          summary: "Devices whose hostname, canonical hostname or display name starts with q, on each vendor's latest collected day",
          tags: ['devices'],
          querystring: SearchQuery,
          response: {
            200: z.object({
              search_term: z.string(),
              total_results: z.number().int(),
              vendors_found: z.array(z.string()),
              truncated_hostnames: z.number().int(),
              grouped_by_canonical_key: z.record(z.string(), z.array(Found)),
              warning: z.string().nullable(),
              truncated: z.boolean().describe('More devices matched than limit'),
              snapshot_dates: z.object({ ninja: z.string().optional(), threatlocker: z.string().optional() }).describe('The day searched per vendor'),
            }),
            400: ErrorBody,
          },
        },
      },
      async (req) => {
        const { q, vendor, limit } = req.query;
        const r = await searchDevices(deps.db, deps.vendorIds, q, { vendor, limit });
        const grouped: Record<string, FoundDevice[]> = {};
        for (const d of r.devices) (grouped[d.canonical_key] ??= []).push(d);
        const truncatedNames = r.devices.filter((d) => d.is_truncated).length;
        return {
          search_term: q,
          total_results: r.devices.length,
          vendors_found: [...new Set(r.devices.map((d) => d.vendor))],
          truncated_hostnames: truncatedNames,
          grouped_by_canonical_key: grouped,
          warning: truncatedNames > 0 ? 'Some hostnames may be truncated due to Ninja 15-character limit' : null,
          truncated: r.truncated,
          snapshot_dates: r.dates,
        };
      },
    );
  };
}
