/**
 * The search pages: all the reader's projects (`/-/search`) and one project (`/{org}/{project}/-/search`). Turns a
 * query string into a search (search/search-query.ts filters by permission in SQL) and its results into a page.
 */
import type { TrustedHtml } from '../content/trusted-html.ts';
import type { Actor } from '../access/actor.ts';
import { can, clearanceFor } from '../access/policy.ts';
import type { ProjectCatalog } from '../projects/catalog.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { SearchResults, SearchService } from '../search/search-query.ts';
import { documentUrl, projectUrl, tagUrl } from './urls.ts';
import { renderSearchBody, type SearchPageView } from './views/search.tsx';

/** The query string of a search page, as parsed from the request (anything missing is empty). */
export interface SearchInput {
  q: string;
  /** `org/slug` of one of the reader's projects (all-projects search only). */
  project: string;
  tag: string;
  page: number;
}

/** Read the query string: strings only (a repeated parameter counts once), bounded. */
export function parseSearchInput(query: unknown): SearchInput {
  const record = (query ?? {}) as Record<string, unknown>;
  const text = (name: string, max: number) => {
    const value = record[name];
    const first: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
    return typeof first === 'string' ? first.slice(0, max) : '';
  };
  const page = Number.parseInt(text('page', 6), 10);
  return { q: text('q', 500), project: text('project', 200), tag: text('tag', 200), page: Number.isFinite(page) && page > 0 ? page : 1 };
}

export class SearchPages {
  constructor(
    private readonly search: SearchService,
    private readonly catalog: ProjectCatalog,
    private readonly publisher: Publisher,
  ) {}

  /** Search every project of the reader's organizations (signed-in readers only: the route asks first). */
  async allProjects(actor: Actor, input: SearchInput): Promise<{ title: string; body: TrustedHtml }> {
    const orgIds = actor.kind === 'user' ? [...actor.memberships.keys()] : [];
    const projects = (await this.catalog.inOrganizations(orgIds)).filter((p) => can(actor, 'list', { kind: 'project', orgId: p.orgId }));
    const chosen = projects.find((p) => `${p.orgSlug}/${p.slug}` === input.project) ?? null;
    const results = await this.search.search({ actor, projects, query: input.q, projectId: chosen?.id ?? null, tag: input.tag, page: input.page });
    const base = '/-/search';
    const url = (change: Partial<SearchInput>) => searchUrl(base, { ...input, project: chosen ? input.project : '', ...change });
    const view = present(results, input, url, {
      action: base,
      project: null,
      projectChoice: {
        selected: chosen ? input.project : '',
        options: projects.map((p) => ({ value: `${p.orgSlug}/${p.slug}`, label: projectLabel(p, projects) })),
      },
      showProject: true,
    });
    view.projectLinks = results.projectCounts.map(({ project, count }) => ({
      label: projectLabel(project, projects),
      href: url({ project: `${project.orgSlug}/${project.slug}`, page: 1 }),
      count,
      current: chosen?.id === project.id,
    }));
    return { title: results.query ? `“${results.query}” · Search` : 'Search', body: renderSearchBody(view) };
  }

  /**
   * Search one project, or null when the reader may not know it exists: members of its organization, and anyone
   * when it has public documents (like its reading pages).
   */
  async project(actor: Actor, project: ProjectRecord, input: SearchInput): Promise<{ title: string; body: TrustedHtml } | null> {
    const member = can(actor, 'read', { kind: 'project', orgId: project.orgId });
    const snapshot = this.publisher.snapshotOf(project.id);
    if (!member && !snapshot?.hasReadable(clearanceFor(actor, project.orgId))) return null;
    const results = await this.search.search({ actor, projects: [project], query: input.q, tag: input.tag, page: input.page });
    const base = `${projectUrl(project)}-/search`;
    const url = (change: Partial<SearchInput>) => searchUrl(base, { ...input, project: '', ...change });
    const view = present(results, input, url, {
      action: base,
      project: { name: project.name, href: projectUrl(project) },
      projectChoice: null,
      showProject: false,
    });
    return { title: results.query ? `“${results.query}” · Search · ${project.name}` : `Search · ${project.name}`, body: renderSearchBody(view) };
  }
}

function present(
  results: SearchResults,
  input: SearchInput,
  url: (change: Partial<SearchInput>) => string,
  frame: Pick<SearchPageView, 'action' | 'project' | 'projectChoice'> & { showProject: boolean },
): SearchPageView {
  return {
    action: frame.action,
    project: frame.project,
    projectChoice: frame.projectChoice,
    query: results.query || input.q.trim().slice(0, 200),
    tag: input.tag,
    kind: results.kind,
    total: results.total,
    atLeast: results.atLeast,
    countsAtLeast: results.countsAtLeast,
    page: results.page,
    pageCount: results.pageCount,
    hits: results.hits.map((hit) => ({
      href: documentUrl(hit.project, hit.path),
      title: hit.title,
      projectName: frame.showProject ? hit.project.name : null,
      path: hit.path,
      classification: hit.classification,
      tags: hit.tags.map((tag) => ({ tag, href: tagUrl(hit.project, tag) })),
      snippet: hit.snippet,
    })),
    projectLinks: [],
    tagLinks: results.tagCounts.map(({ tag, count }) => ({ tag, count, href: url({ tag, page: 1 }), current: tag === input.tag })),
    clearTagHref: input.tag ? url({ tag: '', page: 1 }) : null,
    previousHref: results.page > 1 && results.kind === 'text' ? url({ page: results.page - 1 }) : null,
    nextHref: results.page < results.pageCount && results.kind === 'text' ? url({ page: results.page + 1 }) : null,
  };
}

/** A project's name, with its organization's when the reader's projects span several. */
function projectLabel(project: ProjectRecord, all: readonly ProjectRecord[]): string {
  const orgs = new Set(all.map((p) => p.orgId));
  return orgs.size > 1 ? `${project.orgName} / ${project.name}` : project.name;
}

/** A search page's address with its non-empty parameters. */
export function searchUrl(base: string, input: Partial<SearchInput>): string {
  const params = new URLSearchParams();
  if (input.q) params.set('q', input.q);
  if (input.project) params.set('project', input.project);
  if (input.tag) params.set('tag', input.tag);
  if (input.page && input.page > 1) params.set('page', String(input.page));
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}
