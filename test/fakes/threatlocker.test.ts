import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { buildCatalogue } from '../../src/fakes/catalogue.js';
import { createRng } from '../../src/fakes/rng.js';
import {
  generateThreatLockerFleet,
  startFakeThreatLocker,
  ZERO_GUID,
  type FakeComputer,
  type FakeOrganization,
  type FakeThreatLocker,
} from '../../src/fakes/threatlocker/index.js';

/** How long `vi.waitFor` polls for an event (not a pass/fail time limit: a busy machine may be slow). */
const WAIT = { timeout: 15_000, interval: 10 };

const LIST = '/portalapi/Computer/ComputerGetByAllParameters';
const GET_FOR_EDIT = '/portalapi/Computer/ComputerGetForEditById';
const UPDATE_FOR_EDIT = '/portalapi/Computer/ComputerUpdateForEdit';
const CHILD_ORGS = '/portalapi/Organization/OrganizationGetChildOrganizationsByParameters';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => any;
}

let fake: FakeThreatLocker;
const orgs = generateThreatLockerFleet({ seed: 1, size: 0 }).organizations;
const org = (displayName: string): FakeOrganization => orgs.find((o) => o.displayName === displayName) as FakeOrganization;

async function call(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  options: { body?: unknown; raw?: string; headers?: Record<string, string>; auth?: boolean; target?: FakeThreatLocker } = {},
): Promise<Answer> {
  const target = options.target ?? fake;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const res = await request(`${target.url}${path}`, {
    method,
    headers: {
      ...(options.auth === false ? {} : { authorization: target.apiKey }),
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: payload,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

const list = (body: Record<string, unknown> = {}, headers: Record<string, string> = {}) => call('POST', LIST, { body, headers });
const all = (extra: Record<string, unknown> = {}) => list({ childOrganizations: true, pageSize: 5000, ...extra });
const visible = (): FakeComputer[] => fake.admin.list().filter((c) => !c.isDeleted);

function expectPortalError(answer: Answer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.json()).toEqual({ LoggerId: expect.any(String), StatusCode: status, Message: expect.any(String) });
}

beforeAll(async () => {
  fake = await startFakeThreatLocker({ seed: 1 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.admin.reset();
});

describe('authentication and tenancy', () => {
  it('rejects a missing, unknown or Bearer key with a PascalCase 401 that repeats the key sent', async () => {
    expectPortalError(await call('POST', LIST, { body: {}, auth: false }), 401);
    const unknown = await list({}, { authorization: 'f'.repeat(64) });
    expectPortalError(unknown, 401);
    // Careless servers echo credentials; clients must mask them (see test/http/vendor-secrets.test.ts).
    expect(unknown.json().Message).toContain('f'.repeat(64));
    const bearer = await list({}, { authorization: `Bearer ${fake.apiKey}` });
    expectPortalError(bearer, 401);
    expect(bearer.json().Message).toContain(fake.apiKey);
  });

  it('uses a 64-hex key derived from the seed and accepts header names in any case', async () => {
    expect(fake.apiKey).toMatch(/^[0-9a-f]{64}$/);
    const answer = await call('POST', LIST, {
      body: { childOrganizations: true },
      auth: false,
      headers: { AUTHORIZATION: fake.apiKey, managedorganizationid: ZERO_GUID },
    });
    expect(answer.status).toBe(200);
    expect(answer.json()).toHaveLength(25);
  });

  it('acts on the root for a missing or zero org header, on a subtree for a known org, and refuses unknown orgs', async () => {
    const harbor = org('Harbor Dental Partners');
    const harborTree = new Set([harbor.organizationId, ...orgs.filter((o) => o.parentId === harbor.organizationId).map((o) => o.organizationId)]);
    const scoped = (await list({ childOrganizations: true, pageSize: 1000 }, { ManagedOrganizationId: harbor.organizationId })).json() as FakeComputer[];
    expect(scoped.length).toBe(visible().filter((c) => harborTree.has(c.organizationId as string)).length);
    expect(new Set(scoped.map((c) => c.organization))).toEqual(new Set(['Harbor Dental Partners', 'Harbor Dental - Eastside', 'Harbor Dental - Westside']));

    const override = await list({ childOrganizations: true, pageSize: 1000 }, { OverrideManagedOrganizationId: harbor.organizationId.toUpperCase() });
    expect(override.json()).toHaveLength(scoped.length);

    const zero = (await list({ childOrganizations: true }, { ManagedOrganizationId: ZERO_GUID })).json()[0] as FakeComputer;
    expect(zero.totalRows).toBe(visible().length);
    expectPortalError(await list({}, { ManagedOrganizationId: '0b7a6f2e-1111-4222-8333-944455556666' }), 403);
  });
});

describe('routing', () => {
  it('matches paths case-insensitively and 404s unknown ones', async () => {
    for (const path of ['/portalApi/Computer/ComputerGetByAllParameters', '/PORTALAPI/computer/computergetbyallparameters']) {
      const answer = await call('POST', path, { body: {} });
      expect(answer.status).toBe(200);
      expect(Array.isArray(answer.json())).toBe(true);
    }
    expectPortalError(await call('GET', '/portalapi/Computer/GetAll'), 404);
    expectPortalError(await call('POST', '/Computer/ComputerGetByAllParameters', { body: {} }), 404);
  });

  it('answers 405 for a wrong verb, notably POST ComputerUpdateForEdit', async () => {
    const target = visible()[0] as FakeComputer;
    const post = await call('POST', UPDATE_FOR_EDIT, { body: { computerId: target.computerId, computerName: 'X' } });
    expectPortalError(post, 405);
    expect(post.headers.allow).toBe('PATCH');
    expectPortalError(await call('GET', LIST), 405);
    expect(fake.admin.get(target.computerId as string)?.computerName).toBe(target.computerName);
  });
});

describe('ComputerGetByAllParameters', () => {
  it('returns a bare array with the live key casing and totalRows on every row', async () => {
    const answer = await list({ childOrganizations: true });
    const rows = answer.json() as FakeComputer[];
    expect(rows).toHaveLength(25);
    for (const row of rows) {
      expect(row.totalRows).toBe(visible().length);
      expect(row).toHaveProperty('group');
      expect(row).toHaveProperty('organization');
      expect(row).toHaveProperty('lastCheckinIPAddress');
      for (const invented of ['organizationName', 'computerGroupName', 'ipAddress', 'status']) expect(row).not.toHaveProperty(invented);
    }
  });

  it('pages with both header styles and answers 200 [] past the end', async () => {
    const total = visible().length;
    const first = await list({ childOrganizations: true, pageSize: 25, pageNumber: 2 });
    expect(JSON.parse(first.headers.pagination as string)).toEqual({
      currentPage: 2,
      itemsPerPage: 25,
      totalItems: total,
      totalPages: Math.ceil(total / 25),
      firstItem: 26,
      lastItem: 50,
    });
    expect([first.headers.totalitems, first.headers.totalpages, first.headers.firstitem, first.headers.lastitem]).toEqual([
      String(total),
      String(Math.ceil(total / 25)),
      '26',
      '50',
    ]);

    const past = await list({ childOrganizations: true, pageSize: 25, pageNumber: 1000 });
    expect(past.status).toBe(200);
    expect(past.json()).toEqual([]);
    expect(past.headers.totalitems).toBe(String(total));
    expect(JSON.parse(past.headers.pagination as string)).toMatchObject({ currentPage: 1000, totalItems: total });
  });

  it('walks the whole fleet page by page, each computer exactly once', async () => {
    const seen: string[] = [];
    for (let page = 1; ; page++) {
      const rows = (await list({ childOrganizations: true, pageSize: 100, pageNumber: page })).json() as FakeComputer[];
      seen.push(...rows.map((r) => r.computerId as string));
      if (rows.length < 100) break;
    }
    expect(seen).toHaveLength(visible().length);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('without childOrganizations lists only the acting organization itself', async () => {
    const rows = (await list({ pageSize: 1000 })).json() as FakeComputer[];
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.organizationId))).toEqual(new Set([fake.rootOrganizationId]));
    const empty = await list({ pageSize: 1000 }, { ManagedOrganizationId: org('Newfield Dental Lab').organizationId });
    expect(empty.json()).toEqual([]);
    expect(empty.headers.totalitems).toBe('0');
  });

  it('filters by computerId exactly and case-insensitively; empty, null and zero mean no filter', async () => {
    const target = visible()[10] as FakeComputer;
    const one = (await all({ computerId: (target.computerId as string).toUpperCase() })).json() as FakeComputer[];
    expect(one.map((r) => r.computerId)).toEqual([target.computerId]);
    expect(one[0]?.totalRows).toBe(1);
    for (const computerId of ['', null, ZERO_GUID]) expect((await all({ computerId })).json()).toHaveLength(visible().length);
    expect((await all({ computerId: '5b1f0d6e-0000-4000-8000-000000000000' })).json()).toEqual([]);
    expectPortalError(await all({ computerId: 'not-a-guid' }), 400);
    const notAString = await all({ computerId: { id: 7 } });
    expectPortalError(notAString, 400);
    expect(notAString.json().Message).toBe(`The value '{"id":7}' is not a valid GUID. Path: $.computerId`);
  });

  it('hides deleted computers unless showDeleted', async () => {
    const deleted = fake.admin.list().filter((c) => c.isDeleted);
    expect(deleted.length).toBeGreaterThan(0);
    const target = deleted[0]?.computerId as string;
    expect((await all({ computerId: target })).json()).toEqual([]);
    expect((await all({ computerId: target, showDeleted: true })).json()).toHaveLength(1);
    expect((await all({ showDeleted: true })).json()).toHaveLength(fake.admin.list().length);
  });

  it('searches case-insensitively on the field chosen by searchBy', async () => {
    const rows = fake.admin.list().filter((c) => !c.isDeleted);
    const sample = rows.find((c) => c.computerName?.includes(' | ') && c.username.includes('\\')) as FakeComputer;
    const cases: [number, string, (c: FakeComputer) => string | null][] = [
      [1, (sample.hostname as string).toLowerCase(), (c) => `${c.computerName} ${c.hostname}`],
      [1, 'spare - WAS', (c) => `${c.computerName} ${c.hostname}`],
      [2, sample.username.split('\\')[1]?.toLowerCase() as string, (c) => c.username],
      [3, 'mac comp', (c) => c.group],
      [4, sample.lastCheckinIPAddress, (c) => c.lastCheckinIPAddress],
      [5, 'harbor dental', (c) => c.organization],
    ];
    for (const [searchBy, searchText, pick] of cases) {
      const expected = rows.filter((c) => (pick(c) ?? '').toLowerCase().includes(searchText.toLowerCase()));
      const found = (await all({ searchText, searchBy })).json() as FakeComputer[];
      expect(found.length, `searchBy ${searchBy} "${searchText}"`).toBe(expected.length);
      expect(found.length).toBeGreaterThan(0);
    }
  });

  it('filters by mode and computer group', async () => {
    const learning = (await all({ action: 'Learning' })).json() as FakeComputer[];
    expect(learning.length).toBe(visible().filter((c) => c.action === 'Learning').length);
    expect(learning.every((c) => c.action === 'Learning')).toBe(true);
    const groupId = visible().find((c) => c.group === 'Servers')?.computerGroupId as string;
    const group = (await all({ computerGroup: groupId })).json() as FakeComputer[];
    expect(group.length).toBeGreaterThan(0);
    expect(group.every((c) => c.computerGroupId === groupId)).toBe(true);
  });

  it('orders by the requested key and breaks ties by computerId', async () => {
    const byCheckin = (await all({ orderBy: 'lastcheckin', isAscending: false })).json() as FakeComputer[];
    const times = byCheckin.map((c) => (c.lastCheckin === null ? -Infinity : Date.parse(c.lastCheckin)));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const byGroup = (await all({ orderBy: 'group' })).json() as FakeComputer[];
    const keys = byGroup.map((c) => `${(c.group ?? '').toLowerCase()}\u0000${c.computerId}`);
    expect(keys).toEqual([...keys].sort());
  });

  it('rejects a body that is not a JSON object, or a field of the wrong type, with 400', async () => {
    expectPortalError(await call('POST', LIST, { raw: '[1,2]' }), 400);
    expectPortalError(await call('POST', LIST, { raw: '{"pageSize":' }), 400);
    expectPortalError(await call('POST', LIST), 400);
    expectPortalError(await list({ pageNumber: 'two' }), 400);
    expect((await list({ pageSize: 3, unknownKey: true, kindOfAction: '' })).json()).toHaveLength(3);
  });
});

describe('ComputerGetForEditById and ComputerUpdateForEdit', () => {
  const eastside = () => org('Harbor Dental - Eastside');
  const inEastside = () => visible().find((c) => c.organizationId === eastside().organizationId && c.computerName !== null) as FakeComputer;
  const outside = () => visible().find((c) => c.organizationId === org('Rigby Financial Group').organizationId) as FakeComputer;

  it('returns the edit DTO with the current display name', async () => {
    const target = inEastside();
    const answer = await call('GET', `${GET_FOR_EDIT}?computerId=${target.computerId}`, { headers: { ManagedOrganizationId: eastside().organizationId } });
    expect(answer.json()).toEqual({
      computerId: target.computerId,
      computerGroupId: target.computerGroupId,
      name: target.computerName,
      useProxyServer: false,
      proxyServerOption: '',
      proxyUrlEntry: '',
      proxyURL: '',
      options: [],
    });
    const unnamed = fake.admin.rename(target.computerId as string, null) as FakeComputer;
    expect((await call('GET', `${GET_FOR_EDIT}?computerId=${target.computerId}`)).json().name).toBe(unnamed.hostname);
  });

  it('answers 404 for an unknown id, 400 for a malformed one and 403 outside the acting organization', async () => {
    expectPortalError(await call('GET', `${GET_FOR_EDIT}?computerId=5b1f0d6e-0000-4000-8000-000000000000`), 404);
    expectPortalError(await call('GET', `${GET_FOR_EDIT}?computerId=abc`), 400);
    expectPortalError(await call('GET', GET_FOR_EDIT), 400);
    const answer = await call('GET', `${GET_FOR_EDIT}?computerId=${outside().computerId}`, { headers: { ManagedOrganizationId: eastside().organizationId } });
    expectPortalError(answer, 403);
  });

  it('renames through PATCH with `name`: computerName changes, hostname does not', async () => {
    const target = inEastside();
    const dto = (await call('GET', `${GET_FOR_EDIT}?computerId=${target.computerId}`)).json();
    const name = `${target.hostname} | Truman "TK" Bates ${'x'.repeat(200)}`;
    const answer = await call('PATCH', UPDATE_FOR_EDIT, { body: { ...dto, name }, headers: { ManagedOrganizationId: eastside().organizationId } });
    expect(answer.status).toBe(200);
    expect(answer.json().name).toBe(name);
    const row = ((await all({ computerId: target.computerId })).json() as FakeComputer[])[0];
    expect(row?.computerName).toBe(name);
    expect(row?.hostname).toBe(target.hostname);
  });

  it('is strict by default: no `name` is a 400 and `computerName` alone changes nothing', async () => {
    const target = inEastside();
    expectPortalError(await call('PATCH', UPDATE_FOR_EDIT, { body: { computerId: target.computerId, computerName: 'Renamed' } }), 400);
    expect(fake.admin.get(target.computerId as string)?.computerName).toBe(target.computerName);
  });

  it('answers 404, 403 and 417 for an unknown id, a foreign computer and an empty name', async () => {
    expectPortalError(await call('PATCH', UPDATE_FOR_EDIT, { body: { computerId: '5b1f0d6e-0000-4000-8000-000000000000', name: 'X' } }), 404);
    const foreign = await call('PATCH', UPDATE_FOR_EDIT, { body: { computerId: outside().computerId, name: 'X' }, headers: { ManagedOrganizationId: eastside().organizationId } });
    expectPortalError(foreign, 403);
    expectPortalError(await call('PATCH', UPDATE_FOR_EDIT, { body: { computerId: outside().computerId, name: '  ' } }), 417);
    expect(fake.admin.get(outside().computerId as string)?.computerName).toBe(outside().computerName);
  });

  it('with strictRename false, ignores a PATCH without `name`', async () => {
    const lenient = await startFakeThreatLocker({ seed: 1, fleetSize: 20, strictRename: false });
    try {
      const target = lenient.admin.list()[0] as FakeComputer;
      const answer = await call('PATCH', UPDATE_FOR_EDIT, { target: lenient, body: { computerId: target.computerId, computerName: 'Renamed' } });
      expect(answer.status).toBe(200);
      expect(answer.json().name).toBe(target.computerName);
      expect(lenient.admin.get(target.computerId as string)?.computerName).toBe(target.computerName);
    } finally {
      await lenient.close();
    }
  });
});

describe('organizations', () => {
  it('lists direct children by default and the whole subtree with includeAllChildren or childOrganizations', async () => {
    const direct = (await call('POST', CHILD_ORGS, { body: { pageSize: 100 } })).json() as { organizationId: string }[];
    expect(direct.map((o) => o.organizationId).sort()).toEqual(orgs.filter((o) => o.parentId === fake.rootOrganizationId).map((o) => o.organizationId).sort());
    for (const flag of ['includeAllChildren', 'childOrganizations']) {
      const subtree = await call('POST', CHILD_ORGS, { body: { pageSize: 100, [flag]: true } });
      expect(subtree.json()).toHaveLength(orgs.length - 1);
      expect(subtree.headers.totalitems).toBe(String(orgs.length - 1));
    }
  });

  it('returns §1.6 rows, pages and searches', async () => {
    const rows = (await call('POST', CHILD_ORGS, { body: { pageSize: 100, includeAllChildren: true } })).json() as Record<string, any>[];
    const newfield = rows.find((o) => o.displayName === 'Newfield Dental Lab');
    expect(newfield).toMatchObject({ computerCount: 0, activeCount: 0, products: [expect.objectContaining({ isThreatLockerProtect: true })] });
    const rigby = rows.find((o) => o.displayName === 'Rigby Financial Group');
    expect(rigby?.name).toBe('rigby-financial-group');
    expect(rigby?.computerCount).toBe(visible().filter((c) => c.organization === 'Rigby Financial Group').length);
    const page = await call('POST', CHILD_ORGS, { body: { pageSize: 5, pageNumber: 2, includeAllChildren: true } });
    expect(page.json()).toHaveLength(5);
    expect(JSON.parse(page.headers.pagination as string)).toMatchObject({ currentPage: 2, firstItem: 6, lastItem: 10 });
    const found = (await call('POST', CHILD_ORGS, { body: { searchText: 'harbor', includeAllChildren: true } })).json() as { displayName: string }[];
    expect(found.map((o) => o.displayName).sort()).toEqual(['Harbor Dental - Eastside', 'Harbor Dental - Westside', 'Harbor Dental Partners']);
  });

  it('serves the move-computers picker and the nested navigation tree', async () => {
    const picker = (await call('GET', '/portalapi/Organization/OrganizationGetForMoveComputers?searchText=north')).json();
    expect(picker).toEqual([
      { label: 'Northwind Logistics', value: org('Northwind Logistics').organizationId },
      { label: 'Northwind Logistics - Fleet Ops', value: org('Northwind Logistics - Fleet Ops').organizationId },
    ]);
    const [root] = (await call('GET', '/portalapi/Organization/OrganizationGetListForNav')).json();
    expect(root.organizationId).toBe(fake.rootOrganizationId);
    const harbor = root.organizationHierarchyDtos.find((n: { name: string }) => n.name === 'Harbor Dental Partners');
    expect(harbor.organizationHierarchyDtos.map((n: { name: string; parentId: string }) => [n.name, n.parentId])).toEqual([
      ['Harbor Dental - Eastside', harbor.organizationId],
      ['Harbor Dental - Westside', harbor.organizationId],
    ]);
    const [pruned] = (await call('GET', '/portalapi/Organization/OrganizationGetListForNav?search=eastside')).json();
    expect(pruned.organizationHierarchyDtos).toHaveLength(1);
    expect(pruned.organizationHierarchyDtos[0].organizationHierarchyDtos.map((n: { name: string }) => n.name)).toEqual(['Harbor Dental - Eastside']);
  });
});

describe('faults', () => {
  it('sends a 500 with the PascalCase body, then answers normally', async () => {
    fake.admin.injectFault({ kind: 'status', status: 500 });
    const failed = await list();
    expectPortalError(failed, 500);
    expect(failed.json().Message).toMatch(/^A problem occurred with the request/);
    expect((await list()).status).toBe(200);
  });

  it('sends gateway HTML for 502/503 and the given bodies for 401, 408 and 417', async () => {
    fake.admin.injectFault({ kind: 'status', status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      const answer = await list();
      expect(answer.status).toBe(503);
      expect(answer.headers['content-type']).toMatch(/^text\/html/);
      expect(answer.text).toContain('503 Service Unavailable');
    }
    fake.admin.injectFault({ kind: 'status', status: 401, body: { LoggerId: 'x', StatusCode: 401, Message: 'No permission to view computers' } });
    expect((await list()).json().Message).toBe('No permission to view computers');
    fake.admin.injectFault({ kind: 'status', status: 408 });
    expectPortalError(await list(), 408);
    fake.admin.injectFault({ kind: 'status', status: 417, operation: 'ComputerUpdateForEdit' });
    const target = visible()[0] as FakeComputer;
    const rejected = await call('PATCH', UPDATE_FOR_EDIT, { body: { computerId: target.computerId, name: 'Valid' } });
    expect([rejected.status, rejected.json()]).toEqual([417, { Message: 'Invalid Computer Name' }]);
  });

  it('sends 429 with Retry-After in seconds, as an HTTP date, or without it', async () => {
    const date = 'Wed, 21 Oct 2026 07:28:00 GMT';
    fake.admin.injectFault({ kind: 'status', status: 429, retryAfter: '2' });
    fake.admin.injectFault({ kind: 'status', status: 429, retryAfter: date, nth: 2 });
    fake.admin.injectFault({ kind: 'status', status: 429, nth: 3 });
    const answers = [await list(), await list(), await list(), await list()];
    expect(answers.map((a) => a.status)).toEqual([429, 429, 429, 200]);
    expect(answers.map((a) => a.headers['retry-after'])).toEqual(['2', date, undefined, undefined]);
  });

  it('fires only on the nth matching request of its operation, for `times` requests', async () => {
    fake.admin.injectFault({ kind: 'status', status: 500, operation: 'ComputerGetByAllParameters', nth: 3, times: 2 });
    await call('GET', '/portalapi/Organization/OrganizationGetForMoveComputers'); // another operation: not counted
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await list()).status);
    expect(statuses).toEqual([200, 200, 500, 500, 200, 200]);
  });

  it('fires on every request with times null until cleared', async () => {
    fake.admin.injectFault({ kind: 'status', status: 502, times: null });
    for (let i = 0; i < 3; i++) expect((await list()).status).toBe(502);
    fake.admin.clearFaults();
    expect((await list()).status).toBe(200);
  });

  it('delays, resets the connection, or answers an empty body or null', async () => {
    // Order, not time: a delayed request is answered after one sent later.
    fake.admin.injectFault({ kind: 'delay', ms: 300 });
    const order: string[] = [];
    const delayed = list({ childOrganizations: true }).then((a) => (order.push('delayed'), a));
    await vi.waitFor(() => expect(fake.admin.requestCount()).toBe(1), WAIT);
    await list({ pageSize: 1 }).then(() => order.push('later'));
    expect((await delayed).json()).toHaveLength(25);
    expect(order).toEqual(['later', 'delayed']);
    fake.admin.clearRequests();

    fake.admin.injectFault({ kind: 'reset' });
    await expect(list()).rejects.toThrow();

    fake.admin.injectFault({ kind: 'empty' });
    const empty = await list();
    expect([empty.status, empty.text]).toEqual([200, '']);

    fake.admin.injectFault({ kind: 'null' });
    const nul = await list();
    expect([nul.status, nul.text]).toEqual([200, 'null']);
    expect(fake.admin.requests().map((r) => r.status)).toEqual([null, 200, 200]);
  });

  it('releases a pending delay on close, so no timer keeps the process alive', async () => {
    const slow = await startFakeThreatLocker({ fleetSize: 5 });
    slow.admin.injectFault({ kind: 'delay', ms: 60_000 });
    const pending = call('POST', LIST, { target: slow, body: {} }).then(
      (a) => a.status,
      () => 'closed',
    );
    await vi.waitFor(() => expect(slow.admin.requestCount()).toBe(1), WAIT);
    await slow.close();
    expect([200, 'closed']).toContain(await pending);
  });
});

describe('credential echo and paging modes (to test clients’ defences)', () => {
  it('echo-credential repeats the Authorization value after the filler, as sent or upper-cased', async () => {
    fake.admin.injectFault({ kind: 'echo-credential', prefix: 180 });
    fake.admin.injectFault({ kind: 'echo-credential', status: 401, letterCase: 'upper', nth: 2 });
    const first = await list();
    expectPortalError(first, 500);
    expect(first.json().Message.indexOf(fake.apiKey)).toBe(180);
    const second = await list();
    expectPortalError(second, 401);
    expect(second.json().Message.indexOf(fake.apiKey.toUpperCase())).toBe(0);
    expect(JSON.stringify(fake.admin.requests())).not.toContain(fake.apiKey);
  });

  it('can be injected over HTTP', async () => {
    expect((await call('POST', '/__admin/faults', { body: { kind: 'echo-credential', prefix: 3 } })).status).toBe(204);
    expect((await list()).json().Message.indexOf(fake.apiKey)).toBe(3);
  });

  it('ignore-page-number answers page 1 for every page; endless fills pages past the end with new computers', async () => {
    const total = visible().length;
    fake.admin.setPaging('ignore-page-number');
    const p1 = (await all({ pageSize: 10, pageNumber: 1 })).json() as FakeComputer[];
    const p7 = (await all({ pageSize: 10, pageNumber: 7 })).json() as FakeComputer[];
    expect(p7.map((c) => c.computerId)).toEqual(p1.map((c) => c.computerId));

    fake.admin.setPaging('endless');
    const past = (await all({ pageSize: 10, pageNumber: 1000 })).json() as FakeComputer[];
    const further = (await all({ pageSize: 10, pageNumber: 1001 })).json() as FakeComputer[];
    expect(past).toHaveLength(10);
    expect(past.every((c) => c.totalRows === total)).toBe(true);
    expect(new Set([...past, ...further].map((c) => c.computerId)).size).toBe(20);

    fake.admin.reset();
    expect((await all({ pageSize: 10, pageNumber: 1000 })).json()).toEqual([]);
  });

  it('records a request whose client gave up before the answer', async () => {
    fake.admin.injectFault({ kind: 'delay', ms: 60_000 });
    const controller = new AbortController();
    const gaveUp = request(`${fake.url}${LIST}`, { method: 'POST', headers: { authorization: fake.apiKey }, body: '{}', signal: controller.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(fake.admin.requestCount()).toBe(1), WAIT);
    controller.abort();
    expect(await gaveUp).toMatchObject({ name: 'AbortError' });
    await vi.waitFor(() => expect(fake.admin.requests()[0]).toMatchObject({ status: null, closedBeforeAnswer: true }), WAIT);
    fake.admin.clearFaults();
    await list();
    expect(fake.admin.requests()[1]).toMatchObject({ status: 200, closedBeforeAnswer: false });
  });
});

describe('request log and admin API', () => {
  it('logs each portal call with the Authorization value redacted', async () => {
    await list({ pageSize: 2 }, { ManagedOrganizationId: ZERO_GUID });
    await call('GET', '/portalapi/nowhere');
    const [first, second] = fake.admin.requests();
    expect(first).toMatchObject({
      method: 'POST',
      path: LIST,
      operation: 'ComputerGetByAllParameters',
      body: { pageSize: 2 },
      status: 200,
      headers: expect.objectContaining({ authorization: '[redacted]', managedorganizationid: ZERO_GUID }),
    });
    expect(JSON.stringify(fake.admin.requests())).not.toContain(fake.apiKey);
    expect(second).toMatchObject({ operation: null, status: 404 });
    expect([fake.admin.requestCount(), fake.admin.requestCount('ComputerGetByAllParameters'), fake.admin.requestCount('ComputerGetForEditById')]).toEqual([2, 1, 0]);
    fake.admin.clearRequests();
    expect(fake.admin.requestCount()).toBe(0);
  });

  it('adds, reads, renames, updates, marks deleted and removes computers over HTTP', async () => {
    const added = await call('POST', '/__admin/computers', { body: { hostname: 'NEW-PC-01', computerName: 'NEW-PC-01 | Ana Diaz' } });
    expect(added.status).toBe(201);
    const row = added.json() as FakeComputer;
    expect(row).toMatchObject({ hostname: 'NEW-PC-01', organizationId: fake.rootOrganizationId, organization: 'Summit Managed Services', isDeleted: false });
    const id = row.computerId as string;
    expect(((await all({ searchText: 'new-pc-01' })).json() as FakeComputer[]).map((c) => c.computerId)).toEqual([id]);

    expect((await call('GET', `/__admin/computers/${id}`)).json().computerName).toBe('NEW-PC-01 | Ana Diaz');
    expect((await call('POST', `/__admin/computers/${id}/rename`, { body: { computerName: 'NEW-PC-01' } })).json().computerName).toBe('NEW-PC-01');
    expect((await call('PATCH', `/__admin/computers/${id}`, { body: { action: 'Learning', computerId: 'ignored' } })).json()).toMatchObject({ action: 'Learning', computerId: id });
    expect((await call('POST', `/__admin/computers/${id}/mark-deleted`)).json().isDeleted).toBe(true);
    expect((await all({ computerId: id })).json()).toEqual([]);
    expect((await call('DELETE', `/__admin/computers/${id}`)).status).toBe(204);
    expect((await all({ computerId: id, showDeleted: true })).json()).toEqual([]);
    expectPortalError(await call('GET', `/__admin/computers/${id}`), 404);
    expect((await call('GET', '/__admin/computers')).json()).toHaveLength(fake.admin.list().length);
  });

  it('injects faults, reads the log and resets over HTTP', async () => {
    expect((await call('POST', '/__admin/faults', { body: { kind: 'status', status: 503, operation: 'ComputerGetByAllParameters' } })).status).toBe(204);
    expectPortalError(await call('POST', '/__admin/faults', { body: { kind: 'explode' } }), 400);
    expect((await list()).status).toBe(503);
    expect((await call('GET', '/__admin/requests')).json()).toHaveLength(1);
    expect((await call('GET', '/__admin/requests/count?operation=ComputerGetByAllParameters')).json()).toEqual({ count: 1 });

    await call('POST', '/__admin/faults', { body: { kind: 'status', status: 500, times: null } });
    const target = visible()[0] as FakeComputer;
    fake.admin.rename(target.computerId as string, 'Changed');
    expect((await call('POST', '/__admin/reset')).status).toBe(204);
    expect((await list()).status).toBe(200);
    expect(fake.admin.get(target.computerId as string)?.computerName).toBe(target.computerName);
    expect(fake.admin.requestCount()).toBe(1);
    expect((await call('DELETE', '/__admin/requests')).status).toBe(204);
    expect(fake.admin.requestCount()).toBe(0);
  });

  it('serves explicit rows, filling missing keys and keeping deliberate nulls', async () => {
    const explicit = await startFakeThreatLocker({
      computers: [{ hostname: 'ONLY-PC', computerName: null }, { computerId: null, hostname: null, organizationId: null }],
    });
    try {
      const rows = (await call('POST', LIST, { target: explicit, body: { childOrganizations: true } })).json() as FakeComputer[];
      expect(rows).toHaveLength(2);
      const only = rows.find((r) => r.hostname === 'ONLY-PC');
      expect(only).toMatchObject({ computerName: null, name: 'ONLY-PC', group: 'Workstations', totalRows: 2 });
      expect(only?.computerId).toMatch(/^[0-9a-f-]{36}$/);
      expect(rows.find((r) => r.computerId === null)).toMatchObject({ hostname: null, organizationId: null });
    } finally {
      await explicit.close();
    }
  });
});

describe('generated data', () => {
  const { computers } = generateThreatLockerFleet({ seed: 1, size: 700 });

  it('is deterministic for a seed and different across seeds', async () => {
    expect(generateThreatLockerFleet({ seed: 1, size: 700 })).toEqual({ organizations: orgs, computers });
    expect(generateThreatLockerFleet({ seed: 2, size: 700 }).computers[0]?.computerId).not.toBe(computers[0]?.computerId);
    const twin = await startFakeThreatLocker({ seed: 1 });
    try {
      expect(twin.apiKey).toBe(fake.apiKey);
      expect((await call('POST', LIST, { target: twin, body: { childOrganizations: true } })).json()).toEqual((await list({ childOrganizations: true })).json());
    } finally {
      await twin.close();
    }
  });

  it('has the hostname and display-name quirks of real tenants', () => {
    const hostnames = computers.map((c) => c.hostname as string);
    expect(hostnames.filter((h) => h === h.toUpperCase()).length / hostnames.length).toBeGreaterThan(0.8);
    expect(hostnames).toContain('SERVER-01.corp.local');
    expect(hostnames.some((h) => !h.includes('.') && h.length > 15)).toBe(true);
    const names = computers.map((c) => c.computerName);
    expect(names.some((n) => n?.startsWith('AEC-027396194353 | '))).toBe(true);
    expect(names.some((n) => /^\S+ \| SPARE - was Blake Thomas$/.test(n ?? ''))).toBe(true);
    expect(names.some((n) => /^\S+ \| Truman "TK" Bates$/.test(n ?? ''))).toBe(true);
    expect(computers.some((c) => c.computerName === c.hostname)).toBe(true);
    expect(computers.every((c) => c.computerId !== null && c.hostname !== null)).toBe(true);
  });

  it('lists reinstalled machines twice, the old row going quiet when the new one appears', () => {
    const byHost = new Map<string | null, FakeComputer[]>();
    for (const c of computers) byHost.set(c.hostname, [...(byHost.get(c.hostname) ?? []), c]);
    const pairs = [...byHost.values()].filter((rows) => rows.length > 1);
    expect(pairs.length).toBeGreaterThan(0);
    for (const [old, fresh] of pairs) {
      expect(old?.computerId).not.toBe(fresh?.computerId);
      const gap = Date.parse(fresh?.dateAdded as string) - Date.parse(old?.lastCheckin as string);
      expect(gap).toBeGreaterThan(0);
      expect(gap).toBeLessThanOrEqual(5 * 60_000);
    }
  });

  it('has nulls, never-checked-in rows, padded OS names, non-Windows rows and both timestamp forms', () => {
    for (const key of ['computerName', 'group', 'action', 'mode', 'threatLockerVersion'] as const) expect(computers.some((c) => c[key] === null)).toBe(true);
    expect(computers.some((c) => c.lastCheckin === null && !c.hasAtLeastOneCheckin)).toBe(true);
    expect(computers.some((c) => c.isDeleted)).toBe(true);
    expect(computers.some((c) => c.operatingSystem?.endsWith(' '))).toBe(true);
    expect(new Set(computers.map((c) => c.osType))).toEqual(new Set([1, 2, 3]));
    expect(computers.some((c) => /\.\d{6}Z$/.test(c.lastCheckin ?? ''))).toBe(true);
    expect(computers.some((c) => /:\d{2}Z$/.test(c.lastCheckin ?? ''))).toBe(true);
    expect(computers.some((c) => /^[A-Z]+\\[A-Z]+$/.test(c.username))).toBe(true);
  });

  it('has a multi-level organization tree with an organization that owns nothing', () => {
    const root = orgs.filter((o) => o.parentId === null);
    expect(root).toHaveLength(1);
    const grandchildren = orgs.filter((o) => o.parentId !== null && o.parentId !== root[0]?.organizationId);
    expect(grandchildren.length).toBeGreaterThanOrEqual(3);
    const owners = new Set(computers.map((c) => c.organizationId));
    expect(orgs.filter((o) => !owners.has(o.organizationId)).map((o) => o.displayName)).toEqual(['Newfield Dental Lab']);
  });

  it('builds a vendor-neutral catalogue whose smaller sizes are prefixes of larger ones', () => {
    const small = buildCatalogue({ seed: 7, size: 100 });
    const large = buildCatalogue({ seed: 7, size: 2_000 });
    expect(large.machines.slice(0, 100)).toEqual(small.machines);
    expect(new Set(large.machines.map((m) => m.hostname.toLowerCase())).size).toBe(2_000);
    expect(large.machines.some((m) => m.inNinja && !m.inThreatLocker)).toBe(true);
    expect(large.machines.some((m) => m.serial === 'To be filled by O.E.M.' || m.serial === 'System Serial Number' || m.serial === 'Default string')).toBe(true);
  });

  it('draws the same numbers from the same seed', () => {
    const a = createRng(42);
    const b = createRng(42);
    const draws = (r: ReturnType<typeof createRng>) => [r.next(), r.int(1, 6), r.pick(['x', 'y', 'z']), r.chance(0.5), r.shuffle([1, 2, 3, 4]), r.guid()];
    const first = draws(a);
    expect(draws(b)).toEqual(first);
    expect(first[5]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(draws(createRng(43))).not.toEqual(first);
  });
});
