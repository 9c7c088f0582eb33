/**
 * Organizations of the two tools: how they map onto each other, and the links people make
 * (`link`: one customer; `never`: never pair them). Links take effect at the next check run.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../app.js';
import { organizationCoverage } from '../../variances/coverage.js';
import { deleteLink, organizationMapping, putLink } from '../../variances/organization-links.js';
import { ErrorBody as BaseErrorBody } from '../schemas.js';

const ErrorBody = BaseErrorBody.extend({
  threatlocker_organization: z.string().optional(),
  ninja_organization: z.string().optional(),
});

/** An organization name: trimmed, not blank, bounded (names are compared as stored). */
const organizationName = (field: string) =>
  z
    .string({ error: `${field} is required` })
    .max(255, { error: `${field} must be at most 255 characters` })
    .transform((v) => v.trim())
    .refine((v) => v !== '', { error: `${field} is required` });

const Link = z.object({
  threatlocker_organization: z.string(),
  ninja_organization: z.string(),
  kind: z.enum(['link', 'never']),
  created_by: z.string(),
  created_at: z.string(),
});

const PutBody = z.object(
  {
    threatlocker_organization: organizationName('threatlocker_organization'),
    ninja_organization: organizationName('ninja_organization'),
    kind: z.enum(['link', 'never'], { error: 'kind must be link or never' }).describe('link: one customer; never: never pair them'),
    created_by: z
      .string({ error: 'created_by must be a string' })
      .max(255, { error: 'created_by must be at most 255 characters' })
      .nullish()
      .transform((v) => (v == null || v.trim() === '' ? 'dashboard_user' : v.trim()))
      .describe('Who made the link (default "dashboard_user")'),
  },
  { error: 'Request body must be a JSON object' },
);

const DeleteQuery = z.object({
  threatlocker_organization: organizationName('threatlocker_organization'),
  ninja_organization: organizationName('ninja_organization'),
});

const PerVendor = <T extends z.ZodType>(t: T) => z.object({ threatlocker: t, ninja: t });

const Mapping = z.object({
  dates: PerVendor(z.string().nullable()).describe("Each tool's latest collected day, whose organizations are listed"),
  organizations: PerVendor(z.array(z.string())),
  pairs: z.array(
    z.object({
      threatlocker_organization: z.string(),
      ninja_organization: z.string(),
      how: z.enum(['automatic', 'explicit', 'never']),
      created_by: z.string().nullable(),
      created_at: z.string().nullable(),
    }),
  ),
  unmapped: PerVendor(z.array(z.string())).describe('Organizations paired with none of the other tool'),
});

const Coverage = z.object({
  snapshot_date: z
    .object({ threatlocker: z.string().nullable(), ninja: z.string().nullable(), basis: z.enum(['checked', 'latest_collected']) })
    .describe("The day read per tool: the latest checked day, or each tool's latest collected day when no check ran yet"),
  rows: z.array(
    z.object({
      threatlocker_organization: z.string().nullable(),
      ninja_organization: z.string().nullable(),
      threatlocker_organizations: z.array(z.string()).describe('All of the customer’s ThreatLocker organizations (links can join several)'),
      ninja_organizations: z.array(z.string()),
      threatlocker_devices: z.number().int(),
      ninja_devices: z.number().int(),
      matched: z.number().int().describe('Pairs found by the matching, counted with the ThreatLocker computer’s customer'),
      matched_percent: z.number().nullable().describe('matched out of the larger of the two fleets, in percent'),
      open_variances: z.number().int(),
    }),
  ),
  unattributed_open_variances: z.number().int().describe('Open variances of organizations on neither tool’s day'),
});

export function organizationRoutes(deps: Deps): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    const tags = ['organizations'];

    app.get(
      '/mapping',
      { config: { scope: 'read' },  schema: { summary: "Both tools' organizations, how they are paired, and the unpaired ones", tags, response: { 200: Mapping } } },
      async () => organizationMapping(deps.db, deps.vendorIds),
    );

    app.get(
      '/coverage',
      { config: { scope: 'read' },  schema: { summary: 'Per customer: devices in each tool, matched pairs, open variances', tags, response: { 200: Coverage } } },
      async () => organizationCoverage(deps.db, deps.vendorIds),
    );

    app.put(
      '/links',
      {
        config: { scope: 'admin' },
        schema: {
          summary: 'Create the link of a pair of organizations, or change its kind',
          tags,
          body: PutBody,
          response: { 200: z.object({ link: Link, created: z.literal(false) }), 201: z.object({ link: Link, created: z.literal(true) }), 400: ErrorBody },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const { link, created } = await putLink(
          deps.db,
          { threatlockerOrganization: b.threatlocker_organization, ninjaOrganization: b.ninja_organization, kind: b.kind, by: b.created_by },
          deps.clock,
        );
        return created ? reply.code(201).send({ link, created: true as const }) : reply.code(200).send({ link, created: false as const });
      },
    );

    app.delete(
      '/links',
      {
        config: { scope: 'admin' },
        schema: {
          summary: 'Remove the link of a pair of organizations',
          tags,
          querystring: DeleteQuery,
          response: { 200: z.object({ deleted: Link }), 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => ({ deleted: await deleteLink(deps.db, req.query.threatlocker_organization, req.query.ninja_organization) }),
    );
  };
}
