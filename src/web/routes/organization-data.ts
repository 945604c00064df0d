import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createGzip } from 'node:zlib';
import { ensureRecentAuth, hasRecentAuth } from '../../auth/reauth.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import type { OrganizationCommands } from '../../organizations/commands/index.ts';
import { DELETION_GRACE_DAYS } from '../../organizations/deletion.ts';
import type { OrganizationDirectory } from '../../organizations/directory.ts';
import type { OrganizationData } from '../../organizations/organization-data.ts';
import type { Organization } from '../../organizations/organizations.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import { renderOrganizationDataBody } from '../views/organization-data.tsx';

interface Deps {
  open: ResourceOpener;
  organizations: Pick<OrganizationDirectory, 'includingScheduled'>;
  /** Forget the projects this process (and every other) remembers by address, after a schedule or a cancellation. */
  forgetProjects: () => Promise<void>;
  data: OrganizationData;
  commands: OrganizationCommands;
  secret: Buffer;
}

/** `?done=` notices: fixed keys, never reflected text. */
const NOTICES: Record<string, string> = {
  scheduled: 'The organization is scheduled for deletion and closed to its members.',
  cancelled: 'The deletion is cancelled: the organization is open to its members again.',
};

/**
 * `/{org}/-/data`: "Export and deletion", for the organization's owners only (everyone else, admins included:
 * the one 404), in the browser only. While the organization is scheduled for deletion these are its only pages
 * (web/scheduled-deletion-gate.ts), so an owner can still export and cancel.
 */
export function registerOrganizationDataRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, organizations, data, commands, secret, forgetProjects } = deps;
  const dataUrl = (org: Organization) => `/${encodeURIComponent(org.slug)}/-/data`;

  /** The signed-in owner and the organization (authorized by `data.overview`, which also reads the schedule). */
  async function resolve(request: FastifyRequest) {
    const actor = open.signedIn(request, { browserOnly: true });
    const slug = (request.params as { org?: unknown }).org;
    const org = typeof slug === 'string' ? await organizations.includingScheduled(slug) : null;
    if (!org) throw new NotFoundError();
    const { scheduled } = await data.overview(actor, org);
    return { actor, org, scheduled };
  }

  function sendData(
    request: FastifyRequest,
    reply: FastifyReply,
    ctx: { org: Organization; scheduled: Awaited<ReturnType<OrganizationData['overview']>>['scheduled'] },
    extra: { notice?: string | null; error?: string | null; confirmValue?: string } = {},
    status = 200,
  ) {
    return sendPage(request, reply, secret, {
      title: `Export and deletion · ${ctx.org.name}`,
      status,
      body: renderOrganizationDataBody({
        csrfToken: sessionCsrfToken(secret, request.session!.idHash),
        orgSlug: ctx.org.slug,
        orgName: ctx.org.name,
        scheduled: ctx.scheduled ? { requestedAt: ctx.scheduled.requestedAt.toISOString(), purgeAfter: ctx.scheduled.purgeAfter.toISOString() } : null,
        graceDays: DELETION_GRACE_DAYS,
        notice: extra.notice ?? null,
        error: extra.error ?? null,
        confirmValue: extra.confirmValue ?? '',
        recentlyAuthenticated: hasRecentAuth(request),
      }),
    });
  }

  app.get<{ Params: { org: string }; Querystring: { done?: string } }>('/:org/-/data', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    return sendData(request, reply, ctx, { notice: NOTICES[request.query.done ?? ''] ?? null });
  });

  app.post<{ Params: { org: string } }>('/:org/-/data/export', { config: { access: 'policy' } }, async (request, reply) => {
    const { actor, org } = await resolve(request);
    const write = await data.startExport(actor, org, { requestId: String(request.id), ip: request.ip });
    // checked and recorded: the archive is streamed as it is built (a failure part-way leaves one whose manifest is missing)
    const gzip = createGzip();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) gzip.destroy();
    });
    write(gzip).catch((error: unknown) => {
      request.log.error({ err: error }, 'organization export failed part-way');
      gzip.destroy(error as Error);
    });
    const name = `docucommit-${org.slug}-export-${new Date().toISOString().slice(0, 10)}.tar.gz`;
    return reply
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
      .type('application/gzip')
      .send(gzip);
  });

  app.post<{ Params: { org: string }; Body: Record<string, unknown> }>('/:org/-/data/delete', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    // the most destructive thing an owner can do: a recent password (and code) confirmation first
    if (!ensureRecentAuth(request, reply, dataUrl(ctx.org))) return reply;
    const typed = typeof request.body?.confirm_slug === 'string' ? request.body.confirm_slug.slice(0, 200) : '';
    try {
      await commands.scheduleDeletion(ctx.actor, {
        orgId: ctx.org.id,
        confirmSlug: typed,
        session: request.session!,
        next: dataUrl(ctx.org),
        audit: { requestId: String(request.id), ip: request.ip },
      });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return sendData(request, reply, ctx, { error: error.message, confirmValue: typed }, 400);
    }
    data.forget();
    await forgetProjects();
    reply.header('cache-control', 'no-store');
    return reply.redirect(`${dataUrl(ctx.org)}?done=scheduled`, 303);
  });

  app.post<{ Params: { org: string } }>('/:org/-/data/cancel-deletion', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    await commands.cancelDeletion(ctx.actor, { orgId: ctx.org.id, audit: { requestId: String(request.id), ip: request.ip } });
    data.forget();
    await forgetProjects();
    reply.header('cache-control', 'no-store');
    return reply.redirect(`${dataUrl(ctx.org)}?done=cancelled`, 303);
  });
}
