/**
 * ThreatLocker Portal API client (vendor-apis.md §1).
 *
 * - `Authorization: <raw key>` (no "Bearer"), `ManagedOrganizationId` when configured or when
 *   acting on a computer's own organization (renames across child orgs need it).
 * - Lists come back as bare arrays; an empty body or `null` means "no rows", and an empty or
 *   short page ends paging (never an error: a fleet that is an exact multiple of the page size
 *   ends with an empty page).
 * - Paging is bounded whatever the server does: a page seen before (a server that ignores
 *   `pageNumber`), more rows than the fleet's `totalRows` (plus one page of slack for a fleet
 *   changing under us), or more than `maxPages` pages stop it with a `malformed` VendorError.
 * - Every method takes {@link CallOptions} last: the caller's signal and deadline reach each
 *   request (see vendors/http.ts).
 */
import { createHash } from 'node:crypto';
import type { HostnameLookup, VendorClient } from '../client.js';
import type { Logger } from 'pino';
import type { ThreatLockerConfig } from '../../config.js';
import { threatLockerBaseUrl } from '../base-url.js';
import { canonicalHostname } from '../../inventory/hostname.js';
import { VendorError, VendorHttp, type CallOptions, type RetryPolicy } from '../http.js';
import type { VendorCallObserver } from '../../observability/metrics.js';
import {
  threatLockerComputerEditSchema,
  threatLockerComputerListSchema,
  type ThreatLockerComputer,
  type ThreatLockerComputerEdit,
} from './schema.js';

const LIST = '/Computer/ComputerGetByAllParameters';
const GET_FOR_EDIT = '/Computer/ComputerGetForEditById';
const UPDATE_FOR_EDIT = '/Computer/ComputerUpdateForEdit';
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

/** Page size for full listings; 500 is what production clients use without complaint. */
export const THREATLOCKER_PAGE_SIZE = 500;

/** Pages one listing may take at most: 1,000 pages of 500 is five times the largest fleet seen. */
export const THREATLOCKER_MAX_PAGES = 1_000;

/**
 * Requests one hostname lookup may take: the search is a substring match (there is no exact
 * one), so a short name can match much of the fleet. Two pages of 500 candidates cover any real
 * name; a name matching more is refused rather than paged through.
 */
export const HOSTNAME_LOOKUP_MAX_REQUESTS = 2;

export interface ThreatLockerClientOptions extends ThreatLockerConfig {
  readonly logger: Logger;
  readonly retry?: RetryPolicy;
  /** Metrics of every HTTP attempt (src/observability/metrics.ts). */
  readonly observer?: VendorCallObserver | undefined;
  /** Hard bound on the pages of one listing (default {@link THREATLOCKER_MAX_PAGES}). */
  readonly maxPages?: number;
}

/**
 * Stops paging that would not end by itself: the same page twice, more rows than the fleet has,
 * or too many pages. One guard per listing.
 */
class PageGuard {
  private readonly seen = new Set<string>();
  private rows = 0;
  private total = 0;
  private pages = 0;

  constructor(
    private readonly what: string,
    private readonly pageSize: number,
    private readonly maxPages: number,
  ) {}

  check(page: readonly ThreatLockerComputer[]): void {
    this.pages++;
    if (this.pages > this.maxPages) this.fail(`went past ${this.maxPages} pages`);
    if (page.length === 0) return;
    // A page is identified by its computers in order; a server ignoring pageNumber repeats one.
    const fingerprint = createHash('sha1')
      .update(page.map((r) => String(r.computerId)).join(','))
      .digest('base64');
    if (this.seen.has(fingerprint)) this.fail(`answered page ${this.pages} with a page it had already sent (is pageNumber ignored?)`);
    this.seen.add(fingerprint);
    this.rows += page.length;
    for (const r of page) if (typeof r.totalRows === 'number' && r.totalRows > this.total) this.total = r.totalRows;
    // One page of slack: renames move rows across pages while we read (see the collector).
    if (this.total > 0 && this.rows > this.total + this.pageSize) {
      this.fail(`sent ${this.rows} rows for a fleet of ${this.total} (totalRows)`);
    }
  }

  private fail(why: string): never {
    throw new VendorError('ThreatLocker', 'malformed', `ThreatLocker ComputerGetByAllParameters ${why} while ${this.what}; paging stopped`, 200, 1);
  }
}

export type { HostnameMatch } from '../client.js';

/** The list DTO of vendor-apis.md §1.3 with every filter neutral. */
function listBody(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    pageNumber: 1,
    pageSize: THREATLOCKER_PAGE_SIZE,
    searchText: '',
    orderBy: 'computername',
    isAscending: true,
    childOrganizations: true,
    action: '',
    kindOfAction: '',
    computerGroup: ZERO_GUID,
    computerId: ZERO_GUID,
    showLastCheckIn: true,
    showDeleted: false,
    threatlockerVersion: 'All',
    isExport: false,
    ...overrides,
  };
}

export class ThreatLockerClient implements VendorClient<ThreatLockerComputer, string> {
  private readonly http: VendorHttp;

  constructor(private readonly options: ThreatLockerClientOptions) {
    this.http = new VendorHttp({
      vendor: 'ThreatLocker',
      baseUrl: threatLockerBaseUrl(options.baseUrl),
      timeoutMs: options.timeoutMs,
      logger: options.logger,
      retry: options.retry,
      secrets: () => [options.apiKey],
      observer: options.observer,
    });
  }

  private headers(organizationId?: string | null): Record<string, string> {
    const org = organizationId ?? this.options.organizationId;
    return { Authorization: this.options.apiKey, ...(org ? { ManagedOrganizationId: org } : {}) };
  }

  private async listPage(body: Record<string, unknown>, options: CallOptions | undefined): Promise<ThreatLockerComputer[]> {
    const res = await this.http.send(
      {
        method: 'POST',
        path: LIST,
        json: body,
        headers: this.headers(),
        operation: 'ComputerGetByAllParameters',
      },
      options,
    );
    const parsed = threatLockerComputerListSchema.safeParse(res.body);
    if (!parsed.success) {
      throw new VendorError('ThreatLocker', 'malformed', 'ThreatLocker ComputerGetByAllParameters did not answer a list of computers', res.status, 1);
    }
    return parsed.data ?? [];
  }

  /**
   * One computer by id, across the managed organization and all its children: a single
   * filtered list call. Returns `null` when no row with that id comes back (deleted computers
   * are not returned). The returned row's id is checked, so a server that ignores the filter
   * cannot make us adopt the wrong device.
   */
  async findById(computerId: string, options?: CallOptions): Promise<ThreatLockerComputer | null> {
    const rows = await this.listPage(listBody({ computerId, pageSize: 10 }), options);
    const wanted = computerId.toLowerCase();
    return rows.find((r) => typeof r.computerId === 'string' && r.computerId.toLowerCase() === wanted) ?? null;
  }

  /**
   * Computers whose hostname is `hostname`: a vendor-side search on the short name (so that an
   * FQDN and a short name find each other), then an exact case-insensitive match on `hostname`,
   * and only if none matches exactly, a match on the canonical short name.
   *
   * At most {@link HOSTNAME_LOOKUP_MAX_REQUESTS} requests: the search is a substring match, so
   * "PC-1" also finds "PC-10…"; a name whose search finds more computers than two pages hold
   * fails with a `too_broad` VendorError (HUB_ERR_HOSTNAME_TOO_BROAD) instead of paging through
   * the fleet — a partial candidate list could miss the exact match or a duplicate.
   */
  async findByHostname(hostname: string, options?: CallOptions): Promise<HostnameLookup<ThreatLockerComputer>> {
    const wanted = hostname.trim();
    const canonical = canonicalHostname(wanted);
    if (canonical === '') return { devices: [], matchedBy: null };
    const pageSize = THREATLOCKER_PAGE_SIZE;
    const guard = new PageGuard(`searching for hostname "${canonical}"`, pageSize, HOSTNAME_LOOKUP_MAX_REQUESTS);
    const candidates: ThreatLockerComputer[] = [];
    const tooBroad = (found: number | string, requests: number) =>
      new VendorError(
        'ThreatLocker',
        'too_broad',
        `hostname "${canonical}" matches ${found} ThreatLocker computers, more than one lookup reads (${HOSTNAME_LOOKUP_MAX_REQUESTS * pageSize}); give computer_id or the full hostname`,
        undefined,
        requests,
      );
    for (let page = 1; ; page++) {
      const rows = await this.listPage(listBody({ pageNumber: page, pageSize, searchText: canonical, searchBy: 1 }), options);
      guard.check(rows);
      candidates.push(...rows);
      if (rows.length < pageSize) break;
      // Every row repeats the match count: when it already says two pages cannot hold it, stop.
      const total = rows[0]?.totalRows;
      if (typeof total === 'number' && total <= candidates.length) break;
      if (page >= HOSTNAME_LOOKUP_MAX_REQUESTS || (typeof total === 'number' && total > HOSTNAME_LOOKUP_MAX_REQUESTS * pageSize)) {
        throw tooBroad(typeof total === 'number' ? total : `more than ${candidates.length}`, page);
      }
    }
    const exact = candidates.filter((r) => typeof r.hostname === 'string' && r.hostname.trim().toLowerCase() === wanted.toLowerCase());
    if (exact.length > 0) return { devices: exact, matchedBy: 'hostname' };
    const byCanonical = candidates.filter((r) => typeof r.hostname === 'string' && canonicalHostname(r.hostname) === canonical);
    return { devices: byCanonical, matchedBy: byCanonical.length > 0 ? 'canonical_hostname' : null };
  }

  /**
   * Every computer of the managed organization and its children, page by page, in a stable
   * order (by computer name; the collector de-duplicates by computerId in case a rename moves
   * a row between pages).
   */
  async *list(pageSize = THREATLOCKER_PAGE_SIZE, options?: CallOptions): AsyncGenerator<ThreatLockerComputer[], void, undefined> {
    const guard = new PageGuard('listing the fleet', pageSize, this.options.maxPages ?? THREATLOCKER_MAX_PAGES);
    for (let page = 1; ; page++) {
      const rows = await this.listPage(listBody({ pageNumber: page, pageSize }), options);
      guard.check(rows);
      if (rows.length > 0) yield rows;
      if (rows.length < pageSize) return;
    }
  }

  /**
   * Renames a computer the way the portal does: read the edit DTO, send it back whole by PATCH
   * with the new `name` (not `computerName`), acting as the computer's own organization.
   * Returns the name it had before.
   */
  async renameComputer(
    computerId: string,
    newName: string,
    organizationId?: string | null,
    options?: CallOptions,
  ): Promise<{ previousName: string | null }> {
    const headers = this.headers(organizationId);
    const current = await this.http.send(
      {
        method: 'GET',
        path: GET_FOR_EDIT,
        query: { computerId },
        headers,
        operation: 'ComputerGetForEditById',
      },
      options,
    );
    const dto = threatLockerComputerEditSchema.safeParse(current.body);
    if (!dto.success) {
      throw new VendorError('ThreatLocker', 'malformed', 'ThreatLocker ComputerGetForEditById did not answer an edit record', current.status, 1);
    }
    const edit: ThreatLockerComputerEdit = { ...dto.data, name: newName };
    await this.http.send({ method: 'PATCH', path: UPDATE_FOR_EDIT, json: edit, headers, operation: 'ComputerUpdateForEdit' }, options);
    return { previousName: dto.data.name ?? null };
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
