/**
 * A cancel reaches the ThreatLocker page in flight: the run's signal goes down to the vendor
 * request, so a cancelled collection ends while the fake is still holding the page (it never
 * answers it), and the run is recorded as cancelled — not as a vendor timeout or a failure.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, type Harness } from '../helpers/harness.js';

/** How long `vi.waitFor` polls for an event (not a pass/fail time limit: a busy machine may be slow). */
const WAIT = { timeout: 15_000, interval: 10 };

describe.each(TEST_DATABASES)('ThreatLocker collector cancellation on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    // A per-attempt timeout longer than the test: only the cancel can end the slow page.
    h = await createHarness(kind, { fake: { fleetSize: 1100, seed: 4 }, timeoutMs: 120_000 });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  it('ends the page in flight at once and records the run as cancelled', async () => {
    h.fake.admin.injectFault({ operation: 'ComputerGetByAllParameters', kind: 'delay', ms: 600_000, nth: 2 });
    const started = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
    const jobId = started.json().collectors[0].job_id as string;
    // Page 1 is read and page 2 is held by the fake.
    await vi.waitFor(() => expect(h.fake.admin.requestCount('ComputerGetByAllParameters')).toBe(2), WAIT);
    const cancel = await h.app.inject({ method: 'POST', url: `/api/collectors/runs/job/${jobId}/cancel` });
    expect(cancel.statusCode).toBe(202);
    await h.deps.runs.idle();
    // The run is over while the fake still has never answered page 2: the cancel ended it.
    const [, page2] = h.fake.admin.requests();
    expect(page2?.status).toBeNull();
    const job = (await h.app.inject({ method: 'GET', url: `/api/collectors/runs/job/${jobId}` })).json();
    expect(job).toMatchObject({ status: 'cancelled', message: 'Cancelled; the previous data is unchanged', error: null });
    await vi.waitFor(() => expect(h.fake.admin.requests()[1]?.closedBeforeAnswer).toBe(true), WAIT);
    expect(h.fake.admin.requestCount()).toBe(2);
    expect(await h.deps.db.selectFrom('device_snapshot').selectAll().execute()).toEqual([]);
  });
});
