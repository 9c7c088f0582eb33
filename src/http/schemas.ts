/**
 * Schemas shared by every route plugin. Every error the hub answers has this shape; routes
 * extend it with the fields that identify what failed (a device, a job).
 */
import { z } from 'zod';

export const ErrorBody = z.object({
  error: z.string().describe('What went wrong, in words'),
  code: z.string().describe('Stable HUB_ERR_* code (docs/api.md#error-codes)'),
  field: z.string().optional().describe('The input field at fault, for 400s'),
  scope: z.string().optional().describe('The scope the route needs, for 403 HUB_ERR_FORBIDDEN'),
  request_id: z.string().optional().describe('The request id (also the X-Request-Id header); quote it when reporting a problem'),
});

/** A request body: a JSON object (anything else is named as such in the 400). */
export const bodyObject = <T extends z.ZodRawShape>(shape: T) => z.object(shape, { error: 'Request body must be a JSON object' });

/** A string field where blank and null mean "not given"; the result is trimmed. */
export const optionalText = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a string` })
    .max(max, { error: `${field} must be at most ${max} characters` })
    .nullish()
    .transform((v) => (v == null || v.trim() === '' ? undefined : v.trim()));

/** The `:id` path parameter of a stored record (an integer column): `noun` names it in the 400. */
export const recordIdParam = (noun: string) => {
  const error = `id must be ${noun} id (a positive whole number)`;
  return z.object({ id: z.coerce.number({ error }).int({ error }).positive({ error }).max(2_147_483_647, { error }) });
};

/**
 * Text the API accepts. Control characters (Unicode Cc: C0 including tab, CR and LF, DEL, and
 * C1) have no business in identifiers, names or query values — and NUL cannot be stored in
 * PostgreSQL text at all; an unpaired UTF-16 surrogate is not text (it cannot be encoded as
 * UTF-8). Both are refused in every string a request carries, before any route sees it.
 */
const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /\p{Cs}/u;

export interface UnsafeText {
  /** Dotted path of the offending value ("new_name", "collectors.1", "id"). */
  readonly field: string;
  readonly message: string;
}

function textProblem(value: string): string | undefined {
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode text (it contains an unpaired surrogate)';
  return undefined;
}

/**
 * The first string in `value` (a parsed body, query or params object; keys included) that the
 * API refuses, or undefined. `prefix` names the part for a root-level string (e.g. "body").
 *
 * @example findUnsafeText({ new_name: 'a\u0000' }, 'body') // { field: 'new_name', message: 'new_name must not contain control characters' }
 */
export function findUnsafeText(value: unknown, prefix: string, path: readonly string[] = []): UnsafeText | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    const field = path.length > 0 ? path.join('.') : prefix;
    return problem ? { field, message: `${field} ${problem}` } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeText(value[i], prefix, [...path, String(i)]);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const keyProblem = textProblem(key);
    if (keyProblem) {
      const where = path.length > 0 ? path.join('.') : prefix;
      return { field: where, message: `${where}: a field name ${keyProblem}` };
    }
    const found = findUnsafeText(child, prefix, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/**
 * Route option for answers of thousands of items (a day's variance report is ~5 MB at 100,000
 * devices per vendor): written with JSON.stringify alone, skipping the zod encoding pass over
 * every item, which took as long as building the report (about 70 ms of 140 at that size,
 * docs/benchmarks.md). The response schema still documents the answer in OpenAPI, and the tests
 * parse each such answer with it (test/http/variance-reports.test.ts), so the contract is checked
 * where a mistake would be made — in the code that builds the answer — not on every request.
 */
export const plainJsonResponse = {
  serializerCompiler: () => (data: unknown) => JSON.stringify(data),
} as const;

/** One sync or rename attempt (the sync log), as sync-history and the device page show it. */
export const SyncHistoryEntry = z.object({
  id: z.number().int(),
  operation: z.enum(['sync', 'rename']),
  requested_at: z.string(),
  requested_computer_id: z.string().nullable(),
  requested_hostname: z.string().nullable(),
  matched_computer_id: z.string().nullable(),
  matched_hostname: z.string().nullable(),
  matched_by: z.string().nullable(),
  snapshot_date: z.string().nullable(),
  previous_display_name: z.string().nullable(),
  display_name: z.string().nullable(),
  updated_by: z.string(),
  outcome: z.string(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  duration_ms: z.number().int(),
});
