/** Small building blocks shared by the page bodies. */
import type { ComponentChildren, JSX } from 'preact';
import type { Classification, NavNode, TocEntry } from '../../content/types.ts';
import { copyScript } from '../assets.ts';
import { documentUrl, pagesUrl, projectUrl, sectionUrl } from '../urls.ts';
import { CLASSIFICATION_HINTS, CLASSIFICATION_LABELS, formatDate, isoDate } from './format.ts';
import type { Breadcrumb, ProjectChrome, ViewProject } from './types.ts';

export function DateText({ value, class: className }: { value: string; class?: string }): JSX.Element {
  return (
    <time class={className} dateTime={isoDate(value)}>
      {formatDate(value)}
    </time>
  );
}

/** A confirmation after a change ("Saved."), announced to screen readers; nothing when there is none. */
/**
 * An email address or path that may wrap: line breaks are offered before each `@`, `.` and `/`, so a narrow
 * cell breaks `new.hire@zephyrcart.test` between its parts, never inside one (unless a part alone is too wide).
 * The whole text stays in `title` (shown on hover, and searchable in the HTML as one string).
 */
export function Breakable({ text }: { text: string }): JSX.Element {
  const parts = text.split(/(?=[@./])/);
  return <span title={text}>{parts.map((part, i) => (i === 0 ? part : <><wbr />{part}</>))}</span>;
}

/**
 * A button that copies the value (input) or text (one line per list item) of element `target`. Hidden until its
 * script runs, so a page without script shows no dead button; the module loads once however many buttons there are.
 */
export function CopyButton({ target, label = 'Copy' }: { target: string; label?: string }): JSX.Element {
  return (
    <>
      <button type="button" class="button button-small copy-button" data-copy={target} hidden>
        {label}
      </button>
      <script type="module" src={copyScript.href} />
    </>
  );
}

/** A link that downloads `text` as a plain-text file (a data: URL: works without script). */
export function DownloadText({ text, filename, label }: { text: string; filename: string; label: string }): JSX.Element {
  return (
    <a class="button button-small" download={filename} href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}>
      {label}
    </a>
  );
}

export function Flash({ children }: { children?: ComponentChildren }): JSX.Element | null {
  return children ? (
    <p class="flash" role="status">
      {children}
    </p>
  ) : null;
}

/** A section of a page under its h2, the section named by its heading (`{id}-heading`) for assistive technology. */
export function PageSection({ id, title, children }: { id: string; title: ComponentChildren; children?: ComponentChildren }): JSX.Element {
  return (
    <section class="page-section" aria-labelledby={`${id}-heading`}>
      <h2 class="section-heading" id={`${id}-heading`}>
        {title}
      </h2>
      {children}
    </section>
  );
}

/** Why a form was refused, announced at once; nothing when there is no error. */
export function FormError({ children }: { children?: ComponentChildren }): JSX.Element | null {
  return children ? (
    <div class="form-error" role="alert">
      {children}
    </div>
  ) : null;
}

export function ClassificationBadge({ value }: { value: Classification }): JSX.Element {
  return (
    <span class={`badge badge-${value}`} title={CLASSIFICATION_HINTS[value]}>
      {CLASSIFICATION_LABELS[value]}
    </span>
  );
}

export function Breadcrumbs({ items }: { items: Breadcrumb[] }): JSX.Element | null {
  if (items.length === 0) return null;
  return (
    <nav class="breadcrumbs" aria-label="Breadcrumb">
      <ol>
        {items.map((crumb) => (
          <li>
            <a href={crumb.href}>{crumb.title}</a>
          </li>
        ))}
      </ol>
    </nav>
  );
}

/** True when `node` is the page being shown (a document, or a section by its folder or its index.md). */
function isCurrent(node: NavNode, currentPath: string | null): boolean {
  if (currentPath === null || (node.kind === 'section' && node.more !== undefined)) return false;
  if (node.kind === 'document') return node.path === currentPath;
  return node.path === currentPath || (node.indexPath !== null && node.indexPath === currentPath);
}

function containsCurrent(node: NavNode, currentPath: string | null): boolean {
  if (isCurrent(node, currentPath)) return true;
  return node.kind === 'section' && node.children.some((child) => containsCurrent(child, currentPath));
}

function NavItems({
  nodes,
  project,
  currentPath,
  dated,
  depth,
}: {
  nodes: NavNode[];
  project: ViewProject;
  currentPath: string | null;
  dated: boolean;
  depth: number;
}): JSX.Element {
  return (
    <ul class={depth === 0 ? 'nav-list' : 'nav-list nav-sublist'}>
      {nodes.map((node) => {
        const current = isCurrent(node, currentPath);
        if (node.kind === 'document') {
          return (
            <li class="nav-item">
              <a
                class={current ? 'nav-link is-current' : 'nav-link'}
                href={documentUrl(project, node.path)}
                aria-current={current ? 'page' : undefined}
              >
                <span class="nav-link-title">{node.title}</span>
                {dated && node.date ? <DateText class="nav-date" value={node.date} /> : null}
              </a>
            </li>
          );
        }
        if (node.more !== undefined) {
          // the entries a long list leaves out: all of them are on the section page
          return (
            <li class="nav-item nav-more">
              <a class="nav-link nav-more-link" href={sectionUrl(project, node.path)}>
                {node.title}
              </a>
            </li>
          );
        }
        const open = containsCurrent(node, currentPath);
        return (
          <li class={open ? 'nav-item nav-section is-open' : 'nav-item nav-section'}>
            <a
              class={current ? 'nav-link nav-section-title is-current' : 'nav-link nav-section-title'}
              href={sectionUrl(project, node.path)}
              aria-current={current ? 'page' : undefined}
            >
              {node.title}
            </a>
            {node.children.length > 0 ? (
              <NavItems
                nodes={node.children}
                project={project}
                currentPath={currentPath}
                dated={node.dated}
                depth={depth + 1}
              />
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}

/** The project's own navigation: its name, then its sections and documents. */
export function ProjectNav({ chrome }: { chrome: ProjectChrome }): JSX.Element {
  const { project, nav, currentPath } = chrome;
  const home = currentPath === '' || currentPath === 'index.md';
  return (
    <nav class="project-nav" aria-label={`${project.name} navigation`}>
      <p class="project-nav-heading">
        <a href={pagesUrl(project)} aria-current={home ? 'page' : undefined}>
          {project.name}
        </a>
      </p>
      <form class="project-search" method="get" action={`${projectUrl(project)}-/search`} role="search" aria-label={`Search ${project.name}`}>
        <label class="visually-hidden" for="project-search-q">
          Search this project
        </label>
        <input id="project-search-q" type="search" name="q" placeholder="Search this project" maxLength={200} autocomplete="off" data-search-box="" />
        <button type="submit" class="button button-small">
          Search
        </button>
      </form>
      <NavItems nodes={nav} project={project} currentPath={currentPath} dated={false} depth={0} />
      {chrome.newDocumentHref ? (
        <p class="project-nav-new">
          <a href={chrome.newDocumentHref}>+ New document</a>
        </p>
      ) : null}
      {chrome.reviewsHref ? (
        <p class="project-nav-reviews">
          <a href={chrome.reviewsHref}>Reviews due</a>
        </p>
      ) : null}
      {chrome.problems ? (
        <p class="project-nav-problems">
          <a href={chrome.problems.href}>{`${chrome.problems.count} source ${chrome.problems.count === 1 ? 'problem' : 'problems'}`}</a>
        </p>
      ) : null}
      {chrome.accessRequests ? (
        <p class="project-nav-access">
          {chrome.accessRequests.canRequest ? (
            <a href={`${projectUrl(project)}-/access-requests/new`}>Request access to a document</a>
          ) : null}
          <a href={`${projectUrl(project)}-/changes`}>Change requests</a>
          <a href={`/${encodeURIComponent(project.orgSlug)}/-/access-requests`}>Access requests</a>
          <a href={`${projectUrl(project)}-/clone`}>Clone with git</a>
          {chrome.accessRequests.canManage ? <a href={`${projectUrl(project)}-/settings`}>Project settings</a> : null}
        </p>
      ) : null}
    </nav>
  );
}

function TocItems({ entries, depth }: { entries: TocEntry[]; depth: number }): JSX.Element {
  return (
    <ul class={depth === 0 ? 'toc-list' : 'toc-list toc-sublist'}>
      {entries.map((entry) => (
        <li>
          <a href={`#${entry.id}`}>{entry.text}</a>
          {entry.children.length > 0 ? <TocItems entries={entry.children} depth={depth + 1} /> : null}
        </li>
      ))}
    </ul>
  );
}

/** "Document Navigation": the page's own sections. Nothing when the page has none. */
export function Toc({ entries }: { entries: TocEntry[] }): JSX.Element | null {
  if (entries.length === 0) return null;
  return (
    <nav class="toc" aria-labelledby="toc-heading">
      <h2 class="toc-heading" id="toc-heading">
        Document Navigation
      </h2>
      <TocItems entries={entries} depth={0} />
    </nav>
  );
}

/**
 * The reading layout of every page inside a project: project navigation on the left, the page in the middle,
 * the table of contents on the right. On narrow screens both side columns fold into `<details>` elements above
 * the page (closed by default, no JavaScript needed); on wide screens the stylesheet keeps them open and hides
 * their summaries.
 */
export function ProjectLayout({
  chrome,
  toc = [],
  children,
}: {
  chrome: ProjectChrome;
  toc?: TocEntry[];
  children: ComponentChildren;
}): JSX.Element {
  const hasToc = toc.length > 0;
  return (
    <div class={hasToc ? 'project-layout has-toc' : 'project-layout'}>
      <a class="skip-link skip-link-inline" href="#page-content">
        Skip to page content
      </a>
      <aside class="layout-nav" aria-label="Project">
        <details class="fold fold-nav">
          <summary class="fold-summary">
            <span class="fold-label">Menu</span>
            <span class="fold-detail">{chrome.project.name}</span>
          </summary>
          <div class="fold-body">
            <ProjectNav chrome={chrome} />
          </div>
        </details>
      </aside>
      {hasToc ? (
        <aside class="layout-toc" aria-label="On this page">
          <details class="fold fold-toc">
            <summary class="fold-summary">
              <span class="fold-label">Document Navigation</span>
            </summary>
            <div class="fold-body">
              <Toc entries={toc} />
            </div>
          </details>
        </aside>
      ) : null}
      <div class="layout-content" id="page-content" tabIndex={-1}>
        {chrome.asOf ? (
          <p class="as-of-banner" role="note">
            <strong>
              As in effect on <DateText value={chrome.asOf.date} />
            </strong>
            {' — '}
            <a href={chrome.asOf.liveHref}>See it as in effect today</a>
          </p>
        ) : null}
        <Breadcrumbs items={chrome.breadcrumbs} />
        {children}
      </div>
    </div>
  );
}

/** A page outside any project (list, login, errors): one centred column. */
export function PlainLayout({
  children,
  width = 'normal',
}: {
  children: ComponentChildren;
  width?: 'narrow' | 'normal' | 'wide';
}): JSX.Element {
  return <div class={`plain-layout plain-${width}`}>{children}</div>;
}
