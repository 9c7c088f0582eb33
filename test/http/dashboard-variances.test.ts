/**
 * What the dashboard reads from the variance list (free text, sorts with keyset pages, the total)
 * and the summary by type, through app.inject() on every test database. Variances are seeded
 * straight into the store (no rules involved).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FoundVariance } from '../../src/variances/types.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, TEST_TODAY, type Harness } from '../helpers/harness.js';
import { applyFindings, displayMismatch, missingNinja } from '../helpers/variances.js';

interface Item {
  id: number;
  type: string;
  hostname: string;
  organization: string | null;
  first_seen: string;
  last_seen: string;
}

const noOrganization = (host: string): FoundVariance => ({ ...missingNinja(host), organization: null, subjectKey: `MISSING_NINJA:threatlocker:${host}-none` });

describe.each(TEST_DATABASES)('variance list for the dashboard on %s', (kind) => {
  let h: Harness;
  const get = (url: string) => h.app.inject({ method: 'GET', url });
  const hosts = async (q: string) => (await get(`/api/variances?${q}`)).json().items.map((v: Item) => v.hostname);

  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  describe('with a varied store', () => {
    beforeEach(async () => {
      // Three days, so that first_seen and last_seen differ; what day 2 no longer finds is resolved.
      await applyFindings(h.deps.db, h.clock, '2026-03-08', [missingNinja('zeta', 'Globex'), missingNinja('old-1', 'Acme'), noOrganization('orphan')]);
      await applyFindings(h.deps.db, h.clock, '2026-03-09', [
        missingNinja('zeta', 'Globex'),
        noOrganization('orphan'),
        displayMismatch('srv-1', 'SRV 1', 'Server One', 'Acme'),
        missingNinja('alpha', 'Initech'),
      ]);
      await applyFindings(h.deps.db, h.clock, TEST_TODAY, [
        missingNinja('zeta', 'Globex'),
        noOrganization('orphan'),
        displayMismatch('srv-1', 'SRV 1', 'Server One', 'Acme'),
        missingNinja('alpha', 'Initech'),
        missingNinja('pc_b', 'Globex'),
        displayMismatch('mid-9', 'Front Desk', 'Front Desk PC', 'Acme'),
        noOrganization('beta'),
      ]);
    });

    it('finds free text in the hostname or any display name, any case, wildcards literal', async () => {
      expect(await hosts('status=all&q=ETA')).toEqual(['beta', 'zeta']);
      // Only in a display name (Ninja's "Server One").
      expect(await hosts('q=server%20o')).toEqual(['srv-1']);
      expect(await hosts('q=desk%20pc')).toEqual(['mid-9']);
      expect(await hosts('q=c_b')).toEqual(['pc_b']);
      expect(await hosts('q=%25')).toEqual([]);
      expect(await hosts('q=_')).toEqual(['pc_b']);
      expect(await hosts('q=zzz')).toEqual([]);
      // Combined with the other filters.
      expect(await hosts('q=a&organization=Initech')).toEqual(['alpha']);
    });

    it('counts every variance matching the filters, whatever the page', async () => {
      const all = (await get('/api/variances?status=all&limit=2')).json();
      expect(all.items).toHaveLength(2);
      expect(all.total).toBe(8);
      expect((await get(`/api/variances?status=all&limit=2&cursor=${encodeURIComponent(all.next_cursor)}`)).json().total).toBe(8);
      expect((await get('/api/variances')).json().total).toBe(7);
      expect((await get('/api/variances?type=DISPLAY_NAME_MISMATCH')).json().total).toBe(2);
      expect((await get('/api/variances?q=server')).json().total).toBe(1);
      expect((await get('/api/variances?q=nothing-like-it')).json()).toEqual({ items: [], next_cursor: null, total: 0 });
    });

    const SORTS = ['id', 'type', 'hostname', 'organization', 'first_seen', 'last_seen'] as const;
    /** The order the API documents: code-unit text order, no organization last, id breaking ties. */
    const expected = (items: Item[], sort: (typeof SORTS)[number], order: 'asc' | 'desc'): string[] => {
      const sign = order === 'asc' ? 1 : -1;
      const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
      return [...items]
        .sort((a, b) => {
          if (sort !== 'id') {
            const x = a[sort];
            const y = b[sort];
            if (x === null || y === null) {
              if (x !== y) return x === null ? 1 : -1;
            } else if (x !== y) return sign * cmp(x, y);
          }
          return sign * cmp(a.id, b.id);
        })
        .map((v) => v.hostname);
    };

    it('sorts by every column both ways, and pages through each order with its own cursor', async () => {
      const everything = (await get('/api/variances?status=all&limit=500')).json().items as Item[];
      expect(everything).toHaveLength(8);
      expect(new Set(everything.map((v) => v.first_seen))).toEqual(new Set(['2026-03-08', '2026-03-09', TEST_TODAY]));
      for (const sort of SORTS) {
        for (const order of ['asc', 'desc'] as const) {
          const want = expected(everything, sort, order);
          const whole = await hosts(`status=all&sort=${sort}&order=${order}&limit=500`);
          expect([sort, order, whole]).toEqual([sort, order, want]);
          // Pages of 3 read the same order through cursors.
          const paged: string[] = [];
          let cursor: string | null = null;
          for (let i = 0; i < 10; i++) {
            const body: { items: Item[]; next_cursor: string | null } = (await get(`/api/variances?status=all&sort=${sort}&order=${order}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json();
            paged.push(...body.items.map((v: Item) => v.hostname));
            cursor = body.next_cursor;
            if (cursor === null) break;
          }
          expect([sort, order, paged]).toEqual([sort, order, want]);
        }
      }
      // The default stays today's: newest first.
      expect(await hosts('status=all&limit=500')).toEqual(expected(everything, 'id', 'desc'));
    });

    it('pages by a long organization name in any script', async () => {
      const long = 'Ωmega-Société'.repeat(20).slice(0, 255);
      await applyFindings(h.deps.db, h.clock, TEST_TODAY, [missingNinja('w-1', long), missingNinja('w-2', long), missingNinja('w-3', long)]);
      const first = (await get('/api/variances?sort=organization&order=asc&organization=' + encodeURIComponent(long) + '&limit=2')).json();
      expect(first.next_cursor.length).toBeGreaterThan(400);
      const second = await get(`/api/variances?sort=organization&order=asc&organization=${encodeURIComponent(long)}&limit=2&cursor=${first.next_cursor}`);
      expect(second.statusCode).toBe(200);
      expect([...first.items, ...second.json().items].map((v: Item) => v.hostname)).toEqual(['w-1', 'w-2', 'w-3']);
    });

    it('refuses a cursor given for another sort or order, naming cursor', async () => {
      const byHost = (await get('/api/variances?status=all&sort=hostname&limit=2')).json().next_cursor as string;
      const byDefault = (await get('/api/variances?status=all&limit=2')).json().next_cursor as string;
      const forged = Buffer.from(JSON.stringify({ v: 2, s: 'first_seen', o: 'asc', k: 'not a date', id: 3 })).toString('base64url');
      for (const q of [
        `sort=hostname&order=asc&cursor=${byHost}`,
        `sort=organization&cursor=${byHost}`,
        `sort=hostname&cursor=${byDefault}`,
        `order=asc&cursor=${byDefault}`,
        `sort=first_seen&order=asc&cursor=${forged}`,
      ]) {
        const res = await get(`/api/variances?status=all&${q}`);
        expect([q, res.statusCode, res.json().code, res.json().field]).toEqual([q, 400, 'HUB_ERR_VALIDATION', 'cursor']);
      }
      expect((await get(`/api/variances?status=all&sort=hostname&cursor=${byHost}`)).statusCode).toBe(200);
      expect((await get(`/api/variances?status=all&cursor=${byDefault}`)).statusCode).toBe(200);
    });
  });

  it('refuses bad q, sort and order naming the field', async () => {
    for (const [q, field] of [
      [`q=${'x'.repeat(256)}`, 'q'],
      ['q=a%00b', 'q'],
      ['sort=size', 'sort'],
      ['sort=', 'sort'],
      ['order=up', 'order'],
    ] as const) {
      const res = await get(`/api/variances?${q}`);
      expect([q, res.statusCode, res.json().code, res.json().field]).toEqual([q, 400, 'HUB_ERR_VALIDATION', field]);
    }
  });

  describe('GET /api/variances/summary', () => {
    it('lists every type with zeros before any check', async () => {
      const res = await get('/api/variances/summary');
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.snapshot_date).toBeNull();
      expect(body.previous_date).toBeNull();
      expect(body.types).toHaveLength(7);
      for (const t of body.types) expect(t).toEqual({ type: t.type, open: 0, latest: 0, previous: null, change: null });
    });

    it('compares the latest checked day with the one before, by type', async () => {
      await applyFindings(h.deps.db, h.clock, '2026-03-09', [missingNinja('pc-a'), missingNinja('pc_b', 'Globex'), displayMismatch('srv-1', 'A', 'B')]);
      let body = (await get('/api/variances/summary')).json();
      expect(body).toMatchObject({ snapshot_date: '2026-03-09', previous_date: null });
      expect(body.types.find((t: { type: string }) => t.type === 'MISSING_NINJA')).toEqual({ type: 'MISSING_NINJA', open: 2, latest: 2, previous: null, change: null });

      await applyFindings(h.deps.db, h.clock, TEST_TODAY, [missingNinja('pc-a'), displayMismatch('srv-1', 'A', 'B'), displayMismatch('srv-2', 'C', 'D')]);
      // A person resolves one after the check: "open" moves, the day's comparison does not.
      const id = (await h.deps.db.selectFrom('variance').select('id').where('hostname', '=', 'pc-a').executeTakeFirstOrThrow()).id;
      expect((await h.app.inject({ method: 'POST', url: `/api/variances/${id}/resolve`, payload: { resolved_by: 'alice' } })).statusCode).toBe(200);
      body = (await get('/api/variances/summary')).json();
      expect(body.snapshot_date).toBe(TEST_TODAY);
      expect(body.previous_date).toBe('2026-03-09');
      expect(body.types).toEqual([
        { type: 'MISSING_NINJA', open: 0, latest: 1, previous: 2, change: -1 },
        { type: 'MISSING_THREATLOCKER', open: 0, latest: 0, previous: 0, change: 0 },
        { type: 'DUPLICATE_TL', open: 0, latest: 0, previous: 0, change: 0 },
        { type: 'DUPLICATE_NINJA', open: 0, latest: 0, previous: 0, change: 0 },
        { type: 'SPARE_MISMATCH', open: 0, latest: 0, previous: 0, change: 0 },
        { type: 'DISPLAY_NAME_MISMATCH', open: 2, latest: 2, previous: 1, change: 1 },
        { type: 'SITE_MISMATCH', open: 0, latest: 0, previous: 0, change: 0 },
      ]);
    });
  });
});
