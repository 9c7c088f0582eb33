/**
 * The sign-in screen, and the gate that shows it instead of the app when the hub requires a
 * key and there is no session. The key is sent once (`POST /api/session`) and never kept by
 * the page: the hub answers with an HttpOnly session cookie.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { useSession } from '../api/session';
import { ErrorMessage } from './ErrorMessage';

export function SignIn() {
  const { signIn } = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    signIn(key.trim()).then(
      () => setKey(''),
      (err: unknown) => {
        setError(err);
        setBusy(false);
      },
    );
  };

  return (
    <main id="main" className="sign-in">
      <h1>Inventory Hub</h1>
      <p>This hub requires an API key. Sign in with yours once; the dashboard keeps a session, not the key.</p>
      <form onSubmit={submit}>
        <label htmlFor="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="current-password" spellCheck={false} value={key} onChange={(e) => setKey(e.target.value)} required />
        <button type="submit" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
      </form>
      {error !== null && <ErrorMessage error={error} />}
    </main>
  );
}

/** The app once the session allows it; the sign-in screen when the hub requires a key. */
export function SessionGate({ children }: { readonly children: ReactNode }) {
  const { state, reload } = useSession();
  if (state.status === 'loading') return <p className="sign-in">Loading…</p>;
  if (state.status === 'error') {
    return (
      <main id="main" className="sign-in">
        <ErrorMessage error={state.error} onRetry={reload} />
      </main>
    );
  }
  if (state.who.mode === 'required' && !state.who.authenticated) return <SignIn />;
  return <>{children}</>;
}
