/**
 * The upstream-compatible variance reports the dashboard calls: the report of the latest checked
 * day or of a given day, the days that have one, and trends. Shapes are upstream's (docs/api.md,
 * "Upstream-compatible reports"); routes parse, call one query, return.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../app.js';
import { HubError } from '../../errors.js';
import { isCalendarDate, latestRunDate } from '../../variances/lifecycle.js';
import {
  availableDates,
  DASHBOARD_KEYS,
  daysBetween,
  exportVariancesCsv,
  exportVariancesXlsx,
  filteredVarianceReport,
  MAX_EXPORT_ROWS,
  PRIORITY_TRIGGERS,
  varianceReport,
  varianceTrends,
  XLSX_CONTENT_TYPE,
  type ExportFilter,
} from '../../variances/reports.js';
import { VARIANCE_TYPES } from '../../variances/types.js';
import { ErrorBody, optionalText, plainJsonResponse } from '../schemas.js';
import { ListQuery } from './variances.js';

/** Longest trends range (days): a year of daily counts is the most a chart needs. */
export const MAX_TREND_DAYS = 366;
const MAX_AVAILABLE_DAYS = 366;

const dateText = (field: string) =>
  z.string({ error: `${field} must be a date (YYYY-MM-DD)` }).refine(isCalendarDate, { error: `${field} must be a date (YYYY-MM-DD)` });

/** Query booleans as upstream's clients send them. */
export const queryBoolean = (field: string) =>
  z
    .enum(['true', 'false', '1', '0'], { error: `${field} must be true or false` })
    .transform((v) => v === 'true' || v === '1');

export const ExceptionItem = z.object({
  id: z.number().int(),
  type: z.string(),
  hostname: z.string(),
  details: z.record(z.string(), z.unknown()).describe("The check's evidence, with `devices` (the devices concerned)"),
  resolved: z.boolean().describe('Whether it needs no action: status resolved or accepted'),
  status: z.enum(['open', 'resolved', 'accepted']),
  organization: z.string().nullable(),
  hint: z.string(),
  first_seen: z.string(),
  last_seen: z.string(),
});

const DeviceEntry = z
  .object({
    id: z.number().int().describe('The variance'),
    hostname: z.string(),
    vendor: z.string(),
    display_name: z.string().nullable(),
    organization: z.string(),
    billing_status: z.string().describe("NinjaOne's billable status when the variance carries it, else Unknown"),
    action: z.string().describe('What to do (the variance hint)'),
    status: z.enum(['open', 'resolved', 'accepted']),
    first_seen: z.string(),
  })
  .catchall(z.unknown());

const Block = z.object({
  total_count: z.number().int(),
  by_organization: z.record(z.string(), z.array(DeviceEntry)).describe('Organization ("Unknown" when none) → its devices'),
});

const blockShape = Object.fromEntries(Object.values(DASHBOARD_KEYS).map((k) => [k, Block])) as Record<(typeof DASHBOARD_KEYS)[keyof typeof DASHBOARD_KEYS], typeof Block>;

export const Report = z.object({
  report_date: z.string(),
  data_status: z.object({ status: z.enum(['current', 'stale_data', 'historical']), message: z.string(), latest_date: z.string() }),
  summary: z.object({
    total_exceptions: z.number().int(),
    unresolved_count: z.number().int(),
    resolved_count: z.number().int().describe('Resolved or accepted'),
    accepted_count: z.number().int(),
  }),
  exceptions_by_type: z.record(z.string(), z.array(ExceptionItem)),
  exception_counts: z.record(z.string(), z.number().int()),
  collection_info: z.object({
    ninja_collected: z.string().nullable(),
    threatlocker_collected: z.string().nullable(),
    last_collection: z.string(),
    data_freshness: z.enum(['current', 'stale']),
  }),
  ...blockShape,
});

const FilteredEntry = z
  .object({
    id: z.number().int().describe('The variance'),
    hostname: z.string(),
    details: z.record(z.string(), z.unknown()).describe("The check's evidence, with `devices` (the devices concerned)"),
    action: z.string().describe('What to do (the variance hint)'),
    organization: z.string().describe("The variance's organization, \"Unknown\" when none"),
    first_seen: z.string(),
  })
  .catchall(z.unknown())
  .describe('Display-name mismatches add ninja_display_name and threatlocker_computer_name; missing in Ninja adds threatlocker_hostname; missing in ThreatLocker adds ninja_hostname');

const FilteredByOrganization = z.object({
  total_count: z.number().int(),
  by_organization: z.record(z.string(), z.array(FilteredEntry)).describe('Organization ("Unknown" when none) → its variances'),
});
const FilteredList = z.object({ total_count: z.number().int(), devices: z.array(FilteredEntry) });

const filteredBlockShape = Object.fromEntries(
  Object.values(DASHBOARD_KEYS).map((k) => [k, k === DASHBOARD_KEYS.DUPLICATE_TL || k === DASHBOARD_KEYS.DUPLICATE_NINJA ? FilteredList : FilteredByOrganization]),
) as Record<(typeof DASHBOARD_KEYS)[keyof typeof DASHBOARD_KEYS], typeof FilteredList | typeof FilteredByOrganization>;

export const FilteredReport = z.object({
  analysis_date: z.string().describe('The latest checked day'),
  total_devices: z.object({ ninja: z.number().int(), threatlocker: z.number().int() }).describe("Each vendor's device rows of that day"),
  total_variances: z.number().int(),
  data_status: z.object({ status: z.enum(['current', 'stale_data']), message: z.string(), latest_date: z.string() }),
  status: z.enum(['current', 'stale_data']),
  ...filteredBlockShape,
  actionable_insights: z.object({
    priority_actions: z
      .array(z.string())
      .describe(`Past upstream's thresholds: DISPLAY_NAME_MISMATCH > ${PRIORITY_TRIGGERS.DISPLAY_NAME_MISMATCH}, MISSING_NINJA > ${PRIORITY_TRIGGERS.MISSING_NINJA}`),
    summary: z.record(z.string(), z.number().int()).describe('Open variances per type (types with none are absent)'),
  }),
  collection_info: z.object({
    ninja_collected: z.string().nullable(),
    threatlocker_collected: z.string().nullable(),
    last_collection: z.string(),
    data_freshness: z.enum(['current', 'stale']),
  }),
  data_quality: z.object({
    total_exceptions: z.number().int(),
    exception_types: z.array(z.string()),
    organizations_affected: z.number().int().describe('Organization keys among them ("Unknown" counts as one)'),
  }),
});

const FilteredQuery = z.object({
  type: z.enum(VARIANCE_TYPES, { error: `type must be one of ${VARIANCE_TYPES.join(', ')}` }).optional(),
  organization: optionalText('organization', 255).describe('An organization key as the report groups by ("Unknown": variances without one)'),
});

const ReportQuery = z.object({ include_resolved: queryBoolean('include_resolved').default(false) });

const TrendCounts = z.object({ total: z.number().int(), unresolved: z.number().int(), resolved: z.number().int(), accepted: z.number().int() });

const TrendsQuery = z
  .object({
    start_date: dateText('start_date'),
    end_date: dateText('end_date'),
    type: z.enum(VARIANCE_TYPES, { error: `type must be one of ${VARIANCE_TYPES.join(', ')}` }).optional(),
  })
  .superRefine((q, ctx) => {
    if (q.start_date > q.end_date) ctx.addIssue({ code: 'custom', path: ['end_date'], message: 'end_date must not be before start_date' });
    else if (daysBetween(q.start_date, q.end_date) + 1 > MAX_TREND_DAYS) {
      ctx.addIssue({ code: 'custom', path: ['end_date'], message: `the range must be at most ${MAX_TREND_DAYS} days` });
    }
  });

export function varianceReportRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const tags = ['variance reports'];

    const report = async (date: string, includeResolved: boolean) => {
      const r = await varianceReport(deps.db, deps.clock, deps.vendorIds, date, { includeResolved });
      if (!r) throw new HubError('HUB_ERR_VARIANCE_REPORT_NOT_FOUND', `No variance check completed over ${date}`, { date });
      const { blocks, ...rest } = r;
      return { ...rest, ...blocks };
    };

    app.get(
      '/variance-report/latest',
      {
        config: { scope: 'read' },
        ...plainJsonResponse,
        schema: {
          summary: 'The variance report of the latest checked day (upstream-compatible shape)',
          tags,
          querystring: ReportQuery,
          response: { 200: Report, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => {
        const date = await latestRunDate(deps.db);
        if (date === null) throw new HubError('HUB_ERR_VARIANCE_REPORT_NOT_FOUND', 'No variance check has completed yet');
        return report(date, req.query.include_resolved);
      },
    );

    // Registered before /:date for the reader; the router prefers a static segment anyway.
    app.get(
      '/variance-report/filtered',
      {
        config: { scope: 'read' },
        ...plainJsonResponse,
        schema: {
          summary: "Open variances of the latest checked day in the dashboard's blocks, with priority actions (upstream-compatible shape)",
          tags,
          querystring: FilteredQuery,
          response: { 200: FilteredReport, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => {
        const r = await filteredVarianceReport(deps.db, deps.clock, deps.vendorIds, req.query);
        if (!r) throw new HubError('HUB_ERR_VARIANCE_REPORT_NOT_FOUND', 'No variance check has completed yet');
        const { blocks, ...rest } = r;
        return { ...rest, ...blocks };
      },
    );

    app.get(
      '/variance-report/:date',
      {
        config: { scope: 'read' },
        ...plainJsonResponse,
        schema: {
          summary: 'The variance report of a checked day: the variances its check found, with the status they had after it',
          tags,
          params: z.object({ date: dateText('date') }),
          querystring: ReportQuery,
          response: { 200: Report, 400: ErrorBody, 404: ErrorBody.extend({ date: z.string().optional() }) },
        },
      },
      async (req) => report(req.params.date, req.query.include_resolved),
    );

    app.get(
      '/variances/available-dates',
      {
        config: { scope: 'read' },
        schema: {
          summary: 'Days with a completed variance check, newest first, with device and variance counts',
          tags,
          querystring: z.object({
            days: z.coerce
              .number({ error: 'days must be a number' })
              .int({ error: 'days must be a whole number' })
              .min(1, { error: `days must be from 1 to ${MAX_AVAILABLE_DAYS}` })
              .max(MAX_AVAILABLE_DAYS, { error: `days must be from 1 to ${MAX_AVAILABLE_DAYS}` })
              .default(30),
          }),
          response: {
            200: z.object({
              available_dates: z.array(
                z.object({
                  date: z.string(),
                  ninja_devices: z.number().int(),
                  threatlocker_devices: z.number().int(),
                  total_exceptions: z.number().int(),
                  unresolved_exceptions: z.number().int(),
                  data_quality: z.enum(['current', 'recent', 'stale']),
                  days_old: z.number().int(),
                }),
              ),
              date_range: z.object({ earliest: z.string().nullable(), latest: z.string().nullable() }),
              total_dates: z.number().int(),
            }),
            400: ErrorBody,
          },
        },
      },
      async (req) => {
        const dates = await availableDates(deps.db, deps.clock, deps.vendorIds, req.query.days);
        return {
          available_dates: dates,
          date_range: { earliest: dates[dates.length - 1]?.date ?? null, latest: dates[0]?.date ?? null },
          total_dates: dates.length,
        };
      },
    );

    app.get(
      '/variances/trends',
      {
        config: { scope: 'read' },
        schema: {
          summary: `Variances found per type and day over a range (at most ${MAX_TREND_DAYS} days)`,
          tags,
          querystring: TrendsQuery,
          response: {
            200: z.object({
              trends_by_date: z.record(z.string(), z.record(z.string(), TrendCounts)),
              trends_by_type: z.record(z.string(), z.array(TrendCounts.extend({ date: z.string() }))),
              summary: z.object({
                total_exceptions: z.number().int(),
                total_unresolved: z.number().int(),
                total_resolved: z.number().int(),
                date_range: z.object({ start: z.string(), end: z.string() }),
                unique_dates: z.number().int(),
                unique_types: z.number().int(),
              }),
              date_range: z.object({ start_date: z.string(), end_date: z.string(), days: z.number().int() }),
            }),
            400: ErrorBody,
          },
        },
      },
      async (req) => varianceTrends(deps.db, req.query.start_date, req.query.end_date, req.query.type),
    );

    // The list's filters, free text included; the rows are newest first (sort and order do not apply).
    const ExportQuery = ListQuery.omit({ limit: true, cursor: true, sort: true, order: true });
    const tooLarge = () =>
      new HubError('HUB_ERR_EXPORT_TOO_LARGE', `More than ${MAX_EXPORT_ROWS} variances match; narrow the filter (status, type, organization, hostname, q)`);
    /** The download's name: the filter's status and type, and today (the same for both formats). */
    const exportName = (q: ExportFilter, extension: string) =>
      `${['variances', q.status, q.type?.toLowerCase(), deps.clock.today()].filter((x) => x !== undefined).join('-')}.${extension}`;

    app.get(
      '/variances/export/csv',
      {
        config: { scope: 'read' },
        schema: {
          summary: `The variances GET /api/variances filters (status, type, organization, hostname, q) as a CSV download, at most ${MAX_EXPORT_ROWS} rows`,
          tags,
          querystring: ExportQuery,
          produces: ['text/csv'],
          response: {
            200: z.string().describe('CSV (RFC 4180, UTF-8 with a byte order mark); cells a spreadsheet would run as formulas are prefixed with an apostrophe'),
            400: ErrorBody,
            422: ErrorBody,
          },
        },
      },
      async (req, reply) => {
        const result = await exportVariancesCsv(deps.db, req.query);
        if (!result) throw tooLarge();
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${exportName(req.query, 'csv')}"`)
          .header('x-total-count', String(result.rows))
          .send(result.csv);
      },
    );

    app.get(
      '/variances/export/xlsx',
      {
        config: { scope: 'read' },
        schema: {
          summary: `The same rows as /api/variances/export/csv (same filter) as an Excel workbook, at most ${MAX_EXPORT_ROWS} rows`,
          tags,
          querystring: ExportQuery,
          produces: [XLSX_CONTENT_TYPE],
          response: {
            200: z.any().describe('XLSX: one sheet "Variances", a frozen header row with an auto filter; every cell text or a number'),
            400: ErrorBody,
            422: ErrorBody,
          },
        },
      },
      async (req, reply) => {
        const result = await exportVariancesXlsx(deps.db, deps.clock, req.query);
        if (!result) throw tooLarge();
        return reply
          .type(XLSX_CONTENT_TYPE)
          .header('content-disposition', `attachment; filename="${exportName(req.query, 'xlsx')}"`)
          .header('x-total-count', String(result.rows))
          .send(result.xlsx);
      },
    );
  };
}
