/** The redline of two versions of a document: the sections that changed, the rendered redline, the source diff. */
import type { JSX } from 'preact';
import type { SourceDiffLine } from '../../changes/redline.ts';
import { documentUrl } from '../urls.ts';
import { ProjectLayout } from './components.tsx';
import { historyUrl, RestoreForm, subjectText, TimeText, versionUrl, type CommitLine } from './history.tsx';
import { toHtml } from './render.ts';
import { TrustedHtml } from './trusted-html.tsx';
import type { ProjectChrome } from './types.ts';

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
  /** "Changed: Access requests, Audits", or null when the rendered text is the same. */
  summary: string | null;
  counts: { added: number; removed: number; changed: number };
  /** Sanitized redline HTML (changes/redline.ts). */
  redlineHtml: string;
  source: SourceDiffLine[];
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

function ComparePage({ view }: { view: CompareView }): JSX.Element {
  const project = view.chrome.project;
  const { added, removed, changed } = view.counts;
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
          {view.summary ? (
            <p class="redline-summary-text">{view.summary}</p>
          ) : (
            <p class="redline-summary-text">No change to the rendered text.</p>
          )}
          <p class="redline-counts">
            {`Blocks: ${changed} changed · ${added} added · ${removed} removed`}
          </p>
          {view.csrfToken && view.from.path ? (
            <RestoreForm project={project} commit={view.from.commit} path={view.from.path} csrfToken={view.csrfToken} label="Restore the “From” version" />
          ) : null}
        </div>
        <section class="compare-section" aria-labelledby="redline-heading">
          <h2 class="compare-heading" id="redline-heading">
            Redline <span class="redline-key"><ins>inserted</ins> <del>deleted</del></span>
          </h2>
          <TrustedHtml class="doc-body redline" html={view.redlineHtml} />
        </section>
        <SourceDiff lines={view.source} />
      </article>
    </ProjectLayout>
  );
}

/** The comparison of two versions. */
export function renderCompareBody(view: CompareView): string {
  return toHtml(<ComparePage view={view} />);
}
