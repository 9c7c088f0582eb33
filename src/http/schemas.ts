/**
 * Schemas shared by every route plugin. Every error the hub answers has this shape; routes
 * extend it with the fields that identify what failed (a device, a job).
 */
import { z } from 'zod';

export const ErrorBody = z.object({
  error: z.string().describe('What went wrong, in words'),
  code: z.string().describe('Stable HUB_ERR_* code (docs/api.md#error-codes)'),
  field: z.string().optional().describe('The input field at fault, for 400s'),
});
