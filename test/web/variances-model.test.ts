/**
 * The variances page's logic: the URL's filters, the marked part of two names, the age of a
 * variance, and how the answer of a sync changes the loaded list without reloading it.
 */
import { describe, expect, it } from 'vitest';
import {
  ageLabel,
  applyChanged,
  applyVarianceChanges,
  DEFAULT_QUERY,
  describeChanges,
  devicePath,
  diffNames,
  ninjaNameFor,
  parseQuery,
  queryToParams,
  type ListQuery,
  type LoadedList,
  type Variance,
} from '../../web/src/variances/model.js';

function variance(id: number, patch: Partial<Variance> = {}): Variance {
  return {
    id,
    type: 'DISPLAY_NAME_MISMATCH',
    status: 'open',
    hostname: `pc-${id}`,
    organization: 'Acme',
    match_quality: 'exact',
    devices: [
      { vendor: 'threatlocker', device_key: `tl-${id}`, hostname: `PC-${id}`, display_name: `PC-${id} | Ann`, organization_name: 'Acme', location_name: null },
      { vendor: 'ninja', device_key: `${id}`, hostname: `PC-${id}`, display_name: `PC-${id} | Anne Smith`, organization_name: 'Acme', location_name: 'HQ' },
    ],
    evidence: { security_display_name: `PC-${id} | Ann`, rmm_display_name: `PC-${id} | Anne Smith` },
    hint: '',
    first_seen: '2026-03-01',
    last_seen: '2026-03-10',
    resolved_at: null,
    resolved_by: null,
    accepted_until: null,
    accepted_reason: null,
    accepted_by: null,
    updated_at: '2026-03-10T08:00:00.000Z',
    ...patch,
  };
}

const open: ListQuery = DEFAULT_QUERY;
const loaded = (ids: number[], total = ids.length): LoadedList => ({ items: ids.map((id) => variance(id)), total, nextCursor: null });

describe('variances page model', () => {
  it('reads the filters from the URL and writes only what differs from the defaults', () => {
    expect(parseQuery(new URLSearchParams(''))).toEqual(DEFAULT_QUERY);
    const q = parseQuery(new URLSearchParams('status=accepted&type=SITE_MISMATCH&organization=Acme%20Corp&q=%20chi-%20&sort=hostname&order=asc'));
    expect(q).toEqual({ status: 'accepted', type: 'SITE_MISMATCH', organization: 'Acme Corp', q: 'chi-', sort: 'hostname', order: 'asc' });
    expect(queryToParams(q).toString()).toBe('status=accepted&type=SITE_MISMATCH&organization=Acme+Corp&q=chi-&sort=hostname&order=asc');
    expect(queryToParams(DEFAULT_QUERY).toString()).toBe('');
    // Unknown values fall back rather than send the API a 400.
    expect(parseQuery(new URLSearchParams('status=nope&type=BOGUS&sort=x&order=up'))).toEqual(DEFAULT_QUERY);
  });

  it.each([
    ['PC-1 | Ann', 'PC-1 | Anne Smith', ['PC-1 | ', 'Ann', ''], ['PC-1 | ', 'Anne Smith', '']],
    ['RFG-T4 | Maria Garcia', 'RFG-T4 | Sofia Silva', ['RFG-T4 | ', 'Maria Garcia', ''], ['RFG-T4 | ', 'Sofia Silva', '']],
    ['AEC-S05', 'AEC-S05 | Field Tablet', ['AEC-S05', '', ''], ['AEC-S05', ' | Field Tablet', '']],
    ['Front Desk PC', 'front desk pc', ['Front Desk PC', '', ''], ['front desk pc', '', '']],
    ['', 'Lab 2', ['', '', ''], ['', 'Lab 2', '']],
  ])('marks the differing words of %j and %j', (a, b, pa, pb) => {
    const d = diffNames(a, b);
    expect([d.a.before, d.a.changed, d.a.after]).toEqual(pa);
    expect([d.b.before, d.b.changed, d.b.after]).toEqual(pb);
  });

  it('says how old a variance is', () => {
    expect(ageLabel('2026-03-10', '2026-03-10')).toBe('today');
    expect(ageLabel('2026-03-09', '2026-03-10')).toBe('1 day');
    expect(ageLabel('2026-02-26', '2026-03-10')).toBe('12 days');
  });

  it('links the ThreatLocker device, else the NinjaOne one, and copies NinjaOne\'s name only when it has one', () => {
    expect(devicePath(variance(1))).toBe('/devices/threatlocker/tl-1');
    const ninjaOnly = variance(2, { type: 'MISSING_THREATLOCKER', devices: [variance(2).devices[1]!] });
    expect(devicePath(ninjaOnly)).toBe('/devices/ninja/2');
    expect(ninjaNameFor(variance(1))).toBe('PC-1 | Anne Smith');
    expect(ninjaNameFor(variance(3, { evidence: { rmm_display_name: '  ' } }))).toBeNull();
    expect(ninjaNameFor(ninjaOnly)).toBeNull();
    expect(ninjaNameFor(variance(4, { type: 'SITE_MISMATCH' }))).toBeNull();
  });

  it('applies a sync\'s answer: resolved rows leave an open list, still-open rows update, opened rows join', () => {
    const list = loaded([5, 4, 3], 40);
    const after = applyVarianceChanges(
      list,
      {
        resolved: [variance(4, { status: 'resolved' })],
        still_open: [variance(3, { hostname: 'renamed' })],
        opened: [variance(9, { type: 'SITE_MISMATCH' }), variance(5)],
      },
      open,
    );
    expect(after.items.map((v) => v.id)).toEqual([9, 5, 3]);
    expect(after.items.find((v) => v.id === 3)?.hostname).toBe('renamed');
    expect(after.total).toBe(40);

    // A type filter keeps the opened variance of another type out; "all" keeps the resolved row.
    const typed = applyVarianceChanges(list, { resolved: [], still_open: [], opened: [variance(9, { type: 'SITE_MISMATCH' })] }, { ...open, type: 'DISPLAY_NAME_MISMATCH' });
    expect(typed.items.map((v) => v.id)).toEqual([5, 4, 3]);
    const all = applyVarianceChanges(list, { resolved: [variance(4, { status: 'resolved' })], still_open: [], opened: [] }, { ...open, status: 'all' });
    expect(all.items.find((v) => v.id === 4)?.status).toBe('resolved');
    expect(all.total).toBe(40);
  });

  it('moves accepted rows out of the open list and into an accepted one', () => {
    const accepted = variance(4, { status: 'accepted', accepted_until: '2026-04-01' });
    expect(applyChanged(loaded([5, 4], 2), [accepted], open)).toEqual({ items: [variance(5)], total: 1, nextCursor: null });
    expect(applyChanged(loaded([4], 1), [accepted], { ...open, status: 'accepted' }).items).toEqual([accepted]);
  });

  it('puts what a sync did in words', () => {
    expect(describeChanges({ resolved: [variance(1)], still_open: [], opened: [] })).toBe('display-name mismatch resolved');
    expect(describeChanges({ resolved: [], still_open: [variance(1, { type: 'SITE_MISMATCH' })], opened: [variance(2, { type: 'SPARE_MISMATCH' })] })).toBe(
      'customer mismatch still open; new: spare with ThreatLocker',
    );
    expect(describeChanges({ resolved: [], still_open: [], opened: [] })).toBe('no variances about it');
  });
});
