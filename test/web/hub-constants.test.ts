/**
 * The dashboard keeps a few of the hub's constants as plain values (it is bundled for the
 * browser and never loads server code): the variance types it offers as filters, and the export
 * files' columns and row bound it describes. They must say what the hub does.
 */
import { describe, expect, it } from 'vitest';
import { EXPORT_COLUMNS as HUB_EXPORT_COLUMNS, MAX_EXPORT_ROWS as HUB_MAX_EXPORT_ROWS } from '../../src/variances/reports.js';
import { VARIANCE_TYPES as HUB_VARIANCE_TYPES } from '../../src/variances/types.js';
import { EXPORT_COLUMNS, MAX_EXPORT_ROWS } from '../../web/src/exports/export-filter.js';
import { VARIANCE_TYPES } from '../../web/src/variances/model.js';

describe("the dashboard's copies of the hub's constants", () => {
  it('offers exactly the variance types the hub knows, in its order', () => {
    expect([...VARIANCE_TYPES]).toEqual([...HUB_VARIANCE_TYPES]);
  });

  it('describes the export files as the hub writes them', () => {
    expect([...EXPORT_COLUMNS]).toEqual([...HUB_EXPORT_COLUMNS]);
    expect(MAX_EXPORT_ROWS).toBe(HUB_MAX_EXPORT_ROWS);
  });
});
