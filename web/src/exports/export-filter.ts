/**
 * The variance filter of the Exports page, read from and written to the URL with the query
 * parameter names of /variances and of GET /api/variances (`status`, `type`, `organization`,
 * `hostname`, `q`), and the export links built from it. Pure: test/web/device-pages.test.ts.
 */
import { VARIANCE_TYPES } from '../variances/model.js';

// One list of types for the whole dashboard (the Variances page's); re-exported for the Exports page.
export { VARIANCE_TYPES };

export const EXPORT_STATUSES = ['open', 'resolved', 'accepted', 'all'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

/** The most rows an export holds (the hub's MAX_EXPORT_ROWS); more is refused with a 422. */
export const MAX_EXPORT_ROWS = 20_000;

/** The columns of both files, in order (the hub's EXPORT_COLUMNS). */
export const EXPORT_COLUMNS = [
  'ID',
  'Type',
  'Status',
  'Resolved',
  'Hostname',
  'Organization',
  'Match Quality',
  'First Seen',
  'Last Seen',
  'Resolved At',
  'Resolved By',
  'Accepted Until',
  'Accepted Reason',
  'Accepted By',
  'Hint',
  'Devices',
  'Details',
] as const;

export interface ExportFilter {
  readonly status: ExportStatus;
  readonly type?: string;
  readonly organization?: string;
  readonly hostname?: string;
  /** The list's free-text search: part of the hostname or of a display name. */
  readonly q?: string;
}

function text(params: URLSearchParams, name: string): string | undefined {
  const value = params.get(name)?.trim();
  return value ? value : undefined;
}

/** The filter a URL carries; unknown statuses and types are dropped (the hub would refuse them). */
export function readFilter(params: URLSearchParams): ExportFilter {
  const status = params.get('status');
  const type = params.get('type');
  return {
    status: (EXPORT_STATUSES as readonly string[]).includes(status ?? '') ? (status as ExportStatus) : 'open',
    type: type && (VARIANCE_TYPES as readonly string[]).includes(type) ? type : undefined,
    organization: text(params, 'organization'),
    hostname: text(params, 'hostname'),
    q: text(params, 'q'),
  };
}

/** The URL's query for a filter (defaults left out, so a plain /exports stays plain). */
export function filterParams(filter: ExportFilter): URLSearchParams {
  const params = new URLSearchParams();
  if (filter.status !== 'open') params.set('status', filter.status);
  for (const name of ['type', 'organization', 'hostname', 'q'] as const) {
    const value = filter[name];
    if (value) params.set(name, value);
  }
  return params;
}

/**
 * The download address of one format for a filter: the export endpoints take the list's
 * filters (`status`, `type`, `organization`, `hostname`, `q`).
 */
export function exportUrl(format: 'csv' | 'xlsx', filter: ExportFilter): string {
  const params = new URLSearchParams({ status: filter.status });
  if (filter.type) params.set('type', filter.type);
  if (filter.organization) params.set('organization', filter.organization);
  if (filter.hostname) params.set('hostname', filter.hostname);
  if (filter.q) params.set('q', filter.q);
  return `/api/variances/export/${format}?${params.toString()}`;
}
