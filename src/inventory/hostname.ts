/**
 * The canonical hostname: the one key every cross-vendor comparison and search uses.
 *
 * Rules, in order:
 *  1. cut at the first `|` — older ThreatLocker rows carried "HOST | User" in the hostname field;
 *  2. trim — the cut leaves "HOST " behind;
 *  3. cut at the first `.` — FQDN (`host.corp.local`) and short name must meet;
 *  4. lower-case — ThreatLocker is upper-case, NinjaOne's dnsName often lower-case.
 * No 15-character truncation here: NetBIOS truncation is a matching concern, handled where a
 * comparison knows one side came from a ≤15-character `systemName`.
 *
 * @example canonicalHostname('CHI-2K5FSB4.corp.local') // 'chi-2k5fsb4'
 * @example canonicalHostname('RFG-DYP6X14 | Tami Miller') // 'rfg-dyp6x14'
 */
export function canonicalHostname(hostname: string): string {
  const beforePipe = hostname.split('|', 1)[0] ?? '';
  const short = beforePipe.trim().split('.', 1)[0] ?? '';
  return short.trim().toLowerCase();
}
