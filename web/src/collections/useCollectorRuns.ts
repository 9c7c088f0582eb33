/**
 * Collector runs as the Overview and Collections pages show them: the jobs in progress (polled
 * every second while any runs, not at all otherwise), and the batch this page started, followed
 * until it ends. `start()` starts both configured vendors (POST /api/collectors/run with no list).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api, unwrap } from '../api/client';
import type { paths } from '../api/schema';

export type ActiveJob = paths['/api/collectors/progress']['get']['responses'][200]['content']['application/json']['active_collections'][number];
export type Batch = paths['/api/collectors/runs/batch/{id}']['get']['responses'][200]['content']['application/json'];

/** How often the progress is read while something runs. */
export const POLL_MS = 1_000;

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** Whether a job or batch status is final. */
export function hasEnded(status: string): boolean {
  return ENDED.has(status);
}

function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'CLIENT_ERROR', err instanceof Error ? err.message : String(err));
}

export interface CollectorRuns {
  /** Jobs queued or running now, on this hub, whoever started them. */
  readonly active: readonly ActiveJob[];
  /** The batch started from this page: followed while it runs, kept once it ended. */
  readonly batch: Batch | null;
  /** The last failed read of the progress (cleared by the next good one). */
  readonly pollError: ApiError | null;
  /** The refusal of the last start (e.g. HUB_ERR_COLLECTOR_BUSY). */
  readonly startError: ApiError | null;
  readonly starting: boolean;
  /** Whether the progress was read at least once (before, nothing is known to run or not). */
  readonly checked: boolean;
  /** Starts both configured vendors; a no-op while a start is pending. Failures land in `startError`. */
  readonly start: () => void;
  /** Reads the progress again now (after a cancel, for instance). */
  readonly refresh: () => void;
}

/**
 * @param onBatchEnded called once when the batch started here ends (to reload the figures).
 * @param onRunsChanged called after every read that found a different set of running jobs.
 */
export function useCollectorRuns(onBatchEnded?: (batch: Batch) => void, onRunsChanged?: () => void): CollectorRuns {
  const [active, setActive] = useState<readonly ActiveJob[]>([]);
  const [batch, setBatch] = useState<Batch | null>(null);
  const [pollError, setPollError] = useState<ApiError | null>(null);
  const [startError, setStartError] = useState<ApiError | null>(null);
  const [starting, setStarting] = useState(false);
  const [checked, setChecked] = useState(false);
  // Each finished read bumps `round`, which schedules the next one while something runs.
  const [round, setRound] = useState(0);
  const startingRef = useRef(false);
  // Set by `refresh`: the next round reads once even when nothing is known to run.
  const readNow = useRef(false);
  const callbacks = useRef({ onBatchEnded, onRunsChanged });
  useEffect(() => {
    callbacks.current = { onBatchEnded, onRunsChanged };
  });

  const followedBatch = batch && !hasEnded(batch.status) ? batch.batch_id : null;
  const polling = active.length > 0 || followedBatch !== null;

  useEffect(() => {
    // The first read happens at once; later ones only while something runs.
    if (round > 0 && !polling && !readNow.current) return;
    const immediate = round === 0 || readNow.current;
    readNow.current = false;
    const controller = new AbortController();
    const timer = setTimeout(
      () => {
        const { signal } = controller;
        const reads = Promise.all([
          unwrap(api.GET('/api/collectors/progress', { signal })),
          followedBatch ? unwrap(api.GET('/api/collectors/runs/batch/{id}', { params: { path: { id: followedBatch } }, signal })) : Promise.resolve(null),
        ]);
        reads.then(
          ([progress, latest]) => {
            if (signal.aborted) return;
            setPollError(null);
            setChecked(true);
            setActive((previous) => {
              const ids = (jobs: readonly ActiveJob[]) => jobs.map((j) => j.job_id).join(',');
              if (ids(previous) !== ids(progress.active_collections)) callbacks.current.onRunsChanged?.();
              return progress.active_collections;
            });
            if (latest) {
              setBatch(latest);
              if (hasEnded(latest.status)) callbacks.current.onBatchEnded?.(latest);
            }
            setRound((r) => r + 1);
          },
          (err: unknown) => {
            if (signal.aborted) return;
            setPollError(asApiError(err));
            setRound((r) => r + 1);
          },
        );
      },
      immediate ? 0 : POLL_MS,
    );
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [round, polling, followedBatch]);

  const refresh = useCallback(() => {
    readNow.current = true;
    setRound((r) => r + 1);
  }, []);

  const start = useCallback(() => {
    // A ref, not the state: two clicks in the same frame both see `starting` false.
    if (startingRef.current) return;
    startingRef.current = true;
    setStarting(true);
    setStartError(null);
    unwrap(api.POST('/api/collectors/run', { body: {} }))
      .then((started) => unwrap(api.GET('/api/collectors/runs/batch/{id}', { params: { path: { id: started.batch_id } } })))
      .then(
        (first) => {
          setBatch(first);
          if (hasEnded(first.status)) callbacks.current.onBatchEnded?.(first);
          setRound((r) => r + 1);
        },
        (err: unknown) => {
          setStartError(asApiError(err));
          // Refused because one runs already (started elsewhere): show that one's progress.
          refresh();
        },
      )
      .finally(() => {
        startingRef.current = false;
        setStarting(false);
      });
  }, [refresh]);

  return { active, batch, pollError, startError, starting, checked, start, refresh };
}
