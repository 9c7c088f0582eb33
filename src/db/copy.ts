/**
 * Bulk input through `COPY … FROM STDIN` (PostgreSQL) or PGlite's `/dev/blob`: the fastest way
 * a batch of rows reaches a table, several times faster than an INSERT that unpacks a JSON
 * parameter. Collections write their pages with it (inventory/day-swap.ts).
 */

/**
 * Copies `text` (COPY's text format, one row per line, see {@link copyText}) into `table`'s
 * `columns`. One statement: it fails whole (e.g. a unique violation) and then writes nothing.
 */
export type CopyInto = (table: string, columns: readonly string[], text: string) => Promise<void>;

/** One value in COPY's text format: `\N` for null, backslash escapes for the separators. */
function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s =
    typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 't' : 'f') : typeof v === 'number' || typeof v === 'bigint' ? String(v) : JSON.stringify(v);
  // Only these four need escaping (a fast path for the usual value that has none).
  return /[\\\n\r\t]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t') : s;
}

/**
 * Rows in COPY's text format, each row given as a column → value lookup. Strings go as they
 * are, booleans as t/f, objects and arrays as JSON (for jsonb columns). NUL cannot be sent at
 * all: callers pass text made storable first (vendors/values.ts pgSafeText).
 */
export function copyText(columns: readonly string[], rows: readonly ((column: string) => unknown)[]): string {
  const parts: string[] = [];
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) {
      parts.push(copyValue(row(columns[i] as string)), i === columns.length - 1 ? '\n' : '\t');
    }
  }
  return parts.join('');
}

/** `COPY "table" ("a", "b") FROM …`: identifiers quoted as PostgreSQL quotes them. */
export function copyStatement(table: string, columns: readonly string[], from: string): string {
  const id = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return `COPY ${id(table)} (${columns.map(id).join(', ')}) FROM ${from}`;
}
