/**
 * Runs the fake ThreatLocker in its own process, so that in benchmarks the vendor's CPU work
 * does not share the hub's event loop (a real vendor is on another machine).
 * Prints one JSON line {url, baseUrl, apiKey} when listening; exits when stdin closes.
 */
import { startFakeThreatLocker } from '../src/fakes/threatlocker/index.js';

const size = Number(process.argv[2] ?? 1000);
const seed = Number(process.argv[3] ?? 1);
const fake = await startFakeThreatLocker({ fleetSize: size, seed });
process.stdout.write(`${JSON.stringify({ url: fake.url, baseUrl: fake.baseUrl, apiKey: fake.apiKey })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void fake.close().then(() => process.exit(0));
});
