/**
 * Device search (upstream's GET /api/devices/search shape): the route parses, calls the search,
 * groups by canonical hostname.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkRunDeps, type Deps } from '../../app.js';
import { HubError } from '../../errors.js';
import { searchDevices, type FoundDevice } from '../../inventory/search.js';
import { COMPARED_FIELDS, devicePage, SNAPSHOT_FIELDS, type SnapshotField } from '../../variances/device-page.js';
import { Variance, VarianceEvent } from './variances.js';
import { ErrorBody as BaseErrorBody, SyncHistoryEntry } from '../schemas.js';

const ErrorBody = BaseErrorBody.extend({
  vendor: z.string().optional().describe('The vendor asked for (HUB_ERR_DEVICE_NOT_FOUND)'),
  device_key: z.string().optional().describe('The device key asked for (HUB_ERR_DEVICE_NOT_FOUND)'),
});

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

const VENDORS = ['threatlocker', 'ninja'] as const;

const PageParams = z.object({
  vendor: z.enum(VENDORS, { error: 'vendor must be threatlocker or ninja' }),
  key: z
    .string({ error: 'key is required' })
    .min(1, { error: 'key is required' })
    // The router refuses a longer path parameter first (400 naming `url`); kept in step here.
    .max(100, { error: 'key must be at most 100 characters' })
    .describe("The vendor's device key, as variances' devices[].device_key carry it"),
});

const NUMBER_FIELDS: ReadonlySet<SnapshotField> = new Set(['deny_count_1d', 'deny_count_3d', 'deny_count_7d']);
const BOOLEAN_FIELDS: ReadonlySet<SnapshotField> = new Set(['is_locked_out', 'is_isolated', 'has_checked_in', 'is_vm_guest']);
const fieldSchema = (f: SnapshotField) =>
  f === 'hostname' || f === 'canonical_hostname'
    ? z.string()
    : NUMBER_FIELDS.has(f)
      ? z.number().nullable()
      : BOOLEAN_FIELDS.has(f)
        ? z.boolean().nullable()
        : z.string().nullable();

const fieldShape = {} as Record<SnapshotField, z.ZodType>;
for (const f of SNAPSHOT_FIELDS) fieldShape[f] = fieldSchema(f);

/** One stored day of a device: every attribute the normalizer fills (timestamps as ISO strings). */
const Snapshot = z.object({ snapshot_date: z.string(), source: z.string().describe('collector | sync'), ...fieldShape });
const FieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const DevicePageBody = z.object({
  vendor: z.enum(VENDORS),
  device_key: z.string(),
  first_seen: z.string().describe('First day the hub stored the device'),
  last_seen: z.string(),
  latest: Snapshot.nullable().describe('Its latest stored day; null when retention removed every day'),
  counterpart: z
    .object({
      vendor: z.enum(VENDORS),
      device_key: z.string(),
      match_quality: z.enum(['exact', 'truncated', 'cross_org']),
      matched_on: z.string().describe('The day matched: the latest day of the device both tools collected'),
      latest: Snapshot.describe("The counterpart's snapshot of matched_on"),
    })
    .nullable(),
  differences: z.array(z.string()).describe(`Fields among ${COMPARED_FIELDS.join(', ')} whose values differ between the pair on matched_on`),
  variances: z.array(Variance.extend({ events: z.array(VarianceEvent) })),
  timeline: z.array(
    z.object({ snapshot_date: z.string(), changes: z.record(z.string(), z.object({ from: FieldValue, to: FieldValue })) }),
  ),
  sync_history: z.array(SyncHistoryEntry),
});

export function deviceRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/:vendor/:key',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'One device: latest snapshot, counterpart, differences, variances, day-by-day changes, syncs',
          tags: ['devices'],
          params: PageParams,
          response: { 200: DevicePageBody, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => {
        const { vendor, key } = req.params;
        const page = await devicePage(deps.db, { vendorIds: deps.vendorIds, settings: checkRunDeps(deps).settings }, vendor, key);
        if (!page) throw new HubError('HUB_ERR_DEVICE_NOT_FOUND', `The hub has never seen ${vendor} device ${key}`, { vendor, device_key: key });
        return page;
      },
    );

    app.get(
      '/search',
      {
        config: { scope: 'read' },
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
