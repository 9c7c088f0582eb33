/**
 * Who may call what (docs/api.md, "Authentication"): every route declares its scope, a hook
 * checks the caller's key or session against it, another writes the audit log, and the rate
 * limiter, security headers, CORS and request ids are set up here.
 *
 * Scopes: `read` (GETs), `operate` (syncs, renames, variance actions, collections), `admin`
 * (keys, organization mapping, audit), `public` (health, docs, sign-in). A key's scopes are a
 * set: `admin` alone does not imply `read` (a key gets exactly what it is given).
 */
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Deps } from '../app.js';
import { AuditWriter, outcomeOf } from '../auth/audit.js';
import { KeyVerifier, type ApiScope, type Principal } from '../auth/keys.js';
import { SESSION_COOKIE, sessionPrincipal } from '../auth/sessions.js';
import { HubError } from '../errors.js';

export type RouteScope = ApiScope | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every /api route and /metrics (checked when the route is registered). */
    scope?: RouteScope;
  }
  interface FastifyRequest {
    /** The key or session the request authenticated with; null in open mode without one. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    readonly security: Security;
  }
}

export interface Security {
  readonly verifier: KeyVerifier;
  readonly audit: AuditWriter;
  readonly openMode: boolean;
  /** Every route under /api and /metrics with its scope, as registered (the tests' route table). */
  readonly routes: { readonly method: string; readonly url: string; readonly scope: RouteScope }[];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A request id a client or proxy sent is kept when it is this plain; otherwise a new one is made. */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's genReqId: the caller's X-Request-Id when sane, else a random UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
}

/** Swagger UI's own routes: the documentation is public, like /api/openapi.json. */
function isDocsRoute(url: string): boolean {
  return url === '/api/docs' || url.startsWith('/api/docs/');
}

function needsScope(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url === '/metrics';
}

/** The key in `Authorization: Bearer …` or `X-API-Key`, if any. */
function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m?.[1]) return m[1];
    return ''; // a malformed Authorization header is a bad credential, not none
  }
  const x = req.headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}

/** The hub's own origin as the browser sees it (scheme per trust proxy, Host header). */
function ownOrigin(req: FastifyRequest): string {
  return originOf(`${req.protocol}://${req.host}`);
}

/** `scheme://host[:port]` as a browser writes it (default ports dropped), or '' when not a URL. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** A cookie-authenticated change must come from the hub's own pages (CSRF defence). */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') return originOf(origin) === ownOrigin(req);
  const referer = req.headers.referer;
  return typeof referer === 'string' && originOf(referer) === ownOrigin(req);
}

/** What a mutating request acted on, for the audit log: `device:…`, `variance:…`, `run:…`, `key:…`. */
function targetOf(req: FastifyRequest): string | null {
  const url = req.routeOptions.url ?? '';
  const params = (req.params ?? {}) as Record<string, unknown>;
  const body = (req.body !== null && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
  const id = typeof params.id === 'string' || typeof params.id === 'number' ? String(params.id) : undefined;
  if (id !== undefined) {
    if (url.startsWith('/api/variances/') || url.startsWith('/api/exceptions/')) return `variance:${id}`;
    if (url.startsWith('/api/keys/')) return `key:${id}`;
    if (url.startsWith('/api/collectors/')) return `run:${id}`;
    return id;
  }
  if (url.startsWith('/api/threatlocker/') || url === '/api/exceptions/mark-fixed-by-hostname') {
    const device = body.computer_id ?? body.hostname;
    return typeof device === 'string' ? `device:${device}` : null;
  }
  if (Array.isArray(body.ids)) return `variances:${body.ids.slice(0, 50).map(String).join(',')}`;
  if (url.startsWith('/api/organizations/')) {
    const t = body.threatlocker_organization_id ?? body.ninja_organization_id;
    return typeof t === 'string' ? `organization:${t}` : null;
  }
  if (url.startsWith('/api/collectors/') && typeof body.collector === 'string') return `collector:${body.collector}`;
  return null;
}

/**
 * Registers the security hooks and plugins. Call before any route: the `onRoute` check must
 * see every route, and the rate limiter attaches itself to routes as they are added.
 */
export async function registerSecurity(app: FastifyInstance, deps: Deps): Promise<Security> {
  const sec = deps.config.security;
  const openMode = sec.authMode === 'open';
  const verifier = new KeyVerifier(deps.db, (err) => deps.logger.warn({ err }, 'could not record a key\'s last use'));
  const audit = new AuditWriter(deps.db, (err, entries) =>
    deps.logger.error({ err, requestIds: entries.map((e) => e.request_id) }, 'audit log write failed'),
  );
  const security: Security = { verifier, audit, openMode, routes: [] };
  app.decorate('security', security);
  app.decorateRequest('principal', null);

  // A new route without a declared scope is a start-up error, not an open door.
  app.addHook('onRoute', (route) => {
    if (!needsScope(route.url)) return;
    if (route.config?.scope === undefined && isDocsRoute(route.url)) route.config = { ...route.config, scope: 'public' };
    const scope = route.config?.scope;
    if (scope === undefined) throw new Error(`route ${String(route.method)} ${route.url} declares no scope (config.scope)`);
    for (const method of [route.method].flat()) security.routes.push({ method, url: route.url, scope });
  });

  await app.register(fastifyCookie);

  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
    const scope = req.routeOptions.config.scope;
    // No route (the 404 handler answers) or a public one: nothing to check.
    if (scope === undefined || scope === 'public') return;
    const key = presentedKey(req);
    let principal: Principal | null = null;
    if (key !== undefined) {
      principal = await verifier.verify(key, deps.clock.now());
      if (principal === null) throw new HubError('HUB_ERR_UNAUTHENTICATED', 'The API key is not valid');
    } else {
      const token = req.cookies[SESSION_COOKIE];
      if (token !== undefined) principal = await sessionPrincipal(deps.db, token, deps.clock.now());
      // In open mode a stale cookie is ignored: anyone may call anyway.
      if (principal === null && !openMode) {
        throw new HubError('HUB_ERR_UNAUTHENTICATED', token === undefined ? 'An API key is required (Authorization: Bearer <key>)' : 'The session has ended; sign in again');
      }
      if (principal !== null && !SAFE_METHODS.has(req.method) && !sameOrigin(req)) {
        throw new HubError('HUB_ERR_FORBIDDEN', 'A change made with a session cookie must come from the hub\'s own origin (Origin header)', { reason: 'origin' });
      }
    }
    req.principal = principal;
    if (!openMode && principal !== null && !principal.scopes.includes(scope)) {
      throw new HubError('HUB_ERR_FORBIDDEN', `This key lacks the "${scope}" scope`, { scope });
    }
  });

  // Every mutating request and every denied one: one row, written after the answer.
  app.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    const scope = req.routeOptions.config.scope;
    const denied = status === 401 || status === 403 || status === 429;
    if (scope !== undefined && (denied || !SAFE_METHODS.has(req.method))) {
      audit.write({
        at: deps.clock.now(),
        request_id: req.id,
        key_id: req.principal?.keyId ?? null,
        key_name: req.principal?.keyName ?? (openMode && status !== 401 ? 'open' : 'anonymous'),
        method: req.method,
        route: req.routeOptions.url ?? req.url.split('?')[0] ?? '',
        target: targetOf(req),
        outcome: outcomeOf(status),
        status_code: status,
      });
    }
    done();
  });
  app.addHook('onClose', async () => {
    await audit.idle();
  });

  // The request id in every error body (whatever produced it: a route, a hook, the 404 handler).
  app.addHook('onSend', (req, reply, payload, done) => {
    if (reply.statusCode >= 400 && typeof payload === 'string' && payload.startsWith('{"') && !payload.includes('"request_id":')) {
      done(null, `{"request_id":${JSON.stringify(req.id)},${payload.slice(1)}`);
      return;
    }
    done(null, payload);
  });

  await app.register(fastifyRateLimit, {
    global: true,
    max: sec.rateLimitPerMin,
    timeWindow: 60_000,
    // Per key when one is used, else per client address (behind a proxy: see TRUST_PROXY).
    keyGenerator: (req) => (req.principal ? `key:${req.principal.keyId}` : `ip:${req.ip}`),
    // Health probes, documentation and the dashboard's files are not limited.
    allowList: (req) => {
      const scope = req.routeOptions.config.scope;
      return scope === undefined || (scope === 'public' && req.routeOptions.url !== '/api/session');
    },
    errorResponseBuilder: (_req, ctx) =>
      new HubError('HUB_ERR_RATE_LIMITED', `Rate limit exceeded: at most ${ctx.max} requests a minute; retry in ${Math.ceil(ctx.ttl / 1000)} s`, {
        retry_after_seconds: Math.ceil(ctx.ttl / 1000),
      }),
  });

  await app.register(fastifyHelmet, {
    // Fits the built dashboard and Swagger UI: everything from this origin; Swagger UI sets
    // inline styles and uses data: images. No inline scripts anywhere.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    // HSTS only means something over HTTPS, which a proxy in front decides.
    strictTransportSecurity: false,
  });

  if (sec.corsOrigins.length > 0) {
    await app.register(fastifyCors, { origin: [...sec.corsOrigins], credentials: false, exposedHeaders: ['x-request-id', 'retry-after'] });
  }
  return security;
}
