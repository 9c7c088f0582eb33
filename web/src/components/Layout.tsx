/** The frame every page shares: the product name, the main navigation, and the page below. */
import { useState } from 'react';
import { NavLink, Outlet } from 'react-router';
import { useSession } from '../api/session';
import { ErrorMessage } from './ErrorMessage';

/** The sections in the navigation; a device page is reached from them, not from the nav. */
export const NAV_ITEMS = [
  { to: '/', label: 'Overview' },
  { to: '/variances', label: 'Variances' },
  { to: '/collections', label: 'Collections' },
  { to: '/organizations', label: 'Organizations' },
  { to: '/exports', label: 'Exports' },
] as const;

export function Layout() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <NavLink to="/" className="brand">
          Inventory Hub
        </NavLink>
        <nav aria-label="Main">
          <ul>
            {NAV_ITEMS.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.to === '/'}>
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <SessionStatus />
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

/** "Open access", or who is signed in with a "Sign out" button (which ends the session on the hub). */
function SessionStatus() {
  const { state, signOut } = useSession();
  const [error, setError] = useState<unknown>(null);
  if (state.status !== 'ok') return null;
  if (state.who.mode === 'open') return <p className="session-status">Open access</p>;
  if (!state.who.authenticated) return null;
  return (
    <div className="session-status">
      <span>Signed in as {state.who.key?.name}</span>
      <button type="button" onClick={() => void signOut().catch((err: unknown) => setError(err))}>
        Sign out
      </button>
      {error !== null && <ErrorMessage error={error} />}
    </div>
  );
}
