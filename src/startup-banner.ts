/**
 * The start-up banner: what a person starting `inventory-hub serve` needs to know, in plain
 * words — where to click, which vendors, which database, and whether the API needs a key.
 */
import type { DatabaseKind } from './db/database.js';

export interface BannerFacts {
  /** The listening address, e.g. http://127.0.0.1:5400. */
  readonly address: string;
  /** Whether something answers GET / (the dashboard). */
  readonly dashboard: boolean;
  readonly demo: boolean;
  readonly threatlocker: boolean;
  readonly ninja: boolean;
  readonly database: { readonly kind: DatabaseKind; readonly location: string; readonly url?: string | undefined };
  /** AUTH_MODE as resolved (default open: only on a loopback address). */
  readonly authMode?: 'required' | 'open';
}

/** PostgreSQL by host and database name (never user or password); the embedded one by directory. */
export function describeDatabaseForPeople(database: BannerFacts['database']): string {
  if (database.kind === 'pglite') {
    return database.location === 'memory' ? 'the embedded database, in memory (nothing is kept)' : `the embedded database in ${database.location} (DATA_DIR)`;
  }
  try {
    const u = new URL(database.url ?? database.location);
    const name = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)';
    return `PostgreSQL database "${name}" on ${u.host}`;
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
}

/**
 * The banner's message; it begins with "Inventory Hub listening on <address>" (scripts and the
 * end-to-end tests look for that).
 *
 * @example
 *   startupBanner({ address: 'http://127.0.0.1:5400', dashboard: true, demo: true, threatlocker: true, ninja: true,
 *                   database: { kind: 'pglite', location: '/srv/ih' } });
 */
export function startupBanner(f: BannerFacts): string {
  const vendors = f.demo
    ? 'DEMO MODE: simulated ThreatLocker and NinjaOne with made-up machines'
    : `real vendors: ${[f.threatlocker ? 'ThreatLocker' : '', f.ninja ? 'NinjaOne' : ''].filter(Boolean).join(' and ')}`;
  return [
    `Inventory Hub listening on ${f.address}`,
    f.dashboard ? `dashboard: ${f.address}/` : 'no dashboard is served by this build',
    `API docs: ${f.address}/api/docs`,
    `metrics: ${f.address}/metrics`,
    vendors,
    `database: ${describeDatabaseForPeople(f.database)}`,
    f.authMode === 'required'
      ? 'the API requires a key (AUTH_MODE=required): send Authorization: Bearer <key>'
      : 'the API is open (AUTH_MODE=open, no key needed): keep it on this machine or a private network; see docs/operations.md to require keys',
  ].join(' | ');
}
