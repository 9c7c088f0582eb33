/** Errors of the fake NinjaOne. */
import { parseNumericId } from '../../ids.js';
import { randomUUID } from 'node:crypto';

/** An answer in NinjaOne's API error shape `{resultCode, errorMessage, incidentId}`. */
export class NinjaError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const errorBody = (message: string) => ({ resultCode: 'FAILURE', errorMessage: message, incidentId: randomUUID() });

/** A numeric path id (device, organization); anything else is a 400. */
export function pathId(raw: string): number {
  const id = parseNumericId(raw);
  if (id === null || raw.trim() !== raw) throw new NinjaError(400, `Invalid id "${raw}".`);
  return id;
}

