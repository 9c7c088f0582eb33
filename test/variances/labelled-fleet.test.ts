/**
 * End to end over the labelled pitfall fleet (fakes/pitfalls.ts): both fakes serve ordinary
 * machines (consistent across the tools) plus every pitfall case; the real collectors fill
 * today's snapshots, `POST /api/variances/run` checks the day, and the open variances must be
 * exactly the labelled ones — 100 % recall and 100 % precision, compared by type and subject
 * devices. A failure lists what was missed and what was unexpected, with the case each belongs to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pitfallLabels, varianceKey, varianceSubject, PITFALL_SPARE_ALLOWED_LOCATION, PITFALL_STALE_DAYS, SUBJECT_VENDORS } from '../../src/fakes/pitfalls.js';
import type { VarianceType } from '../../src/variances/types.js';
import { TEST_DATABASES } from '../helpers/database.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const SEED = 7;
/** Ordinary machines around the pitfall cases: enough to show that they add no variance. */
const FLEET_SIZE = 300;

interface ReportedDevice {
  vendor: string;
  device_key: string;
  hostname: string;
  display_name: string | null;
  organization_name: string | null;
  location_name: string | null;
}
interface ReportedVariance {
  id: string;
  type: string;
  status: string;
  hostname: string;
  organization: string | null;
  match_quality: string | null;
  devices: ReportedDevice[];
}

/** The comparable key of a reported variance: its type and its subject devices. */
function reportedKey(v: ReportedVariance): string {
  const type = v.type as VarianceType;
  const subject = type in SUBJECT_VENDORS ? varianceSubject(type, v.devices) : v.devices.map((d) => `${d.vendor}:${d.device_key}`).sort();
  return [v.type, ...subject].join(' ');
}

/** Removes one `key` from the multiset; false when it was not there. */
function take(bag: Map<string, number>, key: string): boolean {
  const n = bag.get(key) ?? 0;
  if (n === 0) return false;
  if (n === 1) bag.delete(key);
  else bag.set(key, n - 1);
  return true;
}

describe.each(TEST_DATABASES)('labelled pitfall fleet on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    const fleet = { seed: SEED, fleetSize: FLEET_SIZE, pitfalls: true };
    h = await createHarness(kind, {
      fake: fleet,
      ninja: fleet,
      env: { VARIANCE_STALE_DAYS: String(PITFALL_STALE_DAYS), VARIANCE_SPARE_ALLOWED_LOCATIONS: PITFALL_SPARE_ALLOWED_LOCATION },
    });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed; the declared type cannot say so
    await h?.close();
  });

  async function openVariances(): Promise<ReportedVariance[]> {
    const items: ReportedVariance[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `status=open&limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const res = await h.app.inject({ method: 'GET', url: `/api/variances?${query}` });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<{ items: ReportedVariance[]; next_cursor: string | null }>();
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor !== null);
    return items;
  }

  it('finds exactly the labelled variances: 100 % recall and precision', async () => {
    const collected = await h.app.inject({ method: 'POST', url: '/api/collectors/run', payload: { collectors: ['threatlocker', 'ninja'] } });
    expect(collected.statusCode, collected.body).toBe(202);
    await h.deps.runs.idle();
    const batch = await h.app.inject({ method: 'GET', url: `/api/collectors/runs/batch/${collected.json<{ batch_id: string }>().batch_id}` });
    expect(batch.json<{ collectors: { status: string }[] }>().collectors.map((c) => c.status)).toEqual(['completed', 'completed']);

    const checked = await h.app.inject({ method: 'POST', url: '/api/variances/run', payload: {} });
    expect([200, 201, 202], checked.body).toContain(checked.statusCode);
    await h.deps.runs.idle();

    const labels = pitfallLabels({ seed: SEED });
    const caseOf = new Map<string, string>();
    const expected = new Map<string, number>();
    for (const label of labels) {
      for (const v of label.expected) {
        const key = varianceKey(v);
        caseOf.set(key, label.case);
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    const found = await openVariances();
    const unexpected: string[] = [];
    for (const v of found) {
      if (!take(expected, reportedKey(v))) {
        unexpected.push(`${reportedKey(v)} (${v.hostname}, ${v.organization ?? '-'}, ${v.match_quality ?? '-'}: ${v.devices.map((d) => `${d.vendor} ${d.hostname} / ${d.display_name ?? '∅'} / ${d.organization_name ?? '∅'}`).join('; ')})`);
      }
    }
    const missed = [...expected.entries()].flatMap(([key, n]) => Array.from({ length: n }, () => `${key} [case ${caseOf.get(key) ?? '?'}]`));
    const recall = (total - missed.length) / total;
    const precision = found.length === 0 ? 0 : (found.length - unexpected.length) / found.length;
    const report = [
      `recall ${(recall * 100).toFixed(1)} % (${total - missed.length}/${total}), precision ${(precision * 100).toFixed(1)} % (${found.length - unexpected.length}/${found.length})`,
      `missed (${missed.length}):`,
      ...missed.map((m) => `  ${m}`),
      `unexpected (${unexpected.length}):`,
      ...unexpected.map((u) => `  ${u}`),
    ].join('\n');
    expect({ missed, unexpected }, report).toEqual({ missed: [], unexpected: [] });
  });
});
