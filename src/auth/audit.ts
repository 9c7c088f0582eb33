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
 */
export class AuditWriter {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly onError: (err: unknown, entry: AuditEntry) => void,
  ) {}

  write(entry: AuditEntry): void {
    const p = this.db
      .insertInto('audit_log')
      .values({ ...entry, route: pgSafeText(entry.route), target: entry.target === null ? null : pgSafeText(entry.target).slice(0, 300), request_id: pgSafeText(entry.request_id) })
      .execute()
      .then(
        () => undefined,
        (err: unknown) => this.onError(err, entry),
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
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
