/**
 * A collection whose batch outcome cannot be written (the database refuses it) must be logged,
 * not left as a rejected promise nobody handles: that rejection ends the process.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, type Harness } from '../helpers/harness.js';

describe.each(TEST_DATABASES)('a batch whose outcome cannot be written, on %s', (kind) => {
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await createHarness(kind, { fake: { fleetSize: 20, seed: 5 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is logged as a failed run and the process keeps going', async () => {
    if (!h) throw new Error('no harness');
    // The batch may start ('running') but never end: what a database outage does to finishBatch.
    await sql`CREATE FUNCTION refuse_batch_end() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN RAISE EXCEPTION 'batch end refused'; END $$`.execute(h.deps.db);
    await sql`CREATE TRIGGER refuse_batch_end BEFORE UPDATE ON job_batches FOR EACH ROW
              WHEN (NEW.status <> 'running') EXECUTE FUNCTION refuse_batch_end()`.execute(h.deps.db);

    const res = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker'] } });
    expect(res.statusCode).toBe(202);
    const batchId = res.json<{ batch_id: string }>().batch_id;
    await h.deps.runs.idle();
    await new Promise((r) => setImmediate(r)); // the handler chained after the run settles

    // Retried (the harness allows 3 attempts), then given up on and logged — never thrown.
    const lines = h.logLines.map((l) => JSON.parse(l) as { msg: string; batch?: string; err?: { message: string } });
    expect(lines.filter((l) => l.msg === 'could not settle the batch; retrying')).toHaveLength(2);
    const failures = lines.filter((l) => l.msg === 'could not settle the batch; giving up');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ batch: batchId, err: { message: expect.stringMatching(/batch end refused/) } });
    // The batch is still active in the database; the reaper settles it once writes succeed again.
    const row = await h.deps.db.selectFrom('job_batches').select('status').where('batch_id', '=', batchId).executeTakeFirstOrThrow();
    expect(row.status).toBe('running');
    // The server still answers.
    expect((await h.app.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
  });
});
