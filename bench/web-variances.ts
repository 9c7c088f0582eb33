/**
 * npm run bench -- web-variances: how long the variances page takes to show its first row with
 * 10,000 open variances. A demo hub runs on a throwaway PostgreSQL database (dropped after);
 * once its demo day is filled, 10,000 open variances (and their variance_device rows) are
 * inserted by SQL. Chromium (Debian's, through playwright-core) opens /variances in a fresh
 * context each time; the figure is from the navigation's start to the first table row in the
 * DOM (a MutationObserver in the page records it). The API's own answer time for the same
 * first page (GET /api/variances/?limit=100, the page's request) is printed beside it.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { isolatedEnv, listening, startHub } from '../test/e2e/hub-process.js';
import { ensureWebBuild } from '../test/browser/dashboard-env.js';
import { benchPostgres, ms, postgresAvailable, table } from './lib.js';

const TYPES = ['MISSING_NINJA', 'MISSING_THREATLOCKER', 'DUPLICATE_TL', 'DUPLICATE_NINJA', 'SPARE_MISMATCH', 'DISPLAY_NAME_MISMATCH', 'SITE_MISMATCH'];

/** Records in window.__firstRow when the first row of the variances table enters the DOM. */
const FIRST_ROW_PROBE = `
  new MutationObserver((_m, observer) => {
    if (document.querySelector('table.variance-table tbody tr')) {
      window.__firstRow = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
`;

const median = (values: readonly number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** 10,000 open display-name mismatches and the like, spread over 40 customers and the last 60 days. */
async function seed(url: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO variance (subject_key, type, status, hostname, organization, match_quality, devices, evidence, hint, first_seen, last_seen, updated_at)
       SELECT 'BENCH:' || i, ($2::text[])[1 + i % 7], 'open', 'bench-' || lpad(i::text, 6, '0'), 'Customer ' || (i % 40),
              'exact',
              jsonb_build_array(
                jsonb_build_object('vendor', 'threatlocker', 'device_key', md5('tl' || i)::uuid::text, 'hostname', 'BENCH-' || i,
                                   'display_name', 'BENCH-' || i || ' | User ' || i, 'organization_name', 'Customer ' || (i % 40), 'location_name', null),
                jsonb_build_object('vendor', 'ninja', 'device_key', (100000 + i)::text, 'hostname', 'BENCH-' || i,
                                   'display_name', 'BENCH-' || i || ' | Person ' || i, 'organization_name', 'Customer ' || (i % 40), 'location_name', 'HQ')),
              jsonb_build_object('security_display_name', 'BENCH-' || i || ' | User ' || i, 'rmm_display_name', 'BENCH-' || i || ' | Person ' || i),
              'Rename in ThreatLocker to the NinjaOne name, then sync',
              current_date - (i % 60), current_date, now()
         FROM generate_series(1, $1::int) AS i`,
      [count, TYPES],
    );
    await client.query(
      `INSERT INTO variance_device (vendor, device_key, variance_id)
       SELECT DISTINCT d->>'vendor', d->>'device_key', v.id FROM variance v, jsonb_array_elements(v.devices) d WHERE v.subject_key LIKE 'BENCH:%'`,
    );
    await client.query('COMMIT');
    await client.query('ANALYZE variance');
  } finally {
    await client.end();
  }
}

export async function runWebVariancesBench(options: { variances: number; runs: number }): Promise<void> {
  if (!(await postgresAvailable())) {
    console.log('web-variances: PostgreSQL is not reachable (BENCH_DATABASE_URL / 127.0.0.1:5432); skipped');
    return;
  }
  await ensureWebBuild();
  const database = await benchPostgres();
  const hub = startHub(isolatedEnv({ DATABASE_URL: database.url }));
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    const baseUrl = await listening(hub);
    await seed(database.url, options.variances);
    const first = (await (await fetch(`${baseUrl}/api/variances/?limit=100`)).json()) as { total: number };

    const apiTimes: number[] = [];
    for (let i = 0; i < options.runs + 1; i++) {
      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/api/variances/?status=open&sort=id&order=desc&limit=100`);
      await res.arrayBuffer();
      if (i > 0) apiTimes.push(performance.now() - t0); // the first warms the connection and plans
    }

    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true });
    const pageTimes: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1440, height: 900 } });
      try {
        const page = await context.newPage();
        // A string: the root tsconfig has no DOM types (the page's code is web/'s).
        await page.addInitScript({ content: FIRST_ROW_PROBE });
        await page.goto('/variances');
        await page.locator('table.variance-table tbody tr').first().waitFor();
        pageTimes.push(Number(await page.evaluate('window.__firstRow')));
      } finally {
        await context.close();
      }
    }

    console.log(`variances page, ${first.total.toLocaleString('en-US')} open variances (PostgreSQL, demo hub), ${options.runs} runs:`);
    console.log(
      table(
        ['measure', 'median ms', 'min ms', 'max ms'],
        [
          ['navigation start → first table row (Chromium)', ms(median(pageTimes)), ms(Math.min(...pageTimes)), ms(Math.max(...pageTimes))],
          ['GET /api/variances/?limit=100 (the first page)', ms(median(apiTimes)), ms(Math.min(...apiTimes)), ms(Math.max(...apiTimes))],
        ],
      ),
    );
  } finally {
    await browser?.close();
    if (hub.child.exitCode === null && hub.child.signalCode === null) {
      hub.child.kill('SIGTERM');
      await hub.exited;
    }
    await database.close();
  }
}
