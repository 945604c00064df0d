import type { FastifyInstance } from 'fastify';
import type { ProjectCatalog } from '../../projects/catalog.ts';
import { redirectToLogin, sendNotFound } from '../error-handler.ts';
import { sendPage } from '../page.ts';
import { parseSearchInput, type SearchPages } from '../search-pages.ts';

interface Deps {
  catalog: ProjectCatalog;
  pages: SearchPages;
  secret: Buffer;
}

/** The search pages: every project of the reader, and one project. Plain GET forms: they work without script. */
export function registerSearchRoutes(app: FastifyInstance, deps: Deps): void {
  const { catalog, pages, secret } = deps;

  app.get('/-/search', { config: { access: 'policy' } }, async (request, reply) => {
    // the reader's projects are those of their organizations: signed-in readers only
    if (request.actor.kind === 'anonymous') return redirectToLogin(request, reply);
    const page = await pages.allProjects(request.actor, parseSearchInput(request.query));
    return sendPage(request, reply, secret, page);
  });

  app.get<{ Params: { org: string; project: string } }>('/:org/:project/-/search', { config: { access: 'policy' } }, async (request, reply) => {
    const project = await catalog.find(request.params.org, request.params.project);
    const page = project ? await pages.project(request.actor, project, parseSearchInput(request.query)) : null;
    if (!page) return request.actor.kind === 'anonymous' ? redirectToLogin(request, reply) : sendNotFound(request, reply, secret);
    return sendPage(request, reply, secret, page);
  });
}
