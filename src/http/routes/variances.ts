/**
 * Variances: the list and one variance with its history, what people do about them (accept,
 * resolve, reopen, in bulk too) and running the check over a day. Routes parse, call one use
 * case, return; coded errors (HubError) are answered by the server's error handler.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkRunDeps, type Deps } from '../../app.js';
import { HubError } from '../../errors.js';
import { acceptVariance, applyBulk, isCalendarDate, reopenVariance, resolveVariance } from '../../variances/lifecycle.js';
import { getVariance, listVariances, toVarianceItem, VARIANCE_SORTS } from '../../variances/queries.js';
import { varianceSummary } from '../../variances/summary.js';
import { runVarianceCheck } from '../../variances/run.js';
import { VARIANCE_TYPES } from '../../variances/types.js';
import { ErrorBody as BaseErrorBody, bodyObject, optionalText, recordIdParam } from '../schemas.js';

const ErrorBody = BaseErrorBody.extend({
  id: z.number().int().optional().describe('The variance concerned'),
  status: z.string().optional().describe('Its status, when that did not allow the action'),
  date: z.string().optional(),
  latest_date: z.string().optional().describe('The latest day already checked (HUB_ERR_VARIANCES_DATE_BEHIND)'),
  missing_collections: z.array(z.string()).optional().describe('Vendors without a completed collection of the day'),
});

const STATUSES = ['open', 'resolved', 'accepted'] as const;
const MAX_BULK = 500;
const IdParam = recordIdParam('a variance');

/** Required text: trimmed, not blank, bounded. */
const requiredText = (field: string, max: number) =>
  z
    .string({ error: `${field} is required` })
    .max(max, { error: `${field} must be at most ${max} characters` })
    .transform((v) => v.trim())
    .refine((v) => v !== '', { error: `${field} is required` });

const dateField = (field: string) =>
  z.string({ error: `${field} must be a date (YYYY-MM-DD)` }).refine(isCalendarDate, { error: `${field} must be a date (YYYY-MM-DD)` });

const DeviceRef = z.object({
  vendor: z.enum(['threatlocker', 'ninja']),
  device_key: z.string(),
  hostname: z.string(),
  display_name: z.string().nullable(),
  organization_name: z.string().nullable(),
  location_name: z.string().nullable(),
});

/** A variance as the list shows it (also in sync-device and update-name answers). */
export const Variance = z.object({
  id: z.number().int(),
  type: z.string().describe(`One of ${VARIANCE_TYPES.join(', ')}`),
  status: z.enum(STATUSES),
  hostname: z.string().describe('Canonical hostname of the device(s) concerned'),
  organization: z.string().nullable(),
  match_quality: z.string().nullable().describe('exact | truncated | cross_org, for variances about a matched pair'),
  devices: z.array(DeviceRef),
  evidence: z.record(z.string(), z.unknown()).describe('The values that differ or made the rule fire'),
  hint: z.string(),
  first_seen: z.string(),
  last_seen: z.string(),
  resolved_at: z.string().nullable(),
  resolved_by: z.string().nullable().describe('Who resolved it; null when a check did'),
  accepted_until: z.string().nullable().describe('Last day (inclusive) an acceptance holds'),
  accepted_reason: z.string().nullable(),
  accepted_by: z.string().nullable(),
  updated_at: z.string(),
});

/** One event of a variance's history (also on the device page). */
export const VarianceEvent = z.object({
  id: z.number().int(),
  at: z.string(),
  kind: z.string().describe('opened | seen | resolved_auto | resolved | reopened | accepted | acceptance_expired'),
  actor: z.string().nullable().describe('The person; null for what a check did'),
  note: z.string().nullable(),
  snapshot_date: z.string().nullable().describe('The day checked, for events of a check'),
  run_id: z.number().int().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});

export const ListQuery = z.object({
  status: z.enum([...STATUSES, 'all'], { error: 'status must be open, resolved, accepted or all' }).default('open'),
  type: z.enum(VARIANCE_TYPES, { error: `type must be one of ${VARIANCE_TYPES.join(', ')}` }).optional(),
  organization: optionalText('organization', 255),
  hostname: optionalText('hostname', 255),
  limit: z.coerce
    .number({ error: 'limit must be a number' })
    .int({ error: 'limit must be a whole number' })
    .min(1, { error: 'limit must be from 1 to 500' })
    .max(500, { error: 'limit must be from 1 to 500' })
    .default(100),
  // A cursor carries the last sort value (an organization name can be long, in any script).
  cursor: optionalText('cursor', 2000),
  q: optionalText('q', 255).describe('Part of the hostname or of any device display name, any letter case (% and _ literal)'),
  sort: z.enum(VARIANCE_SORTS, { error: `sort must be one of ${VARIANCE_SORTS.join(', ')}` }).default('id'),
  order: z.enum(['desc', 'asc'], { error: 'order must be desc or asc' }).default('desc'),
});

const Summary = z.object({
  snapshot_date: z.string().nullable().describe('The latest checked day (null: no check has run)'),
  previous_date: z.string().nullable().describe('The checked day before it (null: none)'),
  types: z.array(
    z.object({
      type: z.string(),
      open: z.number().int().describe('Open now'),
      latest: z.number().int().describe('Open after the check of snapshot_date'),
      previous: z.number().int().nullable().describe('Open after the check of previous_date'),
      change: z.number().int().nullable().describe('latest - previous'),
    }),
  ),
});

const AcceptBody = bodyObject({
  reason: requiredText('reason', 1000).describe('Why the variance is acceptable'),
  until: dateField('until').describe('Last day (YYYY-MM-DD, inclusive) the acceptance holds; after today'),
  accepted_by: requiredText('accepted_by', 255),
});
const ResolveBody = bodyObject({
  resolved_by: requiredText('resolved_by', 255),
  note: optionalText('note', 1000),
});
const ReopenBody = bodyObject({ reopened_by: requiredText('reopened_by', 255) });

const BulkIds = z
  .array(z.number({ error: 'ids must be a list of variance ids' }).int({ error: 'ids must be a list of variance ids' }).positive({ error: 'ids must be a list of variance ids' }), {
    error: 'ids must be a list of variance ids',
  })
  .min(1, { error: 'ids must not be empty' })
  .max(MAX_BULK, { error: `ids must hold at most ${MAX_BULK} ids` })
  .refine((ids) => new Set(ids).size === ids.length, { error: 'ids must not repeat an id' })
  .describe(`Variance ids (1 to ${MAX_BULK}, no repeats)`);

const BulkBody = z.discriminatedUnion(
  'action',
  [
    bodyObject({ action: z.literal('accept'), ids: BulkIds, reason: requiredText('reason', 1000), until: dateField('until'), accepted_by: requiredText('accepted_by', 255) }),
    bodyObject({ action: z.literal('resolve'), ids: BulkIds, resolved_by: requiredText('resolved_by', 255), note: optionalText('note', 1000) }),
    bodyObject({ action: z.literal('reopen'), ids: BulkIds, reopened_by: requiredText('reopened_by', 255) }),
  ],
  { error: 'action must be accept, resolve or reopen' },
);

const BulkResult = z.object({
  id: z.number().int(),
  ok: z.boolean(),
  status: z.enum(STATUSES).optional().describe('The status after the action, when it was applied'),
  code: z.string().optional().describe('HUB_ERR_VARIANCE_NOT_FOUND or HUB_ERR_VARIANCE_TRANSITION, when it was not'),
  error: z.string().optional(),
});

const RunBody = bodyObject({
  date: dateField('date').optional().describe('The day to check (default today in INVENTORY_TIMEZONE)'),
}).default({});

const RunSummary = z.object({
  run_id: z.number().int(),
  snapshot_date: z.string(),
  counts: z.record(z.string(), z.number()).describe('Variances found that day, per type'),
  found: z.number().int(),
  opened: z.number().int(),
  seen: z.number().int().describe('Open or accepted variances whose evidence changed'),
  resolved: z.number().int().describe('Resolved automatically (no longer found)'),
  reopened: z.number().int(),
  acceptances_expired: z.number().int(),
  open_total: z.number().int().describe('Open variances after the run'),
  stale_devices: z.number().int().describe('Devices not seen within VARIANCE_STALE_DAYS (never reported missing)'),
});

export function varianceRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const tags = ['variances'];
    const notFound = (id: number) => new HubError('HUB_ERR_VARIANCE_NOT_FOUND', `Variance ${id} not found`, { id });

    app.get(
      '/',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Variances, newest first (or sorted), filtered and paged (keyset cursor)',
          tags,
          querystring: ListQuery,
          response: {
            200: z.object({
              items: z.array(Variance),
              next_cursor: z.string().nullable(),
              total: z.number().int().describe('Variances matching the filters, all pages'),
            }),
            400: ErrorBody,
          },
        },
      },
      async (req) => listVariances(deps.db, req.query),
    );

    app.get(
      '/summary',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Open variances by type now, and the change between the last two checked days',
          tags,
          response: { 200: Summary },
        },
      },
      async () => varianceSummary(deps.db),
    );

    app.post(
      '/run',
      {
        config: { scope: 'operate' },
        schema: {
          summary: "Check a day's variances now (both vendors must have collected it) and apply the result",
          tags,
          body: RunBody,
          response: { 200: RunSummary, 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const s = await runVarianceCheck(checkRunDeps(deps), { date: req.body.date, trigger: 'api' });
        return {
          run_id: s.runId,
          snapshot_date: s.date,
          counts: s.counts,
          found: s.found,
          opened: s.opened,
          seen: s.seen,
          resolved: s.resolved,
          reopened: s.reopened,
          acceptances_expired: s.acceptancesExpired,
          open_total: s.openTotal,
          stale_devices: s.stale,
        };
      },
    );

    app.post(
      '/bulk',
      {
        config: { scope: 'operate' },
        schema: {
          summary: 'Accept, resolve or reopen many variances; one result per id, all in one transaction',
          tags,
          body: BulkBody,
          response: { 200: z.object({ action: z.string(), results: z.array(BulkResult), succeeded: z.number().int(), failed: z.number().int() }), 400: ErrorBody },
        },
      },
      async (req) => {
        const body = req.body;
        const input =
          body.action === 'accept'
            ? { action: 'accept' as const, reason: body.reason, until: body.until, by: body.accepted_by, apiKeyId: req.principal?.keyId ?? null }
            : body.action === 'resolve'
              ? { action: 'resolve' as const, by: body.resolved_by, note: body.note, apiKeyId: req.principal?.keyId ?? null }
              : { action: 'reopen' as const, by: body.reopened_by };
        const results = await deps.db.transaction().execute((tx) => applyBulk(tx, body.ids, input, deps.clock));
        const succeeded = results.filter((r) => r.ok).length;
        return { action: body.action, results, succeeded, failed: results.length - succeeded };
      },
    );

    app.get(
      '/:id',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'One variance with its history (oldest event first)',
          tags,
          params: IdParam,
          response: { 200: Variance.extend({ events: z.array(VarianceEvent) }), 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => {
        const v = await getVariance(deps.db, req.params.id);
        if (!v) throw notFound(req.params.id);
        return v;
      },
    );

    const actionResponses = { 200: Variance, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
    app.post(
      '/:id/accept',
      {
        config: { scope: 'operate' },
        schema: {
          summary: 'Accept an open variance until a day; the first check after that day reopens it if still found',
          tags,
          params: IdParam,
          body: AcceptBody,
          response: actionResponses,
        },
      },
      async (req) => {
        const { reason, until, accepted_by } = req.body;
        const row = await deps.db.transaction().execute((tx) => acceptVariance(tx, req.params.id, { reason, until, by: accepted_by, apiKeyId: req.principal?.keyId ?? null }, deps.clock));
        return toVarianceItem(row);
      },
    );

    app.post(
      '/:id/resolve',
      {
        config: { scope: 'operate' },
        schema: {
          summary: 'Mark a variance resolved; the next check reopens it if the data still shows it',
          tags,
          params: IdParam,
          body: ResolveBody,
          response: actionResponses,
        },
      },
      async (req) => {
        const row = await deps.db
          .transaction()
          .execute((tx) => resolveVariance(tx, req.params.id, { by: req.body.resolved_by, note: req.body.note, apiKeyId: req.principal?.keyId ?? null }, deps.clock));
        return toVarianceItem(row);
      },
    );

    app.post(
      '/:id/reopen',
      {
        config: { scope: 'operate' },
        schema: { summary: 'Reopen a resolved variance, or end an acceptance early', tags, params: IdParam, body: ReopenBody, response: actionResponses },
      },
      async (req) => {
        const row = await deps.db.transaction().execute((tx) => reopenVariance(tx, req.params.id, { by: req.body.reopened_by, apiKeyId: req.principal?.keyId ?? null }, deps.clock));
        return toVarianceItem(row);
      },
    );
  };
}
