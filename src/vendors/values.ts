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
