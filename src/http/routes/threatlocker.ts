/**
 * ThreatLocker device routes: sync-device (the specification's contract), update-name and
 * sync-history. Routes parse, call one use case, map the result to a status, and return.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkRunDeps, threatlockerDeps, type Deps } from '../../app.js';
import { statusOf } from '../../errors.js';
import { isGuid } from '../../ids.js';
import { ErrorBody as BaseErrorBody, bodyObject, optionalText, SyncHistoryEntry } from '../schemas.js';
import { renameThreatLockerDevice } from '../../sync/rename-device.js';
import { DEFAULT_UPDATED_BY, syncThreatLockerDevice, type SyncFailure, type SyncLimits } from '../../sync/sync-device.js';
import { listSyncHistory, toSyncHistoryEntry } from '../../sync/sync-log.js';
import { reevaluateAfterSync, type Reevaluation } from '../../variances/reevaluate.js';
import { Variance } from './variances.js';

const computerIdField = optionalText('computer_id', 64).refine((v) => v === undefined || isGuid(v), {
  error: 'computer_id must be a ThreatLocker computer id (a GUID)',
});
const hostnameField = optionalText('hostname', 255);
// Absent: the API key's name when one is used, else DEFAULT_UPDATED_BY (see `updatedByOf`).
const updatedByField = optionalText('updated_by', 255);

const SyncDeviceBody = bodyObject({
  computer_id: computerIdField.describe('ThreatLocker computerId (GUID); preferred'),
  hostname: hostnameField.describe('Hostname (short or FQDN, any case); used when computer_id is absent or unknown'),
  updated_by: updatedByField.describe('Who triggered the sync (default: the API key\'s name, or "dashboard_user" without a key)'),
}).describe('Either computer_id or hostname is required');

const UpdateNameBody = bodyObject({
  computer_id: computerIdField,
  hostname: hostnameField,
  new_name: z
    .string({ error: 'new_name is required' })
    .max(255, { error: 'new_name must be at most 255 characters' })
    .refine((v) => v.trim() !== '', { error: 'new_name is required' })
    .transform((v) => v.trim()),
  updated_by: updatedByField,
  old_name: z.string().nullish().describe('Accepted for compatibility; the name ThreatLocker had is reported instead'),
});

const ErrorBody = BaseErrorBody.extend({
  computer_id: z.string().nullable().optional(),
  hostname: z.string().nullable().optional(),
  stage: z.string().optional(),
  sync_id: z.number().optional(),
  retry_after_seconds: z.number().optional().describe('How long ThreatLocker asked to wait, when that did not fit the deadline'),
});

const DeviceBody = z.object({
  computer_id: z.string(),
  hostname: z.string(),
  display_name: z.string(),
  organization_name: z.string().nullable(),
});

/** The device's variances re-evaluated after the sync (docs/variances.md, "After a sync"). */
const VarianceFields = {
  variances: z
    .object({
      resolved: z.array(Variance).describe('Resolved automatically by this sync'),
      still_open: z.array(Variance).describe('Still found (open, or accepted within its term)'),
      opened: z.array(Variance).describe('Opened or reopened by this sync'),
    })
    .nullable()
    .describe("The synced device's variances after the sync; null when they were not re-evaluated (see variances_reason)"),
  variances_reason: z
    .enum(['not_checked', 'incomplete_day', 'busy', 'failed'])
    .nullable()
    .describe('Why variances is null: the day was not checked yet, a tool has no completed collection of it, a check run held the variances too long, or the re-evaluation failed (the sync stands)'),
  variances_message: z.string().nullable(),
};

/** The response fields of a re-evaluation's outcome. */
function varianceFields(r: Reevaluation) {
  return r.ok
    ? { variances: r.variances, variances_reason: null, variances_message: null }
    : { variances: null, variances_reason: r.reason, variances_message: r.message };
}

const SyncDeviceOk = z.object({
  success: z.literal(true),
  message: z.string(),
  device: DeviceBody.extend({
    previous_display_name: z.string().nullable().describe("Today's display name before this sync, if a snapshot existed"),
  }),
  updated_by: z.string(),
  updated_at: z.string().describe('RFC 3339, UTC'),
  matched_by: z.enum(['computer_id', 'hostname', 'canonical_hostname']),
  duplicate_hostnames: z.number().int().describe('Other ThreatLocker computers sharing the hostname (the latest check-in was used)'),
  snapshot_date: z.string(),
  sync_id: z.number().int(),
  ...VarianceFields,
});

const UpdateNameOk = z.object({
  success: z.literal(true),
  message: z.string(),
  device: DeviceBody.extend({ old_name: z.string().nullable(), new_name: z.string() }),
  updated_by: z.string(),
  updated_at: z.string(),
  snapshot_date: z.string(),
  sync_id: z.number().int(),
  ...VarianceFields,
});

const HistoryQuery = z.object({
  computer_id: z.string().trim().optional(),
  hostname: z.string().trim().optional(),
  limit: z.coerce
    .number({ error: 'limit must be a number' })
    .int({ error: 'limit must be a whole number' })
    .min(1, { error: 'limit must be from 1 to 500' })
    .max(500, { error: 'limit must be from 1 to 500' })
    .default(50),
});


const NOT_FOUND_MESSAGE = 'Device not found in ThreatLocker API';

/** The statuses a sync failure can answer with (the spec's 404 and 500, and the registry's). */
type FailureStatus = 404 | 422 | 499 | 500 | 503;

/**
 * Maps a sync failure to status + body (the spec's 404 and 500 shapes). Every failure keeps the
 * endpoint's message prefix, so each error of an endpoint reads the same way to the dashboard.
 */
function failureReply(failure: SyncFailure, prefix: string, ref: { computer_id?: string | undefined; hostname?: string | undefined }) {
  switch (failure.reason) {
    case 'not_found':
      return {
        status: 404 as FailureStatus,
        body: { error: NOT_FOUND_MESSAGE, code: 'HUB_ERR_DEVICE_NOT_FOUND', computer_id: ref.computer_id ?? null, hostname: ref.hostname ?? null },
      };
    case 'invalid_device':
      return { status: 500 as FailureStatus, body: { error: `${prefix}: ${failure.error.message}`, code: 'HUB_ERR_VENDOR_MALFORMED' } };
    case 'vendor_error': {
      // A wait the vendor asked for that did not fit the deadline is passed on to the client.
      const retryAfter = failure.error.details?.retry_after_seconds;
      return {
        status: statusOf(failure.error.code) as FailureStatus,
        body: {
          error: `${prefix}: ${failure.error.message}`,
          code: failure.error.code,
          ...(typeof retryAfter === 'number' ? { retry_after_seconds: retryAfter } : {}),
        },
      };
    }
    case 'failed':
    case 'cancelled':
      // The specification answers a failed database write with 500 (elsewhere HUB_ERR_DATABASE
      // is a 503: the database is unavailable, try again).
      return { status: (failure.error.code === 'HUB_ERR_DATABASE' ? 500 : statusOf(failure.error.code)) as FailureStatus, body: { error: `${prefix}: ${failure.error.message}`, code: failure.error.code } };
  }
}

/**
 * The limits a sync runs within: the deadline (SYNC_DEADLINE_MS from now) and a signal that
 * aborts when the client disconnects before the answer is written. (Fastify's `request.signal`
 * cannot serve: on Node 20 it fires as soon as a request body has been read.)
 */
function requestLimits(reply: FastifyReply, deadlineMs: number): SyncLimits {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return { signal: controller.signal, deadline: Date.now() + deadlineMs, budgetMs: deadlineMs };
}

/** The body's `updated_by` as given; else the key's name; else the historical default. */
function updatedByOf(req: FastifyRequest, given: string | undefined): string {
  return given ?? req.principal?.keyName ?? DEFAULT_UPDATED_BY;
}

const FAILURE_RESPONSES = { 404: ErrorBody, 422: ErrorBody, 499: ErrorBody, 500: ErrorBody, 503: ErrorBody } as const;

export function threatlockerRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/sync-device',
      { config: { scope: 'operate', rateLimit: { max: deps.config.security.rateLimitSyncPerMin } }, 
        schema: {
          summary: 'Re-read one ThreatLocker computer and replace its snapshot for today',
          tags: ['threatlocker'],
          body: SyncDeviceBody,
          response: { 200: SyncDeviceOk, 400: ErrorBody, ...FAILURE_RESPONSES },
        },
      },
      async (req, reply) => {
        const { computer_id, hostname } = req.body;
        const updated_by = updatedByOf(req, req.body.updated_by);
        if (!computer_id && !hostname) {
          return reply.code(400).send({ error: 'Either computer_id or hostname is required', code: 'HUB_ERR_VALIDATION' });
        }
        const prefix = 'Failed to sync ThreatLocker device';
        const limits = { ...requestLimits(reply, deps.config.syncDeadlineMs), apiKeyId: req.principal?.keyId ?? null };
        const result = await syncThreatLockerDevice(threatlockerDeps(deps), { computerId: computer_id, hostname }, updated_by, limits);
        deps.metrics.syncEnded('sync_device', result.ok ? 'ok' : result.reason);
        if (!result.ok) {
          const { status, body } = failureReply(result, prefix, { computer_id, hostname });
          return reply.code(status).send({ ...body, ...(result.syncId !== null ? { sync_id: result.syncId } : {}) });
        }
        // The snapshot is written: whatever happens to the re-evaluation, the sync answers 200.
        const reevaluated = await reevaluateAfterSync(checkRunDeps(deps), { ...result, updatedBy: updated_by });
        return reply.code(200).send({
          success: true as const,
          message: 'ThreatLocker device synced successfully',
          device: {
            computer_id: result.computerId,
            hostname: result.hostname,
            display_name: result.displayName,
            organization_name: result.organizationName,
            previous_display_name: result.previousDisplayName,
          },
          updated_by,
          updated_at: result.updatedAt.toISOString(),
          matched_by: result.matchedBy,
          duplicate_hostnames: result.otherMatches,
          snapshot_date: result.snapshotDate,
          sync_id: result.syncId,
          ...varianceFields(reevaluated),
        });
      },
    );

    app.post(
      '/update-name',
      { config: { scope: 'operate', rateLimit: { max: deps.config.security.rateLimitSyncPerMin } }, 
        schema: {
          summary: 'Rename a computer in ThreatLocker, then sync it',
          tags: ['threatlocker'],
          body: UpdateNameBody,
          response: { 200: UpdateNameOk, 400: ErrorBody, ...FAILURE_RESPONSES },
        },
      },
      async (req, reply) => {
        const { computer_id, hostname, new_name } = req.body;
        const updated_by = updatedByOf(req, req.body.updated_by);
        if (!computer_id && !hostname) {
          return reply.code(400).send({ error: 'Either computer_id or hostname is required', code: 'HUB_ERR_VALIDATION' });
        }
        const limits = { ...requestLimits(reply, deps.config.syncDeadlineMs), apiKeyId: req.principal?.keyId ?? null };
        const result = await renameThreatLockerDevice(threatlockerDeps(deps), { computerId: computer_id, hostname }, new_name, updated_by, limits);
        deps.metrics.syncEnded('update_name', result.ok ? 'ok' : result.reason);
        if (!result.ok) {
          const prefix =
            result.stage === 'sync'
              ? 'ThreatLocker computer name was updated, but the sync failed'
              : 'Failed to update ThreatLocker computer name';
          const { status, body } = failureReply(result, prefix, { computer_id, hostname });
          return reply.code(status).send({ ...body, stage: result.stage, ...(result.syncId !== null ? { sync_id: result.syncId } : {}) });
        }
        const reevaluated = await reevaluateAfterSync(checkRunDeps(deps), { ...result, updatedBy: updated_by });
        return reply.code(200).send({
          success: true as const,
          message: 'ThreatLocker computer name updated and synced successfully',
          device: {
            computer_id: result.computerId,
            hostname: result.hostname,
            old_name: result.oldName,
            new_name: result.newName,
            display_name: result.displayName,
            organization_name: result.organizationName,
          },
          updated_by,
          updated_at: result.updatedAt.toISOString(),
          snapshot_date: result.snapshotDate,
          sync_id: result.syncId,
          ...varianceFields(reevaluated),
        });
      },
    );

    app.get(
      '/sync-history',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Sync and rename attempts, newest first',
          tags: ['threatlocker'],
          querystring: HistoryQuery,
          response: { 200: z.object({ history: z.array(SyncHistoryEntry), count: z.number().int() }), 400: ErrorBody },
        },
      },
      async (req) => {
        const rows = await listSyncHistory(deps.db, {
          computerId: req.query.computer_id || undefined,
          hostname: req.query.hostname || undefined,
          limit: req.query.limit,
        });
        const history = rows.map(toSyncHistoryEntry);
        return { history, count: history.length };
      },
    );
  };
}
