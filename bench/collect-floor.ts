/**
 * The floor a collection is measured against, in a fresh process: every page fetched from the
 * fake and parsed (the collector's own source: HTTP, JSON, schema, normalization) with nothing
 * stored, plus one `COPY` of the same rows into an empty table shaped like device_snapshot —
 * the least any collection must spend. Prints one JSON line: { fetchMs, copyMs, rows }.
 * Usage: tsx bench/collect-floor.ts <threatlocker|ninja> <devices> <pglite|postgres>
 *
 * PostgreSQL's COPY goes through `psql \copy` (the reference client for COPY FROM STDIN);
 * PGlite's through its `/dev/blob` input.
 */
import { spawn } from 'node:child_process';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { pino } from 'pino';
import { ninjaSource } from '../src/collectors/ninja.js';
import type { CollectorName } from '../src/collectors/runs.js';
import { threatlockerSource } from '../src/collectors/threatlocker.js';
import { copyText } from '../src/db/copy.js';
import { migrateToLatest, type DatabaseKind } from '../src/db/database.js';
import type { DB } from '../src/db/schema.js';
import { NinjaClient } from '../src/vendors/ninja/client.js';
import { ThreatLockerClient } from '../src/vendors/threatlocker/client.js';
import { benchPostgres, startRemoteFake } from './lib.js';

const [collector, sizeArg, dbKind] = process.argv.slice(2) as [CollectorName, string, DatabaseKind];
const fake = await startRemoteFake(collector, Number(sizeArg), 7);
const logger = pino({ level: 'silent' });

async function target(): Promise<{ columns: string[]; copy(text: string): Promise<void>; close(): Promise<void> }> {
  if (dbKind === 'pglite') {
    const client = await PGlite.create('memory://');
    const db = new Kysely<DB>({ dialect: new PGliteDialect(client) });
    await migrateToLatest(db);
    await sql`CREATE TABLE floor_copy (LIKE device_snapshot)`.execute(db);
    const columns = (await client.query<{ c: string }>(`SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'floor_copy' ORDER BY ordinal_position`)).rows.map((r) => r.c);
    return {
      columns,
      async copy(text) {
        await client.query(`COPY floor_copy FROM '/dev/blob'`, [], { blob: new Blob([text]) });
      },
      close: () => db.destroy(),
    };
  }
  const pgdb = await benchPostgres();
  await sql`CREATE TABLE floor_copy (LIKE device_snapshot)`.execute(pgdb.db);
  const columns = (await sql<{ c: string }>`SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'floor_copy' ORDER BY ordinal_position`.execute(pgdb.db)).rows.map((r) => r.c);
  return {
    columns,
    copy: (text) =>
      new Promise((resolve, reject) => {
        const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', pgdb.url, '-c', '\\copy floor_copy FROM STDIN'], { stdio: ['pipe', 'ignore', 'inherit'] });
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`))));
        child.stdin.end(text);
      }),
    close: () => pgdb.close(),
  };
}

const into = await target();
try {
  const source =
    collector === 'threatlocker'
      ? threatlockerSource(new ThreatLockerClient({ ...fake.vendorConfig.threatlocker!, logger }), logger)
      : ninjaSource(new NinjaClient({ ...fake.vendorConfig.ninja!, logger }), logger);
  const now = new Date().toISOString();
  const chunks: string[] = [];
  let rows = 0;
  let building = 0;
  const start = performance.now();
  for await (const page of source.pages(new AbortController().signal)) {
    // Building the COPY text is the benchmark's own work, not the floor's: its time is taken out.
    const b = performance.now();
    const rowsOfPage: ((column: string) => unknown)[] = [];
    for (const d of page.devices) {
      rows++;
      const fixed: Record<string, unknown> = { id: rows, snapshot_date: '2026-03-10', vendor_id: 1, device_identity_id: rows, raw: d.raw, source: 'collector', written_at: now, vendor_read_at: now };
      const attributes = d.attributes as unknown as Record<string, unknown>;
      rowsOfPage.push((c) => (c in fixed ? fixed[c] : attributes[c]));
    }
    chunks.push(copyText(into.columns, rowsOfPage));
    building += performance.now() - b;
  }
  const fetchMs = performance.now() - start - building;
  const text = chunks.join('');
  const c = performance.now();
  await into.copy(text);
  const copyMs = performance.now() - c;
  process.stdout.write(`${JSON.stringify({ fetchMs, copyMs, rows })}\n`);
} finally {
  await into.close();
  await fake.close();
}
