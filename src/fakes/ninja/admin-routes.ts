/** The fake NinjaOne's admin HTTP API under `/__admin`: a thin shell over {@link FakeNinjaAdmin}. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FakeNinjaDevice, FakeNinjaLocation, FakeNinjaOrganization } from './data.js';
import { NinjaError, pathId } from './errors.js';
import type { FakeNinjaAdmin, NinjaOperation } from './server.js';
import { faultSchema } from '../faults.js';
import { adminJsonObject } from '../http.js';

type Json = Record<string, unknown>;

export function registerAdminRoutes(app: FastifyInstance, admin: FakeNinjaAdmin): void {
  const adminBody = (request: FastifyRequest): Json => adminJsonObject(request.body, (status, message) => new NinjaError(status, message));
  const orNotFound = <T>(value: T | undefined): T => {
    if (value === undefined) throw new NinjaError(404, 'Device not found.');
    return value;
  };
  type IdRequest = FastifyRequest<{ Params: { id: string } }>;
  const idOf = (r: IdRequest): number => pathId(r.params.id);
  const noContent = async (_r: FastifyRequest, reply: FastifyReply, act: () => unknown) => {
    act();
    return reply.code(204).send();
  };

  app.post('/__admin/reset', async (r, reply) => noContent(r, reply, () => admin.reset()));
  app.get('/__admin/devices', async () => admin.list());
  app.post('/__admin/devices', async (r, reply) => reply.code(201).send(admin.add(adminBody(r) as Partial<FakeNinjaDevice>)));
  app.get('/__admin/devices/:id', async (r: IdRequest) => orNotFound(admin.get(idOf(r))));
  app.patch('/__admin/devices/:id', async (r: IdRequest) => orNotFound(admin.update(idOf(r), adminBody(r) as Partial<FakeNinjaDevice>)));
  app.delete('/__admin/devices/:id', async (r: IdRequest, reply) => {
    if (!admin.remove(idOf(r))) throw new NinjaError(404, 'Device not found.');
    return reply.code(204).send();
  });
  app.post('/__admin/devices/:id/offline', async (r: IdRequest) => {
    const { offline } = adminBody(r);
    if (typeof offline !== 'boolean') throw new NinjaError(400, 'offline must be a boolean.');
    return orNotFound(admin.setOffline(idOf(r), offline));
  });
  app.put('/__admin/devices/:id/custom-fields', async (r: IdRequest, reply) => {
    if (!admin.setCustomFields(idOf(r), adminBody(r))) throw new NinjaError(404, 'Device not found.');
    return reply.code(204).send();
  });
  app.get('/__admin/organizations', async () => admin.organizations());
  app.post('/__admin/organizations', async (r, reply) => reply.code(201).send(admin.addOrganization(adminBody(r) as Partial<FakeNinjaOrganization>)));
  app.get('/__admin/locations', async () => admin.locations());
  app.post('/__admin/locations', async (r, reply) => {
    const body = adminBody(r);
    if (typeof body.organizationId !== 'number') throw new NinjaError(400, 'organizationId must be a number.');
    return reply.code(201).send(admin.addLocation(body as Partial<FakeNinjaLocation> & { organizationId: number }));
  });
  app.post('/__admin/refresh-tokens', async (r, reply) => {
    const { scope } = adminBody(r);
    if (scope !== undefined && typeof scope !== 'string') throw new NinjaError(400, 'scope must be a string.');
    return reply.code(201).send({ refresh_token: admin.issueRefreshToken(scope) });
  });
  app.post('/__admin/tokens/expire', async (r, reply) => noContent(r, reply, () => admin.expireAllTokens()));
  app.post('/__admin/lost-replies', async (r, reply) => {
    const { operation, count } = adminBody(r);
    if (typeof operation !== 'string') throw new NinjaError(400, 'operation must be a string.');
    if (count !== undefined && (typeof count !== 'number' || !Number.isInteger(count) || count < 1)) throw new NinjaError(400, 'count must be a positive integer.');
    admin.loseReplies(operation as NinjaOperation, count);
    return reply.code(204).send();
  });
  app.post('/__admin/delays/release', async (r, reply) => noContent(r, reply, () => admin.releaseDelays()));
  app.post('/__admin/faults', async (r, reply) => {
    const parsed = faultSchema.safeParse(adminBody(r));
    if (!parsed.success) throw new NinjaError(400, `Invalid fault: ${z.prettifyError(parsed.error)}`);
    admin.injectFault(parsed.data);
    return reply.code(204).send();
  });
  app.delete('/__admin/faults', async (r, reply) => noContent(r, reply, () => admin.clearFaults()));
  app.get('/__admin/requests', async () => admin.requests());
  app.get('/__admin/requests/count', async (r: FastifyRequest<{ Querystring: { operation?: NinjaOperation } }>) => ({
    count: admin.requestCount(r.query.operation),
  }));
  app.get('/__admin/token-requests/count', async () => ({ count: admin.tokenRequestCount() }));
  app.delete('/__admin/requests', async (r, reply) => noContent(r, reply, () => admin.clearRequests()));
}
