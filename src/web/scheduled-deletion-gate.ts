import type { FastifyInstance } from 'fastify';
import type { OrganizationData } from '../organizations/organization-data.ts';

/** The routes of an organization that stay open while it is scheduled for deletion (its owners' export and cancel). */
const OPEN_WHILE_SCHEDULED = /^\/:org\/-\/data(\/|$)/;

/**
 * An organization scheduled for deletion is closed (organizations/deletion.ts). Its routes answer exactly as for an
 * organization that does not exist — pages, public pages, API, git — because the lookups by address leave it out
 * (OrganizationDirectory.bySlug, findProject) and a session's memberships do too (the project list, search). The
 * one exception is its "Export and deletion" page, where its owners see the schedule and can cancel; this hook
 * sends an owner who opens any other page of it (GET) there, and lets everyone else through to that answer.
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
  });
}
