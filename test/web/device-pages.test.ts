/** The pure parts of the device and exports pages: field rows, sync words, the export filter and links. */
import { describe, expect, it } from 'vitest';
import { exportUrl, filterParams, readFilter } from '../../web/src/exports/export-filter.js';
import { describeSync, fieldRows, formatTime, formatValue, type SyncAnswer } from '../../web/src/device/device-view.js';

describe('device page view', () => {
  it('lists fields either side fills, compared ones first, marking only the API differences', () => {
    const rows = fieldRows({
      latest: { hostname: 'PC-1', display_name: 'PC-1 | Ann', os_name: null, deny_count_1d: 0 } as never,
      counterpart: { latest: { hostname: 'pc-1.corp', display_name: 'PC-1 | Bob', os_name: null, deny_count_1d: null } } as never,
      differences: ['display_name'],
    });
    expect(rows.map((r) => [r.field, r.own, r.other, r.differs])).toEqual([
      ['hostname', 'PC-1', 'pc-1.corp', false],
      ['display_name', 'PC-1 | Ann', 'PC-1 | Bob', true],
      ['deny_count_1d', 0, null, false],
    ]);
  });

  it('writes values and times in words', () => {
    expect([formatValue(null), formatValue(true), formatValue(false), formatValue(0), formatValue('x')]).toEqual(['—', 'Yes', 'No', '0', 'x']);
    expect(formatTime('2026-03-10T15:00:00.123Z')).toBe('2026-03-10 15:00 UTC');
    expect(formatTime(null)).toBe('—');
  });

  it('says what a sync changed and what became of the variances', () => {
    const answer = {
      device: { hostname: 'CHI-1', display_name: 'New', previous_display_name: 'Old' },
      snapshot_date: '2026-03-10',
      variances: { resolved: [{}], still_open: [], opened: [] },
      variances_message: null,
    } as unknown as SyncAnswer;
    expect(describeSync(answer)).toBe(
      'Synced CHI-1 from ThreatLocker (2026-03-10): display name changed from "Old" to "New". Variances: 1 resolved, 0 still open, 0 opened.',
    );
    expect(describeSync({ ...answer, variances: null, variances_message: 'Today is not checked yet' })).toContain('Today is not checked yet');
  });
});

describe('export filter', () => {
  it('reads the list parameters, dropping values the hub would refuse', () => {
    expect(readFilter(new URLSearchParams('status=all&type=SITE_MISMATCH&organization=%20Acme%20&hostname=chi-&q=ann'))).toEqual({
      status: 'all',
      type: 'SITE_MISMATCH',
      organization: 'Acme',
      hostname: 'chi-',
      q: 'ann',
    });
    expect(readFilter(new URLSearchParams('status=bogus&type=NOPE'))).toEqual({ status: 'open', type: undefined, organization: undefined, hostname: undefined, q: undefined });
  });

  it('builds both export links from the same filter, the search included', () => {
    const filter = readFilter(new URLSearchParams('type=DUPLICATE_TL&organization=A%26B&q=ann'));
    expect(exportUrl('csv', filter)).toBe('/api/variances/export/csv?status=open&type=DUPLICATE_TL&organization=A%26B&q=ann');
    expect(exportUrl('xlsx', filter)).toBe('/api/variances/export/xlsx?status=open&type=DUPLICATE_TL&organization=A%26B&q=ann');
    expect(filterParams(filter).toString()).toBe('type=DUPLICATE_TL&organization=A%26B&q=ann');
  });
});
