/**
 * Reading variances: the list (filtered, keyset-paged), one variance with its history, and the
 * open counts /api/status shows. Read-only; every function takes its executor first.
 */
import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder, type Transaction } from 'kysely';
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

/** A stored event as the API shows it (GET /api/variances/:id and the device page). */
export function toEventItem(e: VarianceEventRow): VarianceEventItem {
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

/** The orders the list can be read in (`id`: newest first by default, today's order). */
export const VARIANCE_SORTS = ['id', 'type', 'hostname', 'organization', 'first_seen', 'last_seen'] as const;
export type VarianceSort = (typeof VARIANCE_SORTS)[number];
export type SortOrder = 'asc' | 'desc';

export interface VarianceFilter {
  readonly status: VarianceStatus | 'all';
  readonly type?: VarianceType | undefined;
  /** Exact organization name. */
  readonly organization?: string | undefined;
  /** Start of the hostname, any letter case. */
  readonly hostname?: string | undefined;
  /** Part of the hostname or of any device's display name, any letter case. */
  readonly q?: string | undefined;
  readonly sort?: VarianceSort | undefined;
  readonly order?: SortOrder | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** Where a page ended: the sort value of its last variance (null: no organization) and its id. */
interface CursorPosition {
  readonly value: string | number | null;
  readonly id: number;
}

const badCursor = (): HubError => new HubError('HUB_ERR_VALIDATION', 'cursor is not a cursor this endpoint gave for this sort and order', { field: 'cursor' });

/**
 * The cursor is opaque to clients: where the page ended, versioned, base64url. In the default
 * order (id descending) it is the last id (version 1, as before sorts existed), so a variance
 * opened while paging never shifts a page. Any other order carries the sort, the order, the
 * last sort value and id (version 2): a cursor is only good for the order that gave it.
 */
export function encodeCursor(lastId: number, sort: VarianceSort = 'id', order: SortOrder = 'desc', value: string | number | null = lastId): string {
  const payload = sort === 'id' && order === 'desc' ? { v: 1, id: lastId } : { v: 2, s: sort, o: order, k: value, id: lastId };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** Where a cursor continues; throws HubError `HUB_ERR_VALIDATION` (field `cursor`) for a bad one or one of another order. */
export function decodeCursor(cursor: string, sort: VarianceSort = 'id', order: SortOrder = 'desc'): CursorPosition {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (typeof raw !== 'object' || raw === null) throw badCursor();
  const parsed = raw as { v?: unknown; id?: unknown; s?: unknown; o?: unknown; k?: unknown };
  const { id } = parsed;
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) throw badCursor();
  if (parsed.v === 1 && sort === 'id' && order === 'desc') return { value: id, id };
  if (parsed.v !== 2 || parsed.s !== sort || parsed.o !== order || (sort === 'id' && order === 'desc')) throw badCursor();
  const k = parsed.k;
  switch (sort) {
    case 'id':
      if (k !== id) throw badCursor();
      return { value: id, id };
    case 'organization':
      if (k !== null && typeof k !== 'string') throw badCursor();
      return { value: k, id };
    case 'first_seen':
    case 'last_seen':
      if (typeof k !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(k)) throw badCursor();
      return { value: k, id };
    case 'type':
    case 'hostname':
      if (typeof k !== 'string') throw badCursor();
      return { value: k, id };
  }
}

/** LIKE's wildcards in user text are literal characters. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

type VarianceQuery<O> = SelectQueryBuilder<DB, 'variance', O>;

/** What selects variances, without paging: the list, its count and the exports share it. */
export type VarianceSelection = Pick<VarianceFilter, 'status' | 'type' | 'organization' | 'hostname' | 'q'>;

/** The filters (not the cursor): shared by the page, its count and the exports (reports.ts). */
export function applyFilter<O>(query: VarianceQuery<O>, filter: VarianceSelection): VarianceQuery<O> {
  let q = query;
  if (filter.status !== 'all') q = q.where('status', '=', filter.status);
  if (filter.type !== undefined) q = q.where('type', '=', filter.type);
  if (filter.organization !== undefined) q = q.where('organization', '=', filter.organization);
  if (filter.hostname !== undefined) {
    q = q.where(sql<boolean>`lower(hostname) LIKE ${`${escapeLike(filter.hostname.toLowerCase())}%`} ESCAPE '\\'`);
  }
  if (filter.q !== undefined) {
    const pattern = `%${escapeLike(filter.q.toLowerCase())}%`;
    // The display names live only in `devices` (what the variance names, as the check saw it).
    q = q.where(
      sql<boolean>`(lower(hostname) LIKE ${pattern} ESCAPE '\\'
                    OR EXISTS (SELECT 1 FROM jsonb_array_elements(devices) AS d
                                WHERE lower(d->>'display_name') LIKE ${pattern} ESCAPE '\\'))`,
    );
  }
  return q;
}

/**
 * The sort column as SQL. Text in code-unit order (COLLATE "C"): the same order on every
 * database whatever its locale, like the hub's other sorted output (compareText).
 */
function sortExpression(sort: VarianceSort): RawBuilder<unknown> {
  switch (sort) {
    case 'id':
      return sql`id`;
    case 'type':
      return sql`type COLLATE "C"`;
    case 'hostname':
      return sql`hostname COLLATE "C"`;
    case 'organization':
      return sql`organization COLLATE "C"`;
    case 'first_seen':
      return sql`first_seen`;
    case 'last_seen':
      return sql`last_seen`;
  }
}

/**
 * Rows after a cursor position: (value, id) past the last one in the order. Variances without an
 * organization come last in both orders, so the condition says where null stands.
 */
function afterPosition(sort: VarianceSort, order: SortOrder, at: CursorPosition): RawBuilder<boolean> {
  const col = sortExpression(sort);
  const past = order === 'desc' ? sql.raw('<') : sql.raw('>');
  if (sort === 'id') return sql<boolean>`id ${past} ${at.id}`;
  const value = sort === 'first_seen' || sort === 'last_seen' ? sql`${at.value}::date` : sql`${at.value}`;
  if (sort === 'organization') {
    if (at.value === null) return sql<boolean>`(organization IS NULL AND id ${past} ${at.id})`;
    return sql<boolean>`(organization IS NULL OR ${col} ${past} ${value} OR (organization = ${value} AND id ${past} ${at.id}))`;
  }
  return sql<boolean>`(${col} ${past} ${value} OR (${col} = ${value} AND id ${past} ${at.id}))`;
}

function sortValue(row: VarianceRow, sort: VarianceSort): string | number | null {
  return sort === 'id' ? row.id : row[sort];
}

/**
 * One page of variances, the cursor of the next (null on the last page) and how many match the
 * filters in all (the cursor aside; one count query).
 */
export async function listVariances(
  db: Executor,
  filter: VarianceFilter,
): Promise<{ items: VarianceItem[]; next_cursor: string | null; total: number }> {
  const sort = filter.sort ?? 'id';
  const order = filter.order ?? 'desc';
  // Decoded first: a bad cursor is a 400 before any query runs.
  const at = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor, sort, order);
  let q = applyFilter(db.selectFrom('variance').selectAll(), filter);
  if (at !== undefined) q = q.where(afterPosition(sort, order, at));
  const direction = sql.raw(order === 'desc' ? 'DESC' : 'ASC');
  if (sort === 'organization') q = q.orderBy(sql`organization IS NULL`);
  if (sort !== 'id') q = q.orderBy(sql`${sortExpression(sort)} ${direction}`);
  const rows = await q.orderBy('id', order).limit(filter.limit + 1).execute();
  const count = await applyFilter(db.selectFrom('variance').select(sql<string>`count(*)`.as('n')), filter).executeTakeFirstOrThrow();
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toVarianceItem),
    next_cursor: rows.length > filter.limit && last ? encodeCursor(last.id, sort, order, sortValue(last, sort)) : null,
    total: Number(count.n),
  };
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
