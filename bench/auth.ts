/**
 * What authentication, the audit log and request metrics cost sync-device (docs/benchmarks.md,
 * "Authentication overhead"). sync-device by computer_id through a real port (undici → hub on
 * its port → fake ThreatLocker in its own process), sequential p50/p95 and syncs/s at
 * concurrency 16, for three hubs on the same database and fleet:
 *
 *  - `required`: AUTH_MODE=required, `Authorization: Bearer <key>` (an `operate` key);
 *  - `open`: AUTH_MODE=open, no key;
 *  - `bare`: AUTH_MODE=open with the audit writer and the request metrics stubbed out by this
 *    benchmark — the hub without them. Neither can be switched off by configuration (both are
 *    always on), so this is the only "without".
 *
 * Rate limits are set far above what the run sends. Sequential syncs alternate between the hubs
 * one by one; the concurrency runs alternate by round (order rotating), each starting after the
 * previous hub's audit writes have landed.
 */
import { loadavg } from 'node:os';
import { sql } from 'kysely';
import { pino } from 'pino';
import { Pool } from 'undici';
import { createDeps, threatlockerDeps, type Deps } from '../src/app.js';
import { createApiKey } from '../src/auth/keys.js';
import { loadConfig } from '../src/config.js';
import type { DatabaseKind } from '../src/db/database.js';
import { createRng } from '../src/fakes/rng.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/logger.js';
import type { ThreatLockerComputer } from '../src/vendors/threatlocker/schema.js';
import { benchDatabase, ms, NO_RATE_LIMITS, postgresAvailable, startRemoteFake, summarize, table } from './lib.js';

export interface AuthBenchOptions {
  readonly sizes: readonly number[];
  readonly databases: readonly DatabaseKind[];
  /** Sequential syncs per hub per round. */
  readonly iterations: number;
  /** Syncs per hub per round at `concurrency`. */
  readonly concurrentTotal: number;
  readonly concurrency: number;
  readonly rounds: number;
}

const VARIANTS = ['bare', 'open', 'required'] as const;
type Variant = (typeof VARIANTS)[number];

interface Hub {
  readonly variant: Variant;
  readonly deps: Deps;
  readonly close: () => Promise<void>;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** Resolves when the audit rows of the answers so far are written. */
  readonly auditIdle: () => Promise<void>;
}

async function startHub(variant: Variant, database: Awaited<ReturnType<typeof benchDatabase>>, fake: Awaited<ReturnType<typeof startRemoteFake>>): Promise<Hub> {
  const config = loadConfig({
    LOG_LEVEL: 'info',
    AUTH_MODE: variant === 'required' ? 'required' : 'open',
    ...NO_RATE_LIMITS,
  });
  // The production logger at its default level, writing to /dev/null, as in the sync benchmark.
  const deps = await createDeps(config, {
    logger: createLogger('info', pino.destination({ dest: '/dev/null', sync: true })),
    database,
    skipMigrations: true,
    threatlocker: fake.vendorConfig.threatlocker,
    ninja: null,
  });
  const app = await buildServer(deps);
  if (variant === 'bare') {
    // Bench-only: no audit row, no request metric (configuration cannot turn either off).
    app.security.audit.write = () => undefined;
    deps.metrics.request = () => undefined;
  }
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  let headers: Record<string, string> = { 'content-type': 'application/json' };
  if (variant === 'required') {
    const { key } = await createApiKey(deps.db, { name: `bench-${Date.now()}`, scopes: ['operate'] }, new Date());
    headers = { ...headers, authorization: `Bearer ${key}` };
  }
  return {
    variant,
    deps,
    url,
    headers,
    auditIdle: () => app.security.audit.idle(),
    close: async () => {
      await app.close();
      await deps.close();
    },
  };
}

async function syncOnce(pool: Pool, hub: Hub, computerId: string): Promise<void> {
  const res = await pool.request({ method: 'POST', path: '/api/threatlocker/sync-device', headers: hub.headers, body: JSON.stringify({ computer_id: computerId }) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${hub.variant}: sync answered ${res.statusCode}: ${text}`);
}

interface Figures {
  samples: number[];
  syncs: number;
  seconds: number;
}

async function benchOne(db: DatabaseKind, size: number, o: AuthBenchOptions) {
  const fake = await startRemoteFake('threatlocker', size, 42);
  const database = await benchDatabase(db);
  const hubs: Hub[] = [];
  try {
    for (const v of VARIANTS) hubs.push(await startHub(v, database, fake));
    const first = hubs[0]!.deps;
    await first.runs.runAndWait({ collectors: ['threatlocker'], trigger: 'cli' });
    await sql`VACUUM ANALYZE`.execute(first.db);
    const computers: ThreatLockerComputer[] = [];
    for await (const page of threatlockerDeps(first).threatlocker.list()) computers.push(...page);
    const rng = createRng(size);
    const pick = () => String((computers[rng.int(0, computers.length - 1)] as ThreatLockerComputer).computerId);

    const figures = new Map<Variant, Figures>(VARIANTS.map((v) => [v, { samples: [], syncs: 0, seconds: 0 }]));
    const pools = new Map(hubs.map((h) => [h.variant, { one: new Pool(h.url, { connections: 1 }), many: new Pool(h.url, { connections: o.concurrency }) }]));
    try {
      for (const h of hubs) for (let i = 0; i < 50; i++) await syncOnce(pools.get(h.variant)!.one, h, pick()); // warm-up
      for (let round = 0; round < o.rounds; round++) {
        // Sequential syncs interleaved one by one across the hubs (the order rotating), so that a
        // change in the machine's load falls on all three alike.
        for (let i = 0; i < o.iterations; i++) {
          for (let j = 0; j < hubs.length; j++) {
            const h = hubs[(i + j) % hubs.length]!;
            const id = pick();
            const t = performance.now();
            await syncOnce(pools.get(h.variant)!.one, h, id);
            figures.get(h.variant)!.samples.push(performance.now() - t);
          }
        }
        for (const h of hubs) await h.auditIdle();
        const order = hubs.map((_, i) => hubs[(i + round) % hubs.length]!);
        for (const h of order) {
          const f = figures.get(h.variant)!;
          const { many } = pools.get(h.variant)!;
          let next = 0;
          const started = performance.now();
          await Promise.all(
            Array.from({ length: o.concurrency }, async () => {
              while (next < o.concurrentTotal) {
                next++;
                await syncOnce(many, h, pick());
              }
            }),
          );
          f.seconds += (performance.now() - started) / 1000;
          f.syncs += o.concurrentTotal;
          // The next hub starts with no audit write of this one still in flight.
          await h.auditIdle();
        }
      }
    } finally {
      for (const p of pools.values()) {
        await p.one.close();
        await p.many.close();
      }
    }
    // Closing drains the audit writes still in flight.
    while (hubs.length > 0) await hubs.pop()!.close();
    const audit = await database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return {
      db,
      size,
      auditRows: audit.n,
      results: VARIANTS.map((v) => {
        const f = figures.get(v)!;
        return { variant: v, latency: summarize(f.samples), throughput: f.syncs / f.seconds };
      }),
    };
  } finally {
    for (const h of hubs) await h.close();
    await database.close();
    await fake.close();
  }
}

export async function runAuthBench(o: AuthBenchOptions): Promise<void> {
  const dbs: DatabaseKind[] = [];
  for (const d of o.databases) {
    if (d === 'postgres' && !(await postgresAvailable())) {
      console.log('PostgreSQL is not reachable (set BENCH_DATABASE_URL); skipping it.');
      continue;
    }
    dbs.push(d);
  }
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(
    `authentication overhead on sync-device by computer_id through a real port — ${o.rounds} rounds of ` +
      `${o.iterations} sequential syncs per hub (interleaved between hubs) and ${o.concurrentTotal} at concurrency ${o.concurrency} per hub; latencies in ms; ` +
      `load average at start: ${load()}\n`,
  );
  for (const db of dbs) {
    for (const size of o.sizes) {
      process.stderr.write(`  ${db}, ${size} devices…\n`);
      const r = await benchOne(db, size, o);
      const base = r.results.find((x) => x.variant === 'bare')!;
      const open = r.results.find((x) => x.variant === 'open')!;
      console.log(`${db}, ${size.toLocaleString('en-US')} devices (audit rows written: ${r.auditRows}):`);
      console.log(
        table(
          ['hub', 'p50', 'p95', 'max', 'syncs/s @16', 'p50 vs bare', 'syncs/s vs bare', 'p50 vs open', 'syncs/s vs open'],
          r.results.map((x) => {
            const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)} %`;
            const dms = (a: number, b: number) => `${a - b >= 0 ? '+' : ''}${ms(a - b)}`;
            return [
              x.variant,
              ms(x.latency.p50),
              ms(x.latency.p95),
              ms(x.latency.max),
              x.throughput.toFixed(0),
              dms(x.latency.p50, base.latency.p50),
              pct(x.throughput, base.throughput),
              dms(x.latency.p50, open.latency.p50),
              pct(x.throughput, open.throughput),
            ];
          }),
        ),
      );
      console.log('');
    }
  }
  console.log(
    '"bare": open, with the audit writer and request metrics stubbed out by the benchmark (no setting turns them off). ' +
      '"open": AUTH_MODE=open (audit and metrics on). "required": AUTH_MODE=required with Authorization: Bearer (audit and metrics on). ' +
      `Targets: required vs bare ≤ +0.5 ms p50 and ≥ −10 % syncs/s. Load average at end: ${load()}`,
  );
}
