/** The public trust center of an organization (`/{org}`), its public redlines, and the Atom feed of its changelog. */
import type { JSX } from 'preact';
import type { TrustedHtml as TrustedHtmlString } from '../../content/trusted-html.ts';
import type { PublicChange, PublicProject, PublicRedline, TrustCenterPage } from '../../projects/trust-center.ts';
import { documentUrl, projectUrl } from '../urls.ts';
import { PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';
import { TrustedHtml } from './trusted-html.tsx';
import { summaryText } from '../../content/redline/summary.ts';

/** `/{org}` */
export function trustCenterUrl(orgSlug: string, page = 1): string {
  return `/${encodeURIComponent(orgSlug)}${page > 1 ? `?page=${page}` : ''}`;
}

/** `/{org}/-/changelog.atom` */
export function changelogFeedUrl(orgSlug: string): string {
  return `/${encodeURIComponent(orgSlug)}/-/changelog.atom`;
}

/** `/{org}/-/changelog/{project}/{commit}/{path}`: the public redline of one changelog entry. */
export function publicRedlineUrl(orgSlug: string, projectSlug: string, commit: string, path: string): string {
  return `/${encodeURIComponent(orgSlug)}/-/changelog/${encodeURIComponent(projectSlug)}/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export interface TrustCenterView {
  page: TrustCenterPage;
  /** Present for the organization's signed-in members: where their intranet starts. */
  intranetHref: string | null;
}

const DAY = new Intl.DateTimeFormat('en', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
const day = (time: Date) => <time dateTime={time.toISOString()}>{DAY.format(time)}</time>;

function ProjectDocuments({ orgSlug, project }: { orgSlug: string; project: PublicProject }): JSX.Element {
  const address = { orgSlug, slug: project.slug };
  return (
    <section class="trust-project" aria-labelledby={`project-${project.slug}`}>
      <h3 class="trust-project-title" id={`project-${project.slug}`}>
        <a href={projectUrl(address)}>{project.name}</a>
      </h3>
      {project.description ? <p class="text-muted">{project.description}</p> : null}
      {project.sections.map((section) => (
        <div class="trust-section">
          {section.title !== '' ? <h4 class="trust-section-title">{section.title}</h4> : null}
          <ul class="trust-documents">
            {section.documents.map((doc) => (
              <li class="trust-document">
                <a href={documentUrl(address, doc.path)}>{doc.title}</a>
                {doc.updated ? <span class="trust-updated">Last updated {day(doc.updated)}</span> : null}
              </li>
            ))}
          </ul>
        </div>
      ))}
      {project.more > 0 ? (
        <p class="text-muted">
          {`${project.more} more public documents: `}
          <a href={projectUrl(address)}>{`browse ${project.name}`}</a>
        </p>
      ) : null}
    </section>
  );
}

/** What an entry says: its public summary, else "Published"/"Updated". */
export function changeHeadline(change: PublicChange): string {
  return change.summary ?? (change.kind === 'published' ? 'Published' : 'Updated');
}

function Changelog({ view }: { view: TrustCenterView }): JSX.Element {
  const { page } = view;
  const slug = page.org.slug;
  return (
    <section class="trust-changelog" aria-labelledby="changelog-heading">
      <h2 id="changelog-heading">
        Changelog <a class="trust-feed" href={changelogFeedUrl(slug)}>Atom feed</a>
      </h2>
      {page.changes.length === 0 ? (
        <p class="text-muted">No changes to public documents yet.</p>
      ) : (
        <ol class="trust-changes">
          {page.changes.map((change) => (
            <li class="trust-change">
              <span class="trust-change-date">{day(change.at)}</span>
              <span class="trust-change-doc">
                <a href={documentUrl({ orgSlug: slug, slug: change.project.slug }, change.path)}>{change.title}</a>
                <span class="text-muted">{` · ${change.project.name}`}</span>
              </span>
              <span class="trust-change-summary">{changeHeadline(change)}</span>
              <a class="trust-change-redline" href={publicRedlineUrl(slug, change.project.slug, change.commit, change.path)}>
                See what changed
              </a>
            </li>
          ))}
        </ol>
      )}
      {page.page > 1 || page.hasNext ? (
        <nav class="version-pager" aria-label="Changelog pages">
          {page.page > 1 ? <a rel="prev" href={trustCenterUrl(slug, page.page - 1)}>Newer changes</a> : null}
          {page.hasNext ? <a rel="next" href={trustCenterUrl(slug, page.page + 1)}>Older changes</a> : null}
        </nav>
      ) : null}
    </section>
  );
}

function TrustCenterPageView({ view }: { view: TrustCenterView }): JSX.Element {
  const { page } = view;
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <div class="page-header-row">
          <h1>{`${page.org.name} Trust Center`}</h1>
          {view.intranetHref ? (
            <p class="page-header-actions">
              <a class="button button-primary" href={view.intranetHref}>
                Open the intranet
              </a>
            </p>
          ) : null}
        </div>
        <p class="page-lead">{`The policies and pages ${page.org.name} publishes, and what changed in them.`}</p>
      </header>
      <div class="trust-layout">
        <section class="trust-documents-all" aria-labelledby="documents-heading">
          <h2 id="documents-heading">Public documents</h2>
          {page.projects.map((project) => (
            <ProjectDocuments orgSlug={page.org.slug} project={project} />
          ))}
        </section>
        <Changelog view={view} />
      </div>
    </PlainLayout>
  );
}

/** The body of `/{org}`. */
export function renderTrustCenterBody(view: TrustCenterView): TrustedHtmlString {
  return toHtml(<TrustCenterPageView view={view} />);
}

function PublicRedlinePage({ redline }: { redline: PublicRedline }): JSX.Element {
  const { slug: orgSlug, name: orgName } = redline.org;
  const address = { orgSlug, slug: redline.project.slug };
  const diff = redline.redline;
  const summary = diff ? summaryText(diff.summary) : null;
  return (
    <PlainLayout width="normal">
      <article class="doc compare-page" aria-labelledby="doc-title">
        <header class="doc-header">
          <p class="eyebrow">
            <a href={trustCenterUrl(orgSlug)}>{`${orgName} Trust Center`}</a>
            {` · ${redline.project.name}`}
          </p>
          <h1 class="doc-title" id="doc-title">
            <a href={documentUrl(address, redline.path)}>{redline.title}</a>
          </h1>
          <div class="doc-meta">
            <span class="meta-fact">{redline.previousPublic ? 'Updated' : 'Published'} {day(redline.at)}</span>
            <code class="meta-fact commit-id">{redline.commit.slice(0, 8)}</code>
          </div>
        </header>
        <div class="redline-summary" role="status">
          <p class="redline-summary-text">
            {diff === null ? 'Too large to compare.' : !redline.previousPublic ? 'First public version: all of it is new.' : (summary ?? 'No change to the rendered text.')}
          </p>
        </div>
        {diff !== null ? (
          <section class="compare-section" aria-labelledby="redline-heading">
            <h2 class="compare-heading" id="redline-heading">
              Redline <span class="redline-key"><ins>inserted</ins> <del>deleted</del></span>
            </h2>
            <TrustedHtml class="doc-body redline" html={diff.html} />
          </section>
        ) : null}
      </article>
    </PlainLayout>
  );
}

/** The body of a public redline page. */
export function renderPublicRedlineBody(redline: PublicRedline): TrustedHtmlString {
  return toHtml(<PublicRedlinePage redline={redline} />);
}
