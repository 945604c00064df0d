/**
 * Change requests: the project's list, the form that opens one, one request's page (each changed document's
 * rendered redline with its source diff, conflicts with main, the conversation, the review forms) and the
 * preview of a draft's page as it would read after the merge.
 */
import type { JSX } from 'preact';
import type { SourceDiffLine } from '../../content/redline/source-diff.ts';
import type { Classification, TocEntry } from '../../content/types.ts';
import { documentUrl, projectUrl } from '../urls.ts';
import { ClassificationBadge, Flash, FormError, PlainLayout, Toc } from './components.tsx';
import { SubmitOrLeave } from './form-parts.tsx';
import { plural } from './format.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';
import { toHtml } from './render.ts';
import { TrustedHtml as RawHtml } from './trusted-html.tsx';
import type { ViewProject } from './types.ts';

type State = 'open' | 'merged' | 'closed';

export interface ChangeRequestRow {
  number: number;
  title: string;
  state: State;
  author: string;
  branch: string;
  createdAt: string;
  documents: number;
  mergeable: boolean;
  waitingForMe: boolean;
}

export interface ChangeRequestListView {
  project: ViewProject;
  state: State;
  /** 'review': only the open requests waiting for the reader's review. */
  filter?: 'review' | null;
  /** 1-based page, and whether a next one exists. */
  page?: number;
  hasMore?: boolean;
  rows: ChangeRequestRow[];
  /** Draft branches without an open change request, offered by the "open" form. */
  drafts: string[];
  canPropose: boolean;
  csrfToken: string;
  notice: string | null;
  error: string | null;
  form: { branch: string; title: string; description: string };
}

export interface ChangedDocumentView {
  path: string;
  before: Classification | null;
  after: Classification | null;
  /** The rendered redline and source diff (worked out in the budget pool), or why there is none. */
  diff:
    | { kind: 'compared'; summary: string | null; counts: { added: number; removed: number; changed: number }; redlineHtml: TrustedHtml; source: SourceDiffLine[] }
    | { kind: 'too-large' }
    | { kind: 'file' };
  /** The draft's page as it would read after the merge; null for a deleted document or a file that is not one. */
  previewHref: string | null;
  /** The editor on this document in the draft (an open request, a person who may change its draft); else null. */
  editHref?: string | null;
}

/** One commit of the draft; `subject` is null when it touches a document the reader may not read. */
export interface DraftCommitView {
  oid: string;
  author: string;
  at: string;
  subject: string | null;
  /** The draft as this commit left a document it changed (a preview at the commit); null when none is shown. */
  href: string | null;
}

/** One version of a conflicting document: its source text (escaped, never rendered), or why it is not shown. */
export type ConflictSideView =
  | { kind: 'text'; text: string; /** lines the same on every side, left out before and after the text */ before: number; after: number }
  | { kind: 'absent' }
  | { kind: 'hidden' }
  | { kind: 'too-large' }
  | { kind: 'file' };

export interface ConflictsView {
  base: string;
  main: string;
  head: string;
  documents: { path: string; base: ConflictSideView; ours: ConflictSideView; theirs: ConflictSideView }[];
}

export interface ReviewView {
  id: string;
  who: string;
  verdict: 'approve' | 'request-changes' | 'comment';
  body: string;
  /** The body rendered like a document (sanitized); null when empty or not rendered in time (then shown as text). */
  bodyHtml: TrustedHtml | null;
  at: string;
  commit: string;
  /** True when given on an older head: it no longer counts. */
  outdated: boolean;
  dismissed: { reason: string; by?: string | null } | null;
}

/** A step of the timeline other than a review: a new head of the draft, merged, closed, reopened. */
export interface StepView {
  kind: 'updated' | 'conflicts_resolved' | 'merged' | 'closed' | 'reopened';
  who: string;
  from: string | null;
  to: string | null;
  at: string;
}

export interface ChangeRequestPageView {
  project: ViewProject;
  csrfToken: string;
  number: number;
  title: string;
  description: string;
  /** The description rendered like a document (sanitized); null when empty or not rendered in time. */
  descriptionHtml: TrustedHtml | null;
  state: State;
  branch: string;
  head: string;
  mergeCommit: string | null;
  author: string;
  createdAt: string;
  documents: ChangedDocumentView[];
  /** The draft's commits, newest first; `moreCommits`: older ones are not listed. */
  commits?: DraftCommitView[];
  moreCommits?: boolean;
  reviews: ReviewView[];
  /** Steps other than reviews, oldest first; `earlierSteps`: how many older ones are not listed. */
  steps?: StepView[];
  earlierSteps?: number;
  mergeable: boolean;
  needsReview: boolean;
  outstanding: string[];
  approvals: string[];
  may: { review: boolean; merge: boolean; close: boolean; dismiss: boolean; resolve: boolean; editDraft?: boolean };
  notice: string | null;
  error: string | null;
  /** True after a merge attempt that conflicted (nothing moved). */
  mergeRefused: boolean;
  /** Conflicts with main (it moved and the draft no longer merges cleanly); null when there are none. */
  conflicts: ConflictsView | null;
}

/** The resolution editor: each conflicting document's merged text, with git's conflict markers, to edit. */
export interface ResolveView {
  project: ViewProject;
  csrfToken: string;
  number: number;
  title: string;
  branch: string;
  head: string;
  main: string;
  documents: { path: string; text: string }[];
  error: string | null;
}

export interface DraftPreviewView {
  project: ViewProject;
  number: number;
  title: string;
  state: State;
  path: string;
  /** The merged result, the draft alone (it conflicts with main), or what the merge published. */
  basis: 'merge' | 'draft' | 'merged' | 'commit';
  /** With basis `commit`: the commit shown. */
  commit?: string | null;
  changed: boolean;
  document: { title: string; classification: Classification; html: TrustedHtml; toc: TocEntry[]; tooLarge: boolean };
  documents: { path: string; title: string; href: string }[];
}

export const changesUrl = (project: ViewProject, state?: State) => `${projectUrl(project)}-/changes${state && state !== 'open' ? `?state=${state}` : ''}`;
export const changeUrl = (project: ViewProject, number: number) => `${projectUrl(project)}-/changes/${number}`;

/** `/{org}/{project}/-/changes/{n}/preview/{page}`: the page's address mirrors the document's reading URL, so relative links stay in the preview. */
export function previewUrl(project: ViewProject, number: number, path: string): string {
  return `${changeUrl(project, number)}/preview/${documentUrl(project, path).slice(projectUrl(project).length)}`;
}

const STATE_LABEL: Record<State, string> = { open: 'Open', merged: 'Merged', closed: 'Closed' };
const VERDICT_LABEL: Record<ReviewView['verdict'], string> = { approve: 'approved', 'request-changes': 'requested changes', comment: 'commented' };

/** "2026-12-06 01:16 UTC" */
function When({ iso }: { iso: string }): JSX.Element {
  return <time dateTime={iso}>{`${iso.slice(0, 16).replace('T', ' ')} UTC`}</time>;
}

function StateBadge({ state }: { state: State }): JSX.Element {
  return <span class={`status status-cr-${state}`}>{STATE_LABEL[state]}</span>;
}

/** Previous / next page links of the list (keeping its state or filter). */
function ListPager({ view }: { view: ChangeRequestListView }): JSX.Element | null {
  const page = view.page ?? 1;
  if (page <= 1 && !view.hasMore) return null;
  const href = (n: number) => `${projectUrl(view.project)}-/changes?${view.filter ? 'filter=review' : `state=${view.state}`}&page=${n}`;
  return (
    <nav class="pager" aria-label="Pages of change requests">
      {page > 1 ? <a href={href(page - 1)} rel="prev">Newer</a> : null} {view.hasMore ? <a href={href(page + 1)} rel="next">Older</a> : null}
    </nav>
  );
}

function Csrf({ token }: { token: string }): JSX.Element {
  return <input type="hidden" name="_csrf" value={token} />;
}

function ListPage({ view }: { view: ChangeRequestListView }): JSX.Element {
  const tabs: State[] = ['open', 'merged', 'closed'];
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">
          <a href={projectUrl(view.project)}>{view.project.name}</a>
        </p>
        <h1>Change requests</h1>
        <p class="page-lead">
          Drafts proposed for the published version. Documents that need review reach readers only through an
          approved change request.
        </p>
      </header>
      <Flash>{view.notice}</Flash>
      <nav class="tabs" aria-label="Change requests by state">
        {tabs.map((state) => (
          <a class={state === view.state && !view.filter ? 'tab tab-current' : 'tab'} aria-current={state === view.state && !view.filter ? 'page' : undefined} href={changesUrl(view.project, state)}>
            {STATE_LABEL[state]}
          </a>
        ))}
        <a class={view.filter === 'review' ? 'tab tab-current' : 'tab'} aria-current={view.filter === 'review' ? 'page' : undefined} href={`${projectUrl(view.project)}-/changes?filter=review`}>
          Waiting for my review
        </a>
      </nav>
      {view.rows.length === 0 ? (
        <div class="empty-state">
          <p class="empty-state-title">{view.filter === 'review' ? 'Nothing is waiting for your review.' : `No ${view.state} change requests.`}</p>
        </div>
      ) : (
        <div class="table-wrap">
          <table class="data-table" aria-label={`${STATE_LABEL[view.state]} change requests`}>
            <thead>
              <tr>
                <th scope="col">Change</th>
                <th scope="col">Author</th>
                <th scope="col">Documents</th>
                <th scope="col">Opened</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {view.rows.map((row) => (
                <tr>
                  <td>
                    <a href={changeUrl(view.project, row.number)}>
                      !{row.number} {row.title}
                    </a>
                    {row.waitingForMe ? <span class="status status-pending cr-waiting">Waiting for my review</span> : null}
                  </td>
                  <td>{row.author}</td>
                  <td>{row.documents}</td>
                  <td>
                    <When iso={row.createdAt} />
                  </td>
                  <td>
                    <StateBadge state={row.state} />
                    {row.state === 'open' && row.mergeable ? <span class="field-hint"> ready to merge</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ListPager view={view} />
      {view.canPropose ? (
        <section class="panel cr-open" aria-labelledby="cr-open-heading">
          <h2 id="cr-open-heading">Open a change request</h2>
          <p class="field-hint">Push a branch other than main (or choose “Propose change” in the editor), then propose it here.</p>
          <FormError>{view.error}</FormError>
          <form class="form" method="post" action={`${projectUrl(view.project)}-/changes`}>
            <Csrf token={view.csrfToken} />
            <div class="field">
              <label for="cr-branch">Draft branch</label>
              <input id="cr-branch" name="branch" required maxLength={200} list="cr-drafts" value={view.form.branch} spellcheck={false} autocapitalize="none" />
              <datalist id="cr-drafts">
                {view.drafts.map((branch) => (
                  <option value={branch} />
                ))}
              </datalist>
            </div>
            <div class="field">
              <label for="cr-title">Title</label>
              <input id="cr-title" name="title" required maxLength={200} value={view.form.title} />
            </div>
            <div class="field">
              <label for="cr-description">
                Description <span class="field-optional">(optional, Markdown)</span>
              </label>
              <textarea id="cr-description" name="description" rows={4} maxLength={20000}>
                {view.form.description}
              </textarea>
            </div>
            <div class="form-actions">
              <button type="submit" class="button button-primary">
                Open change request
              </button>
            </div>
          </form>
        </section>
      ) : null}
    </PlainLayout>
  );
}

function SourceDiff({ lines }: { lines: SourceDiffLine[] }): JSX.Element {
  const mark = { context: ' ', added: '+', removed: '−' } as const;
  if (lines.length === 0) return <p class="field-hint">The Markdown source is the same.</p>;
  return (
    <pre class="diff" aria-label="Source diff">
      {lines.map((line) =>
        line.kind === 'skip' ? (
          <span class="diff-line diff-skip">{`⋯ ${line.count} unchanged ${line.count === 1 ? 'line' : 'lines'}\n`}</span>
        ) : (
          <span class={`diff-line diff-${line.kind === 'context' ? 'same' : line.kind}`}>{`${mark[line.kind]} ${line.text}\n`}</span>
        ),
      )}
    </pre>
  );
}

/** The draft's commits: subject (or why it is not shown), author, date, short id linking to the version. */
function Commits({ view }: { view: ChangeRequestPageView }): JSX.Element | null {
  const commits = view.commits ?? [];
  if (commits.length === 0) return null;
  return (
    <section class="cr-commits" aria-labelledby="cr-commits-heading">
      <h2 id="cr-commits-heading">Commits</h2>
      <ol class="cr-commit-list">
        {commits.map((c) => (
          <li class="cr-commit">
            {c.subject !== null ? (
              <span class="cr-commit-subject">{c.subject}</span>
            ) : (
              <span class="cr-commit-subject cr-commit-hidden">A commit that also changes documents you may not read (its message is not shown)</span>
            )}{' '}
            <span class="field-hint">
              {c.author} · <When iso={c.at} />
            </span>{' '}
            {c.href ? (
              <a class="commit-id" href={c.href} title="The draft as this commit left it">
                {c.oid.slice(0, 10)}
              </a>
            ) : (
              <code class="commit-id">{c.oid.slice(0, 10)}</code>
            )}
          </li>
        ))}
      </ol>
      {view.moreCommits ? <p class="field-hint">Older commits of the draft are not listed here: see them with git.</p> : null}
    </section>
  );
}

/** "Add a document to this draft": the editor on any document of the draft, by its path (a GET form), or on a new one. */
function AddToDraft({ view }: { view: ChangeRequestPageView }): JSX.Element {
  return (
    <form class="form-inline cr-add-document" method="get" action={`${changeUrl(view.project, view.number)}/edit`}>
      <label for="cr-add-path">Edit another document in this draft</label>{' '}
      <input id="cr-add-path" name="path" required maxLength={500} spellcheck={false} autocapitalize="none" placeholder="policies/annex.md" />{' '}
      <button type="submit" class="button">
        Open in the editor
      </button>{' '}
      <a class="button button-quiet" href={`${changeUrl(view.project, view.number)}/new`}>
        New document in this draft
      </a>
    </form>
  );
}

function DocumentChange({ doc, project }: { doc: ChangedDocumentView; project: ViewProject }): JSX.Element {
  const diff = doc.diff;
  const added = diff.kind === 'compared' ? diff.source.filter((l) => l.kind === 'added').length : 0;
  const removed = diff.kind === 'compared' ? diff.source.filter((l) => l.kind === 'removed').length : 0;
  const what = doc.before === null ? 'new' : doc.after === null ? 'deleted' : 'changed';
  return (
    <details class="cr-document" open>
      <summary>
        <code class="cr-document-path">{doc.path}</code> <span class="field-hint">{what}</span>{' '}
        {doc.after ? <ClassificationBadge value={doc.after} /> : doc.before ? <ClassificationBadge value={doc.before} /> : null}{' '}
        {diff.kind === 'compared' ? (
          <span class="diff-stats">
            <span class="diff-stat-added">{`+${added}`}</span> <span class="diff-stat-removed">{`−${removed}`}</span>
          </span>
        ) : null}
      </summary>
      <div class="cr-document-body">
        {doc.previewHref || doc.editHref || (doc.before && /\.md$/i.test(doc.path)) ? (
          <p class="cr-document-links">
            {doc.editHref ? (
              <>
                <a class="cr-edit-in-draft" href={doc.editHref}>
                  Edit in this draft
                </a>
                {doc.previewHref || (doc.before && /\.md$/i.test(doc.path)) ? ' · ' : null}
              </>
            ) : null}
            {doc.previewHref ? <a href={doc.previewHref}>Preview after the merge</a> : null}
            {doc.previewHref && doc.before && /\.md$/i.test(doc.path) ? ' · ' : null}
            {doc.before && /\.md$/i.test(doc.path) ? <a href={`${projectUrl(project)}-/history/${doc.path.split('/').map(encodeURIComponent).join('/')}`}>History of the published version</a> : null}
          </p>
        ) : null}
        {diff.kind === 'file' ? (
          <p class="field-hint">A file that is not a document: no text to compare.</p>
        ) : diff.kind === 'too-large' ? (
          <p class="cr-too-large">
            This document is too large to compare here.{' '}
            {doc.previewHref ? (
              <>
                Read the <a href={doc.previewHref}>preview</a> instead, or compare the versions with git.
              </>
            ) : (
              'Compare the versions with git.'
            )}
          </p>
        ) : (
          <>
            <div class="redline-summary">
              <p class="redline-summary-text">{diff.summary ?? 'No change to the rendered text.'}</p>
              <p class="redline-counts">{`Blocks: ${diff.counts.changed} changed · ${diff.counts.added} added · ${diff.counts.removed} removed`}</p>
            </div>
            <h3 class="visually-hidden">Redline of {doc.path}</h3>
            <p class="redline-key" aria-hidden="true">
              <ins>inserted</ins> <del>deleted</del>
            </p>
            <RawHtml class="doc-body redline cr-redline" html={diff.redlineHtml} />
            <details class="cr-source">
              <summary>
                Source diff{' '}
                <span class="diff-stats">
                  <span class="diff-stat-added">{`+${added}`}</span> <span class="diff-stat-removed">{`−${removed}`}</span>
                </span>
              </summary>
              <SourceDiff lines={diff.source} />
            </details>
          </>
        )}
      </div>
    </details>
  );
}

const SIDE_LABEL = { base: 'Where both started (base)', ours: 'Main now (ours)', theirs: 'This draft (theirs)' } as const;

function ConflictSide({ side }: { side: ConflictSideView }): JSX.Element {
  switch (side.kind) {
    case 'text':
      return (
        <>
          {side.before > 0 ? <p class="cr-conflict-skip">{`⋯ ${plural(side.before, 'line', 'lines')} the same on every side`}</p> : null}
          <pre class="cr-conflict-text">{side.text}</pre>
          {side.after > 0 ? <p class="cr-conflict-skip">{`⋯ ${plural(side.after, 'line', 'lines')} the same on every side`}</p> : null}
        </>
      );
    case 'absent':
      return <p class="field-hint">Not there (deleted, or not yet created).</p>;
    case 'hidden':
      return <p class="field-hint">A version you may not read.</p>;
    case 'too-large':
      return <p class="field-hint">Too large to show here.</p>;
    case 'file':
      return <p class="field-hint">A file that is not a document.</p>;
  }
}

function Conflicts({ view, conflicts }: { view: ChangeRequestPageView; conflicts: ConflictsView }): JSX.Element {
  return (
    <section class="panel cr-conflicts" aria-labelledby="cr-conflicts-heading">
      <h2 id="cr-conflicts-heading">Conflicts with main</h2>
      <p>
        Main changed since this draft started, and both changed the same part of{' '}
        {conflicts.documents.length === 1 ? 'this document' : conflicts.documents.length === 0 ? 'the same files' : `these ${plural(conflicts.documents.length, 'document', 'documents')}`}. The
        change cannot be merged until the draft resolves the conflicts: a new commit on <code>{view.branch}</code> that merges main in, with the text
        each document should have. Approvals given so far stop counting once it is saved.
      </p>
      {conflicts.documents.map((doc) => (
        <details class="cr-conflict" open>
          <summary>
            <code>{doc.path}</code>
          </summary>
          <div class="cr-conflict-sides">
            {(['base', 'ours', 'theirs'] as const).map((key) => (
              <section class={`cr-conflict-side cr-conflict-${key}`} aria-label={`${doc.path}: ${SIDE_LABEL[key]}`}>
                <h3 class="cr-conflict-label">{SIDE_LABEL[key]}</h3>
                <ConflictSide side={doc[key]} />
              </section>
            ))}
          </div>
        </details>
      ))}
      {view.may.resolve ? (
        <p class="cr-resolve-editor">
          <a class="button button-primary" href={`${changeUrl(view.project, view.number)}/resolve`}>
            Resolve in the editor
          </a>{' '}
          <span class="field-hint">Saves one commit on the draft that merges main in.</span>
        </p>
      ) : null}
      <details class="cr-resolve">
        <summary>Resolve with git</summary>
        <pre class="cr-resolve-steps">{`git fetch origin\ngit switch ${view.branch}\ngit merge origin/main\n# edit the conflicting documents, then\ngit commit -a\ngit push origin ${view.branch}`}</pre>
      </details>
    </section>
  );
}

/** A description or comment: rendered like a document when it was, else its text as written. */
function Written({ html, text, class: className }: { html: TrustedHtml | null; text: string; class: string }): JSX.Element {
  return html !== null ? <RawHtml class={`doc-body cr-markdown ${className}`} html={html} /> : <p class={`cr-body ${className}`}>{text}</p>;
}

function ShortCommit({ oid }: { oid: string | null }): JSX.Element | null {
  return oid ? <code class="commit-id">{oid.slice(0, 10)}</code> : null;
}

function StepEvent({ step }: { step: StepView }): JSX.Element {
  const what: Record<StepView['kind'], JSX.Element> = {
    updated: (
      <>
        moved the draft to <ShortCommit oid={step.to} />
        {step.from ? (
          <>
            {' '}
            from <ShortCommit oid={step.from} />
          </>
        ) : null}
        <span class="field-hint"> — approvals of earlier commits no longer count</span>
      </>
    ),
    conflicts_resolved: (
      <>
        resolved the conflicts with the published version in <ShortCommit oid={step.to} />
        <span class="field-hint"> — approvals of earlier commits no longer count</span>
      </>
    ),
    merged: (
      <>
        merged this change request as <ShortCommit oid={step.to} />
      </>
    ),
    closed: <>closed this change request (its draft is kept)</>,
    reopened: <>reopened this change request</>,
  };
  return (
    <li class={`cr-event cr-step cr-step-${step.kind}`}>
      <strong>{step.who}</strong> {what[step.kind]} · <When iso={step.at} />
    </li>
  );
}

function ReviewEvent({ view, review }: { view: ChangeRequestPageView; review: ReviewView }): JSX.Element {
  return (
    <li class={`cr-event cr-${review.verdict}${review.outdated || review.dismissed ? ' cr-stale' : ''}`}>
      <strong>{review.who}</strong> {VERDICT_LABEL[review.verdict]} · <When iso={review.at} /> <ShortCommit oid={review.commit} />
      {review.outdated && review.verdict === 'approve' ? <span class="field-hint"> — dismissed: a newer commit was pushed</span> : null}
      {review.dismissed ? <span class="field-hint"> — dismissed by {review.dismissed.by ?? 'an admin'}: {review.dismissed.reason}</span> : null}
      {review.body ? <Written html={review.bodyHtml} text={review.body} class="cr-comment-body" /> : null}
      {view.may.dismiss && review.verdict !== 'comment' && !review.dismissed && view.state === 'open' ? (
        <form class="form-inline cr-dismiss" method="post" action={`${changeUrl(view.project, view.number)}/reviews/${review.id}/dismiss`}>
          <Csrf token={view.csrfToken} />
          <label class="visually-hidden" for={`dismiss-${review.id}`}>
            Reason for dismissing
          </label>
          <input id={`dismiss-${review.id}`} name="reason" required maxLength={500} placeholder="Reason for dismissing" />
          <button type="submit" class="button button-quiet">
            Dismiss review
          </button>
        </form>
      ) : null}
    </li>
  );
}

/** Everything that happened to the request, oldest first: opened, reviews and comments, new heads, merged, closed, reopened. */
function Timeline({ view }: { view: ChangeRequestPageView }): JSX.Element {
  const entries = [
    ...view.reviews.map((review) => ({ at: review.at, item: <ReviewEvent view={view} review={review} /> })),
    ...(view.steps ?? []).map((step) => ({ at: step.at, item: <StepEvent step={step} /> })),
  ];
  // a stable sort: a review and a step of the same instant keep the order they were read in
  entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return (
    <ol class="cr-timeline" aria-label="Timeline">
      <li class="cr-event">
        <strong>{view.author}</strong> opened this change request · <When iso={view.createdAt} />
      </li>
      {view.earlierSteps ? <li class="cr-event field-hint">{plural(view.earlierSteps, 'earlier step is', 'earlier steps are')} not shown</li> : null}
      {entries.map((entry) => entry.item)}
    </ol>
  );
}

function ChangePage({ view }: { view: ChangeRequestPageView }): JSX.Element {
  const base = changeUrl(view.project, view.number);
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">
          <a href={changesUrl(view.project)}>{view.project.name} · Change requests</a>
        </p>
        <h1>
          {view.title} <span class="cr-number">!{view.number}</span>
        </h1>
        <p class="page-lead">
          <StateBadge state={view.state} /> <strong>{view.author}</strong> proposes{' '}
          {plural(view.documents.length, 'document', 'documents')} from <code>{view.branch}</code> at{' '}
          <code class="commit-id">{view.head.slice(0, 10)}</code>
          {view.mergeCommit ? (
            <>
              {' '}
              · merged as <code class="commit-id">{view.mergeCommit.slice(0, 10)}</code>
            </>
          ) : null}
        </p>
      </header>
      <Flash>{view.notice}</Flash>
      <FormError>{view.error}</FormError>
      {view.mergeRefused ? (
        <div class="conflict-notice" role="alert">
          <p class="conflict-title">Main changed and the draft conflicts with it. Nothing was merged.</p>
          {view.conflicts ? <p>The conflicting documents are below, under “Conflicts with main”.</p> : null}
        </div>
      ) : view.conflicts ? (
        <div class="conflict-notice" role="status">
          <p class="conflict-title">This draft conflicts with main: it cannot be merged until the conflicts are resolved.</p>
          <p>
            <a href="#cr-conflicts-heading">See the conflicting {view.conflicts.documents.length === 1 ? 'document' : 'documents'}</a>
          </p>
        </div>
      ) : null}
      {view.description ? <Written html={view.descriptionHtml} text={view.description} class="cr-description" /> : null}
      <section class="panel cr-rules" aria-labelledby="cr-rules-heading">
        <h2 id="cr-rules-heading">Review</h2>
        {!view.needsReview ? (
          <p>These documents need no review: the change may be merged as it is.</p>
        ) : view.outstanding.length === 0 ? (
          <p>The review rules are met{view.approvals.length > 0 ? ` (approved by ${view.approvals.join(', ')})` : ''}.</p>
        ) : (
          <>
            <p>Still needed:</p>
            <ul>
              {view.outstanding.map((item) => (
                <li>{item}</li>
              ))}
            </ul>
          </>
        )}
        {view.state === 'open' && view.conflicts ? <p class="cr-blocked">The draft conflicts with main: resolve the conflicts before merging.</p> : null}
        {view.state === 'open' ? (
          <div class="cr-actions">
            {view.may.merge ? (
              <form method="post" action={`${base}/merge`} class="form-inline">
                <Csrf token={view.csrfToken} />
                <label class="cr-editorial">
                  <input type="checkbox" name="editorial" value="yes" aria-describedby="cr-editorial-hint" />{' '}
                  Acknowledgment not required (editorial){' '}
                  <span class="field-hint" id="cr-editorial-hint">
                    — wording or formatting only: people who acknowledged these documents are not asked again.
                  </span>
                </label>
                <button type="submit" class="button button-primary" disabled={!view.mergeable || view.conflicts !== null}>
                  Merge
                </button>
              </form>
            ) : null}
            {view.may.close ? (
              <form method="post" action={`${base}/close`} class="form-inline">
                <Csrf token={view.csrfToken} />
                <button type="submit" class="button button-quiet">
                  Close
                </button>
              </form>
            ) : null}
          </div>
        ) : view.state === 'closed' && view.may.close ? (
          <form method="post" action={`${base}/reopen`} class="form-inline">
            <Csrf token={view.csrfToken} />
            <button type="submit" class="button">
              Reopen
            </button>
          </form>
        ) : null}
      </section>
      {view.conflicts ? <Conflicts view={view} conflicts={view.conflicts} /> : null}
      <section aria-labelledby="cr-documents-heading">
        <h2 id="cr-documents-heading">Changed documents</h2>
        {view.documents.map((doc) => (
          <DocumentChange doc={doc} project={view.project} />
        ))}
        {view.state === 'open' && view.may.editDraft ? <AddToDraft view={view} /> : null}
      </section>
      <Commits view={view} />
      <section aria-labelledby="cr-conversation-heading">
        <h2 id="cr-conversation-heading">Conversation</h2>
        <Timeline view={view} />
        {view.state === 'open' ? (
          <form class="form panel cr-comment-form" method="post" action={`${base}/comment`}>
            <Csrf token={view.csrfToken} />
            <div class="field">
              <label for="cr-comment">
                Comment <span class="field-optional">(Markdown)</span>
              </label>
              <textarea id="cr-comment" name="body" rows={3} maxLength={20000} />
            </div>
            <div class="form-actions">
              <button type="submit" class="button">
                Comment
              </button>
              {view.may.review ? (
                <>
                  <button type="submit" class="button button-primary" formaction={`${base}/approve`}>
                    Approve
                  </button>
                  <button type="submit" class="button button-danger" formaction={`${base}/request-changes`}>
                    Request changes
                  </button>
                </>
              ) : null}
            </div>
          </form>
        ) : null}
      </section>
    </PlainLayout>
  );
}

const BASIS_TEXT: Record<DraftPreviewView['basis'], string> = {
  merge: 'as it would read once the change is merged into the published version.',
  draft: 'as the draft has it: the draft conflicts with the published version, so the merged result is not known yet.',
  merged: 'as the change published it when it was merged.',
  commit: 'as the draft had it at one of its commits.',
};

function PreviewPage({ view }: { view: DraftPreviewView }): JSX.Element {
  const doc = view.document;
  return (
    <PlainLayout width="wide">
      <div class="cr-preview-banner" role="note">
        <p class="cr-preview-banner-title">
          <strong>
            Preview of change request !{view.number} — {view.state === 'merged' ? 'merged' : 'not published'}
          </strong>
        </p>
        <p>
          <a href={changeUrl(view.project, view.number)}>{view.title}</a>: this page {view.changed ? 'is changed by the request and is shown' : 'is not changed by the request; it is shown'} {BASIS_TEXT[view.basis]}
          {view.basis === 'commit' && view.commit ? (
            <>
              {' '}
              (<code class="commit-id">{view.commit.slice(0, 10)}</code>)
            </>
          ) : null}
        </p>
      </div>
      <div class="cr-preview-layout">
        {view.documents.length > 0 ? (
          <nav class="cr-preview-nav" aria-label="Documents in this change">
            <details class="fold" open>
              <summary class="fold-summary">
                <span class="fold-label">Documents in this change</span>
              </summary>
              <ul class="cr-preview-list">
                {view.documents.map((d) => (
                  <li>
                    <a href={d.href} aria-current={d.path === view.path ? 'page' : undefined}>
                      {d.title}
                    </a>
                  </li>
                ))}
              </ul>
            </details>
          </nav>
        ) : null}
        <article class="doc cr-preview" aria-labelledby="doc-title">
          <header class="doc-header">
            <p class="eyebrow">Preview</p>
            <h1 class="doc-title" id="doc-title">
              {doc.title}
            </h1>
            <div class="doc-meta">
              <ClassificationBadge value={doc.classification} />
              <span class="meta-fact">
                <code>{view.path}</code>
              </span>
            </div>
          </header>
          <Toc entries={doc.toc} />
          <RawHtml class="doc-body" html={doc.html} />
        </article>
      </div>
    </PlainLayout>
  );
}

function ResolvePage({ view }: { view: ResolveView }): JSX.Element {
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">
          <a href={changeUrl(view.project, view.number)}>
            !{view.number} {view.title}
          </a>
        </p>
        <h1>Resolve conflicts with main</h1>
        <p class="page-lead">
          Each document below holds both versions where they conflict: main's between <code>{'<<<<<<<'}</code> and <code>=======</code>, the draft's
          between <code>=======</code> and <code>{'>>>>>>>'}</code>. Keep the text the document should have and remove the marker lines. Saving makes
          one commit on <code>{view.branch}</code> that merges main in; approvals given so far stop counting.
        </p>
      </header>
      <FormError>{view.error}</FormError>
      <form class="form cr-resolve-form" method="post" action={`${changeUrl(view.project, view.number)}/resolve`}>
        <Csrf token={view.csrfToken} />
        <input type="hidden" name="head" value={view.head} />
        <input type="hidden" name="main" value={view.main} />
        {view.documents.map((doc, i) => (
          <div class="field">
            <input type="hidden" name={`path-${i}`} value={doc.path} />
            <label for={`resolve-${i}`}>
              <code>{doc.path}</code>
            </label>
            <textarea id={`resolve-${i}`} class="cr-resolve-text" name={`content-${i}`} rows={Math.min(30, Math.max(8, doc.text.split('\n').length + 1))} spellcheck={false} autocapitalize="none">
              {/* the parser drops one newline right after <textarea>: this one, never the text's own */}
              {`\n${doc.text}`}
            </textarea>
          </div>
        ))}
        <SubmitOrLeave submit="Save the resolution to the draft" href={changeUrl(view.project, view.number)} />
      </form>
    </PlainLayout>
  );
}

/** The resolution editor of a draft's conflicts with main. */
export function renderResolveBody(view: ResolveView): TrustedHtml {
  return toHtml(<ResolvePage view={view} />);
}

/** A page of a draft as it would read after the merge, under its "not published" banner. */
export function renderDraftPreviewBody(view: DraftPreviewView): TrustedHtml {
  return toHtml(<PreviewPage view={view} />);
}

export function renderChangeRequestListBody(view: ChangeRequestListView): TrustedHtml {
  return toHtml(<ListPage view={view} />);
}

export function renderChangeRequestBody(view: ChangeRequestPageView): TrustedHtml {
  return toHtml(<ChangePage view={view} />);
}
