/**
 * The dashboard: the static files Vite builds into `dist/web/`, served at `/`.
 *
 * - A file that exists is served as it is. Hashed files under `/assets/` never change under
 *   their name, so browsers may keep them a year; `index.html` names the current hashes, so it
 *   is revalidated on every load (a new build is seen at once).
 * - Any other GET outside `/api/` answers `index.html`: the dashboard routes in the browser,
 *   so a deep link (`/variances?type=…`, `/devices/threatlocker/abc`) must load the app.
 * - `/api/…` paths are never the dashboard's: an unknown one keeps the API's JSON 404 (so does
 *   a missing file under `/assets/`: a script tag must not receive a page).
 * - Without a build (API tests, a checkout that never ran `npm run build`) the dashboard's
 *   paths answer a short 503 page saying so; the API works as ever.
 */
import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * `dist/web/` of this package. From `src/http/web.ts` (tsx) and from `dist/http/web.js` (the
 * build) alike, two levels up is the package root.
 */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../dist/web/', import.meta.url));

export interface WebOptions {
  /** Directory holding the built dashboard (`index.html`, `assets/`); default {@link DEFAULT_WEB_ROOT}. */
  readonly root?: string;
}

/** One year: the longest lifetime caches honour; hashed names change whenever the content does. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const NOT_BUILT =
  'The dashboard is not built. Run `npm run build` (or `npm start`, which builds), then restart the hub.\n' +
  'The API is available at /api (documentation at /api/docs).\n';

/** Paths that are never the dashboard's pages: the API, and built files (a missing one is a 404, not a page). */
function isReserved(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url.startsWith('/api?') || url.startsWith('/assets/');
}

/**
 * Answers a request no route matched when it is for a dashboard page (returns the reply), or
 * returns undefined to leave it to the API's JSON 404.
 */
export type PageFallback = (req: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined;

/**
 * Serves the built files and returns the fallback for dashboard pages, which the server's
 * not-found handler calls. A fallback there rather than a catch-all `/*` route: a catch-all
 * would also match what the router refuses (an over-long path parameter under /api), turning
 * its 400 into a page.
 */
export async function registerWeb(app: FastifyInstance, options: WebOptions = {}): Promise<PageFallback> {
  const root = options.root ?? DEFAULT_WEB_ROOT;
  const built = existsSync(join(root, 'index.html'));

  if (built) {
    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      // One route per built file, found once at start-up: any other path is not found and
      // comes to the fallback below instead of to a file-system lookup.
      wildcard: false,
      cacheControl: false,
      setHeaders(reply, path) {
        const underAssets = relative(root, path).startsWith(`assets${sep}`);
        void reply.header('cache-control', underAssets ? IMMUTABLE : 'no-cache');
      },
    });
  }

  return (req, reply) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isReserved(req.url)) return undefined;
    if (!built) return reply.code(503).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(NOT_BUILT);
    // The not-found handler has set 404; the page is a normal answer.
    return reply.code(200).sendFile('index.html');
  };
}
