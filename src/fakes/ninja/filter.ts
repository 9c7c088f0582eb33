/**
 * The subset of NinjaOne's device filter (`df`, vendor-apis.md §2.4) that inventory clients use:
 * statements `<field> <op> <value>` joined by ` AND `, plus the bare predicates `online` and
 * `offline`.
 *
 * - fields: `org`, `loc`, `id`, `role` (numbers), `class` (a node class), `status`
 *   (`APPROVED`/`PENDING`), `created` (`YYYY-MM-DD`, with `before`/`after` only);
 * - operators: `eq`/`=`, `neq`/`!=`, `in`/`notin` with a list `(a,b,c)`;
 * - anything else is a parse error, which the server answers with 400.
 */
import { parseNumericId } from '../../ids.js';
import { NINJA_NODE_CLASSES, type FakeNinjaDevice } from './data.js';

export class DeviceFilterError extends Error {
  override readonly name = 'DeviceFilterError';
}

export type DevicePredicate = (device: FakeNinjaDevice) => boolean;

type Op = 'eq' | 'neq' | 'in' | 'notin' | 'before' | 'after';
const OPS: Record<string, Op> = { eq: 'eq', '=': 'eq', neq: 'neq', '!=': 'neq', in: 'in', notin: 'notin', before: 'before', after: 'after' };
const NUMERIC_FIELDS = { org: 'organizationId', loc: 'locationId', id: 'id', role: 'nodeRoleId' } as const;
const CLASSES = new Set<string>(NINJA_NODE_CLASSES);
const STATUSES = new Set(['APPROVED', 'PENDING']);

/** `org = 5`, `org=5`, `class in (MAC,LINUX_SERVER)`, `status eq PENDING`. */
const STATEMENT = /^([a-z]+)\s*(!=|=)\s*(.+)$|^([a-z]+)\s+(eq|neq|in|notin|before|after)\s+(.+)$/i;

/**
 * @example
 *   const keep = parseDeviceFilter('org in (2,3) AND class eq WINDOWS_SERVER AND online');
 *   devices.filter(keep);
 */
export function parseDeviceFilter(df: string): DevicePredicate {
  const statements = df.trim() === '' ? [] : df.trim().split(/\s+AND\s+/i);
  const predicates = statements.map(parseStatement);
  return (device) => predicates.every((p) => p(device));
}

function parseStatement(raw: string): DevicePredicate {
  const text = raw.trim();
  if (/^online$/i.test(text)) return (d) => !d.offline;
  if (/^offline$/i.test(text)) return (d) => d.offline;
  const m = STATEMENT.exec(text);
  if (!m) throw new DeviceFilterError(`Cannot parse device filter statement "${text}".`);
  const field = (m[1] ?? m[4] ?? '').toLowerCase();
  const op = OPS[(m[2] ?? m[5] ?? '').toLowerCase()] as Op;
  const value = (m[3] ?? m[6] ?? '').trim();

  if (field === 'created') {
    if (op !== 'before' && op !== 'after') throw new DeviceFilterError(`created takes "before" or "after", not "${op}".`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
      throw new DeviceFilterError(`created needs a date as YYYY-MM-DD, got "${value}".`);
    }
    const at = Date.parse(`${value}T00:00:00Z`) / 1000;
    return op === 'before' ? (d) => d.created < at : (d) => d.created >= at;
  }
  if (op === 'before' || op === 'after') throw new DeviceFilterError(`"${op}" applies to created only.`);

  const values = listOrSingle(value, op);
  let read: (d: FakeNinjaDevice) => unknown;
  let wanted: Set<unknown>;
  if (field in NUMERIC_FIELDS) {
    const key = NUMERIC_FIELDS[field as keyof typeof NUMERIC_FIELDS];
    wanted = new Set(
      values.map((v) => {
        const id = parseNumericId(v);
        if (id === null || v.trim() !== v) throw new DeviceFilterError(`${field} needs numeric ids, got "${v}".`);
        return id;
      }),
    );
    read = (d) => d[key];
  } else if (field === 'class' || field === 'status') {
    const allowed = field === 'class' ? CLASSES : STATUSES;
    wanted = new Set(
      values.map((v) => {
        const upper = v.toUpperCase();
        if (!allowed.has(upper)) throw new DeviceFilterError(`Unknown ${field} "${v}".`);
        return upper;
      }),
    );
    read = field === 'class' ? (d) => d.nodeClass : (d) => d.approvalStatus;
  } else {
    throw new DeviceFilterError(`Unknown device filter field "${field}".`);
  }
  const negate = op === 'neq' || op === 'notin';
  return (d) => wanted.has(read(d)) !== negate;
}

/** `in`/`notin` take `(a,b,c)`; `eq`/`neq` take one bare value. */
function listOrSingle(value: string, op: Op): string[] {
  if (op === 'in' || op === 'notin') {
    const list = /^\((.*)\)$/.exec(value);
    if (!list) throw new DeviceFilterError(`"${op}" needs a list in parentheses, got "${value}".`);
    const items = (list[1] ?? '').split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) throw new DeviceFilterError(`Empty item in list "${value}".`);
    return items;
  }
  if (/[\s(),]/.test(value)) throw new DeviceFilterError(`"${op}" takes one value, got "${value}".`);
  return [value];
}
