/**
 * The upstream-compatible report and exception endpoints through app.inject(), on every test
 * database. Two checked days are seeded straight into the store (no rules involved): on
 * 2026-03-09 pc-a, pc-n (no organization) and srv-1; on 2026-03-10 pc-a, pc_b and srv-1 (pc-n
 * is resolved automatically).
 */
import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FilteredReport, Report } from '../../src/http/routes/variance-reports.js';
import { csvCell, MAX_EXPORT_ROWS } from '../../src/variances/reports.js';
import type { FoundVariance, VarianceType } from '../../src/variances/types.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, type Harness } from '../helpers/harness.js';
import { applyFindings, displayMismatch, missingNinja, writeDevice } from '../helpers/variances.js';

const YESTERDAY = '2026-03-09';

/** A finding of `type` about devices of one vendor each (hostnames upper-cased, as vendors report them). */
function finding(type: VarianceType, host: string, organization: string | null, vendors: readonly ('threatlocker' | 'ninja')[], evidence: Record<string, unknown> = {}): FoundVariance {
  return {
    type,
    subjectKey: `${type}:${host}`,
    hostname: host,
    organization,
    matchQuality: null,
    devices: vendors.map((vendor, i) => ({
      vendor,
      device_key: `${host}-${vendor}-${i}`,
      hostname: host.toUpperCase(),
      display_name: host,
      organization_name: organization,
      location_name: null,
    })),
    evidence,
    hint: `Fix ${type.toLowerCase()}`,
  };
}

/** The cells of every row of an XLSX body's only sheet (header first), empty cells as null. */
async function xlsxRows(body: Buffer): Promise<{ rows: (string | number | null)[][]; workbook: ExcelJS.Workbook }> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(body as unknown as ArrayBuffer);
  const sheet = workbook.worksheets[0]!;
  const rows: (string | number | null)[][] = [];
  // columnCount walks every row: read it once.
  const columns = sheet.columnCount;
  sheet.eachRow({ includeEmpty: true }, (row) => {
    const cells: (string | number | null)[] = [];
    for (let c = 1; c <= columns; c++) {
      const v = row.getCell(c).value;
      if (v !== null && typeof v !== 'string' && typeof v !== 'number') throw new Error(`cell ${row.number}:${c} is not text or a number: ${JSON.stringify(v)}`);
      cells.push(v);
    }
    rows.push(cells);
  });
  return { rows, workbook };
}

/** An XLSX sheet's rows encoded as the CSV export encodes its cells. */
const asCsv = (rows: readonly (readonly (string | number | null)[])[]) => `\uFEFF${rows.map((r) => `${r.map(csvCell).join(',')}\r\n`).join('')}`;

describe.each(TEST_DATABASES)('variance report endpoints on %s', (kind) => {
  let h: Harness;
  const get = (url: string) => h.app.inject({ method: 'GET', url });
  const post = (url: string, payload?: unknown) => h.app.inject({ method: 'POST', url, ...(payload === undefined ? {} : { payload: payload as object }) });
  const idOf = async (host: string) => (await h.deps.db.selectFrom('variance').select('id').where('hostname', '=', host).executeTakeFirstOrThrow()).id;
  const eventsOf = async (id: number) =>
    h.deps.db.selectFrom('variance_event').select(['kind', 'actor', 'note', 'details']).where('variance_id', '=', id).orderBy('id').execute();

  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
    const ids = h.deps.vendorIds;
    await writeDevice(h.deps.db, ids, 'threatlocker', YESTERDAY, { key: 'tl-1', hostname: 'PC-A' });
    await writeDevice(h.deps.db, ids, 'ninja', YESTERDAY, { key: 'n-1', hostname: 'SRV-1' });
    for (const [key, hostname] of [['tl-1', 'PC-A'], ['tl-2', 'PC_B'], ['tl-3', 'SRV-1']]) {
      await writeDevice(h.deps.db, ids, 'threatlocker', TEST_TODAY, { key: key!, hostname: hostname! });
    }
    await writeDevice(h.deps.db, ids, 'ninja', TEST_TODAY, { key: 'n-1', hostname: 'SRV-1' });
    await applyFindings(h.deps.db, h.clock, YESTERDAY, [
      missingNinja('pc-a', 'Acme'),
      { ...missingNinja('pc-n'), organization: null },
      displayMismatch('srv-1', 'SRV 1', 'Server One', 'Acme'),
    ]);
    await applyFindings(h.deps.db, h.clock, TEST_TODAY, [
      missingNinja('pc-a', 'Acme'),
      missingNinja('pc_b', 'Globex'),
      displayMismatch('srv-1', 'SRV 1', 'Server One', 'Acme'),
    ]);
  });

  describe('GET /api/variance-report/latest and /:date', () => {
    it("answers the latest checked day in upstream's shape, with a block per dashboard key", async () => {
      const res = await get('/api/variance-report/latest');
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.report_date).toBe(TEST_TODAY);
      expect(body.data_status).toEqual({ status: 'current', message: 'Data is current', latest_date: TEST_TODAY });
      expect(body.summary).toEqual({ total_exceptions: 3, unresolved_count: 3, resolved_count: 0, accepted_count: 0 });
      expect(body.exception_counts).toMatchObject({ MISSING_NINJA: 2, DISPLAY_NAME_MISMATCH: 1, DUPLICATE_TL: 0, MISSING_THREATLOCKER: 0 });
      expect(body.exceptions_by_type.MISSING_NINJA.map((e: { hostname: string }) => e.hostname)).toEqual(['pc-a', 'pc_b']);
      expect(body.exceptions_by_type.MISSING_NINJA[0]).toEqual({
        id: expect.any(Number),
        type: 'MISSING_NINJA',
        hostname: 'pc-a',
        details: expect.objectContaining({ last_contact: '2026-03-09T10:00:00Z', devices: [expect.objectContaining({ vendor: 'threatlocker', device_key: 'pc-a-id' })] }),
        resolved: false,
        status: 'open',
        organization: 'Acme',
        hint: expect.any(String),
        first_seen: YESTERDAY,
        last_seen: TEST_TODAY,
      });
      for (const key of ['missing_in_ninja', 'missing_in_threatlocker', 'threatlocker_duplicates', 'ninja_duplicates', 'devices_that_should_not_have_threatlocker', 'display_name_mismatches']) {
        expect(body[key], key).toHaveProperty('total_count');
      }
      expect(body.threatlocker_duplicates).toEqual({ total_count: 0, by_organization: {} });
      expect(body.missing_in_ninja.total_count).toBe(2);
      expect(Object.keys(body.missing_in_ninja.by_organization)).toEqual(['Acme', 'Globex']);
      expect(body.missing_in_ninja.by_organization.Acme[0]).toEqual({
        id: expect.any(Number),
        hostname: 'pc-a',
        vendor: 'threatlocker',
        display_name: 'pc-a',
        organization: 'Acme',
        billing_status: 'Unknown',
        action: expect.any(String),
        status: 'open',
        first_seen: YESTERDAY,
      });
      expect(body.display_name_mismatches.by_organization.Acme[0]).toMatchObject({
        hostname: 'srv-1',
        display_name: 'Server One',
        ninja_display_name: 'Server One',
        threatlocker_display_name: 'SRV 1',
        ninja_hostname: 'srv-1',
        threatlocker_hostname: 'srv-1',
      });
      expect(body.collection_info).toMatchObject({ data_freshness: 'current', ninja_collected: expect.any(String), threatlocker_collected: expect.any(String) });
    });

    it('leaves resolved and accepted variances out unless include_resolved, and counts them in the summary', async () => {
      await post(`/api/exceptions/${await idOf('pc-a')}/resolve`, { resolved_by: 'alice' });
      await post(`/api/variances/${await idOf('pc_b')}/accept`, { reason: 'lab', until: '2026-04-01', accepted_by: 'bob' });
      const body = (await get('/api/variance-report/latest')).json();
      expect(body.summary).toEqual({ total_exceptions: 3, unresolved_count: 1, resolved_count: 2, accepted_count: 1 });
      expect(body.missing_in_ninja).toEqual({ total_count: 0, by_organization: {} });
      expect(body.exception_counts.MISSING_NINJA).toBe(0);
      const all = (await get('/api/variance-report/latest?include_resolved=true')).json();
      expect(all.missing_in_ninja.total_count).toBe(2);
      expect(all.exceptions_by_type.MISSING_NINJA.map((e: { status: string; resolved: boolean }) => [e.status, e.resolved])).toEqual([
        ['resolved', true],
        ['accepted', true],
      ]);
    });

    it("answers an earlier day from that day's observations; an organization-less variance goes under Unknown", async () => {
      const res = await get(`/api/variance-report/${YESTERDAY}`);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.report_date).toBe(YESTERDAY);
      expect(body.data_status).toEqual({ status: 'historical', message: expect.any(String), latest_date: TEST_TODAY });
      // pc-n was open after that day's check, though resolved since.
      expect(body.summary).toEqual({ total_exceptions: 3, unresolved_count: 3, resolved_count: 0, accepted_count: 0 });
      expect(body.missing_in_ninja.by_organization.Unknown.map((e: { hostname: string }) => e.hostname)).toEqual(['pc-n']);
      expect((await get(`/api/variance-report/${TEST_TODAY}`)).json().summary.total_exceptions).toBe(3);
    });

    it('refuses a malformed date (400) and a day without a check (404)', async () => {
      for (const bad of ['2026-02-30', 'yesterday', '20260310']) {
        const res = await get(`/api/variance-report/${bad}`);
        expect([bad, res.statusCode, res.json().code, res.json().field]).toEqual([bad, 400, 'HUB_ERR_VALIDATION', 'date']);
      }
      const none = await get('/api/variance-report/2026-03-01');
      expect(none.statusCode).toBe(404);
      expect(none.json()).toEqual({ error: expect.stringContaining('2026-03-01'), code: 'HUB_ERR_VARIANCE_REPORT_NOT_FOUND', date: '2026-03-01', request_id: expect.any(String) });
      const badFlag = await get('/api/variance-report/latest?include_resolved=maybe');
      expect([badFlag.statusCode, badFlag.json().field]).toEqual([400, 'include_resolved']);
      await h.reset();
      const empty = await get('/api/variance-report/latest');
      expect([empty.statusCode, empty.json().code]).toEqual([404, 'HUB_ERR_VARIANCE_REPORT_NOT_FOUND']);
    });
  });

  describe('GET /api/variance-report/filtered', () => {
    const seedToday = async () => {
      await applyFindings(h.deps.db, h.clock, TEST_TODAY, [
        missingNinja('pc-a', 'Acme'),
        missingNinja('pc_b', 'Globex'),
        { ...missingNinja('pc-x'), organization: null },
        displayMismatch('srv-1', 'SRV 1', 'Server One', 'Acme'),
        finding('SPARE_MISMATCH', 'lab-1', 'Initech', ['threatlocker', 'ninja'], { rmm_billable_status: 'spare' }),
        finding('DUPLICATE_TL', 'dup-1', 'Acme', ['threatlocker', 'threatlocker']),
        finding('MISSING_THREATLOCKER', 'nb-1', 'Globex', ['ninja']),
        finding('SITE_MISMATCH', 'site-1', 'Acme', ['threatlocker', 'ninja']),
      ]);
      await post(`/api/exceptions/${await idOf('pc_b')}/resolve`, { resolved_by: 'alice' });
    };

    it("answers the latest day's open variances in upstream's shape, spare mismatches under their own organization", async () => {
      await seedToday();
      const res = await get('/api/variance-report/filtered');
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({
        analysis_date: TEST_TODAY,
        total_devices: { ninja: 1, threatlocker: 3 },
        total_variances: 7,
        data_status: { status: 'current', message: 'Data is current', latest_date: TEST_TODAY },
        status: 'current',
        actionable_insights: {
          priority_actions: [],
          summary: { DISPLAY_NAME_MISMATCH: 1, DUPLICATE_TL: 1, MISSING_NINJA: 2, MISSING_THREATLOCKER: 1, SITE_MISMATCH: 1, SPARE_MISMATCH: 1 },
        },
        data_quality: { total_exceptions: 7 },
      });
      // Acme, Initech, Globex (nb-1; pc_b is resolved) and Unknown (pc-x).
      expect(body.data_quality.organizations_affected).toBe(4);
      expect([...body.data_quality.exception_types].sort()).toEqual(['DISPLAY_NAME_MISMATCH', 'DUPLICATE_TL', 'MISSING_NINJA', 'MISSING_THREATLOCKER', 'SITE_MISMATCH', 'SPARE_MISMATCH']);
      expect(Object.keys(body.actionable_insights.summary)).toHaveLength(6);
      expect(body.collection_info).toEqual((await get('/api/variance-report/latest')).json().collection_info);

      expect(body.devices_that_should_not_have_threatlocker).toEqual({
        total_count: 1,
        by_organization: {
          Initech: [
            {
              id: await idOf('lab-1'),
              hostname: 'lab-1',
              details: { rmm_billable_status: 'spare', devices: [expect.objectContaining({ vendor: 'threatlocker' }), expect.objectContaining({ vendor: 'ninja' })] },
              action: 'Fix spare_mismatch',
              organization: 'Initech',
              first_seen: TEST_TODAY,
            },
          ],
        },
      });
      expect(body.missing_in_ninja.total_count).toBe(2);
      expect(body.missing_in_ninja.by_organization).toEqual({
        Acme: [expect.objectContaining({ hostname: 'pc-a', organization: 'Acme', threatlocker_hostname: 'PC-A', first_seen: YESTERDAY, action: expect.any(String) })],
        Unknown: [expect.objectContaining({ hostname: 'pc-x', organization: 'Unknown', threatlocker_hostname: 'PC-X' })],
      });
      expect(body.display_name_mismatches).toEqual({
        total_count: 1,
        by_organization: {
          Acme: [
            {
              id: await idOf('srv-1'),
              hostname: 'srv-1',
              details: expect.objectContaining({ threatlocker_display_name: 'SRV 1', ninja_display_name: 'Server One' }),
              action: 'Rename one of the two so that they agree',
              organization: 'Acme',
              first_seen: YESTERDAY,
              ninja_display_name: 'Server One',
              threatlocker_computer_name: 'SRV 1',
            },
          ],
        },
      });
      expect(body.threatlocker_duplicates).toEqual({ total_count: 1, devices: [expect.objectContaining({ hostname: 'dup-1', organization: 'Acme' })] });
      expect(body.ninja_duplicates).toEqual({ total_count: 0, devices: [] });
      expect(body.missing_in_threatlocker).toEqual({ total_count: 1, by_organization: { Globex: [expect.objectContaining({ hostname: 'nb-1', ninja_hostname: 'NB-1' })] } });
      // SITE_MISMATCH has no block, as upstream; nothing else is in the body.
      expect(Object.keys(body).sort()).toEqual(
        [
          'actionable_insights',
          'analysis_date',
          'collection_info',
          'data_quality',
          'data_status',
          'devices_that_should_not_have_threatlocker',
          'display_name_mismatches',
          'missing_in_ninja',
          'missing_in_threatlocker',
          'ninja_duplicates',
          'status',
          'threatlocker_duplicates',
          'total_devices',
          'total_variances',
        ].sort(),
      );
    });

    // These reports skip the zod pass when answering (plainJsonResponse, src/http/schemas.ts):
    // here every answer is held to its response schema, unknown keys included (parse strips
    // them, so the parsed value would differ from the body).
    it('every report answer conforms to its response schema exactly', async () => {
      await seedToday();
      for (const url of ['/api/variance-report/latest', '/api/variance-report/latest?include_resolved=true', `/api/variance-report/${TEST_TODAY}`, `/api/variance-report/${YESTERDAY}?include_resolved=true`]) {
        const res = await get(url);
        expect(res.statusCode, url).toBe(200);
        expect(res.headers['content-type'], url).toMatch(/^application\/json/);
        expect(Report.parse(res.json()), url).toEqual(res.json());
      }
      for (const url of ['/api/variance-report/filtered', '/api/variance-report/filtered?type=MISSING_NINJA', '/api/variance-report/filtered?organization=Unknown']) {
        const res = await get(url);
        expect(res.statusCode, url).toBe(200);
        expect(FilteredReport.parse(res.json()), url).toEqual(res.json());
      }
      const bad = await get('/api/variance-report/filtered?type=NOPE');
      expect([bad.statusCode, bad.json().code]).toEqual([400, 'HUB_ERR_VALIDATION']);
    });

    it('narrows to a type and an organization key ("Unknown" for none)', async () => {
      await seedToday();
      const typed = (await get('/api/variance-report/filtered?type=MISSING_NINJA')).json();
      expect([typed.total_variances, typed.missing_in_ninja.total_count, typed.display_name_mismatches.total_count]).toEqual([2, 2, 0]);
      expect(typed.actionable_insights.summary).toEqual({ MISSING_NINJA: 2 });
      const unknown = (await get('/api/variance-report/filtered?organization=Unknown')).json();
      expect(unknown.missing_in_ninja.by_organization).toEqual({ Unknown: [expect.objectContaining({ hostname: 'pc-x' })] });
      expect(unknown.data_quality).toEqual({ total_exceptions: 1, exception_types: ['MISSING_NINJA'], organizations_affected: 1 });
      const both = (await get('/api/variance-report/filtered?organization=%20Initech%20&type=SPARE_MISMATCH')).json();
      expect([both.total_variances, both.devices_that_should_not_have_threatlocker.by_organization.Initech[0].hostname]).toEqual([1, 'lab-1']);
      expect((await get('/api/variance-report/filtered?organization=Initech&type=MISSING_NINJA')).json().total_variances).toBe(0);
    });

    it("adds upstream's priority actions past 50 display-name mismatches and 20 missing in Ninja, not at them", async () => {
      const many = (mismatches: number, missing: number) => [
        ...Array.from({ length: mismatches }, (_, i) => displayMismatch(`dn-${i}`, `a${i}`, `b${i}`)),
        ...Array.from({ length: missing }, (_, i) => missingNinja(`mn-${i}`)),
      ];
      await applyFindings(h.deps.db, h.clock, TEST_TODAY, many(50, 20));
      const at = (await get('/api/variance-report/filtered')).json();
      expect([at.total_variances, at.actionable_insights.priority_actions]).toEqual([70, []]);
      await applyFindings(h.deps.db, h.clock, TEST_TODAY, many(51, 21));
      expect((await get('/api/variance-report/filtered')).json().actionable_insights.priority_actions).toEqual([
        'High priority: 51 display name mismatches need attention',
        'Critical: 21 devices missing from Ninja',
      ]);
    });

    it('says when the latest day is stale, refuses bad filters naming them (400), and 404s before any check', async () => {
      h.clock.set('2026-03-14T15:00:00Z');
      const stale = (await get('/api/variance-report/filtered')).json();
      expect([stale.status, stale.data_status.status, stale.data_status.message, stale.collection_info.data_freshness]).toEqual(['stale_data', 'stale_data', 'Data is 4 days old', 'stale']);
      for (const [q, field] of [
        ['type=missing_in_ninja', 'type'],
        ['type=all', 'type'],
        [`organization=${'x'.repeat(256)}`, 'organization'],
        ['organization=a%00b', 'organization'],
      ] as const) {
        const r = await get(`/api/variance-report/filtered?${q}`);
        expect([q.slice(0, 40), r.statusCode, r.json().code, r.json().field]).toEqual([q.slice(0, 40), 400, 'HUB_ERR_VALIDATION', field]);
      }
      await h.reset();
      const none = await get('/api/variance-report/filtered');
      expect([none.statusCode, none.json().code]).toEqual([404, 'HUB_ERR_VARIANCE_REPORT_NOT_FOUND']);
    });
  });

  describe('GET /api/variances/available-dates and /trends', () => {
    it('lists checked days newest first with real device counts', async () => {
      const res = await get('/api/variances/available-dates');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        available_dates: [
          { date: TEST_TODAY, ninja_devices: 1, threatlocker_devices: 3, total_exceptions: 3, unresolved_exceptions: 3, data_quality: 'current', days_old: 0 },
          { date: YESTERDAY, ninja_devices: 1, threatlocker_devices: 1, total_exceptions: 3, unresolved_exceptions: 3, data_quality: 'current', days_old: 1 },
        ],
        date_range: { earliest: YESTERDAY, latest: TEST_TODAY },
        total_dates: 2,
      });
      expect((await get('/api/variances/available-dates?days=1')).json().total_dates).toBe(1);
      for (const q of ['days=0', 'days=367', 'days=x']) {
        const r = await get(`/api/variances/available-dates?${q}`);
        expect([q, r.statusCode, r.json().field]).toEqual([q, 400, 'days']);
      }
    });

    it('counts per type per day, filtered by type', async () => {
      const res = await get(`/api/variances/trends?start_date=2026-03-01&end_date=${TEST_TODAY}`);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.trends_by_date[YESTERDAY]).toEqual({
        DISPLAY_NAME_MISMATCH: { total: 1, unresolved: 1, resolved: 0, accepted: 0 },
        MISSING_NINJA: { total: 2, unresolved: 2, resolved: 0, accepted: 0 },
      });
      expect(body.trends_by_type.MISSING_NINJA).toEqual([
        { date: YESTERDAY, total: 2, unresolved: 2, resolved: 0, accepted: 0 },
        { date: TEST_TODAY, total: 2, unresolved: 2, resolved: 0, accepted: 0 },
      ]);
      expect(body.summary).toEqual({
        total_exceptions: 6,
        total_unresolved: 6,
        total_resolved: 0,
        date_range: { start: '2026-03-01', end: TEST_TODAY },
        unique_dates: 2,
        unique_types: 2,
      });
      expect(body.date_range).toEqual({ start_date: '2026-03-01', end_date: TEST_TODAY, days: 10 });
      const typed = (await get(`/api/variances/trends?start_date=${TEST_TODAY}&end_date=${TEST_TODAY}&type=DISPLAY_NAME_MISMATCH`)).json();
      expect(Object.keys(typed.trends_by_type)).toEqual(['DISPLAY_NAME_MISMATCH']);
    });

    it('refuses missing, malformed, reversed and over-long ranges naming the field', async () => {
      for (const [q, field] of [
        ['end_date=2026-03-10', 'start_date'],
        ['start_date=2026-03-01', 'end_date'],
        ['start_date=2026-13-01&end_date=2026-03-10', 'start_date'],
        ['start_date=2026-03-10&end_date=2026-03-01', 'end_date'],
        ['start_date=2024-01-01&end_date=2026-03-10', 'end_date'],
        ['start_date=2026-03-01&end_date=2026-03-10&type=missing_in_ninja', 'type'],
      ] as const) {
        const res = await get(`/api/variances/trends?${q}`);
        expect([q, res.statusCode, res.json().code, res.json().field]).toEqual([q, 400, 'HUB_ERR_VALIDATION', field]);
      }
    });
  });

  describe('/api/exceptions', () => {
    it('lists with type, resolved, limit and offset', async () => {
      const res = await get('/api/exceptions');
      expect(res.statusCode).toBe(200);
      const all = res.json();
      // Most recently found first: pc-n was last found yesterday.
      expect(all.map((e: { hostname: string }) => e.hostname)).toEqual(['srv-1', 'pc-a', 'pc_b', 'pc-n']);
      expect(all[0]).toMatchObject({ type: 'DISPLAY_NAME_MISMATCH', date_found: TEST_TODAY, resolved: false, status: 'open' });
      expect(all[3]).toMatchObject({ date_found: YESTERDAY, resolved: true, status: 'resolved' });
      const hosts = async (q: string) => (await get(`/api/exceptions?${q}`)).json().map((e: { hostname: string }) => e.hostname);
      expect(await hosts('type=MISSING_NINJA&resolved=false')).toEqual(['pc-a', 'pc_b']);
      expect(await hosts('resolved=true')).toEqual(['pc-n']);
      expect(await hosts('limit=2&offset=1')).toEqual(['pc-a', 'pc_b']);
      for (const [q, field] of [
        ['limit=0', 'limit'],
        ['limit=abc', 'limit'],
        ['offset=-1', 'offset'],
        ['resolved=yes', 'resolved'],
        ['type=FOO', 'type'],
      ] as const) {
        const r = await get(`/api/exceptions?${q}`);
        expect([q, r.statusCode, r.json().code, r.json().field]).toEqual([q, 400, 'HUB_ERR_VALIDATION', field]);
      }
    });

    it('counts open ones by type and summarizes by status with the recent manual updates', async () => {
      expect((await get('/api/exceptions/count')).json()).toEqual({ success: true, type: 'DISPLAY_NAME_MISMATCH', unresolved_count: 1, date: TEST_TODAY });
      expect((await get('/api/exceptions/count?type=MISSING_NINJA')).json().unresolved_count).toBe(2);
      expect((await get('/api/exceptions/count?type=nope')).statusCode).toBe(400);
      await post(`/api/exceptions/${await idOf('pc-a')}/resolve`, { resolved_by: 'alice', notes: 'agent installed' });
      const s = (await get('/api/exceptions/status-summary')).json();
      expect(s.status_summary.active).toEqual({
        DISPLAY_NAME_MISMATCH: { total: 1, resolved: 0, unresolved: 1 },
        MISSING_NINJA: { total: 2, resolved: 1, unresolved: 1 },
      });
      expect(s.by_status).toEqual({ open: { DISPLAY_NAME_MISMATCH: 1, MISSING_NINJA: 1 }, resolved: { MISSING_NINJA: 2 }, accepted: {} });
      expect(s.recent_manual_updates).toEqual([
        { variance_id: await idOf('pc-a'), type: 'MISSING_NINJA', hostname: 'pc-a', kind: 'resolved', actor: 'alice', note: 'agent installed', at: '2026-03-10T15:00:00.000Z' },
      ]);
      expect(s).toMatchObject({ report_date: TEST_TODAY, generated_at: '2026-03-10T15:00:00.000Z' });
    });

    it('resolve and mark-manually-fixed resolve through the lifecycle, recording who and what', async () => {
      const a = await idOf('pc-a');
      const res = await post(`/api/exceptions/${a}/resolve`, {});
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        success: true,
        message: 'Exception resolved',
        exception_id: a,
        hostname: 'pc-a',
        type: 'MISSING_NINJA',
        status: 'resolved',
        updated_by: 'api_user',
        updated_at: '2026-03-10T15:00:00.000Z',
      });
      const again = await post(`/api/exceptions/${a}/resolve`, {});
      expect([again.statusCode, again.json().code]).toEqual([409, 'HUB_ERR_VARIANCE_TRANSITION']);

      const s = await idOf('srv-1');
      const fixed = await post(`/api/exceptions/${s}/mark-manually-fixed`, {
        updated_by: 'carol',
        update_type: 'display_name_update',
        old_value: { name: 'SRV 1' },
        new_value: { name: 'Server One' },
        notes: 'renamed in TL',
      });
      expect(fixed.json()).toMatchObject({ success: true, message: 'Exception marked as manually fixed', exception_id: s, status: 'resolved', updated_by: 'carol' });
      expect((await eventsOf(s)).at(-1)).toEqual({
        kind: 'resolved',
        actor: 'carol',
        note: 'renamed in TL',
        details: { via: 'mark_manually_fixed', update_type: 'display_name_update', old_value: { name: 'SRV 1' }, new_value: { name: 'Server One' } },
      });

      const missing = await post('/api/exceptions/424242/mark-manually-fixed', {});
      expect(missing.json()).toEqual({ error: 'Variance 424242 not found', code: 'HUB_ERR_VARIANCE_NOT_FOUND', id: 424242, request_id: expect.any(String) });
      const badId = await post('/api/exceptions/abc/resolve', {});
      expect([badId.statusCode, badId.json().field]).toEqual([400, 'id']);
      const badBody = await post(`/api/exceptions/${s}/resolve`, { resolved_by: 5 });
      expect([badBody.statusCode, badBody.json().field]).toEqual([400, 'resolved_by']);
    });

    it('mark-fixed-by-hostname matches any letter case, then answers already_resolved, 404 for none', async () => {
      const res = await post('/api/exceptions/mark-fixed-by-hostname', { hostname: ' SRV-1 ', updated_by: 'dana' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        success: true,
        message: 'Marked 1 exception as manually fixed',
        hostname: 'SRV-1',
        type: 'DISPLAY_NAME_MISMATCH',
        exceptions_updated: 1,
        exception_ids: [await idOf('srv-1')],
        updated_by: 'dana',
        updated_at: '2026-03-10T15:00:00.000Z',
        status: 'updated',
      });
      const again = (await post('/api/exceptions/mark-fixed-by-hostname', { hostname: 'srv-1' })).json();
      expect(again).toMatchObject({ status: 'already_resolved', exceptions_updated: 0, last_updated_by: 'dana', last_updated_at: '2026-03-10T15:00:00.000Z' });
      const typed = (await post('/api/exceptions/mark-fixed-by-hostname', { hostname: 'PC-A', type: 'MISSING_NINJA' })).json();
      expect(typed).toMatchObject({ status: 'updated', exceptions_updated: 1 });

      const none = await post('/api/exceptions/mark-fixed-by-hostname', { hostname: 'nope' });
      expect(none.statusCode).toBe(404);
      expect(none.json()).toEqual({
        request_id: expect.any(String),
        error: 'No DISPLAY_NAME_MISMATCH exceptions found for hostname nope',
        code: 'HUB_ERR_VARIANCE_NOT_FOUND',
        success: false,
        hostname: 'nope',
        type: 'DISPLAY_NAME_MISMATCH',
        status: 'not_found',
      });
      for (const [body, field] of [
        [{}, 'hostname'],
        [{ hostname: '  ' }, 'hostname'],
        [{ hostname: null }, 'hostname'],
        [{ hostname: 'x', type: 'display' }, 'type'],
      ] as const) {
        const r = await post('/api/exceptions/mark-fixed-by-hostname', body);
        expect([body, r.statusCode, r.json().code, r.json().field]).toEqual([body, 400, 'HUB_ERR_VALIDATION', field]);
      }
    });

    it('bulk-update answers per id, and reset_status reopens', async () => {
      const a = await idOf('pc-a');
      const n = await idOf('pc-n');
      const res = await post('/api/exceptions/bulk-update', { exception_ids: [a, n, 999], updated_by: 'erin' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        success: false,
        message: 'Bulk mark_manually_fixed completed: 1 updated, 2 not',
        action: 'mark_manually_fixed',
        updated_count: 1,
        failed_count: 2,
        exception_ids: [a],
        updated_by: 'erin',
        results: [
          { id: a, ok: true, status: 'resolved' },
          { id: n, ok: false, code: 'HUB_ERR_VARIANCE_TRANSITION', error: expect.any(String) },
          { id: 999, ok: false, code: 'HUB_ERR_VARIANCE_NOT_FOUND', error: expect.any(String) },
        ],
      });
      const reset = (await post('/api/exceptions/bulk-update', { exception_ids: [a, n], action: 'reset_status' })).json();
      expect(reset).toMatchObject({ success: true, updated_count: 2, exception_ids: [a, n], updated_by: 'dashboard_user' });
      expect((await eventsOf(a)).map((e) => [e.kind, e.actor])).toEqual([
        ['opened', null],
        ['resolved', 'erin'],
        ['reopened', 'dashboard_user'],
      ]);
      for (const [body, field] of [
        [{ exception_ids: [] }, 'exception_ids'],
        [{}, 'exception_ids'],
        [{ exception_ids: ['1'] }, 'exception_ids.0'],
        [{ exception_ids: [a, a] }, 'exception_ids'],
        [{ exception_ids: [a], action: 'delete' }, 'action'],
      ] as const) {
        const r = await post('/api/exceptions/bulk-update', body);
        expect([body, r.statusCode, r.json().code, r.json().field]).toEqual([body, 400, 'HUB_ERR_VALIDATION', field]);
      }
    });
  });

  describe('GET /api/variances/export/csv', () => {
    it('exports the list filter as an attachment, quoting and guarding formula cells', async () => {
      await applyFindings(h.deps.db, h.clock, TEST_TODAY, [
        missingNinja('pc-a', 'Acme'),
        missingNinja('pc_b', 'Globex'),
        displayMismatch('srv-1', 'SRV 1', 'Server One', 'Acme'),
        missingNinja('=cmd', '+Evil, "Inc"\nLtd'),
      ]);
      const res = await get('/api/variances/export/csv?type=MISSING_NINJA');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe(`attachment; filename="variances-open-missing_ninja-${TEST_TODAY}.csv"`);
      expect(res.headers['x-total-count']).toBe('3');
      expect(res.body.startsWith('\uFEFFID,Type,Status,Resolved,Hostname,Organization,')).toBe(true);
      const lines = res.body.slice(1).split('\r\n');
      // Header, three rows (a bare LF inside a quoted cell is not a line break), the final CRLF.
      expect(lines).toHaveLength(5);
      expect(lines[1]).toMatch(/^\d+,MISSING_NINJA,open,No,'=cmd,"'\+Evil, ""Inc""\nLtd",,2026-03-10,2026-03-10,,,,,,"Install the NinjaOne agent, or remove the ThreatLocker computer",threatlocker:=CMD,"\{""last_contact"":""2026-03-09T10:00:00Z""\}"$/);
      expect(lines[2]).toMatch(/^\d+,MISSING_NINJA,open,No,pc_b,Globex,/);
      expect(lines[3]).toMatch(/^\d+,MISSING_NINJA,open,No,pc-a,Acme,/);
      expect(lines[4]).toBe('');

      await post(`/api/variances/${await idOf('pc-a')}/resolve`, { resolved_by: '@bob' });
      const resolved = await get('/api/variances/export/csv?status=resolved&hostname=PC-A');
      expect(resolved.headers['content-disposition']).toBe(`attachment; filename="variances-resolved-${TEST_TODAY}.csv"`);
      const row = resolved.body.split('\r\n')[1]!;
      expect(row).toContain(",resolved,Yes,pc-a,Acme,,2026-03-09,2026-03-10,2026-03-10T15:00:00.000Z,'@bob,");
      for (const [q, field] of [
        ['status=closed', 'status'],
        ['type=x', 'type'],
        ['hostname=a%0Ab', 'hostname'],
      ] as const) {
        const r = await get(`/api/variances/export/csv?${q}`);
        expect([q, r.statusCode, r.json().code, r.json().field]).toEqual([q, 400, 'HUB_ERR_VALIDATION', field]);
      }
    });
  });

  describe('GET /api/variances/export/xlsx', () => {
    const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

    it("holds the CSV's header and rows for the same filter, in one sheet with a frozen, filtered header", async () => {
      await applyFindings(h.deps.db, h.clock, TEST_TODAY, [
        missingNinja('pc-a', 'Acme'),
        missingNinja('pc_b', 'Globex'),
        displayMismatch('srv-1', 'SRV 1', 'Server One', 'Acme'),
        missingNinja('=cmd', '+Evil, "Inc"\nLtd'),
      ]);
      await post(`/api/variances/${await idOf('pc-a')}/resolve`, { resolved_by: '@bob' });
      for (const [q, name, count] of [
        ['type=MISSING_NINJA', `variances-open-missing_ninja-${TEST_TODAY}.xlsx`, 2],
        ['status=resolved&hostname=PC-A', `variances-resolved-${TEST_TODAY}.xlsx`, 1],
        ['status=all', `variances-all-${TEST_TODAY}.xlsx`, 5],
        // The list's free text: part of a display name, any letter case (srv-1's "Server One").
        ['status=all&q=SERVER%20o', `variances-all-${TEST_TODAY}.xlsx`, 1],
      ] as const) {
        const res = await get(`/api/variances/export/xlsx?${q}`);
        expect([q, res.statusCode]).toEqual([q, 200]);
        expect(res.headers['content-type']).toBe(XLSX);
        expect(res.headers['content-disposition']).toBe(`attachment; filename="${name}"`);
        expect(res.headers['x-total-count']).toBe(String(count));
        const { rows, workbook } = await xlsxRows(res.rawPayload);
        expect(rows).toHaveLength(count + 1);
        const csv = await get(`/api/variances/export/csv?${q}`);
        expect(asCsv(rows), q).toBe(csv.body);

        expect(workbook.worksheets.map((w) => w.name)).toEqual(['Variances']);
        const sheet = workbook.worksheets[0]!;
        expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
        expect(sheet.autoFilter).toBe('A1:Q1');
        expect(sheet.getColumn(17).width).toBeGreaterThan(sheet.getColumn(1).width!);
      }
      // The formula-looking name is a plain string cell, exactly as the vendor wrote it.
      const { workbook } = await xlsxRows((await get('/api/variances/export/xlsx?hostname=%3D')).rawPayload);
      const cell = workbook.worksheets[0]!.getRow(2).getCell(5);
      expect([cell.type, cell.value, cell.formula]).toEqual([ExcelJS.ValueType.String, '=cmd', undefined]);
      expect(workbook.worksheets[0]!.getRow(2).getCell(6).value).toBe('+Evil, "Inc"\nLtd');
    });

    it(`refuses more than ${MAX_EXPORT_ROWS} rows in both formats (422), and bad filters (400)`, async () => {
      // One more open variance than the bound, straight into the store (a check would take minutes).
      const extra = MAX_EXPORT_ROWS + 1 - 3;
      await sql`
        INSERT INTO variance (subject_key, type, status, hostname, organization, devices, evidence, hint, first_seen, last_seen, updated_at)
        SELECT 'bulk:' || n, 'MISSING_NINJA', 'open', 'bulk-' || n, 'Bulk', '[]'::jsonb, '{}'::jsonb, 'x', ${TEST_TODAY}::date, ${TEST_TODAY}::date, now()
        FROM generate_series(1, ${extra}::int) AS n`.execute(h.deps.db);
      for (const format of ['csv', 'xlsx']) {
        const res = await get(`/api/variances/export/${format}`);
        expect([format, res.statusCode, res.json().code]).toEqual([format, 422, 'HUB_ERR_EXPORT_TOO_LARGE']);
      }
      // At the bound, both answer.
      await h.deps.db.deleteFrom('variance').where('subject_key', '=', 'bulk:1').execute();
      const ok = await get('/api/variances/export/xlsx');
      expect([ok.statusCode, ok.headers['x-total-count']]).toEqual([200, String(MAX_EXPORT_ROWS)]);
      expect((await xlsxRows(ok.rawPayload)).rows).toHaveLength(MAX_EXPORT_ROWS + 1);
      for (const [q, field] of [
        ['status=closed', 'status'],
        ['type=x', 'type'],
        ['hostname=a%0Ab', 'hostname'],
      ] as const) {
        const r = await get(`/api/variances/export/xlsx?${q}`);
        expect([q, r.statusCode, r.json().code, r.json().field]).toEqual([q, 400, 'HUB_ERR_VALIDATION', field]);
      }
    });
  });

  describe('GET /api/devices/search', () => {
    it("searches each vendor's latest collected day by hostname, canonical name or display name prefix", async () => {
      const ids = h.deps.vendorIds;
      await writeDevice(h.deps.db, ids, 'ninja', TEST_TODAY, { key: 'n-2', hostname: 'ABCDEFGHIJKLMNO', display_name: 'Reception PC' });
      await writeDevice(h.deps.db, ids, 'ninja', TEST_TODAY, { key: 'n-3', hostname: 'srv-10.corp.local', display_name: null, organization_name: 'Globex' });
      const res = await get('/api/devices/search?q=srv-1');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        search_term: 'srv-1',
        total_results: 3,
        vendors_found: ['ninja', 'threatlocker'],
        truncated_hostnames: 0,
        grouped_by_canonical_key: {
          'srv-1': [
            { vendor: 'ninja', hostname: 'SRV-1', display_name: 'SRV-1', organization_name: 'Acme', snapshot_date: TEST_TODAY, canonical_key: 'srv-1', is_truncated: false },
            { vendor: 'threatlocker', hostname: 'SRV-1', display_name: 'SRV-1', organization_name: 'Acme', snapshot_date: TEST_TODAY, canonical_key: 'srv-1', is_truncated: false },
          ],
          'srv-10': [
            { vendor: 'ninja', hostname: 'srv-10.corp.local', display_name: null, organization_name: 'Globex', snapshot_date: TEST_TODAY, canonical_key: 'srv-10', is_truncated: false },
          ],
        },
        warning: null,
        truncated: false,
        snapshot_dates: { ninja: TEST_TODAY, threatlocker: TEST_TODAY },
      });
      const byDisplay = (await get('/api/devices/search?q=reception&vendor=ninja')).json();
      expect(byDisplay).toMatchObject({ total_results: 1, truncated_hostnames: 1, warning: expect.stringContaining('15-character') });
      expect((await get('/api/devices/search?q=srv&limit=1')).json()).toMatchObject({ total_results: 1, truncated: true });
      expect((await get('/api/devices/search?q=SRV-1&vendor=threatlocker')).json().vendors_found).toEqual(['threatlocker']);
      // LIKE wildcards are literal; the day's own names only (PC_B is on the latest ThreatLocker day).
      expect((await get('/api/devices/search?q=pc_')).json().total_results).toBe(1);
      expect((await get('/api/devices/search?q=%25')).json().total_results).toBe(0);
      for (const [q, field] of [
        ['', 'q'],
        ['q=%20', 'q'],
        ['q=a&vendor=sentinel', 'vendor'],
        ['q=a&limit=201', 'limit'],
        ['q=a&limit=x', 'limit'],
      ] as const) {
        const r = await get(`/api/devices/search?${q}`);
        expect([q, r.statusCode, r.json().code, r.json().field]).toEqual([q, 400, 'HUB_ERR_VALIDATION', field]);
      }
    });
  });

  it('documents every endpoint in the OpenAPI document', async () => {
    const paths = Object.keys((await get('/api/openapi.json')).json().paths as object);
    for (const p of [
      '/api/variance-report/latest',
      '/api/variance-report/filtered',
      '/api/variance-report/{date}',
      '/api/variances/available-dates',
      '/api/variances/trends',
      '/api/exceptions/',
      '/api/exceptions/count',
      '/api/exceptions/status-summary',
      '/api/exceptions/{id}/resolve',
      '/api/exceptions/{id}/mark-manually-fixed',
      '/api/exceptions/mark-fixed-by-hostname',
      '/api/exceptions/bulk-update',
      '/api/variances/export/csv',
      '/api/variances/export/xlsx',
      '/api/devices/search',
    ]) {
      expect(paths, p).toContain(p);
    }
  });
});
