/** One collector job's progress: a labelled <progress> and the job's own message. */
import { useId } from 'react';
import { collectorLabel, percent, statusLabel } from './labels';

export interface ProgressJob {
  readonly job_id: string;
  readonly job_name: string;
  readonly status: string;
  readonly progress_percent: number | null;
  readonly message: string | null;
  readonly error: string | null;
}


export function JobProgress({ job }: { readonly job: ProgressJob }) {
  const id = useId();
  const value = job.status === 'completed' ? 100 : percent(job.progress_percent);
  const label = collectorLabel(job.job_name);
  return (
    <div className="job-progress" data-job-id={job.job_id} data-status={job.status}>
      <div className="job-progress-head">
        <label htmlFor={id}>{label}</label>
        <span className={`run-status run-status-${job.status}`}>{statusLabel(job.status)}</span>
        <span className="job-progress-figure">{value === null ? 'starting…' : `${value} %`}</span>
      </div>
      {/* Without a value a <progress> is indeterminate: "working, amount unknown". */}
      <progress id={id} max={100} value={value ?? undefined} aria-valuetext={value === null ? `${label}: starting` : `${label}: ${value} percent`} />
      {/* The hub's own words: "Fetched 500 of 727 devices (1 pages)", "Collected 766 devices for …". */}
      <p className="job-progress-message">{job.error ?? job.message ?? ''}</p>
    </div>
  );
}
