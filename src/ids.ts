/**
 * Identifier formats shared by configuration, routes, vendor clients and the fakes: one
 * definition each, so a rule is never tightened in one place and left loose in another.
 */

/** A GUID in its 8-4-4-4-12 hex form, any case (ThreatLocker computer and organization ids). */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID_PATTERN.test(value);
}

/**
 * A non-negative whole-number id (NinjaOne device, organization and location ids) from a
 * number or a string of digits; anything else — fractions, signs, blanks, unsafe integers — is null.
 *
 * @example parseNumericId(' 42 ') // 42
 */
export function parseNumericId(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : null;
}
