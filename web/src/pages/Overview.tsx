/** `/`: how fresh each vendor's data is, how many devices it has, and the open variances. */
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { useApi } from '../api/useApi';
import { ErrorMessage } from '../components/ErrorMessage';

/** The keys of GET /api/status, in the order shown, with the names people know the tools by. */
const VENDORS = [
  { key: 'ThreatLocker', label: 'ThreatLocker' },
  { key: 'Ninja', label: 'NinjaOne' },
] as const;

const count = new Intl.NumberFormat();

export function Overview() {
  const status = useApi((signal) => unwrap(api.GET('/api/status', { signal })), []);

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {status.status === 'loading' && <p aria-busy="true">Loading…</p>}
      {status.status === 'error' && <ErrorMessage error={status.error} onRetry={status.reload} />}
      {status.status === 'ok' && (
        <>
          <p className={`data-status data-status-${status.data.data_status.status}`}>{status.data.data_status.message}</p>

          {status.data.warnings.length > 0 && (
            <ul className="warnings" aria-label="Warnings">
              {status.data.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}

          <table>
            <caption>Collections by vendor</caption>
            <thead>
              <tr>
                <th scope="col">Vendor</th>
                <th scope="col">Latest day</th>
                <th scope="col">Freshness</th>
                <th scope="col" className="num">
                  Devices
                </th>
              </tr>
            </thead>
            <tbody>
              {VENDORS.map(({ key, label }) => {
                const vendor = status.data.vendor_status[key];
                return (
                  <tr key={key} data-vendor={key}>
                    <th scope="row">{label}</th>
                    <td className="nowrap">{vendor.latest_date ?? '—'}</td>
                    <td>{vendor.freshness_message}</td>
                    <td className="num">{count.format(status.data.device_counts[key])}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>

          <table>
            <caption>Open variances by type</caption>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col" className="num">
                  Open
                </th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(status.data.exception_counts).map(([type, n]) => (
                <tr key={type} data-type={type}>
                  <th scope="row">
                    <Link to={`/variances?type=${encodeURIComponent(type)}`}>{type}</Link>
                  </th>
                  <td className="num">{count.format(n)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Total</th>
                <td className="num">{count.format(status.data.total_exceptions)}</td>
              </tr>
            </tfoot>
          </table>
        </>
      )}
    </section>
  );
}
