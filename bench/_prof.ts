// Temporary: profile sync-device through a real port.
import { sql } from 'kysely';
import { pino } from 'pino';
import { Pool } from 'undici';
import { createDeps, threatlockerDeps } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createRng } from '../src/fakes/rng.js';
import { buildServer } from '../src/http/server.js';
import type { ThreatLockerComputer } from '../src/vendors/threatlocker/schema.js';
import { benchDatabase, NO_RATE_LIMITS, startRemoteFake, summarize } from './lib.js';

const fake = await startRemoteFake('threatlocker', 10000, 42);
const database = await benchDatabase('postgres');
const deps = await createDeps(loadConfig({ LOG_LEVEL: 'info', ...NO_RATE_LIMITS }), {
  logger: createLogger('info', pino.destination({ dest: '/dev/null', sync: true })),
  database, skipMigrations: true, ...fake.vendorConfig,
});
const app = await buildServer(deps);
await deps.runs.runAndWait({ collectors: ['threatlocker'], trigger: 'cli' });
await sql`VACUUM ANALYZE`.execute(deps.db);
const computers: ThreatLockerComputer[] = [];
for await (const page of threatlockerDeps(deps).threatlocker.list()) computers.push(...page);
const rng = createRng(1);
const pick = () => computers[rng.int(0, computers.length - 1)] as ThreatLockerComputer;
const url = await app.listen({ port: 0, host: '127.0.0.1' });
const hub = new Pool(url, { connections: 1 });
const once = async () => {
  const res = await hub.request({ method: 'POST', path: '/api/threatlocker/sync-device', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ computer_id: String(pick().computerId) }) });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(String(res.statusCode));
};
for (let i = 0; i < 200; i++) await once();
const n = Number(process.env.N ?? 2000);
const { Session } = await import('node:inspector/promises');
const session = new Session(); session.connect();
await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 100 }); await session.post('Profiler.start');
const cpu0 = process.cpuUsage();
const samples: number[] = [];
const t0 = performance.now();
for (let i = 0; i < n; i++) { const t = performance.now(); await once(); samples.push(performance.now() - t); }
const wall = performance.now() - t0;
const { profile } = await session.post('Profiler.stop');
(await import('node:fs')).writeFileSync('/tmp/loop.cpuprofile', JSON.stringify(profile));
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ n, p50: summarize(samples).p50, wallPerSync: wall / n, hubCpuPerSyncMs: (cpu.user + cpu.system) / 1000 / n, user: cpu.user / 1000 / n, sys: cpu.system / 1000 / n }));
await hub.close(); await app.close(); await deps.close(); await database.close(); await fake.close();
