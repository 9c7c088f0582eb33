/**
 * Upstream's "exceptions" endpoints, mapped onto the variance lifecycle: an exception is a
 * variance; resolving it or marking it manually fixed is a person's resolve (with its event),
 * `reset_status` is a reopen. Shapes are upstream's, with its defects fixed (docs/api.md,
 * "Exceptions").
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../app.js';
import { HubError } from '../../errors.js';
import { applyBulk, latestRunDate, resolveVariance } from '../../variances/lifecycle.js';
import { listExceptions, openCount, statusSummary, variancesByHostname } from '../../variances/reports.js';
import { VARIANCE_TYPES } from '../../variances/types.js';
import { ErrorBody as BaseErrorBody, bodyObject, optionalText, recordIdParam } from '../schemas.js';
import { ExceptionItem, queryBoolean } from './variance-reports.js';

const ErrorBody = BaseErrorBody.extend({
  id: z.number().int().optional(),
  status: z.string().optional(),
  success: z.boolean().optional(),
  hostname: z.string().optional(),
  type: z.string().optional(),
});

const MAX_BULK = 500;
const IdParam = recordIdParam('an exception');
const typeEnum = (field: string) => z.enum(VARIANCE_TYPES, { error: `${field} must be one of ${VARIANCE_TYPES.join(', ')}` });

/** Optional text with upstream's default when absent, null or blank. */
const textOr = (field: string, max: number, fallback: string) =>
  z
    .string({ error: `${field} must be a string` })
    .max(max, { error: `${field} must be at most ${max} characters` })
    .nullish()
    .transform((v) => (v == null || v.trim() === '' ? fallback : v.trim()));

/** Who acted (`updated_by`, `resolved_by`): as given; blank or absent is left to {@link actor}. */
const byField = (field: string) =>
  z
    .string({ error: `${field} must be a string` })
    .max(255, { error: `${field} must be at most 255 characters` })
    .nullish()
    .transform((v) => (v == null || v.trim() === '' ? undefined : v.trim()));

/**
 * Who a change is recorded as: the body's value as given; else the API key's name when a key
 * (or its session) made the request; else upstream's default for the endpoint.
 */
function actor(req: FastifyRequest, given: string | undefined, fallback: string): string {
  return given ?? req.principal?.keyName ?? fallback;
}

/** old_value / new_value: any JSON, kept on the resolve event (bounded by the body limit). */
const jsonValue = z.unknown().optional();

const ResolveBody = bodyObject({ resolved_by: byField('resolved_by'), notes: optionalText('notes', 1000) }).default({
  resolved_by: undefined,
  notes: undefined,
});

const ManualFix = {
  updated_by: byField('updated_by'),
  update_type: textOr('update_type', 100, 'unknown'),
  old_value: jsonValue,
  new_value: jsonValue,
  notes: optionalText('notes', 1000),
};
const ManualFixBody = bodyObject(ManualFix).default({ updated_by: undefined, update_type: 'unknown', old_value: undefined, new_value: undefined, notes: undefined });

const ByHostnameBody = bodyObject({
  ...ManualFix,
  hostname: z
    .string({ error: 'hostname is required' })
    .max(255, { error: 'hostname must be at most 255 characters' })
    .transform((v) => v.trim())
    .refine((v) => v !== '', { error: 'hostname is required' }),
  type: typeEnum('type').default('DISPLAY_NAME_MISMATCH'),
  update_type: textOr('update_type', 100, 'display_name_update'),
});

const BulkBody = bodyObject({
  exception_ids: z
    .array(z.number({ error: 'exception_ids must be a list of exception ids' }).int({ error: 'exception_ids must be a list of exception ids' }).positive({ error: 'exception_ids must be a list of exception ids' }), {
      error: 'exception_ids must be a list of exception ids',
    })
    .min(1, { error: 'No exception IDs provided' })
    .max(MAX_BULK, { error: `exception_ids must hold at most ${MAX_BULK} ids` })
    .refine((ids) => new Set(ids).size === ids.length, { error: 'exception_ids must not repeat an id' }),
  action: z.enum(['mark_manually_fixed', 'resolve', 'reset_status'], { error: 'action must be mark_manually_fixed, resolve or reset_status' }).default('mark_manually_fixed'),
  updated_by: byField('updated_by'),
  notes: optionalText('notes', 1000),
});

/** What a manual fix records on the resolve event. */
function fixDetails(b: { update_type: string; old_value?: unknown; new_value?: unknown }): Record<string, unknown> {
  return { via: 'mark_manually_fixed', update_type: b.update_type, old_value: b.old_value ?? null, new_value: b.new_value ?? null };
}

export function exceptionRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const tags = ['exceptions'];

    app.get(
      '/',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Exceptions (variances), most recently found first, offset-paged',
          tags,
          querystring: z.object({
            type: typeEnum('type').optional(),
            resolved: queryBoolean('resolved').optional(),
            limit: z.coerce
              .number({ error: 'limit must be a number' })
              .int({ error: 'limit must be a whole number' })
              .min(1, { error: 'limit must be from 1 to 500' })
              .max(500, { error: 'limit must be from 1 to 500' })
              .default(100),
            offset: z.coerce
              .number({ error: 'offset must be a number' })
              .int({ error: 'offset must be a whole number' })
              .min(0, { error: 'offset must be from 0 to 100000' })
              .max(100_000, { error: 'offset must be from 0 to 100000' })
              .default(0),
          }),
          response: { 200: z.array(ExceptionItem.extend({ date_found: z.string().describe('The last day a check found it') })), 400: ErrorBody },
        },
      },
      async (req) => listExceptions(deps.db, req.query),
    );

    app.get(
      '/count',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Open exceptions of a type (they persist until resolved; not limited to one calendar day)',
          tags,
          querystring: z.object({ type: typeEnum('type').default('DISPLAY_NAME_MISMATCH') }),
          response: {
            200: z.object({ success: z.literal(true), type: z.string(), unresolved_count: z.number().int(), date: z.string().nullable().describe('The latest checked day') }),
            400: ErrorBody,
          },
        },
      },
      async (req) => ({
        success: true as const,
        type: req.query.type,
        unresolved_count: await openCount(deps.db, req.query.type),
        date: await latestRunDate(deps.db),
      }),
    );

    app.get(
      '/status-summary',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Exceptions by status and type, the latest check by type, and the last 20 things people did',
          tags,
          response: {
            200: z.object({
              status_summary: z.object({ active: z.record(z.string(), z.object({ total: z.number().int(), resolved: z.number().int(), unresolved: z.number().int() })) }),
              by_status: z.object({ open: z.record(z.string(), z.number().int()), resolved: z.record(z.string(), z.number().int()), accepted: z.record(z.string(), z.number().int()) }),
              recent_manual_updates: z.array(
                z.object({ variance_id: z.number().int(), type: z.string(), hostname: z.string(), kind: z.string(), actor: z.string(), note: z.string().nullable(), at: z.string() }),
              ),
              report_date: z.string().nullable(),
              generated_at: z.string(),
            }),
          },
        },
      },
      async () => ({ ...(await statusSummary(deps.db)), generated_at: deps.clock.now().toISOString() }),
    );

    const ActionResult = z.object({
      success: z.literal(true),
      message: z.string(),
      exception_id: z.number().int(),
      hostname: z.string(),
      type: z.string(),
      status: z.enum(['open', 'resolved', 'accepted']),
      updated_by: z.string(),
      updated_at: z.string(),
    });

    app.post(
      '/:id/resolve',
      {
        config: { scope: 'operate' },
        schema: {
          summary: "Resolve an exception (a person's resolve of the variance; the next check reopens it if still found)",
          tags,
          params: IdParam,
          body: ResolveBody,
          response: { 200: ActionResult, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const by = actor(req, req.body.resolved_by, 'api_user');
        const row = await deps.db
          .transaction()
          .execute((tx) => resolveVariance(tx, req.params.id, { by, note: req.body.notes, apiKeyId: req.principal?.keyId ?? null }, deps.clock));
        return {
          success: true as const,
          message: 'Exception resolved',
          exception_id: row.id,
          hostname: row.hostname,
          type: row.type,
          status: row.status,
          updated_by: by,
          updated_at: row.updated_at.toISOString(),
        };
      },
    );

    app.post(
      '/:id/mark-manually-fixed',
      {
        config: { scope: 'operate' },
        schema: {
          summary: 'Mark an exception manually fixed: resolved by a person, with what was changed recorded on the event',
          tags,
          params: IdParam,
          body: ManualFixBody,
          response: { 200: ActionResult, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const b = req.body;
        const by = actor(req, b.updated_by, 'dashboard_user');
        const row = await deps.db
          .transaction()
          .execute((tx) => resolveVariance(tx, req.params.id, { by, note: b.notes, details: fixDetails(b), apiKeyId: req.principal?.keyId ?? null }, deps.clock));
        return {
          success: true as const,
          message: 'Exception marked as manually fixed',
          exception_id: row.id,
          hostname: row.hostname,
          type: row.type,
          status: row.status,
          updated_by: by,
          updated_at: row.updated_at.toISOString(),
        };
      },
    );

    app.post(
      '/mark-fixed-by-hostname',
      {
        config: { scope: 'operate' },
        schema: {
          summary: 'Mark every open or accepted exception of a type for a hostname (any letter case) manually fixed',
          tags,
          body: ByHostnameBody,
          response: {
            200: z.object({
              success: z.literal(true),
              message: z.string(),
              hostname: z.string(),
              type: z.string(),
              exceptions_updated: z.number().int(),
              exception_ids: z.array(z.number().int()),
              updated_by: z.string(),
              updated_at: z.string(),
              status: z.enum(['updated', 'already_resolved']),
              last_updated_by: z.string().nullable().optional(),
              last_updated_at: z.string().nullable().optional(),
            }),
            400: ErrorBody,
            404: ErrorBody,
          },
        },
      },
      async (req) => {
        const b = req.body;
        const by = actor(req, b.updated_by, 'dashboard_user');
        const now = deps.clock.now().toISOString();
        const result = await deps.db.transaction().execute(async (tx) => {
          const rows = await variancesByHostname(tx, b.hostname, b.type);
          const actionable = rows.filter((r) => r.status !== 'resolved');
          for (const r of actionable) await resolveVariance(tx, r.id, { by, note: b.notes, details: fixDetails(b), apiKeyId: req.principal?.keyId ?? null }, deps.clock);
          return { rows, actionable };
        });
        if (result.rows.length === 0) {
          throw new HubError('HUB_ERR_VARIANCE_NOT_FOUND', `No ${b.type} exceptions found for hostname ${b.hostname}`, {
            success: false,
            hostname: b.hostname,
            type: b.type,
            status: 'not_found',
          });
        }
        if (result.actionable.length === 0) {
          const last = [...result.rows].sort((a, c) => (c.resolved_at?.getTime() ?? 0) - (a.resolved_at?.getTime() ?? 0))[0];
          return {
            success: true as const,
            message: `Exception already resolved for hostname ${b.hostname}`,
            hostname: b.hostname,
            type: b.type,
            exceptions_updated: 0,
            exception_ids: [],
            updated_by: by,
            updated_at: now,
            status: 'already_resolved' as const,
            last_updated_by: last?.resolved_by ?? null,
            last_updated_at: last?.resolved_at?.toISOString() ?? null,
          };
        }
        const n = result.actionable.length;
        return {
          success: true as const,
          message: `Marked ${n} exception${n === 1 ? '' : 's'} as manually fixed`,
          hostname: b.hostname,
          type: b.type,
          exceptions_updated: n,
          exception_ids: result.actionable.map((r) => r.id),
          updated_by: by,
          updated_at: now,
          status: 'updated' as const,
        };
      },
    );

    app.post(
      '/bulk-update',
      {
        config: { scope: 'operate' },
        schema: {
          summary: 'Resolve (mark_manually_fixed, resolve) or reopen (reset_status) many exceptions; one result per id, in one transaction',
          tags,
          body: BulkBody,
          response: {
            200: z.object({
              success: z.boolean().describe('Whether every id was updated'),
              message: z.string(),
              action: z.string(),
              updated_count: z.number().int(),
              failed_count: z.number().int(),
              exception_ids: z.array(z.number().int()).describe('The ids that were updated'),
              updated_by: z.string(),
              results: z.array(
                z.object({
                  id: z.number().int(),
                  ok: z.boolean(),
                  status: z.enum(['open', 'resolved', 'accepted']).optional(),
                  code: z.string().optional(),
                  error: z.string().optional(),
                }),
              ),
            }),
            400: ErrorBody,
          },
        },
      },
      async (req) => {
        const b = req.body;
        const by = actor(req, b.updated_by, 'dashboard_user');
        const input =
          b.action === 'reset_status'
            ? { action: 'reopen' as const, by, apiKeyId: req.principal?.keyId ?? null }
            : {
                action: 'resolve' as const,
                by,
                note: b.notes,
                apiKeyId: req.principal?.keyId ?? null,
                details: b.action === 'mark_manually_fixed' ? { via: 'mark_manually_fixed' } : undefined,
              };
        const results = await deps.db.transaction().execute((tx) => applyBulk(tx, b.exception_ids, input, deps.clock));
        const updated = results.filter((r) => r.ok).map((r) => r.id);
        return {
          success: updated.length === results.length,
          message: `Bulk ${b.action} completed: ${updated.length} updated, ${results.length - updated.length} not`,
          action: b.action,
          updated_count: updated.length,
          failed_count: results.length - updated.length,
          exception_ids: updated,
          updated_by: by,
          results,
        };
      },
    );
  };
}
