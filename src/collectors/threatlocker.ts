/**
 * ThreatLocker as a collector source: every computer of the managed organization and its
 * children, page by page, normalized by the same function sync-device uses.
 *
 * The run's signal reaches each page request, so a cancel or shutdown ends the page in flight
 * at once; the source then simply ends and the runner, seeing its signal aborted, records the
 * run as cancelled (not as a failure).
 */
import type { Logger } from 'pino';
import type { NormalizedDevice } from '../inventory/device.js';
import { THREATLOCKER_PAGE_SIZE, type ThreatLockerClient } from '../vendors/threatlocker/client.js';
import { normalizeThreatLockerComputer } from '../vendors/threatlocker/normalize.js';
import type { CollectedPage, CollectorSource } from './runner.js';

/**
 * ThreatLocker pages by offset over a sort key that can change under us (a computer renamed
 * between two page requests moves, so another one slides onto a page already read). When a
 * pass ends with fewer distinct computers than the fleet total the API reports, the fleet is
 * read once more; staging keeps each computer once.
 */
const MAX_PASSES = 2;

export function threatlockerSource(client: Pick<ThreatLockerClient, 'list'>, logger: Logger): CollectorSource {
  return {
    vendor: 'threatlocker',
    async *pages(signal) {
      try {
        yield* readFleet(client, logger, signal);
      } catch (err) {
        // The in-flight request was aborted by the run's own signal: a cancel, not a failure.
        if (signal.aborted) return;
        throw err;
      }
    },
  };
}

async function* readFleet(client: Pick<ThreatLockerClient, 'list'>, logger: Logger, signal: AbortSignal): AsyncGenerator<CollectedPage, void, undefined> {
  const seen = new Set<string>();
  let withoutId = 0;
  let total: number | undefined;
  let pageNumber = 0;
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    for await (const rows of client.list(THREATLOCKER_PAGE_SIZE, { signal })) {
      if (signal.aborted) return;
      pageNumber++;
      const devices: NormalizedDevice[] = [];
      let skipped = 0;
      let sanitized = 0;
      for (const row of rows) {
        // Deleted computers are hidden by the request already; a row that still says so
        // is not a protected device either.
        if (row.isDeleted === true) continue;
        const r = normalizeThreatLockerComputer(row);
        sanitized += r.sanitized;
        if (r.ok) {
          devices.push(r.device);
          seen.add(r.device.vendorDeviceKey);
        } else {
          if (r.error.code === 'missing_computer_id') withoutId++;
          else if (typeof row.computerId === 'string') seen.add(row.computerId.toLowerCase());
          skipped++;
          if (pass === 1) logger.warn({ code: r.error.code }, `ThreatLocker row skipped: ${r.error.message}`);
        }
      }
      if (sanitized > 0) {
        logger.warn({ page: pageNumber, sanitized }, 'ThreatLocker strings with NUL or lone surrogates made safe for PostgreSQL');
      }
      // Every row repeats the fleet's total (`totalRows`); it also feeds the progress bar.
      if (typeof rows[0]?.totalRows === 'number') total = rows[0].totalRows;
      yield { devices, skipped: pass === 1 ? skipped : 0, total };
    }
    const read = seen.size + withoutId;
    if (total === undefined || read >= total) return;
    if (pass < MAX_PASSES) {
      logger.warn({ read, total }, 'ThreatLocker fleet changed while paging; reading it again to pick up moved computers');
    } else {
      logger.warn({ read, total }, 'ThreatLocker still reports more computers than were read; keeping what was read');
    }
  }
}
