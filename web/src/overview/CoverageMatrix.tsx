/** Customers × (ThreatLocker devices, NinjaOne devices, matched %, open variances), sortable. */
import { useState } from 'react';
import { customerName, DEFAULT_SORT, isUnmapped, nextSort, sortCoverage, type Coverage, type CoverageColumn, type CoverageRow, type CoverageSort } from './coverage';

const COLUMNS: readonly { readonly key: CoverageColumn; readonly label: string; readonly numeric: boolean }[] = [
  { key: 'customer', label: 'Customer', numeric: false },
  { key: 'threatlocker_devices', label: 'ThreatLocker devices', numeric: true },
  { key: 'ninja_devices', label: 'NinjaOne devices', numeric: true },
  { key: 'matched_percent', label: 'Matched %', numeric: true },
  { key: 'open_variances', label: 'Open variances', numeric: true },
];

const count = new Intl.NumberFormat();
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

function Customer({ row }: { readonly row: CoverageRow }) {
  const name = customerName(row);
  if (name === null) return <em>No organization</em>;
  const tl = row.threatlocker_organizations.join(', ');
  const ninja = row.ninja_organizations.join(', ');
  return (
    <>
      <span className="customer-name">{name}</span>
      {isUnmapped(row) ? (
        <span className="badge badge-warn">{row.threatlocker_organization === null ? 'Only in NinjaOne' : 'Only in ThreatLocker'}</span>
      ) : (
        // Named differently, or joined from several organizations by links: say so.
        (tl !== name || ninja !== name) && (
          <span className="customer-aliases">
            ThreatLocker: {tl} · NinjaOne: {ninja}
          </span>
        )
      )}
    </>
  );
}

export function CoverageMatrix({ coverage }: { readonly coverage: Coverage }) {
  const [sort, setSort] = useState<CoverageSort>(DEFAULT_SORT);
  const rows = sortCoverage(coverage.rows, sort);
  const { threatlocker, ninja, basis } = coverage.snapshot_date;

  return (
    <>
      <table className="coverage-matrix">
        <caption>
          Coverage by customer
          <span className="caption-detail">
            {threatlocker === null && ninja === null
              ? ' — nothing collected yet'
              : basis === 'checked'
                ? ` — devices of the checked day ${threatlocker ?? ninja}`
                : ` — no check yet; ThreatLocker ${threatlocker ?? 'none'}, NinjaOne ${ninja ?? 'none'}`}
          </span>
        </caption>
        <thead>
          <tr>
            {COLUMNS.map((col) => {
              const active = sort.column === col.key;
              return (
                <th key={col.key} scope="col" className={col.numeric ? 'num' : undefined} aria-sort={active ? sort.order : 'none'}>
                  <button type="button" className="sort-button" onClick={() => setSort((s) => nextSort(s, col.key))}>
                    {col.label}
                    <span className="sort-indicator" aria-hidden="true">
                      {active ? (sort.order === 'ascending' ? ' ▲' : ' ▼') : ' ↕'}
                    </span>
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.threatlocker_organizations.join('\u0000')}|${row.ninja_organizations.join('\u0000')}`} data-unmapped={isUnmapped(row) || undefined}>
              <th scope="row">
                <Customer row={row} />
              </th>
              <td className="num">{count.format(row.threatlocker_devices)}</td>
              <td className="num">{count.format(row.ninja_devices)}</td>
              <td className="num">{row.matched_percent === null ? '—' : `${oneDecimal.format(row.matched_percent)} %`}</td>
              <td className="num">{count.format(row.open_variances)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p className="muted">No devices collected yet.</p>}
      {coverage.unattributed_open_variances > 0 && (
        <p className="muted">{count.format(coverage.unattributed_open_variances)} open variances belong to organizations on neither tool&apos;s day.</p>
      )}
    </>
  );
}
