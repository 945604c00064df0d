import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { documentPathOfAddress } from '../../changes/document-address.ts';
import { NotFoundError } from '../../errors.ts';
import { isOrganizationSlug } from '../../organizations/organizations.ts';
import { MAX_CHANGELOG_PAGE, type TrustCenter } from '../../projects/trust-center.ts';
import { changelogAtom } from '../changelog-feed.ts';
import { redirectToLogin, sendNotFound } from '../error-handler.ts';
import { sendPage } from '../page.ts';
import { renderPublicRedlineBody, renderTrustCenterBody } from '../views/trust-center.tsx';

interface Deps {
  trustCenter: TrustCenter;
  /** The site's public address, for the feed's absolute links (null: links relative to the feed). */
  publicUrl: string | null;
  secret: Buffer;
}

/**
 * The public trust center: `/{org}` (documents and changelog), its Atom feed, and the public redline of each
 * entry. Open to anyone: everything shown is public by the service's rules (projects/trust-center.ts).
 */
export function registerTrustCenterRoutes(app: FastifyInstance, deps: Deps): void {
  const { trustCenter, secret } = deps;

  app.get<{ Params: { org: string }; Querystring: { page?: string } }>('/:org', { config: { access: 'public' } }, async (request, reply) => {
    // not an organization's address at all (`/robots.txt`, `/favicon.ico`, `/metrics` when it is off): the plain
    // 404 of an unknown path
    if (!isOrganizationSlug(request.params.org)) return sendNotFound(request, reply, secret);
    const page = pageOf(request.query.page);
    const found = page === null ? null : await trustCenter.page(request.params.org, page);
    const member = found !== null && request.actor.kind === 'user' && request.actor.memberships.has(found.org.id);
    // an organization that publishes nothing has no public face: missing, except to its members
    if (!found || (found.projects.length === 0 && !member) || (found.changes.length === 0 && page! > 1)) return missing(request, reply);
    const body = renderTrustCenterBody({ page: found, intranetHref: member ? '/' : null });
    return sendPage(request, reply, secret, { title: `${found.org.name} Trust Center`, body });
  });

  app.get<{ Params: { org: string } }>('/:org/-/changelog.atom', { config: { access: 'public' } }, async (request, reply) => {
    const found = await trustCenter.page(request.params.org, 1);
    if (!found || found.projects.length === 0) return sendNotFound(request, reply, secret);
    const base = deps.publicUrl ? deps.publicUrl.replace(/\/+$/, '') : '';
    return reply.header('content-type', 'application/atom+xml; charset=utf-8').header('cache-control', 'public, max-age=300').send(changelogAtom(found, base));
  });

  app.get<{ Params: { org: string; project: string; commit: string; '*': string } }>(
    '/:org/-/changelog/:project/:commit/*',
    { config: { access: 'public' } },
    async (request, reply) => {
      const { org, project, commit } = request.params;
      if (!/^[0-9a-f]{40}$/.test(commit)) return missing(request, reply);
      let path: string;
      try {
        path = documentPathOfAddress(request.params['*']);
      } catch (error) {
        if (error instanceof NotFoundError) return missing(request, reply);
        throw error;
      }
      const target = await trustCenter.change(org, project, commit, path);
      if (!target) return missing(request, reply);
      const redline = await trustCenter.redline(target);
      return sendPage(request, reply, secret, { title: `What changed: ${redline.title} · ${redline.org.name} Trust Center`, body: renderPublicRedlineBody(redline) });
    },
  );

  /** Missing like any unknown address: anonymous readers are offered sign-in, as on the reading pages. */
  function missing(request: FastifyRequest, reply: FastifyReply) {
    return request.actor.kind === 'anonymous' ? redirectToLogin(request, reply) : sendNotFound(request, reply, secret);
  }
}

/** `?page=N` (1 when absent); null for anything else. */
function pageOf(value: string | undefined): number | null {
  if (value === undefined) return 1;
  if (!/^[1-9]\d{0,3}$/.test(value)) return null;
  const page = Number(value);
  return page <= MAX_CHANGELOG_PAGE ? page : null;
}
