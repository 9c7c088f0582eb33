/**
 * `/devices/:vendor/:key`: one device of one tool (`threatlocker` or `ninja`) beside the device
 * the other tool pairs it with, its variances with their event logs, what changed day by day,
 * and its syncs; a ThreatLocker device can be re-read from ThreatLocker ("Sync").
 */
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, ApiError, unwrap } from '../api/client';
import { useApi } from '../api/useApi';
import { ErrorMessage } from '../components/ErrorMessage';
import { useToast } from '../components/Toast';
import {
  describeSync,
  EVENT_TEXT,
  fieldLabel,
  fieldRows,
  formatTime,
  formatValue,
  isVendor,
  MATCH_QUALITY_TEXT,
  otherVendor,
  OUTCOME_TEXT,
  VENDOR_LABEL,
  type DeviceView,
} from '../device/device-view';
import './page-controls.css';
import './Device.css';

export function Device() {
  const { vendor = '', key = '' } = useParams();
  const device = useApi(
    (signal) => {
      if (!isVendor(vendor)) {
        return Promise.reject(new ApiError(404, 'HUB_ERR_DEVICE_NOT_FOUND', `"${vendor}" is not a tool the hub collects (threatlocker or ninja)`));
      }
      return unwrap(api.GET('/api/devices/{vendor}/{key}', { params: { path: { vendor, key } }, signal }));
    },
    [vendor, key],
  );

  if (device.status === 'loading') {
    return (
      <section aria-labelledby="device-title">
        <h1 id="device-title">Device</h1>
        <p aria-busy="true">Loading…</p>
      </section>
    );
  }
  if (device.status === 'error') {
    if (device.error.code === 'HUB_ERR_DEVICE_NOT_FOUND') return <DeviceNotFound vendor={vendor} deviceKey={key} />;
    return (
      <section aria-labelledby="device-title">
        <h1 id="device-title">Device</h1>
        <ErrorMessage error={device.error} onRetry={device.reload} />
      </section>
    );
  }
  return <DeviceDetails view={device.data} reload={device.reload} />;
}

function DeviceNotFound({ vendor, deviceKey }: { readonly vendor: string; readonly deviceKey: string }) {
  const tool = isVendor(vendor) ? VENDOR_LABEL[vendor] : vendor;
  return (
    <section aria-labelledby="device-title" className="device-not-found">
      <h1 id="device-title">Device not found</h1>
      <p>
        The hub has never stored a {tool} device with the key <code>{deviceKey}</code>. It may have been removed before the hub first collected,
        or the link may be mistyped.
      </p>
      <p>
        <Link to="/variances">Back to Variances</Link>
      </p>
    </section>
  );
}

function DeviceDetails({ view, reload }: { readonly view: DeviceView; readonly reload: () => void }) {
  const own = VENDOR_LABEL[view.vendor];
  const other = VENDOR_LABEL[otherVendor(view.vendor)];
  const name = view.latest?.display_name ?? view.latest?.hostname ?? view.device_key;
  return (
    <section aria-labelledby="device-title" className="device-page">
      <div className="device-heading">
        <h1 id="device-title">
          Device <span className="device-name">{name}</span>
        </h1>
        {view.vendor === 'threatlocker' && <SyncButton computerId={view.device_key} onSynced={reload} />}
      </div>
      <dl className="device-facts">
        <div>
          <dt>Tool</dt>
          <dd>{own}</dd>
        </div>
        <div>
          <dt>{view.vendor === 'threatlocker' ? 'Computer id' : 'Device id'}</dt>
          <dd>
            <code>{view.device_key}</code>
          </dd>
        </div>
        <div>
          <dt>Hostname</dt>
          <dd>{view.latest?.hostname ?? '—'}</dd>
        </div>
        <div>
          <dt>Stored from</dt>
          <dd>
            {view.first_seen} to {view.last_seen}
          </dd>
        </div>
      </dl>

      <Pairing view={view} />
      <FieldsTable view={view} own={own} other={other} />
      <Variances view={view} />
      <Timeline view={view} />
      {view.vendor === 'threatlocker' && <SyncHistory view={view} />}
    </section>
  );
}

function SyncButton({ computerId, onSynced }: { readonly computerId: string; readonly onSynced: () => void }) {
  const toast = useToast();
  const [pending, setPending] = useState(false);
  const sync = async () => {
    if (pending) return;
    setPending(true);
    try {
      const answer = await unwrap(api.POST('/api/threatlocker/sync-device', { body: { computer_id: computerId, updated_by: 'dashboard_user' } }));
      toast.show(describeSync(answer), 'success');
    } catch (err) {
      const e = err instanceof ApiError ? err : undefined;
      toast.show(`Sync failed: ${e?.message ?? String(err)}${e ? ` (${e.code})` : ''}`, 'error');
    } finally {
      setPending(false);
      // A failed attempt is in the sync history too.
      onSynced();
    }
  };
  return (
    <button type="button" className="primary" onClick={() => {
        sync().catch((err: unknown) => toast.show(`Sync failed: ${String(err)}`, 'error'));
      }} disabled={pending} aria-busy={pending}>
      {pending ? 'Syncing…' : 'Sync'}
    </button>
  );
}

function Pairing({ view }: { readonly view: DeviceView }) {
  const other = VENDOR_LABEL[otherVendor(view.vendor)];
  const noun = view.vendor === 'threatlocker' ? 'computer' : 'device';
  const cp = view.counterpart;
  if (!cp) {
    return (
      <p className="pairing pairing-none">
        <strong>No counterpart.</strong> {other} has no device paired with this {noun} on {view.latest?.snapshot_date ?? view.last_seen}: the
        matching found no {other} device with its hostname (or a duplicate of it took the pair). See its variances below.
      </p>
    );
  }
  return (
    <p className="pairing">
      Paired with {other} device{' '}
      <Link to={`/devices/${cp.vendor}/${encodeURIComponent(cp.device_key)}`}>{cp.latest.display_name ?? cp.latest.hostname}</Link> (
      <code>{cp.device_key}</code>): <span data-match-quality={cp.match_quality}>{MATCH_QUALITY_TEXT[cp.match_quality] ?? cp.match_quality}</span>,
      matched on <time dateTime={cp.matched_on}>{cp.matched_on}</time>.
    </p>
  );
}

function FieldsTable({ view, own, other }: { readonly view: DeviceView; readonly own: string; readonly other: string }) {
  const rows = fieldRows(view);
  const differing = rows.filter((r) => r.differs).length;
  return (
    <>
      <h2>Fields</h2>
      {view.counterpart ? (
        <p>
          {differing === 0
            ? `The two tools agree on the compared fields on ${view.counterpart.matched_on}.`
            : `${differing} compared field${differing === 1 ? '' : 's'} differ between the tools on ${view.counterpart.matched_on}, marked “Differs”.`}
        </p>
      ) : null}
      <table className="device-fields">
        <caption>
          {own} and {other} fields side by side
        </caption>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">{own}</th>
            <th scope="col">{other}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.field} data-field={row.field} className={row.differs ? 'differs' : undefined}>
              <th scope="row">
                {row.label}
                {row.differs && <span className="differs-marker"> ≠ Differs</span>}
              </th>
              <td>{formatValue(row.own)}</td>
              <td>{view.counterpart ? formatValue(row.other) : <span className="muted">no counterpart</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Variances({ view }: { readonly view: DeviceView }) {
  return (
    <>
      <h2>Variances</h2>
      {view.variances.length === 0 ? (
        <p>No variance has ever named this device.</p>
      ) : (
        <ul className="device-variances">
          {view.variances.map((v) => (
            <li key={v.id} data-variance-id={v.id} aria-labelledby={`variance-${v.id}`}>
              <h3 id={`variance-${v.id}`}>
                <Link to={`/variances?type=${encodeURIComponent(v.type)}&hostname=${encodeURIComponent(v.hostname)}&status=all`}>
                  {v.type}
                </Link>{' '}
                <span className={`badge status-${v.status}`}>{v.status}</span> <span className="muted">#{v.id}</span>
              </h3>
              <p>
                {v.hint} · first seen {v.first_seen}, last seen {v.last_seen}
                {v.status === 'accepted' && v.accepted_until && ` · accepted until ${v.accepted_until}`}
              </p>
              <table className="events">
                <caption>Event log of variance {v.id}</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">What</th>
                    <th scope="col">Who</th>
                    <th scope="col">Note</th>
                  </tr>
                </thead>
                <tbody>
                  {v.events.map((e) => (
                    <tr key={e.id} data-kind={e.kind}>
                      <td className="nowrap">
                        <time dateTime={e.at}>{formatTime(e.at)}</time>
                      </td>
                      <td>
                        {EVENT_TEXT[e.kind] ?? e.kind}
                        {e.snapshot_date && <span className="muted"> (day {e.snapshot_date})</span>}
                      </td>
                      <td>{e.actor ?? 'check run'}</td>
                      <td>{e.note ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function Timeline({ view }: { readonly view: DeviceView }) {
  return (
    <>
      <h2>What changed, day by day</h2>
      {view.timeline.length === 0 ? (
        <p>No stored day is left for this device (retention removed them).</p>
      ) : (
        <ol className="timeline" aria-label="Timeline">
          {view.timeline.map((day, i) => {
            const changes = Object.entries(day.changes).filter(([, c]) => i > 0 || c.to !== null);
            return (
              <li key={day.snapshot_date} data-date={day.snapshot_date}>
                <h3>
                  <time dateTime={day.snapshot_date}>{day.snapshot_date}</time>
                  {i === 0 && ' — first stored day'}
                </h3>
                <ul>
                  {changes.map(([field, c]) => (
                    <li key={field} data-field={field}>
                      <span className="change-field">{fieldLabel(field)}</span>:{' '}
                      {i === 0 ? (
                        formatValue(c.to)
                      ) : (
                        <>
                          {formatValue(c.from)} <span aria-label="changed to">→</span> {formatValue(c.to)}
                        </>
                      )}
                    </li>
                  ))}
                </ul>
              </li>
            );
          })}
        </ol>
      )}
    </>
  );
}

function SyncHistory({ view }: { readonly view: DeviceView }) {
  return (
    <>
      <h2>Sync history</h2>
      {view.sync_history.length === 0 ? (
        <p>Nobody has synced or renamed this computer from the hub yet.</p>
      ) : (
        <table className="sync-history">
          <caption>Syncs and renames, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Who</th>
              <th scope="col">Outcome</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {view.sync_history.map((s) => (
              <tr key={s.id} data-sync-id={s.id} data-outcome={s.outcome}>
                <td className="nowrap">
                  <time dateTime={s.requested_at}>{formatTime(s.requested_at)}</time>
                </td>
                <td>{s.operation === 'rename' ? 'Rename' : 'Sync'}</td>
                <td>{s.updated_by}</td>
                <td>{OUTCOME_TEXT[s.outcome] ?? s.outcome}</td>
                <td>
                  {s.outcome === 'success'
                    ? s.previous_display_name !== null && s.previous_display_name !== s.display_name
                      ? `${formatValue(s.previous_display_name)} → ${formatValue(s.display_name)}`
                      : `Display name ${formatValue(s.display_name)}`
                    : `${s.error_message ?? ''}${s.error_code ? ` (${s.error_code})` : ''}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

