import type { JSX } from 'preact';
import { tagUrl } from '../urls.ts';
import { ClassificationBadge, DateText, ProjectLayout } from './components.tsx';
import { editUrl } from './editor.tsx';
import { historyUrl, rawUrl } from './history.tsx';
import { toHtml } from './render.ts';
import { TrustedHtml } from './trusted-html.tsx';
import type { DocumentView, EditorNotices, ViewProject } from './types.ts';
import type { TrustedHtml as TrustedHtmlString } from '../../content/trusted-html.ts';

function MetaLine({ view }: { view: DocumentView }): JSX.Element {
  const facts: JSX.Element[] = [];
  if (view.date) facts.push(<DateText value={view.date} />);
  if (view.owner) {
    facts.push(
      <span>
        <span class="meta-key">Owner</span> {view.owner}
      </span>,
    );
  }
  if (view.effective) {
    facts.push(
      <span>
        <span class="meta-key">Effective</span> <DateText value={view.effective} />
      </span>,
    );
  }
  if (view.review_by) {
    facts.push(
      <span>
        <span class="meta-key">Review by</span> <DateText value={view.review_by} />
      </span>,
    );
  }
  return (
    <div class="doc-meta">
      <ClassificationBadge value={view.classification} />
      {facts.map((fact) => (
        <span class="meta-fact">{fact}</span>
      ))}
      {/* members only (the chrome offers them access requests): history names authors */}
      {view.accessRequests ? (
        <a class="meta-fact doc-history-link" href={historyUrl(view.project, view.path)}>
          History
        </a>
      ) : null}
    </div>
  );
}

export function TagList({ project, tags }: { project: ViewProject; tags: string[] }): JSX.Element | null {
  if (tags.length === 0) return null;
  return (
    <ul class="tag-list" aria-label="Tags">
      {tags.map((tag) => (
        <li>
          <a class="tag" href={tagUrl(project, tag)}>
            {tag}
          </a>
        </li>
      ))}
    </ul>
  );
}

/** Problems in the source that only editors see. Renders nothing when there are none. */
export function Notices({ notices }: { notices: EditorNotices }): JSX.Element | null {
  const { errors, brokenLinks } = notices;
  if (errors.length === 0 && brokenLinks.length === 0) return null;
  return (
    <section class="notices" aria-labelledby="notices-heading">
      <h2 class="notices-heading" id="notices-heading">
        Only editors see this
      </h2>
      {errors.length > 0 ? (
        <div class="notice-group">
          <p class="notice-title">Front matter and Markdown problems</p>
          <ul class="notice-list">
            {errors.map((error) => (
              <li>
                <code>{`${error.file}:${error.line}${error.column !== undefined ? `:${error.column}` : ''}`}</code>
                {': '}
                {error.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {brokenLinks.length > 0 ? (
        <div class="notice-group">
          <p class="notice-title">Broken links, missing images and unknown anchors</p>
          <ul class="notice-list">
            {brokenLinks.map((link) =>
              link.message ? (
                <li>
                  <code>{`${link.from}${link.line ? `:${link.line}` : ''}`}</code>
                  {': '}
                  {link.message}
                </li>
              ) : (
                <li>
                  <code>{link.from}</code> links to <code>{link.href}</code>, which does not exist.
                </li>
              ),
            )}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

function DocumentBody({ view, notices }: { view: DocumentView; notices: EditorNotices | undefined }): JSX.Element {
  return (
    <ProjectLayout chrome={view} toc={view.toc}>
      <article class="doc" aria-labelledby="doc-title">
        <header class="doc-header">
          <h1 class="doc-title" id="doc-title">
            {view.title}
          </h1>
          {notices ? (
            <a class="button button-quiet button-small doc-edit-link" href={editUrl(view.project, view.path)}>
              Edit
            </a>
          ) : null}
          <MetaLine view={view} />
          <TagList project={view.project} tags={view.tags} />
        </header>
        {view.upcoming ? (
          <p class="upcoming-notice" role="note">
            A new version takes effect on <DateText value={view.upcoming.date} />.{' '}
            <a href={view.upcoming.compareHref}>See what changes</a>
          </p>
        ) : null}
        {/* where the acknowledgment banner of one reader goes (ACK_BANNER_SLOT; the body itself is cached) */}
        <div class="ack-slot" />
        {notices ? <Notices notices={notices} /> : null}
        <TrustedHtml class="doc-body" html={view.html} />
        {/* too large to render: its source, for members (as the history link) */}
        {view.sourceCommit && view.accessRequests ? (
          <p class="too-large-actions">
            <a class="button button-small" href={rawUrl(view.project, view.sourceCommit, view.path)} download>
              Download the source
            </a>
          </p>
        ) : null}
      </article>
    </ProjectLayout>
  );
}

/** The empty element of a document body that a reader's acknowledgment banner replaces (routes/reading.ts). */
export const ACK_BANNER_SLOT = '<div class="ack-slot"></div>';

/** The reading page of one document; `notices` only for people who may edit it. */
export function renderDocumentBody(view: DocumentView, notices?: EditorNotices): TrustedHtmlString {
  return toHtml(<DocumentBody view={view} notices={notices} />);
}
