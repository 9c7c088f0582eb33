/**
 * Collector runs (the existing run-tracking API): start in the background, follow, cancel.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../app.js';
import { activeProgress, collectorStatus, getBatch, getJob, latestRuns, runHistory } from '../../collectors/run-reports.js';
import { COLLECTORS, type CollectorName } from '../../collectors/runs.js';
import { ErrorBody as BaseErrorBody } from '../schemas.js';

const Collector = z.enum(COLLECTORS, { error: `collectors must be a list of ${COLLECTORS.join(', ')}` });

const RunBody = z
  .object(
    {
      collectors: z
        .array(Collector, { error: `collectors must be a list of ${COLLECTORS.join(', ')}` })
        .min(1, { error: 'collectors must not be empty' })
        .optional()
        .describe('Default: every collector this hub is configured for'),
      run_cross_vendor: z.boolean({ error: 'run_cross_vendor must be true or false' }).default(false),
      priority: z.enum(['low', 'normal', 'high'], { error: 'priority must be low, normal or high' }).default('normal'),
      force: z.boolean({ error: 'force must be true or false' }).default(false).describe('Accept a fleet that shrank by more than COLLECTOR_MAX_DROP_PERCENT'),
      dry_run: z.boolean({ error: 'dry_run must be true or false' }).default(false).describe('Fetch and check, but do not replace the day'),
    },
    { error: 'Request body must be a JSON object' },
  )
  .default({ run_cross_vendor: false, priority: 'normal', force: false, dry_run: false });

const ErrorBody = BaseErrorBody.extend({
  job_id: z.string().optional(),
  job_name: z.string().optional(),
  batch_id: z.string().optional(),
});

const Job = z.object({
  job_id: z.string(),
  batch_id: z.string(),
  job_name: z.string(),
  status: z.string(),
  started_at: z.string().nullable(),
  updated_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  progress_percent: z.number().nullable(),
  message: z.string().nullable(),
  error: z.string().nullable(),
  duration_seconds: z.number().nullable(),
  snapshot_date: z.string().nullable(),
  trigger: z.string(),
  forced: z.boolean(),
  dry_run: z.boolean(),
  cancel_requested: z.boolean(),
  heartbeat_at: z.string().nullable(),
  pages_fetched: z.number(),
  devices_fetched: z.number(),
  devices_total: z.number().nullable(),
  devices_skipped: z.number(),
  devices_written: z.number().nullable(),
});

const Batch = z.object({
  batch_id: z.string(),
  status: z.string(),
  priority: z.string(),
  progress_percent: z.number().nullable(),
  estimated_completion: z.string().nullable(),
  created_at: z.string().nullable(),
  started_at: z.string().nullable(),
  updated_at: z.string(),
  ended_at: z.string().nullable(),
  message: z.string().nullable(),
  error: z.string().nullable(),
  duration_seconds: z.number().nullable(),
  collectors: z.array(Job),
});

const LatestQuery = z.object({
  collectors: z
    .string()
    .default(COLLECTORS.join(','))
    .transform((v, ctx) => {
      const names = v.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = names.filter((n) => !(COLLECTORS as readonly string[]).includes(n));
      if (bad.length > 0) {
        ctx.addIssue({ code: 'custom', message: `unknown collector: ${bad.join(', ')} (known: ${COLLECTORS.join(', ')})` });
        return z.NEVER;
      }
      return names as CollectorName[];
    }),
});

const Limit = z.object({
  limit: z.coerce
    .number({ error: 'limit must be a number' })
    .int({ error: 'limit must be a whole number' })
    .min(1, { error: 'limit must be from 1 to 200' })
    .max(200, { error: 'limit must be from 1 to 200' })
    .default(10),
});

const IdParam = (name: string) =>
  z.object({
    id: z
      .string()
      .min(1, { error: 'id is required' })
      .max(50, { error: 'id must be at most 50 characters' })
      .describe(`${name} id`),
  });

export function collectorRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const tags = ['collectors'];

    app.post(
      '/run',
      {
        config: { scope: 'operate' },
        schema: {
          summary: 'Start collectors in the background; answers at once with the batch and job ids',
          tags,
          body: RunBody,
          response: {
            202: z.object({
              batch_id: z.string(),
              status: z.string(),
              message: z.string(),
              collectors: z.array(z.object({ job_name: z.string(), job_id: z.string(), status: z.string(), started_at: z.string() })),
              warnings: z.array(z.string()),
            }),
            400: ErrorBody,
            409: ErrorBody,
          },
        },
      },
      async (req, reply) => {
        const body = req.body;
        const started = await deps.runs.start({
          // Without a list: the collectors this hub can run (a NinjaOne-only hub runs NinjaOne).
          collectors: body.collectors ?? COLLECTORS.filter((c) => deps.runs.configured(c)),
          priority: body.priority,
          force: body.force,
          dryRun: body.dry_run,
          trigger: 'api',
        });
        if (!started.ok && started.reason === 'busy') {
          return reply.code(409).send({
            error: `A ${started.job.job_name} run is already in progress (${started.job.job_id})`,
            code: 'HUB_ERR_COLLECTOR_BUSY',
            job_id: started.job.job_id,
            job_name: started.job.job_name,
            batch_id: started.job.batch_id,
          });
        }
        if (!started.ok) {
          return reply.code(400).send({
            error: `The ${started.collector} collector is not configured`,
            code: 'HUB_ERR_VALIDATION',
            field: 'collectors',
          });
        }
        const warnings = body.run_cross_vendor ? ['run_cross_vendor was ignored: the variance check runs by itself once both vendors have collected the day'] : [];
        return reply.code(202).send({
          batch_id: started.batch.batch_id,
          status: started.batch.status,
          message: started.batch.message ?? '',
          collectors: started.jobs.map((j) => ({ job_name: j.job_name, job_id: j.job_id, status: j.status, started_at: j.started_at.toISOString() })),
          warnings,
        });
      },
    );

    app.get(
      '/runs/batch/:id',
      { config: { scope: 'read' },  schema: { summary: 'One batch with its jobs', tags, params: IdParam('batch'), response: { 200: Batch, 404: ErrorBody } } },
      async (req, reply) => {
        const batch = await getBatch(deps.db, req.params.id, deps.clock);
        if (!batch) return reply.code(404).send({ error: 'Batch not found', code: 'HUB_ERR_RUN_NOT_FOUND' });
        return batch;
      },
    );

    app.get(
      '/runs/job/:id',
      { config: { scope: 'read' },  schema: { summary: 'One job', tags, params: IdParam('job'), response: { 200: Job, 404: ErrorBody } } },
      async (req, reply) => {
        const job = await getJob(deps.db, req.params.id);
        if (!job) return reply.code(404).send({ error: 'Job not found', code: 'HUB_ERR_RUN_NOT_FOUND' });
        return job;
      },
    );

    app.post(
      '/runs/job/:id/cancel',
      {
        config: { scope: 'operate' },
        schema: {
          summary: 'Ask a queued or running job to stop; the previous data stays as it was',
          tags,
          params: IdParam('job'),
          response: { 202: Job, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const { job, accepted } = await deps.runs.cancel(req.params.id);
        if (!job) return reply.code(404).send({ error: 'Job not found', code: 'HUB_ERR_RUN_NOT_FOUND' });
        if (!accepted) {
          return reply.code(409).send({ error: `Job already ended (${job.status})`, code: 'HUB_ERR_RUN_ENDED', job_id: job.job_id });
        }
        return reply.code(202).send((await getJob(deps.db, job.job_id))!);
      },
    );

    app.get(
      '/runs/latest',
      {
        config: { scope: 'read' },
        schema: {
          summary: "Each collector's active run, or its newest finished one",
          tags,
          querystring: LatestQuery,
          response: {
            200: z.object({
              latest_runs: z.array(
                Job.extend({
                  batch_status: z.string(),
                  batch_progress_percent: z.number().nullable(),
                  estimated_completion: z.string().nullable(),
                  batch_message: z.string().nullable(),
                }),
              ),
              total_runs: z.number(),
              generated_at: z.string(),
            }),
            400: ErrorBody,
          },
        },
      },
      async (req) => latestRuns(deps.db, req.query.collectors, deps.clock),
    );

    app.get(
      '/history',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Collector runs, newest first',
          tags,
          querystring: Limit,
          response: {
            200: z.object({
              collection_history: z.array(Job.extend({ duration: z.string().nullable() })),
              total_runs: z.number(),
              generated_at: z.string(),
            }),
            400: ErrorBody,
          },
        },
      },
      async (req) => runHistory(deps.db, req.query.limit, deps.clock),
    );

    const CollectorState = z.object({
      status: z.string(),
      last_run: z.string().nullable(),
      last_status: z.string().nullable(),
      last_job_id: z.string().nullable(),
      last_message: z.string().nullable(),
      schedule: z.string().nullable(),
    });
    app.get(
      '/status',
      { config: { scope: 'read' },  schema: { summary: 'Whether each collector is running, idle or not configured', tags, response: { 200: z.object({ ninja: CollectorState, threatlocker: CollectorState }) } } },
      async () => {
        const configured = new Set(COLLECTORS.filter((c) => deps.runs.configured(c)));
        const states = await collectorStatus(deps.db, configured);
        const schedule = (c: CollectorName) => (deps.config.collectors.schedulerEnabled ? deps.config.collectors.cron[c] : null);
        return {
          ninja: { ...states.ninja, schedule: schedule('ninja') },
          threatlocker: { ...states.threatlocker, schedule: schedule('threatlocker') },
        };
      },
    );

    app.get(
      '/progress',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Runs in progress with pages and devices fetched, percent and heartbeat age',
          tags,
          response: {
            200: z.object({
              active_collections: z.array(
                Job.extend({
                  is_active: z.boolean(),
                  heartbeat_age_seconds: z.number().nullable(),
                  elapsed_seconds: z.number(),
                  elapsed_time: z.string().nullable(),
                }),
              ),
              total_active: z.number(),
              generated_at: z.string(),
            }),
          },
        },
      },
      async () => activeProgress(deps.db, deps.clock, deps.config.collectors.staleAfterMs),
    );

  };
}
