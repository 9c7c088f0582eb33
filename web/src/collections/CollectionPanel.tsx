/**
 * "Start collection" and the collections in progress, with live progress bars: the batch
 * started here (kept after it ends, with its outcome) and any other running job.
 */
import { ErrorMessage } from '../components/ErrorMessage';
import './collections.css';
import { JobProgress } from './JobProgress';
import { statusLabel } from './labels';
import { hasEnded, type CollectorRuns } from './useCollectorRuns';

export function CollectionPanel({ runs, titleId, onCancel }: { readonly runs: CollectorRuns; readonly titleId: string; readonly onCancel?: (jobId: string) => void }) {
  const { batch, active, starting } = runs;
  const batchRunning = batch !== null && !hasEnded(batch.status);
  const batchJobIds = new Set(batch?.collectors.map((j) => j.job_id) ?? []);
  const others = active.filter((j) => !batchJobIds.has(j.job_id));
  // One collection at a time: the hub would refuse another (HUB_ERR_COLLECTOR_BUSY).
  const busy = starting || batchRunning || active.length > 0;

  return (
    <section className="collection-panel" aria-labelledby={titleId}>
      <div className="collection-panel-head">
        <h2 id={titleId}>Collections in progress</h2>
        <button type="button" className="primary" onClick={runs.start} disabled={busy} aria-describedby={`${titleId}-hint`}>
          {starting ? 'Starting…' : 'Start collection'}
        </button>
      </div>
      <p id={`${titleId}-hint`} className="hint">
        {busy && !starting
          ? 'A collection is running; another can start when it has ended.'
          : 'Collects today’s devices from ThreatLocker and NinjaOne now; the variance check follows by itself.'}
      </p>
      {runs.startError && <ErrorMessage error={runs.startError} />}
      {runs.pollError && <ErrorMessage error={runs.pollError} onRetry={runs.refresh} />}

      <div aria-live="polite">
        {batch && (
          <div className="collection-batch" data-batch-id={batch.batch_id} data-status={batch.status}>
            <p className="collection-batch-status">
              The collection you started:{' '}
              <strong className={`run-status run-status-${batch.status}`}>{statusLabel(batch.status)}</strong>
              {hasEnded(batch.status) && (batch.error ?? batch.message) ? ` — ${batch.error ?? batch.message}` : ''}
            </p>
            {batch.collectors.map((job) => (
              <JobProgressWithCancel key={job.job_id} job={job} onCancel={onCancel} />
            ))}
          </div>
        )}
        {others.map((job) => (
          <JobProgressWithCancel key={job.job_id} job={job} onCancel={onCancel} />
        ))}
        {!batch && others.length === 0 && <p className="muted">{runs.checked ? 'No collection is running.' : 'Checking for running collections…'}</p>}
      </div>
    </section>
  );
}

function JobProgressWithCancel({ job, onCancel }: { readonly job: Parameters<typeof JobProgress>[0]['job'] & { readonly cancel_requested?: boolean }; readonly onCancel?: ((jobId: string) => void) | undefined }) {
  return (
    <div className="job-progress-row">
      <JobProgress job={job} />
      {onCancel && !hasEnded(job.status) && (
        <button type="button" onClick={() => onCancel(job.job_id)} disabled={job.cancel_requested === true}>
          {job.cancel_requested ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
    </div>
  );
}
