/**
 * A fake ThreatLocker Portal API (vendor-apis.md §1, checklist §3.1) for tests, benchmarks and
 * demo mode: real HTTP on a local port, deterministic data, scripted faults, a request log, and
 * an admin API (in-process and under `/__admin`) to change the data between calls.
 *
 * Portal routes go through one dispatcher instead of Fastify's router because the real
 * (ASP.NET) server matches paths case-insensitively and answers 405 for a known path with the
 * wrong verb, and because faults and the request log must see every call, even rejected ones.
 */
import { STATUS_CODES } from 'node:http';
import { randomUUID } from 'node:crypto';
import { fastify, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CATALOGUE_NOW } from '../catalogue.js';
import { adminJsonObject, answer, Delays, loggedHeaders } from '../http.js';
import { isGuid } from '../../ids.js';
import { applyFault, FaultPlan, faultSchema, type FakeFault } from '../faults.js';
import { createRng } from '../rng.js';
import { baseComputer, generateThreatLockerFleet, ZERO_GUID, type FakeComputer, type FakeOrganization } from './data.js';

export type ThreatLockerOperation =
  | 'ComputerGetByAllParameters'
  | 'ComputerGetForEditById'
  | 'ComputerUpdateForEdit'
  | 'OrganizationGetChildOrganizationsByParameters'
  | 'OrganizationGetForMoveComputers'
  | 'OrganizationGetListForNav';

export type { FakeFault };

export interface FakeRequestLogEntry {
  method: string;
  path: string;
  /** Null for a path the portal does not serve. */
  operation: ThreatLockerOperation | null;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Null when the connection was reset instead of answered. */
  status: number | null;
  /** True when the connection closed before an answer was written: the client gave up (a cancel or a timeout), or a `reset` fault. */
  closedBeforeAnswer: boolean;
  at: string;
}

/**
 * How `ComputerGetByAllParameters` pages: `normal`; `ignore-page-number` (every request gets
 * page 1, as a server that ignores the field would); `endless` (pages past the end are full of
 * made-up computers, so paging never ends by itself). The last two test a client's bounds.
 */
export type FakePagingMode = 'normal' | 'ignore-page-number' | 'endless';

export interface FakeThreatLockerOptions {
  port?: number;
  host?: string;
  seed?: number;
  /** Generated computers (default 700); ignored when `computers` is given. */
  fleetSize?: number;
  /** Explicit rows instead of generated ones; missing keys get defaults, explicit nulls stay. */
  computers?: Partial<FakeComputer>[];
  /**
   * Add the catalogue's labelled pitfall cases (default false); ordinary machines are then
   * consistent with the NinjaOne fake's (catalogue.ts). Ignored when `computers` is given.
   */
  pitfalls?: boolean;
  /** The instant the data is "as of": generated times and added rows (default: the catalogue's fixed date). */
  asOf?: Date;
  /** Default: 64 lowercase hex characters derived from the seed. */
  apiKey?: string;
  /** Default true: a PATCH without `name` is a 400, so a client sending `computerName` fails loudly. */
  strictRename?: boolean;
  /** Default `normal`; see {@link FakePagingMode}. */
  paging?: FakePagingMode;
}

export interface FakeThreatLockerAdmin {
  /** Back to the initial data; faults and the request log are cleared. */
  reset(): void;
  list(): FakeComputer[];
  get(computerId: string): FakeComputer | undefined;
  /** Fills defaults (a new computerId, the root organization…) and returns the stored row. */
  add(row?: Partial<FakeComputer>): FakeComputer;
  rename(computerId: string, computerName: string | null): FakeComputer | undefined;
  /** Merges `patch` into the row; the computerId never changes. */
  update(computerId: string, patch: Partial<FakeComputer>): FakeComputer | undefined;
  remove(computerId: string): boolean;
  markDeleted(computerId: string): FakeComputer | undefined;
  injectFault(fault: FakeFault): void;
  clearFaults(): void;
  /** Until the next reset (which restores the option's mode). */
  setPaging(mode: FakePagingMode): void;
  requests(): FakeRequestLogEntry[];
  requestCount(operation?: ThreatLockerOperation): number;
  clearRequests(): void;
}

export interface FakeThreatLocker {
  /** `http://host:port`, without `/portalapi`. */
  readonly url: string;
  /** `url` + `/portalapi`. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly rootOrganizationId: string;
  readonly admin: FakeThreatLockerAdmin;
  close(): Promise<void>;
}

/** An answer in the portal's PascalCase error style. */
class PortalError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const MODES = new Set(['secure', 'installation', 'learning', 'monitoronly']);
const PRODUCT_ID = '6f1d2c3b-4a59-4e87-9b10-2c3d4e5f6a7b';
/** Demo mode runs for days: the request log keeps only the most recent calls. */
const MAX_LOG = 10_000;

const errorBody = (status: number, message: string) => ({ LoggerId: randomUUID(), StatusCode: status, Message: message });

// ---------------------------------------------------------------------------------------------
// Organisations and computers

class OrgTree {
  readonly root: FakeOrganization;
  private readonly byId = new Map<string, FakeOrganization>();
  private readonly children = new Map<string, FakeOrganization[]>();
  private readonly subtrees = new Map<string, ReadonlySet<string>>();

  constructor(readonly all: readonly FakeOrganization[]) {
    this.root = all.find((o) => o.parentId === null) as FakeOrganization;
    for (const org of all) {
      this.byId.set(org.organizationId.toLowerCase(), org);
      if (org.parentId !== null) this.children.set(org.parentId, [...(this.children.get(org.parentId) ?? []), org]);
    }
  }

  find(organizationId: string): FakeOrganization | undefined {
    return this.byId.get(organizationId.trim().toLowerCase());
  }

  childrenOf(org: FakeOrganization): FakeOrganization[] {
    return this.children.get(org.organizationId) ?? [];
  }

  descendantsOf(org: FakeOrganization): FakeOrganization[] {
    return this.childrenOf(org).flatMap((child) => [child, ...this.descendantsOf(child)]);
  }

  /** Ids of `org` and everything under it (the tree never changes, so this is cached). */
  subtree(org: FakeOrganization): ReadonlySet<string> {
    let ids = this.subtrees.get(org.organizationId);
    if (!ids) {
      ids = new Set([org, ...this.descendantsOf(org)].map((o) => o.organizationId));
      this.subtrees.set(org.organizationId, ids);
    }
    return ids;
  }

  /** Rows naming no known organization count as the root's, so deliberately broken rows stay listable. */
  owner(row: FakeComputer): FakeOrganization {
    return (row.organizationId !== null && this.find(row.organizationId)) || this.root;
  }
}

interface Entry {
  readonly row: FakeComputer;
  /** Lower-cased computerId, null for a broken row without one. */
  readonly id: string | null;
  readonly orgId: string;
  /** Lower-cased text each `searchBy` value searches, computed once per change of the row. */
  readonly searchable: readonly string[];
}

type SortKey = (row: FakeComputer) => string;
const text = (v: string | null): string => (v ?? '').toLowerCase();
/** Dates normalised to one fixed-width form, so that string order is time order. */
const instant = (v: string | null): string => {
  const ms = v === null ? NaN : Date.parse(v);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
};
const SORT_KEYS: Record<string, SortKey> = {
  computername: (r) => text(r.computerName),
  group: (r) => text(r.group),
  action: (r) => text(r.action),
  lastcheckin: (r) => instant(r.lastCheckin),
  computerinstalldate: (r) => instant(r.installDate),
  deniedcountthreedays: (r) => String(r.denyCountThreeDays).padStart(12, '0'),
  threatlockerversion: (r) => text(r.threatLockerVersion),
};
/** Fields searched for `searchBy` 1 (computer name, either name), 2, 3, 4 and 5. */
const SEARCH_FIELDS: readonly (readonly (keyof FakeComputer)[])[] = [
  ['computerName', 'hostname'],
  ['username'],
  ['group'],
  ['lastCheckinIPAddress'],
  ['organization'],
];
const searchableText = (row: FakeComputer): string[] =>
  SEARCH_FIELDS.map((fields) => fields.map((f) => (typeof row[f] === 'string' ? row[f].toLowerCase() : '')).join('\u0000'));

/**
 * Sorts by one key, then by computerId: many rows share a group or action, and without a total
 * order two requests for consecutive pages could disagree about which row comes where.
 */
function sortEntries(entries: readonly Entry[], orderBy: string, ascending: boolean): Entry[] {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the rule ignores that the assertion types the `??` result
  const key = SORT_KEYS[orderBy.toLowerCase()] ?? (SORT_KEYS.computername as SortKey);
  const dir = ascending ? 1 : -1;
  return entries
    .map((e) => ({ e, k: key(e.row), id: e.id ?? '' }))
    .sort((a, b) => (a.k < b.k ? -dir : a.k > b.k ? dir : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((x) => x.e);
}

/** The fleet, indexed by id, with sorted and filtered orders cached until the next change. */
class ComputerStore {
  private entries: Entry[] = [];
  private readonly byId = new Map<string, Entry>();
  private readonly cache = new Map<string, readonly Entry[]>();

  constructor(private readonly orgs: OrgTree) {}

  load(rows: readonly FakeComputer[]): void {
    this.entries = [];
    this.byId.clear();
    this.cache.clear();
    for (const row of rows) this.put(row);
  }

  all(): readonly Entry[] {
    return this.entries;
  }

  get(computerId: string): Entry | undefined {
    return this.byId.get(computerId.trim().toLowerCase());
  }

  /** A result that depends only on the fleet, kept until the next change. */
  memo(key: string, compute: () => readonly Entry[]): readonly Entry[] {
    let value = this.cache.get(key);
    if (!value) {
      if (this.cache.size >= 64) this.cache.clear(); // keys come from client input: stay bounded
      this.cache.set(key, (value = compute()));
    }
    return value;
  }

  sortedBy(orderBy: string, ascending: boolean): readonly Entry[] {
    return this.memo(`sort|${orderBy.toLowerCase()}|${ascending}`, () => sortEntries(this.entries, orderBy, ascending));
  }

  /** Inserts the row, or replaces the row with the same computerId. */
  put(source: FakeComputer): FakeComputer {
    const row = { ...source };
    const entry: Entry = { row, id: row.computerId?.toLowerCase() ?? null, orgId: this.orgs.owner(row).organizationId, searchable: searchableText(row) };
    const previous = entry.id === null ? undefined : this.byId.get(entry.id);
    if (previous) this.entries[this.entries.indexOf(previous)] = entry;
    else this.entries.push(entry);
    if (entry.id !== null) this.byId.set(entry.id, entry);
    this.cache.clear();
    return row;
  }

  remove(computerId: string): boolean {
    const entry = this.get(computerId);
    if (!entry) return false;
    this.entries = this.entries.filter((e) => e !== entry);
    this.byId.delete(entry.id as string);
    this.cache.clear();
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Faults and delays


const GATEWAY_PAGE = (status: number): string =>
  `<html>\r\n<head><title>${status} ${STATUS_CODES[status]}</title></head>\r\n<body>\r\n<center><h1>${status} ${STATUS_CODES[status]}</h1></center>\r\n</body>\r\n</html>\r\n`;

/** The body a `status` fault sends when the test gives none: what the portal or its gateway sends. */
function defaultFaultBody(status: number): unknown {
  if (status === 502 || status === 503 || status === 504) return GATEWAY_PAGE(status);
  if (status === 417) return { Message: 'Invalid Computer Name' };
  if (status === 500) return errorBody(500, `A problem occurred with the request (${randomUUID()})`);
  return errorBody(status, STATUS_CODES[status] ?? 'Error');
}

// ---------------------------------------------------------------------------------------------
// Request reading

type Json = Record<string, unknown>;
interface Call {
  readonly body: unknown;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly org: FakeOrganization;
}
interface Answer {
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

function jsonObject(call: Call): Json {
  const body = call.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PortalError(400, 'The request body must be a JSON object.');
  return body as Json;
}

const TYPE_NAMES = { number: 'System.Int32', string: 'System.String', boolean: 'System.Boolean' } as const;
type FieldTypes = { number: number; string: string; boolean: boolean };

/** A DTO field with its default; a value of the wrong type is a 400, as ASP.NET model binding does. */
function field<K extends keyof FieldTypes>(dto: Json, key: string, type: K, fallback: FieldTypes[K]): FieldTypes[K] {
  const value = dto[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== type || (type === 'number' && !Number.isInteger(value))) {
    throw new PortalError(400, `The JSON value could not be converted to ${TYPE_NAMES[type]}. Path: $.${key}`);
  }
  return value as FieldTypes[K];
}

/** A GUID filter: '', null and the zero GUID mean "no filter". */
function guidFilter(value: unknown, key: string): string | null {
  if (value === undefined || value === null || value === '' || value === ZERO_GUID) return null;
  if (typeof value !== 'string' || !isGuid(value.trim())) throw new PortalError(400, `The value '${typeof value === 'string' ? value : JSON.stringify(value)}' is not a valid GUID. Path: $.${key}`);
  return value.trim().toLowerCase();
}

/** Page `items` and add both header styles: clients disagree on which one the portal sends (§1.3). */
function paged<T>(items: readonly T[], pageNumber: number, pageSize: number): { page: T[]; headers: Record<string, string> } {
  const page = items.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  const totalItems = items.length;
  const totalPages = Math.ceil(totalItems / pageSize);
  const firstItem = page.length === 0 ? 0 : (pageNumber - 1) * pageSize + 1;
  const lastItem = page.length === 0 ? 0 : firstItem + page.length - 1;
  const pagination = { currentPage: pageNumber, itemsPerPage: pageSize, totalItems, totalPages, firstItem, lastItem };
  return {
    page,
    headers: {
      pagination: JSON.stringify(pagination),
      ...Object.fromEntries(['totalItems', 'totalPages', 'firstItem', 'lastItem'].map((k) => [k, String(pagination[k as keyof typeof pagination])])),
    },
  };
}

function pageArgs(dto: Json): [number, number] {
  return [Math.max(1, field(dto, 'pageNumber', 'number', 1)), Math.max(1, field(dto, 'pageSize', 'number', 25))];
}

// ---------------------------------------------------------------------------------------------
// The server

export async function startFakeThreatLocker(opts: FakeThreatLockerOptions = {}): Promise<FakeThreatLocker> {
  const { port = 0, host = '127.0.0.1', seed = 1, fleetSize = 700, strictRename = true } = opts;
  let paging: FakePagingMode = opts.paging ?? 'normal';
  const apiKey = opts.apiKey ?? createRng(seed ^ 0x6b6579).hex(64);
  const fleet = generateThreatLockerFleet({ seed, size: opts.computers ? 0 : fleetSize, now: opts.asOf, pitfalls: opts.pitfalls === true && !opts.computers });
  const orgs = new OrgTree(fleet.organizations);
  const store = new ComputerStore(orgs);
  const faults = new FaultPlan();
  const delays = new Delays();
  const { wait } = delays;
  let log: FakeRequestLogEntry[] = [];
  let addRng = createRng(seed ^ 0xadd);

  const addComputer = (partial: Partial<FakeComputer> = {}): FakeComputer => {
    const computerId = partial.computerId !== undefined ? partial.computerId : addRng.guid();
    if (computerId !== null && store.get(computerId)) throw new PortalError(409, `Computer ${computerId} already exists.`);
    const org = (partial.organizationId && orgs.find(partial.organizationId)) || orgs.root;
    const hostname = partial.hostname !== undefined ? partial.hostname : `ADDED-${addRng.alnum(6)}`;
    return store.put({ ...baseComputer(org, computerId, hostname, (opts.asOf ?? CATALOGUE_NOW).getTime()), ...partial, computerId, hostname });
  };
  const changeComputer = (computerId: string, patch: Partial<FakeComputer>): FakeComputer | undefined => {
    const entry = store.get(computerId);
    return entry && { ...store.put({ ...entry.row, ...patch, computerId: entry.row.computerId }) };
  };

  const admin: FakeThreatLockerAdmin = {
    reset() {
      addRng = createRng(seed ^ 0xadd);
      store.load(opts.computers ? [] : fleet.computers);
      opts.computers?.forEach((row) => addComputer(row));
      faults.clear();
      paging = opts.paging ?? 'normal';
      log = [];
    },
    list: () => store.all().map((e) => ({ ...e.row })),
    get: (computerId) => {
      const row = store.get(computerId)?.row;
      return row && { ...row };
    },
    add: (row) => ({ ...addComputer(row) }),
    rename: (computerId, computerName) => changeComputer(computerId, { computerName }),
    update: changeComputer,
    remove: (computerId) => store.remove(computerId),
    markDeleted: (computerId) => changeComputer(computerId, { isDeleted: true }),
    injectFault: (fault) => faults.inject(fault),
    clearFaults: () => faults.clear(),
    setPaging: (mode) => {
      paging = mode;
    },
    requests: () => log.map((e) => ({ ...e })),
    requestCount: (operation) => log.filter((e) => operation === undefined || e.operation === operation).length,
    clearRequests: () => {
      log = [];
    },
  };
  admin.reset();

  // --- portal operations -------------------------------------------------------------------

  const findInScope = (computerId: string, org: FakeOrganization): Entry => {
    const entry = store.get(computerId);
    if (!entry) throw new PortalError(404, 'Computer not found.');
    if (!orgs.subtree(org).has(entry.orgId)) throw new PortalError(403, 'You do not have permission to access this computer.');
    return entry;
  };
  const editDto = (row: FakeComputer) => ({
    computerId: row.computerId,
    computerGroupId: row.computerGroupId ?? ZERO_GUID,
    name: row.computerName ?? row.hostname,
    useProxyServer: false,
    proxyServerOption: '',
    proxyUrlEntry: '',
    proxyURL: '',
    options: [],
  });

  const listComputers = (call: Call): Answer => {
    const dto = jsonObject(call);
    const [askedPage, pageSize] = pageArgs(dto);
    const pageNumber = paging === 'ignore-page-number' ? 1 : askedPage;
    const search = field(dto, 'searchText', 'string', '').trim().toLowerCase();
    const searchBy = field(dto, 'searchBy', 'number', 1);
    const searchIndex = searchBy >= 1 && searchBy <= SEARCH_FIELDS.length ? searchBy - 1 : 0;
    const orderBy = field(dto, 'orderBy', 'string', '') || 'computername';
    const ascending = field(dto, 'isAscending', 'boolean', true);
    const showDeleted = field(dto, 'showDeleted', 'boolean', false);
    const childOrganizations = field(dto, 'childOrganizations', 'boolean', false);
    const scope = childOrganizations ? orgs.subtree(call.org) : new Set([call.org.organizationId]);
    // Only computer modes are modelled; update-channel values of `action` filter nothing.
    const action = field(dto, 'action', 'string', '').toLowerCase();
    const mode = MODES.has(action) ? action : null;
    const group = guidFilter(dto.computerGroup, 'computerGroup');
    const computerId = guidFilter(dto.computerId, 'computerId');
    const keep = ({ row, orgId, searchable }: Entry): boolean =>
      scope.has(orgId) &&
      (showDeleted || !row.isDeleted) &&
      (mode === null || text(row.action) === mode) &&
      (group === null || text(row.computerGroupId) === group) &&
      (search === '' || (searchable[searchIndex] as string).includes(search));
    let matches: readonly Entry[];
    if (computerId !== null) {
      const entry = store.get(computerId);
      matches = entry && keep(entry) ? [entry] : [];
    } else if (search !== '') {
      matches = sortEntries(store.all().filter(keep), orderBy, ascending); // few matches: sort only them
    } else {
      // Walking a fleet asks for the same filtered order page after page: computing it once per
      // change keeps each page cheap even with 50,000 computers.
      const key = JSON.stringify([orderBy.toLowerCase(), ascending, call.org.organizationId, childOrganizations, showDeleted, mode, group]);
      matches = store.memo(key, () => store.sortedBy(orderBy, ascending).filter(keep));
    }
    const { page, headers } = paged(matches, pageNumber, pageSize);
    const rows = page.map((e) => ({ ...e.row, totalRows: matches.length }));
    if (paging === 'endless' && rows.length < pageSize) {
      // Made-up computers, different on every page, so only a bound in the client ends paging.
      const filler = createRng(seed ^ pageNumber);
      for (let i = rows.length; i < pageSize; i++) {
        rows.push({ ...baseComputer(orgs.root, filler.guid(), `ENDLESS-${pageNumber}-${i}`, (opts.asOf ?? CATALOGUE_NOW).getTime()), totalRows: matches.length });
      }
    }
    return { body: rows, headers };
  };

  const getForEdit = (call: Call): Answer => {
    const computerId = call.query.computerid;
    if (!computerId || !isGuid(computerId.trim())) throw new PortalError(400, `The value '${computerId ?? ''}' is not a valid computerId.`);
    return { body: editDto(findInScope(computerId, call.org).row) };
  };

  const updateForEdit = (call: Call): Answer => {
    const dto = jsonObject(call);
    const computerId = guidFilter(dto.computerId, 'computerId');
    if (computerId === null) throw new PortalError(400, 'Missing Parameters. computerId is required.');
    const name = dto.name;
    if (typeof name !== 'string' && strictRename) throw new PortalError(400, 'Missing Parameters. name is required.');
    const entry = findInScope(computerId, call.org);
    if (typeof name !== 'string') return { body: editDto(entry.row) };
    if (name.trim() === '') throw new PortalError(417, 'Invalid Computer Name');
    return { body: editDto(store.put({ ...entry.row, computerName: name })) };
  };

  const organizationRow = (org: FakeOrganization) => {
    const rows = store.all().filter((e) => e.orgId === org.organizationId && !e.row.isDeleted).map((e) => e.row);
    const sum = (pick: (r: FakeComputer) => number) => rows.reduce((total, r) => total + pick(r), 0);
    return {
      organizationId: org.organizationId,
      name: org.name,
      displayName: org.displayName,
      computerCount: rows.length,
      activeCount: rows.filter((r) => r.hasAtLeastOneCheckin).length,
      dateAdded: org.dateAdded,
      billingJson: '{"billingMethod":"Per Computer"}',
      json: '{}',
      businessClassification: 1,
      businessClassificationName: 'Business',
      itarCompliant: false,
      lockdown: 0,
      computerDenyCountDtos: [
        { oneDay: sum((r) => r.denyCountOneDay), threeDays: sum((r) => r.denyCountThreeDays), sevenDays: sum((r) => r.denyCountSevenDays), organizationId: org.organizationId },
      ],
      products: [
        { name: 'Protect', displayName: 'ThreatLocker Protect', organizationId: org.organizationId, productId: PRODUCT_ID, isThreatLockerProtect: true, isThreatLockerUnified: false, productTrialId: null, disablingProduct: false, isOverage: false },
      ],
    };
  };
  const orgMatches = (org: FakeOrganization, search: string): boolean =>
    search === '' || org.name.toLowerCase().includes(search) || org.displayName.toLowerCase().includes(search);

  const listChildOrganizations = (call: Call): Answer => {
    const dto = jsonObject(call);
    const [pageNumber, pageSize] = pageArgs(dto);
    const search = field(dto, 'searchText', 'string', '').trim().toLowerCase();
    const wholeSubtree = field(dto, 'includeAllChildren', 'boolean', false) || field(dto, 'childOrganizations', 'boolean', false);
    const byDate = field(dto, 'orderBy', 'string', 'name').toLowerCase() === 'dateadded';
    const dir = field(dto, 'isAscending', 'boolean', true) ? 1 : -1;
    const found = (wholeSubtree ? orgs.descendantsOf(call.org) : orgs.childrenOf(call.org))
      .filter((o) => orgMatches(o, search))
      .sort((a, b) => dir * (byDate ? a.dateAdded.localeCompare(b.dateAdded) : a.name.localeCompare(b.name)));
    const { page, headers } = paged(found, pageNumber, pageSize);
    return { body: page.map(organizationRow), headers };
  };

  const listForMoveComputers = (call: Call): Answer => {
    const search = (call.query.searchtext ?? '').trim().toLowerCase();
    const found = [call.org, ...orgs.descendantsOf(call.org)].filter((o) => orgMatches(o, search));
    return { body: found.map((o) => ({ label: o.displayName, value: o.organizationId })).sort((a, b) => a.label.localeCompare(b.label)) };
  };

  const listForNav = (call: Call): Answer => {
    const search = (call.query.search ?? '').trim().toLowerCase();
    type NavNode = { organizationId: string; name: string; parentId: string; organizationHierarchyDtos: NavNode[] };
    // Keeps a node when it matches or when one of its descendants does, so the path stays visible.
    const node = (org: FakeOrganization): NavNode | null => {
      const children = orgs.childrenOf(org).flatMap((c) => node(c) ?? []);
      if (!orgMatches(org, search) && children.length === 0) return null;
      return { organizationId: org.organizationId, name: org.displayName, parentId: org.parentId ?? '', organizationHierarchyDtos: children };
    };
    return { body: [node(call.org) ?? []].flat() };
  };

  const ROUTES = new Map<string, { method: string; operation: ThreatLockerOperation; handle: (call: Call) => Answer }>([
    ['computer/computergetbyallparameters', { method: 'POST', operation: 'ComputerGetByAllParameters', handle: listComputers }],
    ['computer/computergetforeditbyid', { method: 'GET', operation: 'ComputerGetForEditById', handle: getForEdit }],
    ['computer/computerupdateforedit', { method: 'PATCH', operation: 'ComputerUpdateForEdit', handle: updateForEdit }],
    ['organization/organizationgetchildorganizationsbyparameters', { method: 'POST', operation: 'OrganizationGetChildOrganizationsByParameters', handle: listChildOrganizations }],
    ['organization/organizationgetformovecomputers', { method: 'GET', operation: 'OrganizationGetForMoveComputers', handle: listForMoveComputers }],
    ['organization/organizationgetlistfornav', { method: 'GET', operation: 'OrganizationGetListForNav', handle: listForNav }],
  ]);

  const header = (request: FastifyRequest, name: string): string => String(request.headers[name] ?? '').trim();

  const authenticate = (request: FastifyRequest): FakeOrganization => {
    const key = header(request, 'authorization');
    if (key !== apiKey) {
      // The portal's message repeats what was sent, as careless servers do: a client must mask
      // the key before it keeps any of an error's text.
      if (key === '') throw new PortalError(401, 'Authorization has been denied for this request.');
      throw new PortalError(
        401,
        /^bearer /i.test(key)
          ? `Authorization has been denied: the API key is sent raw, without "Bearer" (got "${key}").`
          : `Authorization has been denied for this request: API key ${key} is not valid.`,
      );
    }
    const wanted = [header(request, 'overridemanagedorganizationid'), header(request, 'managedorganizationid')].find((v) => v !== '' && v !== ZERO_GUID);
    if (wanted === undefined) return orgs.root;
    const org = orgs.find(wanted);
    if (!org) throw new PortalError(403, 'You do not have permission to access this organization.');
    return org;
  };

  const handlePortal = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const [rawPath = '', rawQuery = ''] = request.url.split('?', 2);
    const route = ROUTES.get(/^\/portalapi\/(.+?)\/?$/i.exec(rawPath)?.[1]?.toLowerCase() ?? '');
    const raw = typeof request.body === 'string' ? request.body : '';
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw; // jsonObject() rejects it; the log keeps what was sent
    }
    const entry: FakeRequestLogEntry = {
      method: request.method,
      path: rawPath,
      operation: route?.operation ?? null,
      headers: loggedHeaders(request.headers),
      body: body ?? null,
      status: null,
      closedBeforeAnswer: false,
      at: new Date().toISOString(),
    };
    log.push(entry);
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) entry.closedBeforeAnswer = true;
    });
    if (log.length > MAX_LOG) log.shift();
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): FastifyReply =>
      answer(reply, entry, status, payload, headers);
    try {
      if (!route) throw new PortalError(404, `No endpoint matches ${rawPath}.`);
      if (request.method !== route.method) {
        reply.header('allow', route.method);
        throw new PortalError(405, `The requested resource does not support http method '${request.method}'.`);
      }
      const fault = faults.take(route.operation);
      if ((await applyFault(fault, { request, reply, send, wait, defaultBody: defaultFaultBody, errorBody })) === 'served') return reply;
      const query = Object.fromEntries([...new URLSearchParams(rawQuery)].map(([k, v]) => [k.toLowerCase(), v]));
      const answer = route.handle({ body, query, org: authenticate(request) });
      return send(200, answer.body, answer.headers);
    } catch (error) {
      const status = error instanceof PortalError ? error.status : 500;
      return send(status, errorBody(status, error instanceof PortalError ? error.message : 'An unexpected error occurred.'));
    }
  };

  // --- HTTP ----------------------------------------------------------------------------------

  const app = fastify({ logger: false, forceCloseConnections: true, exposeHeadRoutes: false });
  // Bodies are read as text and parsed by the handlers, so a malformed body gets the portal's
  // error shape and still reaches the request log.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, payload, done) => done(null, payload));
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error instanceof PortalError ? error.status : (error.statusCode ?? 500);
    void reply.code(status).send(errorBody(status, error.message));
  });
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'], url: '/*', handler: handlePortal });

  const adminBody = (request: FastifyRequest): Json => adminJsonObject(request.body, (status, message) => new PortalError(status, message));
  const orNotFound = <T>(value: T | undefined): T => {
    if (value === undefined) throw new PortalError(404, 'Computer not found.');
    return value;
  };
  type IdRequest = FastifyRequest<{ Params: { id: string } }>;
  app.post('/__admin/reset', async (_r, reply) => {
    admin.reset();
    return reply.code(204).send();
  });
  app.get('/__admin/computers', async () => admin.list());
  app.post('/__admin/computers', async (r, reply) => reply.code(201).send(admin.add(adminBody(r))));
  app.get('/__admin/computers/:id', async (r: IdRequest) => orNotFound(admin.get(r.params.id)));
  app.patch('/__admin/computers/:id', async (r: IdRequest) => orNotFound(admin.update(r.params.id, adminBody(r))));
  app.delete('/__admin/computers/:id', async (r: IdRequest, reply) => {
    if (!admin.remove(r.params.id)) throw new PortalError(404, 'Computer not found.');
    return reply.code(204).send();
  });
  app.post('/__admin/computers/:id/rename', async (r: IdRequest) => {
    const { computerName } = adminBody(r);
    if (typeof computerName !== 'string' && computerName !== null) throw new PortalError(400, 'computerName must be a string or null.');
    return orNotFound(admin.rename(r.params.id, computerName));
  });
  app.post('/__admin/computers/:id/mark-deleted', async (r: IdRequest) => orNotFound(admin.markDeleted(r.params.id)));
  app.post('/__admin/faults', async (r, reply) => {
    const parsed = faultSchema.safeParse(adminBody(r));
    if (!parsed.success) throw new PortalError(400, `Invalid fault: ${z.prettifyError(parsed.error)}`);
    admin.injectFault(parsed.data);
    return reply.code(204).send();
  });
  app.delete('/__admin/faults', async (_r, reply) => {
    admin.clearFaults();
    return reply.code(204).send();
  });
  app.get('/__admin/requests', async () => admin.requests());
  app.get('/__admin/requests/count', async (r: FastifyRequest<{ Querystring: { operation?: ThreatLockerOperation } }>) => ({
    count: admin.requestCount(r.query.operation),
  }));
  app.delete('/__admin/requests', async (_r, reply) => {
    admin.clearRequests();
    return reply.code(204).send();
  });

  await app.listen({ port, host });
  const address = app.server.address();
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${typeof address === 'object' && address ? address.port : port}`;
  return {
    url,
    baseUrl: `${url}/portalapi`,
    apiKey,
    rootOrganizationId: orgs.root.organizationId,
    admin,
    async close() {
      delays.releaseAll();
      await app.close();
    },
  };
}
