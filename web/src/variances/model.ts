/**
 * The variances page's logic without React: the filters a URL holds, readable labels, the
 * differing part of two display names, and how the answer of a sync or rename changes the
 * loaded list (without reloading it). Unit-tested in test/web/variances-model.test.ts.
 */
// With `.js`: the server's tests (tsconfig.json, NodeNext) compile this file too.
import type { paths } from '../api/schema.js';

export type VarianceList = paths['/api/variances/']['get']['responses'][200]['content']['application/json'];
export type Variance = VarianceList['items'][number];
export type VarianceDevice = Variance['devices'][number];
export type SyncAnswer = paths['/api/threatlocker/sync-device']['post']['responses'][200]['content']['application/json'];
/** What a sync or a rename says about the device's variances afterwards. */
export type VarianceChanges = NonNullable<SyncAnswer['variances']>;

export const VARIANCE_TYPES = [
  'MISSING_NINJA',
  'MISSING_THREATLOCKER',
  'DUPLICATE_TL',
  'DUPLICATE_NINJA',
  'SPARE_MISMATCH',
  'DISPLAY_NAME_MISMATCH',
  'SITE_MISMATCH',
] as const;
export type VarianceType = (typeof VARIANCE_TYPES)[number];

/** What a technician calls each type (the code stays visible where it matters for support). */
export const TYPE_LABELS: Readonly<Record<VarianceType, string>> = {
  MISSING_NINJA: 'Missing in NinjaOne',
  MISSING_THREATLOCKER: 'Missing in ThreatLocker',
  DUPLICATE_TL: 'Duplicate in ThreatLocker',
  DUPLICATE_NINJA: 'Duplicate in NinjaOne',
  SPARE_MISMATCH: 'Spare with ThreatLocker',
  DISPLAY_NAME_MISMATCH: 'Display-name mismatch',
  SITE_MISMATCH: 'Customer mismatch',
};

export function typeLabel(type: string): string {
  return isVarianceType(type) ? TYPE_LABELS[type] : type;
}

/** The label inside a sentence: "display-name mismatch", "spare with ThreatLocker". */
export function typePhrase(type: string): string {
  const label = typeLabel(type);
  return label.charAt(0).toLowerCase() + label.slice(1);
}

export function isVarianceType(value: string | null): value is VarianceType {
  return value !== null && (VARIANCE_TYPES as readonly string[]).includes(value);
}

export const MATCH_QUALITY_LABELS: Readonly<Record<string, string>> = {
  exact: 'Exact hostname',
  truncated: 'Truncated hostname (15 characters)',
  cross_org: 'Across customers',
};

export const VENDOR_LABELS = { threatlocker: 'ThreatLocker', ninja: 'NinjaOne' } as const;

export const STATUSES = ['open', 'accepted', 'resolved', 'all'] as const;
export type StatusFilter = (typeof STATUSES)[number];
export const SORTS = ['id', 'type', 'hostname', 'organization', 'first_seen', 'last_seen'] as const;
export type SortKey = (typeof SORTS)[number];
export type Order = 'asc' | 'desc';

/** The list's filters and order, as the URL holds them (defaults are left out of the URL). */
export interface ListQuery {
  readonly status: StatusFilter;
  readonly type: VarianceType | null;
  readonly organization: string | null;
  readonly q: string | null;
  readonly sort: SortKey;
  readonly order: Order;
}

export const DEFAULT_QUERY: ListQuery = { status: 'open', type: null, organization: null, q: null, sort: 'id', order: 'desc' };

function oneOf<T extends string>(list: readonly T[], value: string | null, fallback: T): T {
  return value !== null && (list as readonly string[]).includes(value) ? (value as T) : fallback;
}

/** Reads the query from the URL; unknown values fall back to the defaults. */
export function parseQuery(params: URLSearchParams): ListQuery {
  const text = (key: string) => {
    const v = params.get(key)?.trim();
    return v ? v : null;
  };
  const type = params.get('type');
  return {
    status: oneOf(STATUSES, params.get('status'), DEFAULT_QUERY.status),
    type: isVarianceType(type) ? type : null,
    organization: text('organization'),
    q: text('q'),
    sort: oneOf(SORTS, params.get('sort'), DEFAULT_QUERY.sort),
    order: oneOf(['asc', 'desc'] as const, params.get('order'), DEFAULT_QUERY.order),
  };
}

/** The URL's search params for a query (defaults omitted, so links stay short). */
export function queryToParams(query: ListQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (query.status !== DEFAULT_QUERY.status) params.set('status', query.status);
  if (query.type) params.set('type', query.type);
  if (query.organization) params.set('organization', query.organization);
  if (query.q) params.set('q', query.q);
  if (query.sort !== DEFAULT_QUERY.sort) params.set('sort', query.sort);
  if (query.order !== DEFAULT_QUERY.order) params.set('order', query.order);
  return params;
}

/** Whether a variance belongs in the list shown for these filters (q aside: the server decides it). */
export function matchesQuery(v: Pick<Variance, 'status' | 'type' | 'organization'>, query: ListQuery): boolean {
  if (query.status !== 'all' && v.status !== query.status) return false;
  if (query.type && v.type !== query.type) return false;
  if (query.organization && v.organization !== query.organization) return false;
  return true;
}

export interface LoadedList {
  readonly items: readonly Variance[];
  readonly total: number;
  readonly nextCursor: string | null;
}

/**
 * A list after variances changed (an action's answer): each changed variance still matching the
 * filters replaces its row in place; one that no longer matches leaves, and `total` follows.
 * Variances not loaded are added at the top when `addNew` holds and they match (a sync opened them).
 */
export function applyChanged(list: LoadedList, changed: readonly Variance[], query: ListQuery, addNew = false): LoadedList {
  const byId = new Map(changed.map((v) => [v.id, v]));
  let total = list.total;
  const items: Variance[] = [];
  for (const row of list.items) {
    const next = byId.get(row.id);
    if (!next) items.push(row);
    else if (matchesQuery(next, query)) items.push(next);
    else total--;
  }
  if (addNew) {
    const present = new Set(list.items.map((v) => v.id));
    const added = changed.filter((v) => !present.has(v.id) && matchesQuery(v, query));
    items.unshift(...added);
    total += added.length;
  }
  return { ...list, items, total: Math.max(total, items.length) };
}

/** The list after a sync or rename: resolved leave an open list, still-open update, opened join. */
export function applyVarianceChanges(list: LoadedList, changes: VarianceChanges, query: ListQuery): LoadedList {
  const updated = applyChanged(list, [...changes.resolved, ...changes.still_open], query);
  return applyChanged(updated, changes.opened, query, true);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "display-name mismatch resolved; customer mismatch still open" — what a sync did, in words. */
export function describeChanges(changes: VarianceChanges): string {
  const names = (list: readonly Variance[]) => [...new Set(list.map((v) => typePhrase(v.type)))].join(', ');
  const parts: string[] = [];
  if (changes.resolved.length > 0) parts.push(`${names(changes.resolved)} resolved`);
  if (changes.still_open.length > 0) parts.push(`${names(changes.still_open)} still open`);
  if (changes.opened.length > 0) parts.push(`new: ${names(changes.opened)}`);
  return parts.length > 0 ? parts.join('; ') : 'no variances about it';
}

/** The first device of a vendor a variance names, if any. */
export function deviceOf(v: Pick<Variance, 'devices'>, vendor: VarianceDevice['vendor']): VarianceDevice | undefined {
  return v.devices.find((d) => d.vendor === vendor);
}

/** The device page a row links to: the ThreatLocker device if there is one, else the NinjaOne one. */
export function devicePath(v: Pick<Variance, 'devices'>): string | null {
  const device = deviceOf(v, 'threatlocker') ?? deviceOf(v, 'ninja');
  return device ? `/devices/${device.vendor}/${encodeURIComponent(device.device_key)}` : null;
}

/** NinjaOne's display name of a display-name mismatch, when it has one to copy. */
export function ninjaNameFor(v: Pick<Variance, 'type' | 'devices' | 'evidence'>): string | null {
  if (v.type !== 'DISPLAY_NAME_MISMATCH' || !deviceOf(v, 'threatlocker')) return null;
  const evidence = v.evidence as Record<string, unknown> | null;
  const fromEvidence = evidence && typeof evidence.rmm_display_name === 'string' ? evidence.rmm_display_name : null;
  const name = (fromEvidence ?? deviceOf(v, 'ninja')?.display_name ?? '').trim();
  return name === '' ? null : name;
}

export interface DiffParts {
  readonly before: string;
  readonly changed: string;
  readonly after: string;
}

/**
 * Splits two strings into their common start, the part that differs, and their common end
 * (compared ignoring letter case, as the check does), for each side.
 *
 * @example diffNames('PC-1 | Ann', 'PC-1 | Anne') // a: changed '', b: changed 'e'
 */
export function diffNames(a: string, b: string): { a: DiffParts; b: DiffParts } {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  let start = 0;
  while (start < la.length && start < lb.length && la[start] === lb[start]) start++;
  let end = 0;
  while (end < la.length - start && end < lb.length - start && la[la.length - 1 - end] === lb[lb.length - 1 - end]) end++;
  // Whole words: "Maria Garcia" → "Sofia Silva" marks both names, not "Maria Garci" + "a".
  const wordChar = (s: string, i: number) => i >= 0 && i < s.length && !/[\s|]/.test(s.charAt(i));
  const midWord = (i: number, s: string) => wordChar(s, i - 1) && wordChar(s, i);
  while (start > 0 && (midWord(start, la) || midWord(start, lb))) start--;
  while (end > 0 && (midWord(la.length - end, la) || midWord(lb.length - end, lb))) end--;
  const split = (s: string): DiffParts => ({ before: s.slice(0, start), changed: s.slice(start, s.length - end), after: s.slice(s.length - end) });
  return { a: split(a), b: split(b) };
}

const DAY_MS = 86_400_000;

/** Whole days from a `YYYY-MM-DD` date to `today` (also `YYYY-MM-DD`). */
export function daysBetween(from: string, today: string): number {
  return Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** "today", "1 day", "12 days". */
export function ageLabel(firstSeen: string, today: string): string {
  const days = daysBetween(firstSeen, today);
  return days <= 0 ? 'today' : plural(days, 'day');
}

/** A local date as `YYYY-MM-DD`, `offset` days from `now`. */
export function localDate(now: Date, offset = 0): string {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + offset);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
