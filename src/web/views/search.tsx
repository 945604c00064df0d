import type { JSX } from 'preact';
import type { Classification } from '../../content/types.ts';
import { ClassificationBadge, PlainLayout } from './components.tsx';
import { plural } from './format.ts';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** One segment of a snippet: matched words are shown in `<mark>`, everything as escaped text. */
export interface SnippetPart {
  text: string;
  match: boolean;
}

export interface SearchHitView {
  href: string;
  title: string;
  /** Shown under the title: the project (all-projects search) and the document's path. */
  projectName: string | null;
  path: string;
  classification: Classification;
  tags: { tag: string; href: string }[];
  snippet: SnippetPart[];
}

export interface SearchPageView {
  /** Where the form sends its query (`/-/search` or a project's `-/search`). */
  action: string;
  /** The project of a project search (its name and home), or null for all the reader's projects. */
  project: { name: string; href: string } | null;
  query: string;
  /** The all-projects search's project choice: value `org/slug`, with the reader's projects. */
  projectChoice: { selected: string; options: { value: string; label: string }[] } | null;
  tag: string;
  kind: 'text' | 'similar-titles' | 'none';
  total: number;
  page: number;
  pageCount: number;
  /** The search read its bound of matches: the total and the counts are lower bounds ("1,000+"). */
  atLeast: boolean;
  countsAtLeast: boolean;
  hits: SearchHitView[];
  /** Narrowing links, each with its count (only documents the reader may read are counted). */
  projectLinks: { label: string; href: string; count: number; current: boolean }[];
  tagLinks: { tag: string; href: string; count: number; current: boolean }[];
  clearTagHref: string | null;
  previousHref: string | null;
  nextHref: string | null;
}

function Snippet({ parts }: { parts: SnippetPart[] }): JSX.Element | null {
  if (parts.length === 0) return null;
  return <p class="search-snippet">{parts.map((part) => (part.match ? <mark>{part.text}</mark> : part.text))}</p>;
}

function Summary({ view }: { view: SearchPageView }): JSX.Element | null {
  if (view.query === '') return <p class="search-summary">Type words to search for. Quotes find a phrase, “or” either word, and a leading “-” leaves a word out.</p>;
  if (view.kind === 'none') {
    return (
      <p class="search-summary">
        No documents you can read match “<strong>{view.query}</strong>”{view.tag ? <> with tag “{view.tag}”</> : null}.
      </p>
    );
  }
  if (view.kind === 'similar-titles') {
    return (
      <p class="search-summary">
        Nothing matches “<strong>{view.query}</strong>” exactly. Titles that look close:
      </p>
    );
  }
  return (
    <p class="search-summary">
      {view.atLeast ? `${view.total.toLocaleString('en')}+ documents` : plural(view.total, 'document', 'documents')} match “<strong>{view.query}</strong>”{view.tag ? <> with tag “{view.tag}”</> : null}
      {view.pageCount > 1 ? ` · page ${view.page} of ${view.pageCount}` : null}
    </p>
  );
}

function SearchForm({ view }: { view: SearchPageView }): JSX.Element {
  return (
    <form class="search-form" method="get" action={view.action} role="search" aria-label="Search documents">
      <div class="field search-field-query">
        <label for="search-q">Search for</label>
        <input id="search-q" name="q" type="search" value={view.query} maxLength={200} autocomplete="off" data-search-box="" />
      </div>
      {view.projectChoice ? (
        <div class="field">
          <label for="search-project">Project</label>
          <select id="search-project" name="project">
            <option value="">All projects</option>
            {view.projectChoice.options.map((option) => (
              <option value={option.value} selected={option.value === view.projectChoice!.selected}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <div class="field">
        <label for="search-tag">Tag</label>
        <select id="search-tag" name="tag">
          <option value="">Any tag</option>
          {view.tagLinks.map((tag) => (
            <option value={tag.tag} selected={tag.current}>
              {tag.tag} ({tag.count}
              {view.countsAtLeast ? '+' : ''})
            </option>
          ))}
          {view.tag !== '' && !view.tagLinks.some((t) => t.current) ? (
            <option value={view.tag} selected>
              {view.tag}
            </option>
          ) : null}
        </select>
      </div>
      <div class="search-form-actions">
        <button type="submit" class="button button-primary">
          Search
        </button>
      </div>
    </form>
  );
}

function Facets({ view }: { view: SearchPageView }): JSX.Element | null {
  const projects = view.projectLinks.length > 1 ? view.projectLinks : [];
  if (projects.length === 0 && view.tagLinks.length === 0) return null;
  return (
    <aside class="search-facets" aria-label="Narrow the results">
      {projects.length > 0 ? (
        <section>
          <h2 class="search-facets-title">Projects</h2>
          <ul class="search-facet-list">
            {projects.map((p) => (
              <li>
                <a href={p.href} aria-current={p.current ? 'true' : undefined} class={p.current ? 'current' : undefined}>
                  {p.label}
                </a>{' '}
                <span class="search-count">
                  {p.count}
                  {view.countsAtLeast ? '+' : ''}
                </span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {view.tagLinks.length > 0 ? (
        <section>
          <h2 class="search-facets-title">Tags</h2>
          <ul class="search-facet-list">
            {view.tagLinks.map((t) => (
              <li>
                <a href={t.href} class={t.current ? 'tag current' : 'tag'} aria-current={t.current ? 'true' : undefined}>
                  {t.tag}
                </a>{' '}
                <span class="search-count">
                  {t.count}
                  {view.countsAtLeast ? '+' : ''}
                </span>
              </li>
            ))}
          </ul>
          {view.clearTagHref ? (
            <p>
              <a href={view.clearTagHref}>Any tag</a>
            </p>
          ) : null}
        </section>
      ) : null}
    </aside>
  );
}

function SearchBody({ view }: { view: SearchPageView }): JSX.Element {
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        {view.project ? (
          <p class="eyebrow">
            <a href={view.project.href}>{view.project.name}</a>
          </p>
        ) : null}
        <h1>{view.project ? `Search ${view.project.name}` : 'Search'}</h1>
      </header>
      <SearchForm view={view} />
      <div class="search-layout">
        <section class="search-results" aria-label="Results">
          <Summary view={view} />
          {view.hits.length > 0 ? (
            <ol class="search-hits">
              {view.hits.map((hit) => (
                <li class="search-hit">
                  <h2 class="search-hit-title">
                    <a href={hit.href}>{hit.title}</a>
                  </h2>
                  <p class="search-hit-meta">
                    {hit.projectName ? <span class="search-hit-project">{hit.projectName}</span> : null}
                    <span class="search-hit-path">{hit.path}</span>
                    {hit.classification !== 'internal' ? <ClassificationBadge value={hit.classification} /> : null}
                  </p>
                  <Snippet parts={hit.snippet} />
                  {hit.tags.length > 0 ? (
                    <ul class="tag-list search-hit-tags">
                      {hit.tags.map((t) => (
                        <li>
                          <a class="tag" href={t.href}>
                            {t.tag}
                          </a>
                        </li>
                      ))}
                    </ul>
                  ) : null}
                </li>
              ))}
            </ol>
          ) : null}
          {view.previousHref || view.nextHref ? (
            <nav class="search-pages" aria-label="Result pages">
              {view.previousHref ? (
                <a class="button button-small" href={view.previousHref} rel="prev">
                  Previous
                </a>
              ) : null}
              {view.nextHref ? (
                <a class="button button-small" href={view.nextHref} rel="next">
                  Next
                </a>
              ) : null}
            </nav>
          ) : null}
        </section>
        <Facets view={view} />
      </div>
    </PlainLayout>
  );
}

/** The results page of a search (all the reader's projects, or one project). */
export function renderSearchBody(view: SearchPageView): TrustedHtml {
  return toHtml(<SearchBody view={view} />);
}
