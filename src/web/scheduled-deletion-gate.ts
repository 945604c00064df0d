import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../errors.ts';
import type { OrganizationData } from '../organizations/organization-data.ts';

/** The routes of an organization that stay open while it is scheduled for deletion (its owners' export and cancel). */
const OPEN_WHILE_SCHEDULED = /^\/:org\/-\/data(\/|$)/;

/**
 * An organization scheduled for deletion is closed (organizations/deletion.ts): every route of `/:org/...` — pages,
 * API, git, raw files, public pages too — answers the one 404 of a missing page, except its "Export and deletion"
 * page, where its owners see the schedule and can cancel; an owner who opens any other page of it is sent there.
 * Cross-organization pages (the project list, search) leave it out because a session's memberships do.
 */
export function registerScheduledDeletionGate(app: FastifyInstance, deps: { data: OrganizationData }): void {
  app.addHook('onRequest', async (request, reply) => {
    const slug = (request.params as Record<string, unknown> | undefined)?.org;
    if (typeof slug !== 'string' || slug === '') return;
    const scheduled = await deps.data.scheduledBySlug(slug);
    if (!scheduled) return;
    if (OPEN_WHILE_SCHEDULED.test(request.routeOptions.url ?? '')) return;
    const toDataPage = request.method === 'GET' && (await deps.data.mayManage(request.actor, scheduled.orgId));
    if (toDataPage) return reply.redirect(`/${encodeURIComponent(scheduled.slug)}/-/data`, 303);
    throw new NotFoundError();
  });
}
