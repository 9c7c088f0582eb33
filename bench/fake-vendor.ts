/**
 * Runs a fake vendor in its own process, so that in benchmarks the vendor's CPU work does not
 * share the hub's event loop (a real vendor is on another machine).
 * Usage: tsx bench/fake-vendor.ts <threatlocker|ninja> <devices> <seed>
 * Prints one JSON line describing how to reach it; exits when stdin closes.
 */
import { startFakeNinja } from '../src/fakes/ninja/index.js';
import { startFakeThreatLocker } from '../src/fakes/threatlocker/index.js';

const [vendor, sizeArg, seedArg] = process.argv.slice(2);
const size = Number(sizeArg ?? 1000);
const seed = Number(seedArg ?? 1);

async function start(): Promise<{ info: Record<string, string>; close(): Promise<void> }> {
  if (vendor === 'threatlocker') {
    const fake = await startFakeThreatLocker({ fleetSize: size, seed });
    return { info: { url: fake.url, baseUrl: fake.baseUrl, apiKey: fake.apiKey }, close: () => fake.close() };
  }
  if (vendor === 'ninja') {
    const fake = await startFakeNinja({ fleetSize: size, seed });
    return { info: { url: fake.url, baseUrl: fake.baseUrl, clientId: fake.clientId, clientSecret: fake.clientSecret }, close: () => fake.close() };
  }
  throw new Error(`unknown vendor ${vendor}`);
}

const fake = await start();
process.stdout.write(`${JSON.stringify(fake.info)}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  fake.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`could not close the fake: ${err instanceof Error ? err.message : JSON.stringify(err)}\n`);
      process.exit(1);
    },
  );
});
