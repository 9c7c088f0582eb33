/** The coverage matrix's rows, named and sorted (pure, so the order is unit-tested). */
import type { paths } from '../api/schema.js';

export type Coverage = paths['/api/organizations/coverage']['get']['responses'][200]['content']['application/json'];
export type CoverageRow = Coverage['rows'][number];

export type CoverageColumn = 'customer' | 'threatlocker_devices' | 'ninja_devices' | 'matched_percent' | 'open_variances';
export type SortOrder = 'ascending' | 'descending';
export interface CoverageSort {
  readonly column: CoverageColumn;
  readonly order: SortOrder;
}

/** The hub's own order: by name, the row without organization last. */
export const DEFAULT_SORT: CoverageSort = { column: 'customer', order: 'ascending' };

/** The name a customer goes by: its ThreatLocker organization, else its NinjaOne one. */
export function customerName(row: CoverageRow): string | null {
  return row.threatlocker_organization ?? row.ninja_organization;
}

/** Whether the row is an organization one tool has and the other does not. */
export function isUnmapped(row: CoverageRow): boolean {
  return customerName(row) !== null && (row.threatlocker_organization === null || row.ninja_organization === null);
}

const byName = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

/**
 * Sorted copy. Rows without a value (no organization, no matched percent) come last in both
 * orders, as the hub does; ties keep the hub's order (Array.prototype.sort is stable).
 */
export function sortCoverage(rows: readonly CoverageRow[], sort: CoverageSort): CoverageRow[] {
  const direction = sort.order === 'ascending' ? 1 : -1;
  const value = (row: CoverageRow): string | number | null => (sort.column === 'customer' ? customerName(row) : row[sort.column]);
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null || vb === null) return va === vb ? 0 : va === null ? 1 : -1;
    const c = typeof va === 'string' && typeof vb === 'string' ? byName.compare(va, vb) : Number(va) - Number(vb);
    return c * direction;
  });
}

/** A header click: the same column flips its order; another starts with the natural one. */
export function nextSort(current: CoverageSort, column: CoverageColumn): CoverageSort {
  if (current.column === column) return { column, order: current.order === 'ascending' ? 'descending' : 'ascending' };
  // Names read A→Z; figures are most useful largest first.
  return { column, order: column === 'customer' ? 'ascending' : 'descending' };
}
