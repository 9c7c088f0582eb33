/**
 * NinjaOne as a collector source: the organization and location names first (two paged
 * lists, no per-device calls), then `devices-detailed` page by page, normalized with them.
 * The run's signal goes into every client call, so a cancel or a shutdown interrupts the
 * request in flight instead of waiting for it.
 */
import type { Logger } from 'pino';
import type { NormalizedDevice } from '../inventory/device.js';
import { NINJA_PAGE_SIZE, type NinjaClient } from '../vendors/ninja/client.js';
import { normalizeNinjaDevice } from '../vendors/ninja/normalize.js';
import type { CollectorSource } from './runner.js';

export function ninjaSource(client: Pick<NinjaClient, 'list' | 'listOrganizations' | 'listLocations'>, logger: Logger): CollectorSource {
  return {
    vendor: 'ninja',
    async *pages(signal) {
      const [organizations, locations] = await Promise.all([client.listOrganizations({ signal }), client.listLocations({ signal })]);
      for await (const rows of client.list(NINJA_PAGE_SIZE, { signal })) {
        if (signal.aborted) return;
        const devices: NormalizedDevice[] = [];
        let skipped = 0;
        let sanitized = 0;
        for (const row of rows) {
          const r = normalizeNinjaDevice(row, { organizations, locations });
          sanitized += r.sanitized;
          if (r.ok) devices.push(r.device);
          else {
            skipped++;
            logger.warn({ code: r.error.code }, `NinjaOne device skipped: ${r.error.message}`);
          }
        }
        if (sanitized > 0) logger.warn({ sanitized }, 'NinjaOne strings with NUL or lone surrogates made safe for PostgreSQL');
        // NinjaOne reports no fleet total; progress shows devices fetched so far.
        yield { devices, skipped };
      }
    },
  };
}
