/**
 * Vendor base URLs, one function per vendor convention. Pure; applied in exactly one layer:
 * each vendor client's constructor. Configuration, demo mode, tests and benchmarks hand the URL
 * over as given, so every path a URL can take into a client goes through the same rule.
 *
 * Both functions drop a query string, a fragment and trailing slashes, and are idempotent.
 */

/** `raw` without query, fragment and trailing slashes, with its path rewritten by `path`. */
function rebuilt(raw: string, path: (trimmed: string) => string): string {
  const url = new URL(raw);
  url.search = '';
  url.hash = '';
  url.pathname = path(url.pathname.replace(/\/+$/, ''));
  return url.toString().replace(/\/+$/, '');
}

/**
 * ThreatLocker's API lives under `/portalapi` on the instance host; the suffix is added when
 * missing (in any letter case it is kept as written: the portal accepts `portalApi` too).
 *
 * @example threatLockerBaseUrl('https://portalapi.g.threatlocker.com/') // 'https://portalapi.g.threatlocker.com/portalapi'
 */
export function threatLockerBaseUrl(raw: string): string {
  return rebuilt(raw, (path) => (/\/portalapi$/i.test(path) ? path : `${path}/portalapi`));
}

/**
 * NinjaOne's base is the instance host: the client adds `/v2/...` for resources and
 * `/ws/oauth/token` for tokens, so a configured `/api`, `/v2` or `/api/v2` suffix is dropped.
 *
 * @example ninjaBaseUrl('https://eu.ninjarmm.com/api/v2/') // 'https://eu.ninjarmm.com'
 */
export function ninjaBaseUrl(raw: string): string {
  return rebuilt(raw, (path) => path.replace(/(?:\/api)?(?:\/v2)?$/i, ''));
}
