/** One variance in the table: what differs, since when, and the actions its type allows. */
import { memo } from 'react';
import { Link } from 'react-router';
import type { ApiError } from '../api/client';
import { ErrorMessage } from '../components/ErrorMessage';
import {
  ageLabel,
  deviceOf,
  devicePath,
  diffNames,
  MATCH_QUALITY_LABELS,
  ninjaNameFor,
  typeLabel,
  VENDOR_LABELS,
  type DiffParts,
  type Variance,
  type VarianceDevice,
} from './model';

export type RowAction = 'rename' | 'sync' | 'accept' | 'resolve';

export interface VarianceRowProps {
  readonly variance: Variance;
  readonly today: string;
  readonly selected: boolean;
  /** The action in flight on this row, if any. */
  readonly pending: RowAction | null;
  readonly error: ApiError | null;
  readonly onSelect: (id: number, selected: boolean) => void;
  readonly onAction: (variance: Variance, action: RowAction) => void;
}

const PENDING_LABELS: Readonly<Record<RowAction, string>> = { rename: 'Renaming…', sync: 'Syncing…', accept: 'Accepting…', resolve: 'Resolving…' };

function Diff({ parts }: { readonly parts: DiffParts }) {
  return (
    <>
      {parts.before}
      {parts.changed !== '' && (
        // Marked by underline and weight as well as colour; screen readers announce the mark.
        <mark className="name-diff">{parts.changed}</mark>
      )}
      {parts.after}
    </>
  );
}

/** Each tool's display name(s); with one of each that differ, the differing part is marked. */
function DisplayNames({ devices }: { readonly devices: readonly VarianceDevice[] }) {
  const tl = devices.filter((d) => d.vendor === 'threatlocker');
  const ninja = devices.filter((d) => d.vendor === 'ninja');
  const single = tl.length === 1 && ninja.length === 1 ? { a: tl[0]?.display_name ?? '', b: ninja[0]?.display_name ?? '' } : null;
  const diff = single && single.a.toLowerCase() !== single.b.toLowerCase() ? diffNames(single.a, single.b) : null;
  const line = (vendor: keyof typeof VENDOR_LABELS, list: readonly VarianceDevice[], parts: DiffParts | undefined) =>
    list.length > 0 && (
      <div className="display-name">
        <span className="vendor-tag">{VENDOR_LABELS[vendor]}:</span>{' '}
        {parts ? (
          parts.before + parts.changed + parts.after === '' ? (
            <span className="muted">(no name)</span>
          ) : (
            <Diff parts={parts} />
          )
        ) : (
          list
            .slice(0, 3)
            .map((d) => d.display_name || '(no name)')
            .join(', ') + (list.length > 3 ? ` +${list.length - 3} more` : '')
        )}
      </div>
    );
  return (
    <>
      {line('threatlocker', tl, diff?.a)}
      {line('ninja', ninja, diff?.b)}
    </>
  );
}

/** The customer; when the two tools file the device under different ones, both. */
function Customers({ variance: v }: { readonly variance: Variance }) {
  const tl = deviceOf(v, 'threatlocker')?.organization_name;
  const ninja = deviceOf(v, 'ninja')?.organization_name;
  if (!tl || !ninja || tl === ninja) return <>{v.organization ?? '—'}</>;
  return (
    <>
      <div>
        <span className="vendor-tag">{VENDOR_LABELS.threatlocker}:</span> {tl}
      </div>
      <div>
        <span className="vendor-tag">{VENDOR_LABELS.ninja}:</span> {ninja}
      </div>
    </>
  );
}

export const VarianceRow = memo(function VarianceRow({ variance: v, today, selected, pending, error, onSelect, onAction }: VarianceRowProps) {
  const hasTl = deviceOf(v, 'threatlocker') !== undefined;
  const ninjaName = ninjaNameFor(v);
  const link = devicePath(v);
  const busy = pending !== null;
  const button = (action: RowAction, label: string, hint?: string) => (
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus mid-request.
    <button type="button" onClick={() => {
        if (!busy) onAction(v, action);
      }} aria-disabled={busy} aria-busy={pending === action} title={hint}>
      {pending === action ? PENDING_LABELS[action] : label}
    </button>
  );
  return (
    <tr data-variance-id={v.id} data-type={v.type} aria-busy={busy}>
      <td>
        <input type="checkbox" checked={selected} onChange={(e) => onSelect(v.id, e.target.checked)} aria-label={`Select ${v.hostname} (${typeLabel(v.type)})`} />
      </td>
      <td className="variance-type">
        {typeLabel(v.type)}
        {v.status !== 'open' && <span className={`status-badge status-${v.status}`}> {v.status}{v.accepted_until ? ` until ${v.accepted_until}` : ''}</span>}
      </td>
      <th scope="row" className="hostname">
        {link ? <Link to={link}>{v.hostname}</Link> : v.hostname}
      </th>
      <td>
        <Customers variance={v} />
      </td>
      <td className="display-names">
        <DisplayNames devices={v.devices} />
      </td>
      <td>{v.match_quality ? (MATCH_QUALITY_LABELS[v.match_quality] ?? v.match_quality) : '—'}</td>
      <td className="nowrap">
        <time dateTime={v.first_seen} title={`First seen ${v.first_seen}, last seen ${v.last_seen}`}>
          {ageLabel(v.first_seen, today)}
        </time>
        <div className="muted">{v.first_seen}</div>
      </td>
      <td className="row-actions">
        <div className="action-buttons" role="group" aria-label={`Actions for ${v.hostname}`}>
          {ninjaName !== null && button('rename', 'Use NinjaOne name', `Rename in ThreatLocker to "${ninjaName}", then sync`)}
          {hasTl && button('sync', 'Sync', 'Re-read this computer from ThreatLocker')}
          {v.status !== 'resolved' && button('accept', 'Accept')}
          {v.status !== 'resolved' && button('resolve', 'Resolve')}
        </div>
        {error && <ErrorMessage error={error} />}
      </td>
    </tr>
  );
});
