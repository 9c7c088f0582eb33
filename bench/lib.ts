/** Shared benchmark plumbing: percentiles, tables, throwaway databases, an out-of-process fake. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import pg from 'pg';
import type { DepsOptions } from '../src/app.js';
import type { CollectorName } from '../src/collectors/runs.js';
import { migrateToLatest, openDatabase, type Database, type DatabaseKind } from '../src/db/database.js';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), max: s[s.length - 1] ?? NaN };
}

export function ms(v: number): string {
  return Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '–';
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The PostgreSQL server benchmarks use: BENCH_DATABASE_URL, TEST_DATABASE_URL, or the local one. */
function postgresAdminUrl(): string {
  return process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

async function admin(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: postgresAdminUrl() });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

export async function postgresAvailable(): Promise<boolean> {
  try {
    await admin('select 1');
    return true;
  } catch {
    return false;
  }
}

/** A fresh, migrated database; `close()` drops it again (PostgreSQL) or discards it (PGlite). */
export async function benchDatabase(kind: DatabaseKind): Promise<Database> {
  if (kind === 'pglite') {
    const db = await openDatabase({ dataDir: 'memory://' });
    await migrateToLatest(db.db);
    return db;
  }
  return benchPostgres();
}

/** A fresh, migrated PostgreSQL database and its URL (for tools such as psql). */
export async function benchPostgres(): Promise<Database & { url: string }> {
  const name = `ih_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString(), poolSize: 20 });
  await migrateToLatest(db.db);
  return {
    ...db,
    url: url.toString(),
    async close() {
      await db.close();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

export interface RemoteFake {
  readonly url: string;
  /** What createDeps needs to point the hub's clients at this fake. */
  readonly vendorConfig: Pick<DepsOptions, 'threatlocker' | 'ninja'>;
  /** Requests the fake has answered for one operation (or all). */
  requestCount(operation?: string): Promise<number>;
  clearRequests(): Promise<void>;
  close(): Promise<void>;
}

export async function startRemoteFake(vendor: CollectorName, size: number, seed: number): Promise<RemoteFake> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/fake-vendor.ts', vendor, String(size), String(seed)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(l));
    child.once('exit', (code) => reject(new Error(`fake exited with ${code}`)));
  });
  const info = JSON.parse(first) as Record<string, string>;
  const url = info.url as string;
  const vendorConfig: Pick<DepsOptions, 'threatlocker' | 'ninja'> =
    vendor === 'threatlocker'
      ? { threatlocker: { baseUrl: info.baseUrl as string, apiKey: info.apiKey as string, organizationId: undefined, timeoutMs: 60_000 }, ninja: null }
      : {
          // The hub always has a ThreatLocker client; this one is never called.
          threatlocker: { baseUrl: 'http://127.0.0.1:9/portalapi', apiKey: 'unused', organizationId: undefined, timeoutMs: 1_000 },
          ninja: { baseUrl: info.baseUrl as string, clientId: info.clientId as string, clientSecret: info.clientSecret as string, refreshToken: undefined, timeoutMs: 60_000 },
        };
  return {
    url,
    vendorConfig,
    async requestCount(operation) {
      const q = operation ? `?operation=${operation}` : '';
      const res = await fetch(`${url}/__admin/requests/count${q}`);
      return ((await res.json()) as { count: number }).count;
    },
    async clearRequests() {
      await fetch(`${url}/__admin/requests`, { method: 'DELETE' });
    },
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin?.end();
      await exited;
    },
  };
}

/**
 * Inbound rate limits out of the way (config overrides): a benchmark sends thousands of
 * requests a minute on purpose and measures the hub, not its limits (docs/api.md, "Rate limits").
 */
export const NO_RATE_LIMITS = { RATE_LIMIT_PER_MIN: '1000000', RATE_LIMIT_SYNC_PER_MIN: '1000000' } as const;
