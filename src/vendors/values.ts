/**
 * Reading loosely typed vendor values, shared by every vendor's schema and normalizer: vendors
 * send null for any descriptive field, numbers as strings, and booleans as strings or 0/1.
 */
import { z } from 'zod';

/** Tolerant zod field types for raw vendor rows: anything of roughly the right kind, or null. */
export const looseText = z.string().nullish();
export const looseNumber = z.union([z.number(), z.string()]).nullish();
export const looseFlag = z.union([z.boolean(), z.string(), z.number()]).nullish();

/** Trimmed string, or null when absent or blank. */
export function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const t = value.trim();
  return t === '' ? null : t;
}

/** A whole number from an integer or an integer string; anything else (fractions too) is null. */
export function int(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value.trim());
  return null;
}

/** true/false from booleans, 0/1, and "true"/"yes"/"1" / "false"/"no"/"0"; else null. */
export function bool(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', 'yes', '1'].includes(v)) return true;
    if (['false', 'no', '0'].includes(v)) return false;
  }
  return null;
}

/**
 * Characters PostgreSQL cannot store: NUL (refused in `text` and in `jsonb`) and UTF-16
 * surrogates. A well-formed pair (an emoji) is kept; a lone surrogate is refused by `jsonb`
 * ("unsupported Unicode escape sequence") and silently mangled in `text`.
 */
const NUL_OR_LONE_SURROGATE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `String.prototype.isWellFormed` (Node 20; typed only from lib ES2024): false when a lone surrogate is present. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** `s` without NUL and lone surrogates (the same string object when there is nothing to strip). */
export function pgSafeText(s: string): string {
  // The common case costs two native scans and no allocation (measured faster than one regex).
  if (!s.includes('\u0000') && isWellFormed(s)) return s;
  return s.replace(NUL_OR_LONE_SURROGATE, '');
}

/** A vendor value made safe for PostgreSQL, and how many strings (keys included) had to change. */
export interface PgSafe<T> {
  readonly value: T;
  readonly changed: number;
}

/**
 * Makes every string in a parsed JSON value safe for PostgreSQL `text` and `jsonb` — values
 * and object keys, at any depth — with {@link pgSafeText}. Copy-on-write: a value that needs
 * no change is returned as is, so clean rows cost one walk and no allocation.
 *
 * @example
 *   pgSafeJson({ 'a\u0000': ['x\ud800'] }); // { value: { a: ['x'] }, changed: 2 }
 */
export function pgSafeJson<T>(input: T): PgSafe<T> {
  let changed = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const safe = pgSafeText(v);
      if (safe !== v) changed++;
      return safe;
    }
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const item = walk(v[i]);
        if (item !== v[i]) (out ??= v.slice())[i] = item;
      }
      return out ?? v;
    }
    if (v !== null && typeof v === 'object') {
      const source = v as Record<string, unknown>;
      const keys = Object.keys(source);
      // Entries are only built once something changed (fromEntries also keeps a `__proto__` key a plain key).
      let out: [string, unknown][] | undefined;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const item = source[k];
        const key = pgSafeText(k);
        if (key !== k) changed++;
        const value = walk(item);
        if (out === undefined && (key !== k || value !== item)) out = keys.slice(0, i).map((p) => [p, source[p]]);
        out?.push([key, value]);
      }
      return out === undefined ? v : Object.fromEntries(out);
    }
    return v;
  };
  const value = walk(input) as T;
  return { value, changed };
}
