/**
 * Keys (admin), the dashboard's session, and the audit log (admin). docs/api.md,
 * "Authentication".
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../app.js';
import { listAudit } from '../../auth/audit.js';
import { API_SCOPES, createApiKey, listApiKeys, revokeApiKey } from '../../auth/keys.js';
import { SESSION_COOKIE, createSession, endSession, sessionPrincipal } from '../../auth/sessions.js';
import { HubError } from '../../errors.js';
import { ErrorBody, bodyObject } from '../schemas.js';

const KeyInfo = z.object({
  id: z.string().describe('Not secret: the middle part of the key, ih_<id>_<secret>'),
  name: z.string(),
  scopes: z.array(z.enum(API_SCOPES)),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});

const CreateKeyBody = bodyObject({
  name: z.string({ error: 'name is required' }).trim().min(1, { error: 'name is required' }).max(100, { error: 'name must be at most 100 characters' }),
  scopes: z.array(z.enum(API_SCOPES, { error: `scopes must be from ${API_SCOPES.join(', ')}` })).min(1, { error: 'scopes must name at least one scope' }),
  expires_at: z.iso.datetime({ offset: true, error: 'expires_at must be an RFC 3339 date-time' }).nullish(),
});

const KeyIdParam = z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, { error: 'id must be a key id (12 hex characters)' }) });

const SessionBody = bodyObject({ key: z.string({ error: 'key is required' }).min(1, { error: 'key is required' }).max(200, { error: 'key is not valid' }) });
const Who = z.object({
  authenticated: z.boolean(),
  mode: z.enum(['required', 'open']),
  key: z.object({ id: z.string(), name: z.string(), scopes: z.array(z.enum(API_SCOPES)) }).nullable(),
});

const AuditQuery = z.object({
  since: z.iso.datetime({ offset: true, error: 'since must be an RFC 3339 date-time' }).optional(),
  key: z.string().max(50).optional().describe('A key id'),
  target: z.string().max(300).optional().describe('e.g. device:<computer id or hostname>, variance:12, run:<job id>, key:<id>'),
  limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1, { error: 'limit must be from 1 to 500' }).max(500, { error: 'limit must be from 1 to 500' }).default(100),
  cursor: z.string().regex(/^\d{1,19}$/, { error: 'cursor must be a next_cursor value' }).optional(),
});
const AuditEntry = z.object({
  id: z.string(),
  at: z.string(),
  request_id: z.string(),
  key_id: z.string().nullable(),
  key_name: z.string().describe('The key\'s name; "open" in open mode; "anonymous" for a request without a valid key'),
  method: z.string(),
  route: z.string(),
  target: z.string().nullable(),
  outcome: z.enum(['ok', 'failed', 'denied', 'rate_limited']),
  status_code: z.number().int(),
});

export function authRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const tags = ['auth'];

    app.post(
      '/keys',
      {
        config: { scope: 'admin' },
        schema: {
          summary: 'Create an API key (the key is shown in this answer only)',
          tags,
          body: CreateKeyBody,
          response: { 201: z.object({ key: z.string().describe('Shown once; store it now'), info: KeyInfo }), 400: ErrorBody },
        },
      },
      async (req, reply) => {
        const { name, scopes, expires_at } = req.body;
        const created = await createApiKey(deps.db, { name, scopes, expiresAt: expires_at ? new Date(expires_at) : null }, deps.clock.now());
        return reply.code(201).send(created);
      },
    );

    app.get('/keys', { config: { scope: 'admin' }, schema: { summary: 'Every API key (never the keys themselves)', tags, response: { 200: z.object({ keys: z.array(KeyInfo) }) } } }, async () => ({
      keys: await listApiKeys(deps.db),
    }));

    app.delete(
      '/keys/:id',
      { config: { scope: 'admin' }, schema: { summary: 'Revoke an API key and end its sessions', tags, params: KeyIdParam, response: { 200: KeyInfo, 400: ErrorBody, 404: ErrorBody } } },
      async (req) => {
        const revoked = await revokeApiKey(deps.db, req.params.id, deps.clock.now());
        if (!revoked) throw new HubError('HUB_ERR_KEY_NOT_FOUND', `No API key ${req.params.id}`, { id: req.params.id });
        req.server.security.verifier.forget(req.params.id);
        return revoked;
      },
    );

    app.post(
      '/session',
      {
        config: { scope: 'public' },
        schema: { summary: 'Sign in: exchange a key for a session cookie (the dashboard)', tags, body: SessionBody, response: { 200: Who, 400: ErrorBody, 401: ErrorBody } },
      },
      async (req, reply) => {
        const principal = await req.server.security.verifier.verify(req.body.key, deps.clock.now());
        if (!principal) throw new HubError('HUB_ERR_UNAUTHENTICATED', 'The API key is not valid');
        req.principal = principal;
        const { token, expiresAt } = await createSession(deps.db, principal, deps.clock.now());
        void reply.setCookie(SESSION_COOKIE, token, {
          httpOnly: true,
          sameSite: 'strict',
          secure: req.protocol === 'https',
          path: '/',
          expires: expiresAt,
        });
        return { authenticated: true, mode: deps.config.security.authMode, key: { id: principal.keyId, name: principal.keyName, scopes: [...principal.scopes] } };
      },
    );

    app.get('/session', { config: { scope: 'public' }, schema: { summary: 'Who this session (or key) is', tags, response: { 200: Who } } }, async (req) => {
      const token = req.cookies[SESSION_COOKIE];
      const p = token === undefined ? null : await sessionPrincipal(deps.db, token, deps.clock.now());
      return { authenticated: p !== null, mode: deps.config.security.authMode, key: p ? { id: p.keyId, name: p.keyName, scopes: [...p.scopes] } : null };
    });

    app.delete('/session', { config: { scope: 'public' }, schema: { summary: 'Sign out: end the session on the server', tags, response: { 204: z.null() } } }, async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token !== undefined) await endSession(deps.db, token, deps.clock.now());
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    });

    app.get(
      '/audit',
      {
        config: { scope: 'admin' },
        schema: {
          summary: 'The audit log, newest first (keyset-paged: pass next_cursor as cursor)',
          tags,
          querystring: AuditQuery,
          response: { 200: z.object({ entries: z.array(AuditEntry), next_cursor: z.string().nullable() }), 400: ErrorBody },
        },
      },
      async (req) =>
        listAudit(deps.db, {
          since: req.query.since ? new Date(req.query.since) : undefined,
          keyId: req.query.key,
          target: req.query.target,
          limit: req.query.limit,
          cursor: req.query.cursor,
        }),
    );
  };
}
