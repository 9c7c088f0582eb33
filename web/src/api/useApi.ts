import { useCallback, useEffect, useState, type DependencyList } from 'react';
import { ApiError } from './client';

export type ApiState<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly error: ApiError }
  | { readonly status: 'ok'; readonly data: T };

type Settled<T> = Exclude<ApiState<T>, { status: 'loading' }>;

interface Outcome<T> {
  readonly deps: DependencyList;
  readonly generation: number;
  readonly state: Settled<T>;
}

function sameDeps(a: DependencyList, b: DependencyList): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/**
 * Loads data for a page: runs `load` on mount and whenever `deps` change, aborting the
 * previous request; `reload()` runs it again. While a load for the current `deps` is pending,
 * the state is `loading` (derived while rendering, so no effect sets state synchronously).
 *
 * @example
 *   const status = useApi((signal) => unwrap(api.GET('/api/status', { signal })), []);
 *   const device = useApi((signal) => unwrap(api.GET('/api/devices/search', { params: { query: { q } }, signal })), [q]);
 */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): ApiState<T> & { readonly reload: () => void } {
  const [outcome, setOutcome] = useState<Outcome<T> | null>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    const settle = (state: Settled<T>) => {
      if (!controller.signal.aborted) setOutcome({ deps, generation, state });
    };
    load(controller.signal).then(
      (data) => settle({ status: 'ok', data }),
      (err: unknown) => {
        const error = err instanceof ApiError ? err : new ApiError(0, 'CLIENT_ERROR', err instanceof Error ? err.message : String(err));
        settle({ status: 'error', error });
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `load` is new on every render; the caller lists what it reads in `deps`
  }, [...deps, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const current = outcome && outcome.generation === generation && sameDeps(outcome.deps, deps) ? outcome.state : { status: 'loading' as const };
  return { ...current, reload };
}
