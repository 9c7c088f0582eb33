/**
 * Who the dashboard is signed in as (docs/api.md, "Authentication"). At load it asks
 * `GET /api/session`; when the hub requires a key and there is no live session, the app shows
 * the sign-in screen instead of the pages (components/SignIn.tsx). Any 401 later (the session
 * expired, the key was revoked) brings that screen back. In open mode nothing is asked.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, onUnauthenticated, unwrap } from './client';
import type { paths } from './schema.js';

export type Who = paths['/api/session']['get']['responses'][200]['content']['application/json'];

export type SessionState =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly error: ApiError }
  | { readonly status: 'ok'; readonly who: Who };

interface SessionContextValue {
  readonly state: SessionState;
  /** Exchanges a key for a session cookie; throws an ApiError when the hub refuses it. */
  readonly signIn: (key: string) => Promise<void>;
  /** Ends the session on the server, then shows the sign-in screen. */
  readonly signOut: () => Promise<void>;
  /** Asks the hub again (after a failure to reach it). */
  readonly reload: () => void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

const asApiError = (err: unknown) => (err instanceof ApiError ? err : new ApiError(0, 'CLIENT_ERROR', err instanceof Error ? err.message : String(err)));

export function SessionProvider({ children }: { readonly children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    unwrap(api.GET('/api/session', { signal: controller.signal })).then(
      (who) => setState({ status: 'ok', who }),
      (err: unknown) => {
        if (!controller.signal.aborted) setState({ status: 'error', error: asApiError(err) });
      },
    );
    return () => controller.abort();
  }, [generation]);

  // A 401 mid-use: the session is over, whatever this page thought.
  useEffect(
    () =>
      onUnauthenticated(() =>
        setState((s) => (s.status === 'ok' && s.who.mode === 'required' ? { status: 'ok', who: { ...s.who, authenticated: false, key: null } } : s)),
      ),
    [],
  );

  const signIn = useCallback(async (key: string) => {
    const who = await unwrap(api.POST('/api/session', { body: { key } }));
    setState({ status: 'ok', who });
  }, []);

  const signOut = useCallback(async () => {
    await unwrap(api.DELETE('/api/session'));
    setState((s) => (s.status === 'ok' ? { status: 'ok', who: { ...s.who, authenticated: false, key: null } } : s));
  }, []);

  const reload = useCallback(() => {
    setState({ status: 'loading' });
    setGeneration((g) => g + 1);
  }, []);

  const value = useMemo(() => ({ state, signIn, signOut, reload }), [state, signIn, signOut, reload]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
