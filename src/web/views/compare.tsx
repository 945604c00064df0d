/** The redline of two versions of a document: the sections that changed, the rendered redline, the source diff. */
import type { JSX } from 'preact';
import type { SourceDiffLine } from '../../content/redline/source-diff.ts';
import { documentUrl } from '../urls.ts';
import { ProjectLayout } from './components.tsx';
import { historyUrl, rawUrl, RestoreForm, subjectText, TimeText, versionUrl, type CommitLine } from './history.tsx';
import { toHtml } from './render.ts';
import { TrustedHtml } from './trusted-html.tsx';
import type { ProjectChrome } from './types.ts';
import type { TrustedHtml as TrustedHtmlString } from '../../content/trusted-html.ts';

export interface ComparedSideView extends CommitLine {
  /** The document's path at that commit; null when it did not exist there. */
  path: string | null;
}

export interface CompareView {
  chrome: ProjectChrome;
  path: string;
  title: string;
  currentPath: string | null;
  from: ComparedSideView;
  to: ComparedSideView;
  /** The redline and source diff; null when the versions were too large to compare in time. */
  diff: {
    /** "Changed: Access requests, Audits", or null when the rendered text is the same. */
    summary: string | null;
    counts: { added: number; removed: number; changed: number };
    /** Sanitized redline HTML (content/redline/redline.ts). */
    redlineHtml: TrustedHtmlString;
    source: SourceDiffLine[];
  } | null;
  /** Present when the reader may restore the older version. */
  csrfToken: string | null;
}

function Side({ view, side, label }: { view: CompareView; side: ComparedSideView; label: string }): JSX.Element {
  const project = view.chrome.project;
  return (
    <div class="compare-side">
      <p class="compare-side-label">{label}</p>
      {side.path ? (
        <p class="compare-side-title">
          <a href={versionUrl(project, side.commit, side.path)}>{subjectText(side)}</a>
        </p>
      ) : (
        <p class="compare-side-title text-muted">The document did not exist yet</p>
      )}
      <p class="version-facts">
        {side.authorName ? <span class="version-author">{side.authorName}</span> : null}
        <TimeText time={side.time} />
        <code class="commit-id">{side.shortId}</code>
      </p>
    </div>
  );
}

function SourceDiff({ lines }: { lines: SourceDiffLine[] }): JSX.Element {
  const mark = { context: ' ', added: '+', removed: '−' } as const;
  const added = lines.filter((l) => l.kind === 'added').length;
  const removed = lines.filter((l) => l.kind === 'removed').length;
  return (
    <section class="compare-section" aria-labelledby="source-heading">
      <h2 class="compare-heading" id="source-heading">
        Source
        <span class="diff-stats">
          <span class="diff-stat-added">{`+${added}`}</span> <span class="diff-stat-removed">{`−${removed}`}</span>
        </span>
      </h2>
      {lines.length === 0 ? (
        <p class="text-muted">The Markdown source is the same.</p>
      ) : (
        <pre class="diff" aria-label="Source diff">
          {lines.map((line) =>
            line.kind === 'skip' ? (
              <span class="diff-line diff-skip">{`⋯ ${line.count} unchanged ${line.count === 1 ? 'line' : 'lines'}\n`}</span>
            ) : (
              <span class={`diff-line diff-${line.kind === 'context' ? 'same' : line.kind}`}>
                <span class="diff-number" aria-hidden="true">{`${line.oldNumber ?? ''}`.padStart(4) + ' ' + `${line.newNumber ?? ''}`.padStart(4) + ' '}</span>
                {`${mark[line.kind]} ${line.text}\n`}
              </span>
            ),
          )}
        </pre>
      )}
    </section>
  );
}

/** In place of the diff: the two versions to read, and their sources to download. */
function TooLarge({ view }: { view: CompareView }): JSX.Element {
  const project = view.chrome.project;
  const sides = [
    { label: 'From', side: view.from },
    { label: 'To', side: view.to },
  ].filter((s): s is { label: string; side: ComparedSideView & { path: string } } => s.side.path !== null);
  return (
    <section class="compare-section compare-too-large" aria-labelledby="too-large-heading">
      <h2 class="compare-heading" id="too-large-heading">
        Too large to compare
      </h2>
      <p>These versions are too large to compare here. Read them one at a time, or download their sources and compare them with a tool of your own.</p>
      <ul class="compare-too-large-links">
        {sides.map(({ label, side }) => (
          <li>
            {`${label} (${side.shortId}): `}
            <a href={versionUrl(project, side.commit, side.path)}>Read this version</a>
            {' · '}
            <a href={rawUrl(project, side.commit, side.path)} download>
              Download its source
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

function ComparePage({ view }: { view: CompareView }): JSX.Element {
  const project = view.chrome.project;
  const diff = view.diff;
  return (
    <ProjectLayout chrome={view.chrome}>
      <article class="doc compare-page" aria-labelledby="doc-title">
        <header class="doc-header">
          <p class="eyebrow">Compare versions</p>
          <h1 class="doc-title" id="doc-title">
            {view.currentPath !== null ? <a href={documentUrl(project, view.currentPath)}>{view.title}</a> : view.title}
          </h1>
          <div class="doc-meta">
            <span class="meta-fact">
              <code>{view.path}</code>
            </span>
            <a class="meta-fact" href={historyUrl(project, view.currentPath ?? view.path)}>
              History
            </a>
          </div>
        </header>
        <div class="compare-sides">
          <Side view={view} side={view.from} label="From" />
          <Side view={view} side={view.to} label="To" />
        </div>
        <div class="redline-summary" role="status">
          {diff === null ? (
            <p class="redline-summary-text">Too large to compare.</p>
          ) : diff.summary ? (
            <p class="redline-summary-text">{diff.summary}</p>
          ) : (
            <p class="redline-summary-text">No change to the rendered text.</p>
          )}
          {diff !== null ? (
            <p class="redline-counts">
              {`Blocks: ${diff.counts.changed} changed · ${diff.counts.added} added · ${diff.counts.removed} removed`}
            </p>
          ) : null}
          {view.csrfToken && view.from.path ? (
            <RestoreForm project={project} commit={view.from.commit} path={view.from.path} csrfToken={view.csrfToken} label="Restore the “From” version" />
          ) : null}
        </div>
        {diff === null ? (
          <TooLarge view={view} />
        ) : (
          <>
            <section class="compare-section" aria-labelledby="redline-heading">
              <h2 class="compare-heading" id="redline-heading">
                Redline <span class="redline-key"><ins>inserted</ins> <del>deleted</del></span>
              </h2>
              <TrustedHtml class="doc-body redline" html={diff.redlineHtml} />
            </section>
            <SourceDiff lines={diff.source} />
          </>
        )}
      </article>
    </ProjectLayout>
  );
}

/** The comparison of two versions. */
export function renderCompareBody(view: CompareView): TrustedHtmlString {
  return toHtml(<ComparePage view={view} />);
}
