/**
 * Scripted faults shared by every fake vendor: "fail request #3 with 503", "reset the
 * connection on the 2nd page", "answer null", "wait 5 s", "echo the credential in a 500".
 * Tests inject them in-process or over the fakes' `/__admin/faults` endpoint (validated by
 * `faultSchema`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

export const faultSchema = z.intersection(
  z.object({
    /** An operation name such as `ComputerGetByAllParameters`; absent or `any` matches every call. */
    operation: z.string().optional(),
    /** Fire first on the N-th matching request counted from injection (default 1). */
    nth: z.number().int().min(1).optional(),
    /** How many matching requests fire (default 1); null or Infinity: every one. */
    times: z.number().int().min(1).nullable().optional(),
  }),
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('status'), status: z.number().int().min(200).max(599), body: z.unknown().optional(), retryAfter: z.string().optional() }),
    z.object({ kind: z.literal('delay'), ms: z.number().min(0) }),
    z.object({ kind: z.literal('reset') }),
    z.object({ kind: z.literal('empty') }),
    z.object({ kind: z.literal('null') }),
    /**
     * An error answer whose message repeats the request's `Authorization` value, as careless
     * servers do: after `prefix` characters of filler (so the credential can straddle a cut),
     * as sent or upper-cased. Proves that a client masks secrets before it keeps any text.
     */
    z.object({
      kind: z.literal('echo-credential'),
      status: z.number().int().min(400).max(599).optional(),
      prefix: z.number().int().min(0).max(10_000).optional(),
      letterCase: z.enum(['as-sent', 'upper']).optional(),
    }),
  ]),
);
export type FakeFault = z.infer<typeof faultSchema>;

interface ArmedFault {
  readonly fault: FakeFault;
  seen: number;
  fired: number;
}

const limit = (fault: FakeFault): number => (fault.times === undefined ? 1 : (fault.times ?? Infinity));

export class FaultPlan {
  private armed: ArmedFault[] = [];

  inject(fault: FakeFault): void {
    this.armed.push({ fault, seen: 0, fired: 0 });
  }

  clear(): void {
    this.armed = [];
  }

  /** Counts the request against every matching fault and returns the first one due to fire. */
  take(operation: string): FakeFault | undefined {
    let due: ArmedFault | undefined;
    for (const a of this.armed) {
      const op = a.fault.operation;
      if (op !== undefined && op.toLowerCase() !== 'any' && op.toLowerCase() !== operation.toLowerCase()) continue;
      a.seen++;
      if (!due && a.seen >= (a.fault.nth ?? 1) && a.fired < limit(a.fault)) due = a;
    }
    if (!due) return undefined;
    due.fired++;
    this.armed = this.armed.filter((a) => a.fired < limit(a.fault));
    return due.fault;
  }
}

/** What a fake needs to act a fault out on one request. */
export interface FaultContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** Answers with a status and body (and records the status in the fake's request log). */
  send(status: number, payload: unknown, headers?: Record<string, string>): FastifyReply;
  /** Waits, but is released early when the fake closes. */
  wait(ms: number): Promise<void>;
  /** The vendor's own error body for a status, used when the fault gives none. */
  defaultBody(status: number): unknown;
  /** The vendor's error body shape around a given message (default `{ message }`). */
  errorBody?(status: number, message: string): unknown;
}

/** The message of an `echo-credential` fault: filler, then the credential the request sent. */
export function echoedCredential(fault: { prefix?: number | undefined; letterCase?: 'as-sent' | 'upper' | undefined }, credential: string): string {
  const shown = fault.letterCase === 'upper' ? credential.toUpperCase() : credential;
  const filler = 'Request could not be authorized for this tenant; '.repeat(Math.ceil((fault.prefix ?? 0) / 50) + 1).slice(0, fault.prefix ?? 0);
  return `${filler}${shown} was not accepted.`;
}

/**
 * Acts a due fault out. Resolves `'served'` when the fault answered (or dropped the
 * connection) and `'continue'` when the request should now be served normally (after a delay,
 * or when no fault was due).
 */
export async function applyFault(fault: FakeFault | undefined, c: FaultContext): Promise<'served' | 'continue'> {
  switch (fault?.kind) {
    case 'reset':
      c.reply.hijack();
      c.request.raw.socket.destroy();
      return 'served';
    case 'empty':
      c.send(200, '', { 'content-type': 'application/json; charset=utf-8' });
      return 'served';
    case 'null':
      c.send(200, null);
      return 'served';
    case 'status':
      c.send(fault.status, fault.body === undefined ? c.defaultBody(fault.status) : fault.body, fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter });
      return 'served';
    case 'delay':
      await c.wait(fault.ms);
      return 'continue';
    case 'echo-credential': {
      const status = fault.status ?? 500;
      const message = echoedCredential(fault, String(c.request.headers.authorization ?? ''));
      c.send(status, c.errorBody ? c.errorBody(status, message) : { message });
      return 'served';
    }
    case undefined:
      return 'continue';
  }
}
