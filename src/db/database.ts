/**
 * Opens the hub's database: embedded PGlite (default, zero setup) or PostgreSQL (DATABASE_URL).
 * Both speak the same SQL; migrations run through Kysely's Migrator, which serializes concurrent
 * migrators with a PostgreSQL advisory lock and applies each batch in one transaction.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, type MigrationResultSet } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyStatement, type CopyInto } from './copy.js';
import { migrations } from './migrations/index.js';
import type { DB } from './schema.js';
import type { PoolStats } from '../observability/metrics.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  readonly db: Kysely<DB>;
  readonly kind: DatabaseKind;
  /** Where the data lives, for start-up messages (never includes a password). */
  readonly location: string;
  /** Bulk input into one table (see db/copy.ts); collections write their pages with it. */
  readonly copyInto: CopyInto;
  /** Connections in use and waiting, for metrics; read without a query. */
  poolStats(): PoolStats;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent, PGlite is used. */
  readonly databaseUrl?: string | undefined;
  /** PGlite data directory; `undefined` or `memory://` keeps everything in memory. */
  readonly dataDir?: string | undefined;
  /** PostgreSQL pool size (default 20). */
  readonly poolSize?: number;
  /** Told when a PostgreSQL connection is lost (for a log line); the pool recovers by itself. */
  readonly onConnectionError?: (err: Error) => void;
}

const DATE_OID = 1082;

/** Removes the password from a connection URL so that it can be logged. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparseable URL)';
  }
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 20,
      // DATE stays a YYYY-MM-DD string; everything else uses pg's defaults.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === DATE_OID ? (v: string) => v : (pg.types.getTypeParser(oid, format) as (value: string) => unknown)) as typeof pg.types.getTypeParser,
      },
    });
    // A client losing its connection (a database restart, a network cut) emits 'error'; with
    // no listener that is an uncaught exception that ends the process. The pool listens only
    // while a client is idle, so every client gets its own listener for its whole life: a
    // checked-out client's loss reaches the query it was running (which fails and is handled
    // where it was issued), and the pool discards the dead client and connects anew.
    const lost = (err: Error) => options.onConnectionError?.(err);
    pool.on('error', lost);
    pool.on('connect', (client) => client.on('error', lost));
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    const copyInto: CopyInto = async (table, columns, text) => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await pipeline(Readable.from([text]), client.query(copyFrom(copyStatement(table, columns, 'STDIN'))));
      } catch (err) {
        // A COPY the server refused leaves the connection usable; a broken one must not go back.
        if (!(err instanceof pg.DatabaseError)) broken = err as Error;
        throw err;
      } finally {
        client.release(broken);
      }
    };
    return {
      db,
      kind: 'postgres',
      location: describeDatabaseUrl(options.databaseUrl),
      copyInto,
      poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      close: () => db.destroy(),
    };
  }

  const dataDir = options.dataDir && options.dataDir !== 'memory://' ? options.dataDir : undefined;
  // PGlite does not lock its directory; a second process opening it would corrupt it.
  const lock = dataDir ? lockDataDirectory(dataDir) : undefined;
  try {
    const client = await PGlite.create(dataDir ?? 'memory://', {
      parsers: { [DATE_OID]: (v: string) => v },
    });
    void pgliteTypes;
    const db = new Kysely<DB>({ dialect: new PGliteDialect(client) });
    // PGlite has one connection, which Kysely hands out one holder at a time: the COPY runs
    // while holding it, so it never lands inside someone else's open transaction.
    const copyInto: CopyInto = async (table, columns, text) => {
      await db.connection().execute(() => client.query(copyStatement(table, columns, "'/dev/blob'"), [], { blob: new Blob([text]) }));
    };
    return {
      db,
      kind: 'pglite',
      location: dataDir ?? 'memory',
      copyInto,
      // One connection, handed to one holder at a time (Kysely queues the rest, unseen).
      poolStats: () => ({ total: 1 }),
      close: async () => {
        try {
          await db.destroy();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The data-directory lock (embedded database only)

/** The lock file inside the PGlite data directory. */
export const LOCK_FILE = 'inventory-hub.lock';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** When the owner started (ISO), for people reading the file. */
  readonly startedAt: string;
  /**
   * The owner's start time as the kernel counts it (Linux `/proc/<pid>/stat` field 22), so a
   * pid reused by another process after a crash is not mistaken for the owner.
   */
  readonly procStart: string | null;
}

/** A second process tried to open a data directory another process holds. */
export class DataDirectoryLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
  ) {
    const where = owner.host === hostname() ? `pid ${owner.pid}` : `pid ${owner.pid} on ${owner.host}`;
    super(
      `the hub is already running with this data directory (${where}, started ${owner.startedAt}; lock file ` +
        `${join(dataDir, LOCK_FILE)}): stop it, use the API (POST /api/collectors/run, /api/threatlocker/sync-device), ` +
        'or use PostgreSQL (DATABASE_URL)',
    );
    this.name = 'DataDirectoryLockedError';
  }
}

/** Locks held by this process, by lock-file path; released on exit. */
const heldLocks = new Set<string>();
let exitHookInstalled = false;

function procStartOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command) is in parentheses and may contain spaces: count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string') return undefined;
    return { pid: o.pid, host: o.host, startedAt: String(o.startedAt ?? 'unknown'), procStart: o.procStart ?? null };
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote the lock is gone (only decidable on this host). */
function ownerIsGone(path: string, owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  // Our own pid in the file, but not a lock we hold: a previous life of this pid (a container
  // restarted with the same pid numbering) died without removing it.
  if (owner.pid === process.pid) return !heldLocks.has(path);
  if (!isAlive(owner.pid)) return true;
  const now = procStartOf(owner.pid);
  return owner.procStart !== null && now !== null && now !== owner.procStart;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Takes the exclusive lock on a PGlite data directory: a lock file created with O_EXCL that
 * names the owner. A lock whose owner is dead (a crash, kill -9) is taken over. Throws
 * {@link DataDirectoryLockedError} while a live process holds it.
 */
export function lockDataDirectory(dataDir: string): { release(): void } {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    procStart: procStartOf(process.pid),
  };
  const content = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
    }
    let owner = readOwner(path);
    // The owner writes its line right after creating the file: an unreadable lock is either
    // being written (wait a moment) or was left by a process that died in between.
    for (let i = 0; owner === undefined && i < 20; i++) {
      sleepSync(50);
      owner = readOwner(path);
    }
    const stale: LockOwner = owner ?? { pid: 0, host: hostname(), startedAt: 'unknown', procStart: null };
    if (owner !== undefined && !ownerIsGone(path, owner)) throw new DataDirectoryLockedError(dataDir, owner);
    takeOver(path, stale);
  }
  heldLocks.add(path);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A process that exits without closing the database (process.exit in a handler) still
    // leaves the directory free for the next one.
    process.once('exit', () => {
      for (const p of heldLocks) removeIfOurs(p);
    });
  }
  return {
    release() {
      if (!heldLocks.delete(path)) return;
      removeIfOurs(path);
    },
  };
}

/**
 * Moves a dead owner's lock aside, then the caller creates its own with O_EXCL again. The move
 * is checked: if another process took the lock over in between, its lock is put back.
 */
function takeOver(path: string, stale: LockOwner): void {
  let before: number;
  try {
    before = statSync(path).ino;
  } catch {
    return; // already gone
  }
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else moved it first; try to create again
  }
  const moved = readOwner(aside);
  if (statSync(aside).ino !== before || (moved !== undefined && (moved.pid !== stale.pid || moved.host !== stale.host))) {
    // We moved a live lock that replaced the stale one: restore it (link fails if yet another
    // process created one meanwhile, which then holds the directory).
    try {
      linkSync(aside, path);
    } catch {
      // the directory is held by whoever created the lock
    }
    rmSync(aside, { force: true });
    throw new DataDirectoryLockedError(dirname(path), moved ?? stale);
  }
  rmSync(aside, { force: true });
}

function removeIfOurs(path: string): void {
  const owner = readOwner(path);
  if (owner?.pid !== process.pid || owner.host !== hostname()) return;
  try {
    unlinkSync(path);
  } catch {
    // already removed
  }
}

/** Applies every pending migration. Throws with the failing migration's name on error. */
export async function migrateToLatest(db: Kysely<DB>): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? '(unknown)'} failed: ${result.error instanceof Error ? result.error.message : JSON.stringify(result.error)}`, {
      cause: result.error,
    });
  }
  return result;
}
