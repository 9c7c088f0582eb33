/**
 * Reading variances: the list (filtered, keyset-paged), one variance with its history, and the
 * open counts /api/status shows. Read-only; every function takes its executor first.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, VarianceEventRow, VarianceRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import type { VarianceDeviceRef, VarianceStatus, VarianceType } from './types.js';

type Executor = Kysely<DB> | Transaction<DB>;

/** A variance as the API shows it. */
export interface VarianceItem {
  readonly id: number;
  readonly type: string;
  readonly status: VarianceStatus;
  readonly hostname: string;
  readonly organization: string | null;
  readonly match_quality: string | null;
  readonly devices: VarianceDeviceRef[];
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly hint: string;
  readonly first_seen: string;
  readonly last_seen: string;
  readonly resolved_at: string | null;
  readonly resolved_by: string | null;
  readonly accepted_until: string | null;
  readonly accepted_reason: string | null;
  readonly accepted_by: string | null;
  readonly updated_at: string;
}

export interface VarianceEventItem {
  readonly id: number;
  readonly at: string;
  readonly kind: string;
  readonly actor: string | null;
  readonly note: string | null;
  readonly snapshot_date: string | null;
  readonly run_id: number | null;
  readonly details: Readonly<Record<string, unknown>> | null;
}

export function toVarianceItem(v: VarianceRow): VarianceItem {
  return {
    id: v.id,
    type: v.type,
    status: v.status,
    hostname: v.hostname,
    organization: v.organization,
    match_quality: v.match_quality,
    devices: v.devices as VarianceDeviceRef[],
    evidence: v.evidence as Record<string, unknown>,
    hint: v.hint,
    first_seen: v.first_seen,
    last_seen: v.last_seen,
    resolved_at: v.resolved_at ? v.resolved_at.toISOString() : null,
    resolved_by: v.resolved_by,
    accepted_until: v.accepted_until,
    accepted_reason: v.accepted_reason,
    accepted_by: v.accepted_by,
    updated_at: v.updated_at.toISOString(),
  };
}

function toEventItem(e: VarianceEventRow): VarianceEventItem {
  return {
    id: e.id,
    at: e.at.toISOString(),
    kind: e.kind,
    actor: e.actor,
    note: e.note,
    snapshot_date: e.snapshot_date,
    run_id: e.run_id,
    details: (e.details ?? null) as Record<string, unknown> | null,
  };
}

export interface VarianceFilter {
  readonly status: VarianceStatus | 'all';
  readonly type?: VarianceType | undefined;
  /** Exact organization name. */
  readonly organization?: string | undefined;
  /** Start of the hostname, any letter case. */
  readonly hostname?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/**
 * The cursor is opaque to clients: the last id of the page, versioned, base64url. Pages are
 * newest variance first (id descending), so a variance opened while paging never shifts a page.
 */
export function encodeCursor(lastId: number): string {
  return Buffer.from(JSON.stringify({ v: 1, id: lastId })).toString('base64url');
}

/** The id a cursor continues after; throws HubError `HUB_ERR_VALIDATION` (field `cursor`) for a bad one. */
export function decodeCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: unknown; id?: unknown };
    if (parsed.v === 1 && typeof parsed.id === 'number' && Number.isInteger(parsed.id) && parsed.id > 0) return parsed.id;
  } catch {
    // falls through to the refusal
  }
  throw new HubError('HUB_ERR_VALIDATION', 'cursor is not a cursor this endpoint gave', { field: 'cursor' });
}

/** LIKE's wildcards in user text are literal characters. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** One page of variances and the cursor of the next (null on the last page). */
export async function listVariances(db: Executor, filter: VarianceFilter): Promise<{ items: VarianceItem[]; next_cursor: string | null }> {
  let q = db.selectFrom('variance').selectAll();
  if (filter.status !== 'all') q = q.where('status', '=', filter.status);
  if (filter.type !== undefined) q = q.where('type', '=', filter.type);
  if (filter.organization !== undefined) q = q.where('organization', '=', filter.organization);
  if (filter.hostname !== undefined) {
    q = q.where(sql<boolean>`lower(hostname) LIKE ${`${escapeLike(filter.hostname.toLowerCase())}%`} ESCAPE '\\'`);
  }
  if (filter.cursor !== undefined) q = q.where('id', '<', decodeCursor(filter.cursor));
  const rows = await q.orderBy('id', 'desc').limit(filter.limit + 1).execute();
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return { items: page.map(toVarianceItem), next_cursor: rows.length > filter.limit && last ? encodeCursor(last.id) : null };
}

/** One variance with its events, oldest first; undefined when there is none with that id. */
export async function getVariance(db: Executor, id: number): Promise<(VarianceItem & { events: VarianceEventItem[] }) | undefined> {
  const v = await db.selectFrom('variance').selectAll().where('id', '=', id).executeTakeFirst();
  if (!v) return undefined;
  const events = await db.selectFrom('variance_event').selectAll().where('variance_id', '=', id).orderBy('id').execute();
  return { ...toVarianceItem(v), events: events.map(toEventItem) };
}

/** Open variances by type (for /api/status), only the types that have some. */
export async function openVarianceCounts(db: Executor): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('variance')
    .select(['type', sql<string>`count(*)`.as('n')])
    .where('status', '=', 'open')
    .groupBy('type')
    .orderBy('type')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}
