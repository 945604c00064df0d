import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { InvalidInputError } from '../../errors.ts';
import type { Reviews } from '../../evidence/reviews.ts';
import type { ProjectCatalog } from '../../projects/catalog.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import type { ShownDocument } from '../reading-pages.ts';
import { documentUrl, projectUrl } from '../urls.ts';
import { renderReviewBanner, renderReviewsDueBody } from '../views/reviews.tsx';

interface Deps {
  open: ResourceOpener;
  catalog: ProjectCatalog;
  reviews: Reviews;
  secret: Buffer;
}

const reviewForm = z.object({ path: z.string().min(1).max(1000) });

const isoDay = (date: Date | null): string | null => (date ? date.toISOString().slice(0, 10) : null);

/**
 * The review box of a document page for a signed-in person who may edit it (browser sessions only): the state of
 * its cadence and the "Mark reviewed — no changes" form; null for everyone else (or when the state is unavailable:
 * the page is served without it).
 */
export async function reviewBanner(request: FastifyRequest, reviews: Reviews, shown: ShownDocument, secret: Buffer): Promise<string | null> {
  const actor = request.actor;
  if (actor.kind !== 'user' || !request.session || actor.via) return null;
  let status;
  try {
    status = await reviews.statusFor(actor, shown.project, shown.path);
  } catch (error) {
    request.log.error({ err: error, requestId: request.id }, 'review status unavailable');
    return null;
  }
  if (!status) return null;
  const csrfToken = sessionCsrfToken(secret, request.session.idHash);
  // the same status object (reviews.ts reuses it for a document and day) for the same session: the same banner
  const last = bannerOfStatus.get(status);
  if (last !== undefined && last.csrfToken === csrfToken && last.path === shown.path) return last.html;
  const view = {
    state: status.state,
    next: status.next,
    lastReviewed: isoDay(status.lastReviewed),
    action: `${projectUrl(shown.project)}-/review`,
    path: shown.path,
    csrfToken,
  };
  // the same banner for a reader rereading a document: rendered once (a Preact render per page view was ~5 % of
  // a signed-in page's CPU); the key holds every value of the view
  const key = JSON.stringify([view.state, view.next, view.lastReviewed, view.action, view.path, view.csrfToken]);
  let html = renderedBanners.get(key);
  if (html === undefined) {
    html = renderReviewBanner(view);
    if (renderedBanners.size >= RENDERED_BANNERS_MAX) renderedBanners.clear();
    renderedBanners.set(key, html);
  }
  bannerOfStatus.set(status, { csrfToken, path: shown.path, html });
  return html;
}

/** The banner last rendered for a status object, with the token and path in it (no key to build on a repeat view). */
const bannerOfStatus = new WeakMap<object, { csrfToken: string; path: string; html: string }>();

/** Rendered review banners by their view (bounded: emptied when full). */
const renderedBanners = new Map<string, string>();
const RENDERED_BANNERS_MAX = 5_000;

/** Review cadence: "Mark reviewed — no changes" on a document, and the organization's "Reviews due" list. */
export function registerReviewRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, catalog, reviews, secret } = deps;

  app.post('/:org/:project/-/review', { config: { access: 'policy' } }, async (request, reply) => {
    // members may edit (the command checks the document's classification: 404 unreadable, 403 read-only)
    const { actor, project } = await open.project(request, 'read', { browserOnly: true });
    const form = reviewForm.safeParse(request.body);
    if (!form.success) throw new InvalidInputError('The form is missing the document. Reload the page.');
    await reviews.markReviewed(actor, project, form.data.path, { requestId: request.id, ip: request.ip });
    return reply.redirect(documentUrl(project, form.data.path), 303);
  });

  app.get('/:org/-/reviews', { config: { access: 'policy' } }, async (request, reply) => {
    // for those who may edit the organization's documents (member and above); others: the one 404
    const { actor, org } = await open.organization(request, 'edit', 'project', { browserOnly: true });
    const projects = (await catalog.all()).filter((project) => project.orgId === org.id);
    const due = await reviews.dueFor(actor, org.id, projects);
    const body = renderReviewsDueBody({
      orgName: org.name,
      today: reviews.today(),
      rows: due.map((status) => ({
        title: status.title,
        projectName: status.projectName,
        path: status.path,
        href: documentUrl({ orgSlug: status.orgSlug, slug: status.projectSlug }, status.path),
        next: status.next!,
        state: status.state,
        lastReviewed: isoDay(status.lastReviewed),
      })),
    });
    return sendPage(request, reply, secret, { title: `Reviews due · ${org.name}`, body });
  });
}
