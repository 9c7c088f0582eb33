/**
 * `/variances`: where the tools disagree, and the technician's way out — rename the device to
 * NinjaOne's name or sync it, and watch the row leave; or accept or resolve it. Filters and
 * order live in the URL (`?status=&type=&organization=&q=&sort=&order=`), so a link shows the
 * same list and back/forward work. Pages come from the server (keyset cursor, 100 at a time).
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { api, ApiError, unwrap } from '../api/client';
import { useApi } from '../api/useApi';
import { ErrorMessage } from '../components/ErrorMessage';
import { useToast } from '../components/Toast';
import { ActionDialog, type DialogValues } from '../variances/ActionDialog';
import {
  applyChanged,
  applyVarianceChanges,
  deviceOf,
  describeChanges,
  localDate,
  ninjaNameFor,
  parseQuery,
  queryToParams,
  TYPE_LABELS,
  typePhrase,
  VARIANCE_TYPES,
  type ListQuery,
  type LoadedList,
  type SortKey,
  type SyncAnswer,
  type Variance,
} from '../variances/model';
import { VarianceRow, type RowAction } from '../variances/VarianceRow';
import './Variances.css';

const PAGE_SIZE = 100;
const ACTOR = 'dashboard';
const count = new Intl.NumberFormat();

const STATUS_OPTIONS = [
  { value: 'open', label: 'Open' },
  { value: 'accepted', label: 'Accepted' },
  { value: 'resolved', label: 'Resolved' },
  { value: 'all', label: 'All' },
] as const;

/** Sortable columns: the first click sorts text A→Z and dates newest first. */
const SORTABLE: Readonly<Partial<Record<SortKey, { label: string; first: 'asc' | 'desc' }>>> = {
  type: { label: 'Type', first: 'asc' },
  hostname: { label: 'Hostname', first: 'asc' },
  organization: { label: 'Customer', first: 'asc' },
  first_seen: { label: 'First seen', first: 'desc' },
};

type Loaded = { readonly key: string; readonly list: LoadedList } | { readonly key: string; readonly error: ApiError };

interface BulkResult {
  readonly id: number;
  readonly hostname: string;
  readonly ok: boolean;
  readonly message: string;
}

interface BulkOutcome {
  readonly action: string;
  readonly results: readonly BulkResult[];
}

type DialogState = { readonly kind: 'accept' | 'resolve'; readonly rows: readonly Variance[] } | null;

function toApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'CLIENT_ERROR', err instanceof Error ? err.message : String(err));
}

async function fetchPage(query: ListQuery, cursor: string | null, signal?: AbortSignal): Promise<LoadedList> {
  const data = await unwrap(
    api.GET('/api/variances/', {
      params: {
        query: {
          status: query.status,
          type: query.type ?? undefined,
          organization: query.organization ?? undefined,
          q: query.q ?? undefined,
          sort: query.sort,
          order: query.order,
          limit: PAGE_SIZE,
          cursor: cursor ?? undefined,
        },
      },
      signal,
    }),
  );
  return { items: data.items, total: data.total, nextCursor: data.next_cursor };
}

/** What the toast says after a sync or rename. */
function syncMessage(prefix: string, answer: Pick<SyncAnswer, 'variances' | 'variances_message'>): string {
  if (answer.variances) return `${prefix}; ${describeChanges(answer.variances)}`;
  return `${prefix}. ${answer.variances_message ?? 'Its variances were not re-evaluated.'}`;
}

export function Variances() {
  const [params, setParams] = useSearchParams();
  const query = useMemo(() => parseQuery(params), [params]);
  const key = queryToParams(query).toString();
  const toast = useToast();
  const formId = useId();
  const today = localDate(new Date());

  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [generation, setGeneration] = useState(0);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<ApiError | null>(null);
  const [pending, setPending] = useState<ReadonlyMap<number, RowAction>>(new Map());
  const [rowErrors, setRowErrors] = useState<ReadonlyMap<number, ApiError>>(new Map());
  const [selection, setSelection] = useState<{ key: string; ids: ReadonlySet<number> }>({ key, ids: new Set() });
  const [dialog, setDialog] = useState<DialogState>(null);
  const [bulkPending, setBulkPending] = useState(false);
  const [bulkOutcome, setBulkOutcome] = useState<BulkOutcome | null>(null);
  const tableRef = useRef<HTMLTableElement>(null);
  // Rows with a sync or rename in flight: a second click is ignored before the re-render disables it.
  const inFlight = useRef(new Set<number>());

  const organizations = useApi((signal) => unwrap(api.GET('/api/organizations/mapping', { signal })), []);

  useEffect(() => {
    const controller = new AbortController();
    fetchPage(parseQuery(new URLSearchParams(key)), null, controller.signal).then(
      (list) => setLoaded({ key, list }),
      (err: unknown) => {
        if (!controller.signal.aborted) setLoaded({ key, error: toApiError(err) });
      },
    );
    return () => controller.abort();
  }, [key, generation]);

  const current = loaded?.key === key ? loaded : null;
  const list = current && 'list' in current ? current.list : null;
  const selectedIds = useMemo(() => {
    if (selection.key !== key || !list) return new Set<number>();
    const present = new Set(list.items.map((v) => v.id));
    return new Set([...selection.ids].filter((id) => present.has(id)));
  }, [selection, key, list]);

  /** Changes the list that is shown (if it is still the one for `forKey`). */
  const updateList = useCallback(
    (forKey: string, change: (list: LoadedList) => LoadedList) =>
      setLoaded((prev) => (prev && prev.key === forKey && 'list' in prev ? { key: forKey, list: change(prev.list) } : prev)),
    [],
  );

  const setQuery = (next: Partial<ListQuery>) => {
    setParams(queryToParams({ ...query, ...next }));
    setBulkOutcome(null);
  };

  const loadMore = async () => {
    if (!list?.nextCursor || loadingMore) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await fetchPage(query, list.nextCursor);
      updateList(key, (l) => {
        const ids = new Set(l.items.map((v) => v.id));
        return { items: [...l.items, ...page.items.filter((v) => !ids.has(v.id))], total: page.total, nextCursor: page.nextCursor };
      });
    } catch (err) {
      setMoreError(toApiError(err));
    } finally {
      setLoadingMore(false);
    }
  };

  const setRowPending = (id: number, action: RowAction | null) =>
    setPending((prev) => {
      const next = new Map(prev);
      if (action) next.set(id, action);
      else next.delete(id);
      return next;
    });
  const setRowError = (id: number, error: ApiError | null) =>
    setRowErrors((prev) => {
      const next = new Map(prev);
      if (error) next.set(id, error);
      else next.delete(id);
      return next;
    });

  /** A sync or rename of the row's ThreatLocker computer; the answer alone updates the list. */
  const syncRow = async (v: Variance, rename: boolean): Promise<string> => {
    const tl = deviceOf(v, 'threatlocker');
    if (!tl) throw new ApiError(0, 'CLIENT_ERROR', 'This variance names no ThreatLocker computer to sync');
    const forKey = key;
    const forQuery = query;
    let message: string;
    let answer: Pick<SyncAnswer, 'variances' | 'variances_message'>;
    if (rename) {
      const newName = ninjaNameFor(v);
      if (newName === null) throw new ApiError(0, 'CLIENT_ERROR', 'NinjaOne has no display name to copy');
      const res = await unwrap(api.POST('/api/threatlocker/update-name', { body: { computer_id: tl.device_key, new_name: newName, updated_by: ACTOR } }));
      answer = res;
      message = syncMessage(`Renamed ${res.device.old_name ?? tl.display_name ?? v.hostname} to ${res.device.new_name}`, res);
    } else {
      const res = await unwrap(api.POST('/api/threatlocker/sync-device', { body: { computer_id: tl.device_key, updated_by: ACTOR } }));
      answer = res;
      message = syncMessage(`Synced ${res.device.hostname}`, res);
    }
    const changes = answer.variances;
    if (changes) updateList(forKey, (l) => applyVarianceChanges(l, changes, forQuery));
    return message;
  };

  const onAction = (v: Variance, action: RowAction) => {
    if (inFlight.current.has(v.id)) return;
    if (action === 'accept' || action === 'resolve') {
      setDialog({ kind: action, rows: [v] });
      return;
    }
    inFlight.current.add(v.id);
    setRowPending(v.id, action);
    setRowError(v.id, null);
    syncRow(v, action === 'rename')
      .then(
        (message) => toast.show(message, 'success'),
        (err: unknown) => {
          const error = toApiError(err);
          setRowError(v.id, error);
          toast.show(`${error.message} (${error.code})`, 'error');
        },
      )
      .finally(() => {
        inFlight.current.delete(v.id);
        setRowPending(v.id, null);
        // The row (and the focused button) may have left the list: keep the focus in the table.
        requestAnimationFrame(() => {
          if (!document.activeElement || document.activeElement === document.body) tableRef.current?.focus({ preventScroll: true });
        });
      });
  };

  const onSelect = useCallback(
    (id: number, on: boolean) =>
      setSelection((prev) => {
        const ids = new Set(prev.key === key ? prev.ids : []);
        if (on) ids.add(id);
        else ids.delete(id);
        return { key, ids };
      }),
    [key],
  );

  /** Accept or resolve from the dialog: one row through its own endpoint, several in bulk. */
  const submitDialog = async (rows: readonly Variance[], values: DialogValues) => {
    const forKey = key;
    const forQuery = query;
    if (rows.length === 1 && rows[0]) {
      const v = rows[0];
      const id = v.id;
      const updated =
        values.kind === 'accept'
          ? await unwrap(api.POST('/api/variances/{id}/accept', { params: { path: { id } }, body: { reason: values.reason, until: values.until, accepted_by: ACTOR } }))
          : await unwrap(api.POST('/api/variances/{id}/resolve', { params: { path: { id } }, body: { resolved_by: ACTOR, note: values.note || null } }));
      setRowError(id, null);
      updateList(forKey, (l) => applyChanged(l, [updated], forQuery));
      toast.show(
        values.kind === 'accept' ? `Accepted ${typePhrase(v.type)} on ${v.hostname} until ${values.until}` : `Resolved ${typePhrase(v.type)} on ${v.hostname}`,
        'success',
      );
      return;
    }
    const ids = rows.map((r) => r.id);
    const body =
      values.kind === 'accept'
        ? { action: 'accept' as const, ids, reason: values.reason, until: values.until, accepted_by: ACTOR }
        : { action: 'resolve' as const, ids, resolved_by: ACTOR, note: values.note || null };
    const answer = await unwrap(api.POST('/api/variances/bulk', { body }));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const changed: Variance[] = [];
    const results = answer.results.map((r): BulkResult => {
      const row = byId.get(r.id);
      if (r.ok && row && r.status) {
        changed.push({
          ...row,
          status: r.status,
          accepted_until: values.kind === 'accept' ? values.until : null,
          accepted_reason: values.kind === 'accept' ? values.reason : null,
        });
      }
      return {
        id: r.id,
        hostname: row?.hostname ?? String(r.id),
        ok: r.ok,
        message: r.ok ? `${values.kind === 'accept' ? 'Accepted' : 'Resolved'}` : `${r.error ?? 'Failed'} (${r.code ?? 'unknown code'})`,
      };
    });
    // A row refused because its status changed meanwhile (someone else acted): show its status now.
    const stale = answer.results.filter((r) => !r.ok && r.code === 'HUB_ERR_VARIANCE_TRANSITION').map((r) => r.id);
    const fresh = await Promise.all(stale.map((id) => unwrap(api.GET('/api/variances/{id}', { params: { path: { id } } })).catch(() => null)));
    for (const v of fresh) if (v) changed.push(v);
    updateList(forKey, (l) => applyChanged(l, changed, forQuery));
    setBulkOutcome({ action: values.kind === 'accept' ? 'Accept' : 'Resolve', results });
    toast.show(`${values.kind === 'accept' ? 'Accept' : 'Resolve'}: ${answer.succeeded} succeeded, ${answer.failed} failed`, answer.failed > 0 ? 'error' : 'success');
  };

  /** Bulk sync: one sync per ThreatLocker computer, one after the other; a result per row. */
  const bulkSync = async (rows: readonly Variance[]) => {
    setBulkPending(true);
    setBulkOutcome(null);
    const results: BulkResult[] = [];
    try {
      const done = new Map<string, BulkResult['message'] | ApiError>();
      for (const v of rows) {
        const tl = deviceOf(v, 'threatlocker');
        if (!tl) {
          results.push({ id: v.id, hostname: v.hostname, ok: false, message: 'No ThreatLocker computer to sync' });
          continue;
        }
        let outcome = done.get(tl.device_key);
        if (outcome === undefined) {
          setRowPending(v.id, 'sync');
          try {
            outcome = await syncRow(v, false);
          } catch (err) {
            outcome = toApiError(err);
          } finally {
            setRowPending(v.id, null);
          }
          done.set(tl.device_key, outcome);
        }
        results.push(
          outcome instanceof ApiError
            ? { id: v.id, hostname: v.hostname, ok: false, message: `${outcome.message} (${outcome.code})` }
            : { id: v.id, hostname: v.hostname, ok: true, message: outcome },
        );
      }
    } finally {
      setBulkPending(false);
      setBulkOutcome({ action: 'Sync', results });
      const failed = results.filter((r) => !r.ok).length;
      toast.show(`Sync: ${results.length - failed} succeeded, ${failed} failed`, failed > 0 ? 'error' : 'success');
    }
  };

  const reportUnexpected = (err: unknown) => {
    const error = toApiError(err);
    toast.show(`${error.message} (${error.code})`, 'error');
  };

  const [search, setSearch] = useState(query.q ?? '');
  const [searchFor, setSearchFor] = useState(query.q);
  if (searchFor !== query.q) {
    // The URL changed (back/forward, a link): the box shows its search.
    setSearchFor(query.q);
    setSearch(query.q ?? '');
  }
  const submitSearch = (e: FormEvent) => {
    e.preventDefault();
    setQuery({ q: search.trim() || null });
  };

  const orgNames = useMemo(() => {
    const names = new Set<string>();
    if (organizations.status === 'ok') {
      for (const n of organizations.data.organizations.threatlocker) names.add(n);
      for (const n of organizations.data.organizations.ninja) names.add(n);
    }
    if (query.organization) names.add(query.organization);
    return [...names].sort((a, b) => a.localeCompare(b));
  }, [organizations, query.organization]);

  const rows = list?.items ?? [];
  const selectedRows = rows.filter((v) => selectedIds.has(v.id));
  const allSelected = rows.length > 0 && selectedRows.length === rows.length;
  const toggleAll = (on: boolean) => setSelection({ key, ids: new Set(on ? rows.map((v) => v.id) : []) });

  const sortHeader = (sort: SortKey) => {
    const col = SORTABLE[sort];
    if (!col) return null;
    const active = query.sort === sort;
    const nextOrder = active ? (query.order === 'asc' ? 'desc' : 'asc') : col.first;
    return (
      <th scope="col" aria-sort={active ? (query.order === 'asc' ? 'ascending' : 'descending') : 'none'}>
        <button type="button" className="sort-button" onClick={() => setQuery({ sort, order: nextOrder })}>
          {col.label}
          <span aria-hidden="true" className="sort-mark">
            {active ? (query.order === 'asc' ? ' ▲' : ' ▼') : ' ↕'}
          </span>
        </button>
      </th>
    );
  };

  return (
    <section aria-labelledby="variances-title" className="variances-page">
      <h1 id="variances-title">Variances</h1>
      <p className="muted">Where ThreatLocker and NinjaOne disagree about a device. Fix it in the tool, then sync: the row leaves the open list.</p>

      <form className="variance-filters" role="search" aria-label="Filter variances" onSubmit={submitSearch}>
        <div className="field">
          <label htmlFor={`${formId}-status`}>Status</label>
          <select id={`${formId}-status`} value={query.status} onChange={(e) => setQuery({ status: e.target.value as ListQuery['status'] })}>
            {STATUS_OPTIONS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${formId}-type`}>Type</label>
          <select id={`${formId}-type`} value={query.type ?? ''} onChange={(e) => setQuery({ type: (e.target.value || null) as ListQuery['type'] })}>
            <option value="">All types</option>
            {VARIANCE_TYPES.map((t) => (
              <option key={t} value={t}>
                {TYPE_LABELS[t]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${formId}-customer`}>Customer</label>
          <select id={`${formId}-customer`} value={query.organization ?? ''} onChange={(e) => setQuery({ organization: e.target.value || null })}>
            <option value="">All customers</option>
            {orgNames.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <div className="field search-field">
          <label htmlFor={`${formId}-q`}>Search hostname or display name</label>
          <span className="search-row">
            <input id={`${formId}-q`} type="search" value={search} maxLength={255} onChange={(e) => setSearch(e.target.value)} />
            <button type="submit">Search</button>
          </span>
        </div>
        {organizations.status === 'error' && <ErrorMessage error={organizations.error} onRetry={organizations.reload} />}
      </form>

      {query.type && (
        <p className="filter">
          Type: {TYPE_LABELS[query.type]} <code>{query.type}</code>
        </p>
      )}

      {current === null && <p aria-busy="true">Loading…</p>}
      {current && 'error' in current && <ErrorMessage error={current.error} onRetry={() => setGeneration((g) => g + 1)} />}
      {list && (
        <>
          <div className="bulk-bar" role="group" aria-label={`Bulk actions on ${selectedRows.length} selected`}>
            <span>
              {selectedRows.length === 0 ? 'Select rows for bulk actions' : `${count.format(selectedRows.length)} selected`}
            </span>
            <button type="button" disabled={selectedRows.length === 0 || bulkPending} onClick={() => {
                bulkSync(selectedRows).catch(reportUnexpected);
              }}>
              {bulkPending ? 'Syncing…' : 'Sync'}
            </button>
            <button type="button" disabled={selectedRows.length === 0 || bulkPending} onClick={() => setDialog({ kind: 'accept', rows: selectedRows })}>
              Accept
            </button>
            <button type="button" disabled={selectedRows.length === 0 || bulkPending} onClick={() => setDialog({ kind: 'resolve', rows: selectedRows })}>
              Resolve
            </button>
          </div>

          {bulkOutcome && (
            <section className="bulk-results" aria-labelledby="bulk-results-title">
              <h2 id="bulk-results-title">
                {bulkOutcome.action}: {bulkOutcome.results.filter((r) => r.ok).length} succeeded, {bulkOutcome.results.filter((r) => !r.ok).length} failed
              </h2>
              <ul>
                {bulkOutcome.results.map((r) => (
                  <li key={r.id} data-variance-id={r.id} className={r.ok ? 'result-ok' : 'result-failed'}>
                    <strong>{r.ok ? 'Succeeded' : 'Failed'}</strong> — {r.hostname} (#{r.id}): {r.message}
                  </li>
                ))}
              </ul>
              <button type="button" onClick={() => setBulkOutcome(null)}>
                Dismiss results
              </button>
            </section>
          )}

          <table ref={tableRef} tabIndex={-1} className="variance-table" aria-busy={bulkPending}>
            <caption>
              {count.format(list.total)} {list.total === 1 ? 'variance' : 'variances'}
              {list.items.length < list.total && <> — showing {count.format(list.items.length)}</>}
            </caption>
            <thead>
              <tr>
                <th scope="col">
                  <input type="checkbox" checked={allSelected} disabled={rows.length === 0} onChange={(e) => toggleAll(e.target.checked)} aria-label="Select all on this page" />
                </th>
                {sortHeader('type')}
                {sortHeader('hostname')}
                {sortHeader('organization')}
                <th scope="col">Display names</th>
                <th scope="col">Match</th>
                {sortHeader('first_seen')}
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((v) => (
                <VarianceRow
                  key={v.id}
                  variance={v}
                  today={today}
                  selected={selectedIds.has(v.id)}
                  pending={pending.get(v.id) ?? null}
                  error={rowErrors.get(v.id) ?? null}
                  onSelect={onSelect}
                  onAction={onAction}
                />
              ))}
            </tbody>
          </table>
          {rows.length === 0 && <p className="empty">No variances match these filters.</p>}
          {moreError && <ErrorMessage error={moreError} />}
          {list.nextCursor && (
            <button type="button" className="load-more" onClick={() => {
                loadMore().catch(reportUnexpected);
              }} disabled={loadingMore} aria-busy={loadingMore}>
              {loadingMore ? 'Loading…' : `Load more (${count.format(list.total - list.items.length)} more)`}
            </button>
          )}
        </>
      )}

      {dialog && (
        <ActionDialog
          kind={dialog.kind}
          subject={dialog.rows.length === 1 && dialog.rows[0] ? `${dialog.rows[0].hostname} (${typePhrase(dialog.rows[0].type)})` : `${dialog.rows.length} variances`}
          onSubmit={(values) => submitDialog(dialog.rows, values)}
          onClose={() => setDialog(null)}
        />
      )}
    </section>
  );
}
