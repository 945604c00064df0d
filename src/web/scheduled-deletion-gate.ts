import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ScheduledDeletion } from '../organizations/deletion.ts';
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
  const gate = async (request: FastifyRequest, reply: FastifyReply, scheduled: ScheduledDeletion): Promise<void> => {
    if (OPEN_WHILE_SCHEDULED.test(request.routeOptions.url ?? '')) return;
    const toDataPage = request.method === 'GET' && (await deps.data.mayManage(request.actor, scheduled.orgId));
    if (toDataPage) reply.redirect(`/${encodeURIComponent(scheduled.slug)}/-/data`, 303);
  };
  // A callback hook: for an organization remembered as not scheduled (every page of it), no promise is made.
  app.addHook('onRequest', (request, reply, done) => {
    const slug = (request.params as Record<string, unknown> | undefined)?.org;
    if (typeof slug !== 'string' || slug === '') return done();
    let known;
    try {
      known = deps.data.scheduledBySlugNow(slug);
    } catch (error) {
      return done(error as Error);
    }
    if (known === null) return done();
    const checked = known instanceof Promise ? known.then((scheduled) => (scheduled ? gate(request, reply, scheduled) : undefined)) : gate(request, reply, known);
    // after a redirect, Fastify runs nothing more of the request (as when an async hook returns after replying)
    checked.then(() => done(), (error: Error) => done(error));
  });
}
