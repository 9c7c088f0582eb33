/**
 * ThreatLocker Portal API client (vendor-apis.md §1).
 *
 * - `Authorization: <raw key>` (no "Bearer"), `ManagedOrganizationId` when configured or when
 *   acting on a computer's own organization (renames across child orgs need it).
 * - Lists come back as bare arrays; an empty body or `null` means "no rows", and an empty or
 *   short page ends paging (never an error: a fleet that is an exact multiple of the page size
 *   ends with an empty page).
 */
import type { HostnameLookup, VendorClient } from '../client.js';
import type { Logger } from 'pino';
import type { ThreatLockerConfig } from '../../config.js';
import { threatLockerBaseUrl } from '../base-url.js';
import { canonicalHostname } from '../../inventory/hostname.js';
import { VendorError, VendorHttp, type RetryPolicy } from '../http.js';
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

export interface ThreatLockerClientOptions extends ThreatLockerConfig {
  readonly logger: Logger;
  readonly retry?: RetryPolicy;
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
    });
  }

  private headers(organizationId?: string | null): Record<string, string> {
    const org = organizationId ?? this.options.organizationId;
    return { Authorization: this.options.apiKey, ...(org ? { ManagedOrganizationId: org } : {}) };
  }

  private async listPage(body: Record<string, unknown>): Promise<ThreatLockerComputer[]> {
    const res = await this.http.send({
      method: 'POST',
      path: LIST,
      json: body,
      headers: this.headers(),
      operation: 'ComputerGetByAllParameters',
    });
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
  async findById(computerId: string): Promise<ThreatLockerComputer | null> {
    const rows = await this.listPage(listBody({ computerId, pageSize: 10 }));
    const wanted = computerId.toLowerCase();
    return rows.find((r) => typeof r.computerId === 'string' && r.computerId.toLowerCase() === wanted) ?? null;
  }

  /**
   * Computers whose hostname is `hostname`: a vendor-side search on the short name (so that an
   * FQDN and a short name find each other), then an exact case-insensitive match on `hostname`,
   * and only if none matches exactly, a match on the canonical short name.
   */
  async findByHostname(hostname: string): Promise<HostnameLookup<ThreatLockerComputer>> {
    const wanted = hostname.trim();
    const canonical = canonicalHostname(wanted);
    if (canonical === '') return { devices: [], matchedBy: null };
    const candidates: ThreatLockerComputer[] = [];
    // The search is a substring match, so "PC-1" also finds "PC-10…"; page until the end.
    for (let page = 1; ; page++) {
      const rows = await this.listPage(listBody({ pageNumber: page, searchText: canonical, searchBy: 1 }));
      candidates.push(...rows);
      if (rows.length < THREATLOCKER_PAGE_SIZE) break;
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
  async *list(pageSize = THREATLOCKER_PAGE_SIZE): AsyncGenerator<ThreatLockerComputer[], void, undefined> {
    for (let page = 1; ; page++) {
      const rows = await this.listPage(listBody({ pageNumber: page, pageSize }));
      if (rows.length > 0) yield rows;
      if (rows.length < pageSize) return;
    }
  }

  /**
   * Renames a computer the way the portal does: read the edit DTO, send it back whole by PATCH
   * with the new `name` (not `computerName`), acting as the computer's own organization.
   * Returns the name it had before.
   */
  async renameComputer(computerId: string, newName: string, organizationId?: string | null): Promise<{ previousName: string | null }> {
    const headers = this.headers(organizationId);
    const current = await this.http.send({
      method: 'GET',
      path: GET_FOR_EDIT,
      query: { computerId },
      headers,
      operation: 'ComputerGetForEditById',
    });
    const dto = threatLockerComputerEditSchema.safeParse(current.body);
    if (!dto.success) {
      throw new VendorError('ThreatLocker', 'malformed', 'ThreatLocker ComputerGetForEditById did not answer an edit record', current.status, 1);
    }
    const edit: ThreatLockerComputerEdit = { ...dto.data, name: newName };
    await this.http.send({ method: 'PATCH', path: UPDATE_FOR_EDIT, json: edit, headers, operation: 'ComputerUpdateForEdit' });
    return { previousName: dto.data.name ?? null };
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
