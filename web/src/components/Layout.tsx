/** The frame every page shares: the product name, the main navigation, and the page below. */
import { NavLink, Outlet } from 'react-router';

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
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}
