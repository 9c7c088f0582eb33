/**
 * The audit log: one row per mutating request and per denied one (docs/api.md, "Audit log").
 * Rows hold who (key id and name, or `open`), the route pattern, the target and the outcome —
 * never a key, a cookie, a body or a vendor secret.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { pgSafeText } from '../vendors/values.js';

export interface AuditEntry {
  readonly at: Date;
  readonly request_id: string;
  readonly key_id: string | null;
  readonly key_name: string;
  readonly method: string;
  readonly route: string;
  readonly target: string | null;
  readonly outcome: 'ok' | 'failed' | 'denied' | 'rate_limited';
  readonly status_code: number;
}

export function outcomeOf(status: number): AuditEntry['outcome'] {
  if (status === 401 || status === 403) return 'denied';
  if (status === 429) return 'rate_limited';
  return status < 400 ? 'ok' : 'failed';
}

/**
 * Writes audit rows in the background: the answer never waits for them, a failure is logged,
 * and `idle()` lets shutdown (and tests) wait for the writes still in flight.
 *
 * Entries are queued and written by one flush at a time, each flush one multi-row insert of
 * everything queued so far. One writer keeps the log's ids in the order the answers were sent
 * (concurrent inserts on a pool would commit in any order, and the log is read by id); batching
 * keeps that single writer from falling behind under load. A batch that fails is written again
 * row by row, so only the row that cannot be written is lost (and logged).
 */
export class AuditWriter {
  private queue: AuditEntry[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly onError: (err: unknown, entries: readonly AuditEntry[]) => void,
    /** Rows per insert: bounded so one statement stays well under PostgreSQL's parameter limit. */
    private readonly batchSize = 500,
  ) {}

  write(entry: AuditEntry): void {
    this.queue.push(entry);
    // The queue is not empty, so flush() awaits before it can end: `flushing` is set first.
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.batchSize);
        if (await this.insert(batch)) continue;
        // One bad row must not take its neighbours with it: write them one by one.
        if (batch.length > 1) for (const e of batch) await this.insert([e]);
      }
    } finally {
      // In the same turn as the last look at the queue: an entry written after it starts a
      // new flush (clearing this in a later callback could leave such an entry waiting).
      this.flushing = null;
    }
  }

  private async insert(entries: AuditEntry[]): Promise<boolean> {
    try {
      await this.db.insertInto('audit_log').values(entries.map(toRow)).execute();
      return true;
    } catch (err) {
      if (entries.length === 1) this.onError(err, entries);
      return false;
    }
  }

  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}

function toRow(entry: AuditEntry) {
  return {
    ...entry,
    route: pgSafeText(entry.route),
    target: entry.target === null ? null : pgSafeText(entry.target).slice(0, 300),
    request_id: pgSafeText(entry.request_id),
  };
}

export interface AuditQuery {
  readonly since?: Date | undefined;
  readonly keyId?: string | undefined;
  readonly target?: string | undefined;
  readonly limit: number;
  /** The last id of the previous page (entries come newest first). */
  readonly cursor?: string | undefined;
}

/** Newest first, keyset-paged by id: `next_cursor` is null on the last page. */
export async function listAudit(db: Kysely<DB>, q: AuditQuery) {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit + 1);
  if (q.since) query = query.where('at', '>=', q.since);
  if (q.keyId) query = query.where('key_id', '=', q.keyId);
  if (q.target) query = query.where('target', '=', q.target);
  if (q.cursor) query = query.where('id', '<', q.cursor);
  const rows = await query.execute();
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    entries: page.map((r) => ({ ...r, id: String(r.id), at: r.at.toISOString(), outcome: r.outcome as AuditEntry['outcome'] })),
    next_cursor: rows.length > q.limit && last ? String(last.id) : null,
  };
}
