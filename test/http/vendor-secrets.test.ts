/**
 * The ThreatLocker API key never leaks, end to end: the fake echoes the key the hub sent in its
 * error bodies — straddling the 200-character cut, upper-cased, in a 401 — and the key (or any
 * 8 characters of it, in any letter case) must appear in none of: the API's error answers, the
 * hub's log lines, the sync log, the collector's job and batch rows. Assertions compare
 * booleans, so a failure never prints the key either.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeFault } from '../../src/fakes/threatlocker/index.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, withId, type Harness } from '../helpers/harness.js';

/** True when any 8 consecutive characters of `secret` appear in `text`, in any letter case. */
function leaksPart(text: string, secret: string): boolean {
  const haystack = text.toLowerCase();
  for (let i = 0; i + 8 <= secret.length; i++) if (haystack.includes(secret.slice(i, i + 8).toLowerCase())) return true;
  return false;
}

/** Every echo the fake can produce: 200 characters are kept, so a key starting at 180 straddles the cut. */
const ECHOES: [string, FakeFault][] = [
  ['a 500 with the key straddling the cut', { kind: 'echo-credential', status: 500, prefix: 180, times: null }],
  ['a 500 with the key upper-cased across the cut', { kind: 'echo-credential', status: 500, prefix: 175, letterCase: 'upper', times: null }],
  ['a 401 with the key', { kind: 'echo-credential', status: 401, prefix: 20, times: null }],
  ['a 503 gateway page with the key', { kind: 'status', status: 503, times: null, body: '' }],
];

describe.each(TEST_DATABASES)('vendor secrets on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    // Over 500 live computers: the collector reads two pages.
    h = await createHarness(kind, { fake: { fleetSize: 600 } });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  /** The fault, with a gateway page built around the real key. */
  const inject = (fault: FakeFault) => {
    if (fault.kind === 'status') {
      fault = { ...fault, body: `<html><body>bad gateway ${'.'.repeat(150)} upstream key ${h.fake.apiKey.toUpperCase()}</body></html>` };
    }
    h.fake.admin.injectFault(fault);
  };

  /** Everything the hub kept: its log lines and every text the database holds about attempts and runs. */
  async function everythingKept(): Promise<string> {
    const syncLog = await h.deps.db.selectFrom('device_sync_log').selectAll().execute();
    const jobs = await h.deps.db.selectFrom('job_runs').selectAll().execute();
    const batches = await h.deps.db.selectFrom('job_batches').selectAll().execute();
    return JSON.stringify({ logs: h.logLines, syncLog, jobs, batches });
  }

  it.each(ECHOES)('sync-device: %s reaches no answer, log or row', async (_case, fault) => {
    const pc = withId(h.fake.admin.list()[0]!);
    inject(fault);
    const res = await h.app.inject({ method: 'POST', url: '/api/threatlocker/sync-device', payload: { computer_id: pc.computerId } });
    expect(res.statusCode).toBe(500);
    expect(res.json().code).toMatch(/^HUB_ERR_VENDOR_(UNAVAILABLE|AUTH)$/);
    // The vendor's message is kept — masked.
    expect(res.json().error).toContain('[redacted]');
    expect(leaksPart(res.body, h.fake.apiKey)).toBe(false);
    const history = await h.app.inject({ method: 'GET', url: '/api/threatlocker/sync-history' });
    expect(history.json().history).toHaveLength(1);
    expect(leaksPart(history.body, h.fake.apiKey)).toBe(false);
    const kept = await everythingKept();
    expect(kept).toContain('[redacted]');
    expect(leaksPart(kept, h.fake.apiKey)).toBe(false);
  });

  it.each(ECHOES)('update-name: %s in the PATCH reaches no answer, log or row', async (_case, fault) => {
    const pc = withId(h.fake.admin.list()[1]!);
    inject({ ...fault, operation: 'ComputerUpdateForEdit' });
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/threatlocker/update-name',
      payload: { computer_id: pc.computerId, new_name: 'Renamed | Key test' },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json().error).toContain('[redacted]');
    expect(leaksPart(res.body, h.fake.apiKey)).toBe(false);
    expect(leaksPart(await everythingKept(), h.fake.apiKey)).toBe(false);
  });

  it.each(ECHOES)('collector: %s on page 2 reaches no job, batch, answer or log', async (_case, fault) => {
    inject({ ...fault, operation: 'ComputerGetByAllParameters', nth: 2 });
    const started = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'], force: true } });
    expect(started.statusCode).toBe(202);
    await h.deps.runs.idle();
    const batch = await h.app.inject({ method: 'GET', url: `/api/collectors/runs/batch/${started.json().batch_id}` });
    expect(batch.json()).toMatchObject({ status: 'failed', collectors: [{ status: 'failed' }] });
    expect(batch.json().collectors[0].error).toContain('[redacted]');
    expect(leaksPart(batch.body, h.fake.apiKey)).toBe(false);
    const history = await h.app.inject({ method: 'GET', url: '/api/collectors/history' });
    expect(history.statusCode).toBe(200);
    expect(leaksPart(history.body, h.fake.apiKey)).toBe(false);
    const kept = await everythingKept();
    expect(leaksPart(kept, h.fake.apiKey)).toBe(false);
    // Nothing of the key in any text column the run could have touched.
    const staged = await sql<{ n: string }>`SELECT count(*) AS n FROM collector_staging`.execute(h.deps.db);
    expect(Number(staged.rows[0]?.n)).toBe(0);
  });
});
