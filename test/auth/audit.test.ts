/**
 * The audit writer on a real database: rows land in the order they were written (the log is
 * read by id), in batches, and a batch that fails is reported without stopping the next.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditWriter, type AuditEntry } from '../../src/auth/audit.js';
import { TEST_DATABASES, openTestDatabase, type TestDatabase } from '../helpers/database.js';

const entry = (n: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  at: new Date(Date.UTC(2026, 11, 1, 12, 0, 0, n)),
  request_id: `req-${n}`,
  key_id: null,
  key_name: 'open',
  method: 'POST',
  route: '/api/threatlocker/sync-device',
  target: `device:${n}`,
  outcome: 'ok',
  status_code: 200,
  ...over,
});

for (const kind of TEST_DATABASES) {
  describe(`audit writer on ${kind}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await openTestDatabase(kind);
    });
    afterAll(async () => {
      await t.close();
    });
    beforeEach(async () => {
      await t.truncate();
    });

    const requestIds = async () =>
      (await t.db.selectFrom('audit_log').select('request_id').orderBy('id').execute()).map((r) => r.request_id);

    it('keeps the order of writing in the ids, across several batches written while others are in flight', async () => {
      const failures: unknown[] = [];
      const writer = new AuditWriter(t.db, (err) => failures.push(err), 7);
      // Written in three bursts, the later ones while the first flush is still running.
      for (let n = 0; n < 20; n++) writer.write(entry(n));
      await Promise.resolve();
      for (let n = 20; n < 45; n++) writer.write(entry(n));
      setImmediate(() => {
        for (let n = 45; n < 60; n++) writer.write(entry(n));
      });
      await new Promise((r) => setImmediate(r));
      await writer.idle();
      expect(failures).toEqual([]);
      expect(await requestIds()).toEqual(Array.from({ length: 60 }, (_, n) => `req-${n}`));
    });

    it('loses only the row that cannot be written: its batch is written again row by row, and the next ones go on', async () => {
      const failed: string[][] = [];
      const writer = new AuditWriter(t.db, (_err, entries) => failed.push(entries.map((e) => e.request_id)), 2);
      writer.write(entry(1));
      // NOT NULL refuses this row, and with it the insert of its batch.
      writer.write(entry(2, { key_name: null as unknown as string }));
      writer.write(entry(3));
      await writer.idle();
      expect(failed).toEqual([['req-2']]);
      expect(await requestIds()).toEqual(['req-1', 'req-3']);
      writer.write(entry(4));
      await writer.idle();
      expect(await requestIds()).toEqual(['req-1', 'req-3', 'req-4']);
    });
  });
}
