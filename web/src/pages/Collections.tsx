/**
 * `/collections`: start a collection, follow the running ones (and cancel one), and the runs of
 * the past with their outcome and figures.
 */
import { useCallback, useState } from 'react';
import { ApiError, api, unwrap } from '../api/client';
import { useApi } from '../api/useApi';
import { CollectionPanel } from '../collections/CollectionPanel';
import { collectorLabel, durationText, statusLabel, timeText } from '../collections/labels';
import { hasEnded, useCollectorRuns, type Batch } from '../collections/useCollectorRuns';
import { ErrorMessage } from '../components/ErrorMessage';
import { useToast } from '../components/Toast';

/** How many runs the history shows. */
const HISTORY_LIMIT = 50;

const count = new Intl.NumberFormat();

export function Collections() {
  const toast = useToast();
  const history = useApi((signal) => unwrap(api.GET('/api/collectors/history', { params: { query: { limit: HISTORY_LIMIT } }, signal })), []);
  const [cancelError, setCancelError] = useState<ApiError | null>(null);
  const [cancelling, setCancelling] = useState<ReadonlySet<string>>(new Set());

  const { reload: reloadHistory } = history;
  const onBatchEnded = useCallback(
    (batch: Batch) => {
      toast.show(`Collection ${batch.status}${batch.error ? `: ${batch.error}` : ''}`, batch.status === 'completed' ? 'success' : 'error');
      reloadHistory();
    },
    [toast, reloadHistory],
  );
  // A job that starts or ends anywhere changes the history: read it again.
  const runs = useCollectorRuns(onBatchEnded, reloadHistory);

  const cancel = (jobId: string, name: string) => {
    if (cancelling.has(jobId)) return;
    if (!window.confirm(`Cancel the ${name} collection? The data collected before stays as it was.`)) return;
    setCancelError(null);
    setCancelling((s) => new Set(s).add(jobId));
    unwrap(api.POST('/api/collectors/runs/job/{id}/cancel', { params: { path: { id: jobId } } }))
      .then(
        () => toast.show(`Cancelling the ${name} collection`, 'info'),
        (err: unknown) => setCancelError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT_ERROR', String(err))),
      )
      .finally(() => {
        setCancelling((s) => {
          const next = new Set(s);
          next.delete(jobId);
          return next;
        });
        runs.refresh();
        reloadHistory();
      });
  };

  const nameOf = (jobId: string) => {
    const job = runs.active.find((j) => j.job_id === jobId) ?? runs.batch?.collectors.find((j) => j.job_id === jobId);
    return job ? collectorLabel(job.job_name) : 'this';
  };

  return (
    <section aria-labelledby="collections-title">
      <h1 id="collections-title">Collections</h1>
      <p>Each collection reads every device from a vendor for today. They also run by themselves on the hub&apos;s schedule.</p>

      {cancelError && <ErrorMessage error={cancelError} />}
      <CollectionPanel runs={runs} titleId="collections-running" onCancel={(id) => cancel(id, nameOf(id))} />

      <h2>Runs</h2>
      {history.status === 'loading' && <p aria-busy="true">Loading…</p>}
      {history.status === 'error' && <ErrorMessage error={history.error} onRetry={history.reload} />}
      {history.status === 'ok' && (
        <>
          {history.data.collection_history.length === 0 ? (
            <p className="muted">No collection has run yet.</p>
          ) : (
            <table className="run-history">
              <caption>
                Latest runs{history.data.total_runs > history.data.collection_history.length ? ` (${history.data.collection_history.length} of ${count.format(history.data.total_runs)})` : ''}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Collector</th>
                  <th scope="col">Status</th>
                  <th scope="col">Day</th>
                  <th scope="col" className="num">
                    Devices fetched
                  </th>
                  <th scope="col" className="num">
                    Devices written
                  </th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                  <th scope="col">Started</th>
                  <th scope="col">Ended</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {history.data.collection_history.map((job) => (
                  <tr key={job.job_id} data-job-id={job.job_id} data-status={job.status}>
                    <th scope="row">{collectorLabel(job.job_name)}</th>
                    <td>
                      <span className={`run-status run-status-${job.status}`}>{statusLabel(job.status)}</span>
                      {job.dry_run && <span className="badge badge-warn">Dry run</span>}
                    </td>
                    <td className="nowrap">{job.snapshot_date ?? '—'}</td>
                    <td className="num">{count.format(job.devices_fetched)}</td>
                    <td className="num">{job.devices_written === null ? '—' : count.format(job.devices_written)}</td>
                    <td className="num">{hasEnded(job.status) ? durationText(job.duration_seconds) : 'running'}</td>
                    <td className="nowrap">{timeText(job.started_at)}</td>
                    <td className="nowrap">{timeText(job.ended_at)}</td>
                    <td className="run-details">
                      {job.error ? (
                        <>
                          <strong>Error:</strong> {job.error}
                        </>
                      ) : (
                        (job.message ?? '')
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
