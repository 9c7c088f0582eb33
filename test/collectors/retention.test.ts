/**
 * Retention: the daily window is kept, each month's last collected day is kept beyond it,
 * the rest goes (whole days: their partitions are dropped), and a dry run changes nothing.
 */
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../src/clock.js';
import { applyRetention, planRetention } from '../../src/collectors/retention.js';
import { replaceDeviceSnapshot } from '../../src/inventory/store.js';
import { loadVendorIds } from '../../src/inventory/vendors.js';
import { normalizeThreatLockerComputer } from '../../src/vendors/threatlocker/normalize.js';
import { openTestDatabase, TEST_DATABASES, type TestDatabase } from '../helpers/database.js';

describe.each(TEST_DATABASES)('retention on %s', (kind) => {
  let db: TestDatabase;
  const today = '2026-06-15';
  beforeAll(async () => {
    db = await openTestDatabase(kind);
    const vendors = await loadVendorIds(db.db);
    // 150 days of two devices, collected every day except the 31st of March (so March's
    // last collected day is the 30th); one sync-only day in April.
    for (let i = 0; i < 150; i++) {
      const date = addDays(today, -i);
      if (date === '2026-03-31') continue;
      for (const n of [1, 2]) {
        const r = normalizeThreatLockerComputer({ computerId: `0000000${n}-1111-4222-8333-944455556666`, hostname: `H${n}` });
        if (!r.ok) throw new Error('bad fixture');
        await replaceDeviceSnapshot(db.db, vendors.threatlocker, date, r.device, date === '2026-04-30' && n === 2 ? 'sync' : 'collector');
      }
    }
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await db?.close();
  });

  async function dates() {
    const rows = await db.db.selectFrom('device_snapshot').select('snapshot_date').distinct().orderBy('snapshot_date').execute();
    return rows.map((r) => r.snapshot_date);
  }

  it('plans without deleting (dry run)', async () => {
    const before = await dates();
    const plan = await planRetention(db.db, today, 65);
    expect(plan.cutoff).toBe(addDays(today, -65));
    expect(plan.monthEndsKept.map((d) => d.snapshot_date)).toEqual(['2026-01-31', '2026-02-28', '2026-03-30']);
    expect(plan.deletes.every((d) => d.snapshot_date < plan.cutoff)).toBe(true);
    expect(plan.deletes.reduce((n, d) => n + d.rows, 0)).toBe((before.filter((d) => d < plan.cutoff).length - 3) * 2);
    expect(await dates()).toEqual(before);
  });

  it('drops the days outside the window and keeps month ends and the window', async () => {
    const before = await dates();
    const { deleted } = await applyRetention(db.db, today, 65, pino({ level: 'silent' }));
    const after = await dates();
    const cutoff = addDays(today, -65);
    expect(after.filter((d) => d < cutoff)).toEqual(['2026-01-31', '2026-02-28', '2026-03-30']);
    expect(after.filter((d) => d >= cutoff)).toEqual(before.filter((d) => d >= cutoff));
    expect(deleted).toBe((before.filter((d) => d < cutoff).length - 3) * 2);
    // Whole days went: their partitions and summary rows too.
    const partitions = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_class WHERE relname ~ '^device_snapshot_v[0-9]+_[0-9]{8}$' AND relispartition`.execute(db.db);
    expect(partitions.rows[0]?.n).toBe(after.length);
    const summary = await db.db.selectFrom('snapshot_day').select('snapshot_date').orderBy('snapshot_date').execute();
    expect(summary.map((r) => r.snapshot_date)).toEqual(after);
    const again = await applyRetention(db.db, today, 65, pino({ level: 'silent' }));
    expect(again.deleted).toBe(0);
  });
});
