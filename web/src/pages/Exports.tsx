/**
 * `/exports`: the variances of a filter as a CSV or XLSX download. The filter lives in the URL
 * with /variances' parameter names, so the Variances page can link here with its query string.
 */
import { useId } from 'react';
import { useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { useApi } from '../api/useApi';
import { ErrorMessage } from '../components/ErrorMessage';
import {
  EXPORT_COLUMNS,
  EXPORT_STATUSES,
  exportUrl,
  filterParams,
  MAX_EXPORT_ROWS,
  readFilter,
  VARIANCE_TYPES,
  type ExportFilter,
  type ExportStatus,
} from '../exports/export-filter';
import './page-controls.css';
import './Exports.css';

const count = new Intl.NumberFormat();
const STATUS_TEXT: Readonly<Record<ExportStatus, string>> = { open: 'Open', resolved: 'Resolved', accepted: 'Accepted', all: 'All statuses' };

export function Exports() {
  const [params, setParams] = useSearchParams();
  const filter = readFilter(params);
  const ids = { status: useId(), type: useId(), organization: useId(), hostname: useId(), q: useId(), orgs: useId() };

  const update = (change: Partial<ExportFilter>) => setParams(filterParams({ ...filter, ...change }), { replace: true });

  // How many rows the files will hold: the list's total for the same filter.
  const total = useApi(
    (signal) =>
      unwrap(
        api.GET('/api/variances/', {
          params: {
            query: {
              status: filter.status,
              type: filter.type as (typeof VARIANCE_TYPES)[number] | undefined,
              organization: filter.organization,
              hostname: filter.hostname,
              q: filter.q,
              limit: 1,
            },
          },
          signal,
        }),
      ).then((page) => page.total),
    [filter.status, filter.type, filter.organization, filter.hostname, filter.q],
  );
  const organizations = useApi((signal) => unwrap(api.GET('/api/organizations/mapping', { signal })), []);
  const orgNames =
    organizations.status === 'ok'
      ? [...new Set([...organizations.data.organizations.threatlocker, ...organizations.data.organizations.ninja])].sort((a, b) => a.localeCompare(b))
      : [];

  const tooMany = total.status === 'ok' && total.data > MAX_EXPORT_ROWS;

  return (
    <section aria-labelledby="exports-title" className="exports-page">
      <h1 id="exports-title">Exports</h1>
      <p>Download the variances of a filter as a spreadsheet. The Variances page links here with its current filter.</p>

      <form className="export-filter" onSubmit={(e) => e.preventDefault()} aria-label="Variance filter">
        <div>
          <label htmlFor={ids.status}>Status</label>
          <select id={ids.status} value={filter.status} onChange={(e) => update({ status: e.target.value as ExportStatus })}>
            {EXPORT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_TEXT[s]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={ids.type}>Type</label>
          <select id={ids.type} value={filter.type ?? ''} onChange={(e) => update({ type: e.target.value || undefined })}>
            <option value="">All types</option>
            {VARIANCE_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={ids.organization}>Customer (exact organization name)</label>
          <input
            id={ids.organization}
            list={ids.orgs}
            value={filter.organization ?? ''}
            onChange={(e) => update({ organization: e.target.value || undefined })}
            placeholder="All customers"
          />
          <datalist id={ids.orgs}>
            {orgNames.map((o) => (
              <option key={o} value={o} />
            ))}
          </datalist>
        </div>
        <div>
          <label htmlFor={ids.hostname}>Hostname starts with</label>
          <input id={ids.hostname} value={filter.hostname ?? ''} onChange={(e) => update({ hostname: e.target.value || undefined })} placeholder="Any hostname" />
        </div>
        <div>
          <label htmlFor={ids.q}>Search</label>
          <input id={ids.q} type="search" value={filter.q ?? ''} onChange={(e) => update({ q: e.target.value || undefined })} placeholder="Hostname or display name" />
        </div>
      </form>

      <h2>Download</h2>
      {total.status === 'loading' && <p aria-busy="true">Counting the variances…</p>}
      {total.status === 'error' && <ErrorMessage error={total.error} onRetry={total.reload} />}
      {total.status === 'ok' && (
        <p className={tooMany ? 'export-count export-too-many' : 'export-count'} data-total={total.data}>
          {tooMany
            ? `${count.format(total.data)} variances match: more than the ${count.format(MAX_EXPORT_ROWS)} an export holds. Narrow the filter; the hub refuses the download.`
            : `${count.format(total.data)} variance${total.data === 1 ? '' : 's'} match this filter: the file will have ${count.format(total.data)} row${total.data === 1 ? '' : 's'} below its header (at most ${count.format(MAX_EXPORT_ROWS)}).`}
        </p>
      )}
      <p className="export-links">
        <a className="button primary" href={exportUrl('csv', filter)} download>
          Download CSV
        </a>
        <a className="button primary" href={exportUrl('xlsx', filter)} download>
          Download XLSX
        </a>
      </p>

      <h2>What the files contain</h2>
      <p>
        One row per variance, newest first, with the columns: <span className="export-columns">{EXPORT_COLUMNS.join(', ')}</span>. “Devices” lists
        each device as <code>vendor:hostname</code>; “Details” is the evidence that made the check fire, as JSON.
      </p>
      <ul>
        <li>
          CSV: UTF-8 with a byte order mark (spreadsheets read accented names), comma-separated; a cell starting with <code>=</code>, <code>+</code>,{' '}
          <code>-</code> or <code>@</code> gets a leading apostrophe so a spreadsheet shows it as text instead of running it.
        </li>
        <li>XLSX: one sheet “Variances” with a frozen header row and filters on every column; dates are text in ISO form.</li>
      </ul>
    </section>
  );
}
