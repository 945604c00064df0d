/** The past of documents: a document's history, one version rendered, and the project's list of commits. */
import type { ComponentChildren, JSX } from 'preact';
import type { Classification, TocEntry } from '../../content/types.ts';
import { documentUrl, projectUrl } from '../urls.ts';
import { ClassificationBadge, ProjectLayout } from './components.tsx';
import { plural } from './format.ts';
import { toHtml } from './render.ts';
import { TrustedHtml } from './trusted-html.tsx';
import type { ProjectChrome, ViewProject } from './types.ts';
import type { TrustedHtml as TrustedHtmlString } from '../../content/trusted-html.ts';

type Address = Pick<ViewProject, 'orgSlug' | 'slug'>;
const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/** `/{org}/{project}/-/history/{path}` (page > 1 adds `?page=`). */
export function historyUrl(project: Address, path: string, page = 1): string {
  return `${projectUrl(project)}-/history/${encodePath(path)}${page > 1 ? `?page=${page}` : ''}`;
}

/** `/{org}/{project}/-/blob/{commit}/{path}` */
export function versionUrl(project: Address, commit: string, path: string): string {
  return `${projectUrl(project)}-/blob/${commit}/${encodePath(path)}`;
}

/** `/{org}/{project}/-/raw/{commit}/{path}`: the version's Markdown source, as a download. */
export function rawUrl(project: Address, commit: string, path: string): string {
  return `${projectUrl(project)}-/raw/${commit}/${encodePath(path)}`;
}

/** `/{org}/{project}/-/pdf/{commit}/{path}`: the version as a PDF (routes/pdf.ts). */
export function pdfUrl(project: Address, commit: string, path: string): string {
  return `${projectUrl(project)}-/pdf/${commit}/${encodePath(path)}`;
}

/** `/{org}/{project}/-/compare/{from}..{to}/{path}` */
export function compareUrl(project: Address, from: string, to: string, path: string): string {
  return `${projectUrl(project)}-/compare/${from}..${to}/${encodePath(path)}`;
}

/** `/{org}/{project}/-/restore/{commit}/{path}` (POST) */
export function restoreUrl(project: Address, commit: string, path: string): string {
  return `${projectUrl(project)}-/restore/${commit}/${encodePath(path)}`;
}

/** `/{org}/{project}/-/commits` */
export function commitsUrl(project: Address, page = 1): string {
  return `${projectUrl(project)}-/commits${page > 1 ? `?page=${page}` : ''}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Nov 22, 2026, 08:47 UTC" */
export function formatTime(time: Date): string {
  const iso = time.toISOString();
  return `${MONTHS[time.getUTCMonth()]} ${time.getUTCDate()}, ${time.getUTCFullYear()}, ${iso.slice(11, 16)} UTC`;
}

export function TimeText({ time }: { time: Date }): JSX.Element {
  return <time dateTime={time.toISOString()}>{formatTime(time)}</time>;
}

/** Who and when, as every version and commit shows it. */
export interface CommitLine {
  commit: string;
  shortId: string;
  /** Empty when the reader may not see who made the commit. */
  authorName: string;
  time: Date;
  /** Null when the reader may not see the message (changes/version-access.ts: commitVisibility). */
  subject: string | null;
}

/** What stands for a message the reader may not see: the same words on every page. */
export const MESSAGE_NOT_SHOWN = 'Message not shown';

/** A commit's first line as shown: its message, "(no message)", or the note that it is not shown. */
export function subjectText(line: CommitLine): string {
  return line.subject === null ? MESSAGE_NOT_SHOWN : line.subject || '(no message)';
}

/** A small form that restores one version (POST with the CSRF token). */
export function RestoreForm({
  project,
  commit,
  path,
  csrfToken,
  label = 'Restore this version',
  quiet = false,
}: {
  project: Address;
  commit: string;
  path: string;
  csrfToken: string;
  label?: string;
  quiet?: boolean;
}): JSX.Element | null {
  // restoring asks for confirmation and a reason first (RestorePage); the token only says the reader may restore
  if (!csrfToken) return null;
  return (
    <a class={quiet ? 'button button-quiet button-small' : 'button button-small'} href={restoreUrl(project, commit, path)}>
      {`${label}…`}
    </a>
  );
}

/** Longest reason for a restore (it goes into the commit message and the audit event). */
export const MAX_RESTORE_REASON = 500;

export interface RestorePageView extends CommitLine {
  chrome: ProjectChrome;
  path: string;
  title: string;
  classification: Classification;
  csrfToken: string;
  /** The reason typed so far (shown again with `error`). */
  reason: string;
  error: string | null;
  /** Protected main: why restoring directly is refused. Set, the form's only action is "Propose change". */
  review?: string | null;
}

/** "Restore this version?": the version, what will happen, and the reason asked for. */
function RestorePage({ view }: { view: RestorePageView }): JSX.Element {
  const project = view.chrome.project;
  return (
    <ProjectLayout chrome={view.chrome}>
      <article class="doc" aria-labelledby="doc-title">
        <header class="doc-header">
          <p class="eyebrow">Restore a version</p>
          <h1 class="doc-title" id="doc-title">
            Restore this version of “{view.title}”?
          </h1>
          <div class="doc-meta">
            <ClassificationBadge value={view.classification} />
            <span class="meta-fact">
              <code>{view.path}</code>
            </span>
          </div>
        </header>
        <p>
          The version “{subjectText(view)}” — {view.authorName ? `${view.authorName}, ` : ''}
          <TimeText time={view.time} /> <code class="commit-id">{view.shortId}</code> — becomes the current text again, as a
          new change made by you. The versions in between stay in the history. <a href={versionUrl(project, view.commit, view.path)}>Read this version</a>.
        </p>
        {view.error ? (
          <p class="form-error" role="alert" id="restore-error">
            {view.error}
          </p>
        ) : null}
        <form class="form" method="post" action={restoreUrl(project, view.commit, view.path)}>
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <div class="field">
            <label for="restore-reason">Reason</label>
            <textarea
              id="restore-reason"
              name="reason"
              rows={3}
              required
              maxLength={MAX_RESTORE_REASON}
              aria-describedby="restore-reason-hint"
              aria-invalid={view.error ? 'true' : undefined}
            >
              {`\n${view.reason}`}
            </textarea>
            <p class="field-hint" id="restore-reason-hint">
              Why this version comes back. It is written into the change's message and the audit log.
            </p>
          </div>
          {view.review ? (
            <p class="field-hint editor-review-note" id="restore-review-note" data-review-required>
              {`This document ${view.review}. It cannot be restored directly: `}
              <strong>Propose change</strong> commits the restored text to a draft and opens a change request; it is
              published when reviewers approve it and it is merged.
            </p>
          ) : null}
          <div class="form-actions">
            {view.review ? (
              <button type="submit" class="button button-primary" name="propose" value="yes" aria-describedby="restore-review-note">
                Propose change
              </button>
            ) : (
              <>
                <button type="submit" class="button button-primary">
                  Restore this version
                </button>
                <button type="submit" class="button" name="propose" value="yes">
                  Propose change
                </button>
              </>
            )}
            <a class="button button-quiet" href={historyUrl(project, view.path)}>
              Cancel
            </a>
          </div>
        </form>
      </article>
    </ProjectLayout>
  );
}

/** The confirmation page of a restore. */
export function renderRestoreBody(view: RestorePageView): TrustedHtmlString {
  return toHtml(<RestorePage view={view} />);
}

/** `/{org}/{project}/-/compare?path=…&from=…&to=…`: the two versions picked in a history list. */
export function comparePickerUrl(project: Address): string {
  return `${projectUrl(project)}-/compare`;
}

/* ── a document's history ─────────────────────────────────────────────────────────────────────────────── */

export interface HistoryEntryView extends CommitLine {
  status: 'A' | 'M' | 'D' | 'R';
  path: string;
  oldPath: string | null;
  parent: string | null;
  hidden: boolean;
}

export interface HistoryPageView {
  chrome: ProjectChrome;
  title: string;
  path: string;
  currentPath: string | null;
  classification: Classification;
  entries: HistoryEntryView[];
  page: number;
  hasNext: boolean;
  /** Present when the reader may restore versions. */
  csrfToken: string | null;
  /** The versions the compare form starts with: the newest readable one and the one before it (none: no form). */
  pick?: { from: string | null; to: string | null };
}

function StatusNote({ entry }: { entry: HistoryEntryView }): JSX.Element | null {
  if (entry.status === 'A') return <span class="version-status">Created</span>;
  if (entry.status === 'D') return <span class="version-status version-status-deleted">Deleted</span>;
  if (entry.status === 'R') {
    return (
      <span class="version-status">
        Renamed from <code>{entry.oldPath}</code>
      </span>
    );
  }
  return null;
}

function HistoryRow({ view, entry, first }: { view: HistoryPageView; entry: HistoryEntryView; first: boolean }): JSX.Element {
  const project = view.chrome.project;
  if (entry.hidden) {
    return (
      <li class="version version-hidden">
        <div class="version-main">
          <p class="version-subject">A version you may not read</p>
          <p class="version-facts">
            <TimeText time={entry.time} />
          </p>
        </div>
      </li>
    );
  }
  const deleted = entry.status === 'D';
  return (
    <li class="version">
      <div class="version-main">
        <p class="version-subject">
          {deleted ? subjectText(entry) : <a href={versionUrl(project, entry.commit, entry.path)}>{subjectText(entry)}</a>}
          {first && !deleted && view.currentPath !== null ? <span class="current-badge">Current</span> : null}
        </p>
        <p class="version-facts">
          {entry.authorName ? <span class="version-author">{entry.authorName}</span> : null}
          <TimeText time={entry.time} />
          <code class="commit-id">{entry.shortId}</code>
          <StatusNote entry={entry} />
        </p>
      </div>
      <div class="version-actions">
        {deleted || !view.pick?.from ? null : (
        <span class="version-pick" role="group" aria-label={`Compare ${entry.shortId}`}>
          <label class="version-pick-choice">
            <input type="radio" name="from" value={entry.commit} form="compare-versions" checked={view.pick?.from === entry.commit} />
            From
          </label>
          <label class="version-pick-choice">
            <input type="radio" name="to" value={entry.commit} form="compare-versions" checked={view.pick?.to === entry.commit} />
            To
          </label>
        </span>
        )}
        {entry.parent ? (
          <a class="button button-quiet button-small" href={compareUrl(project, entry.parent, entry.commit, entry.path)}>
            Compare with previous
          </a>
        ) : null}
        {view.csrfToken && !deleted && !(first && view.currentPath !== null) ? (
          <RestoreForm project={project} commit={entry.commit} path={entry.path} csrfToken={view.csrfToken} label="Restore" quiet />
        ) : null}
      </div>
    </li>
  );
}

function Pager({ newer, older, label }: { newer: string | null; older: string | null; label: string }): JSX.Element | null {
  if (!newer && !older) return null;
  return (
    <nav class="version-pager" aria-label={label}>
      {newer ? (
        <a class="button button-quiet" href={newer}>
          ← Newer
        </a>
      ) : (
        <span />
      )}
      {older ? (
        <a class="button" href={older}>
          Older →
        </a>
      ) : null}
    </nav>
  );
}

/** The frame of the two history lists (a document's versions, the project's commits): the header, then the rest. */
function HistoryFrame({ chrome, title, more, children }: { chrome: ProjectChrome; title: ComponentChildren; more: ComponentChildren; children: ComponentChildren }): JSX.Element {
  return (
    <ProjectLayout chrome={chrome}>
      <article class="doc history-page" aria-labelledby="doc-title">
        <header class="doc-header">
          <p class="eyebrow">History</p>
          <h1 class="doc-title" id="doc-title">
            {title}
          </h1>
          {more}
        </header>
        {children}
      </article>
    </ProjectLayout>
  );
}

/** One page of a history list, newest first, or the empty state when the page has no rows. */
function NewestFirst({ label, empty, rows }: { label: string; empty: string; rows: JSX.Element[] }): JSX.Element {
  return rows.length === 0 ? (
    <div class="empty-state">
      <p class="empty-state-title">{empty}</p>
    </div>
  ) : (
    <ol class="version-list" aria-label={label}>
      {rows}
    </ol>
  );
}

function HistoryPage({ view }: { view: HistoryPageView }): JSX.Element {
  const project = view.chrome.project;
  return (
    <HistoryFrame
      chrome={view.chrome}
      title={view.currentPath !== null ? <a href={documentUrl(project, view.currentPath)}>{view.title}</a> : view.title}
      more={
        <div class="doc-meta">
          <ClassificationBadge value={view.classification} />
          <span class="meta-fact">
            <code>{view.path}</code>
          </span>
          <a class="meta-fact" href={commitsUrl(project)}>
            All changes in this project
          </a>
        </div>
      }
    >
      {view.currentPath === null ? (
        <p class="version-notice">
          This document was deleted. Its versions stay readable here{view.csrfToken ? '; restoring one brings the document back.' : '.'}
        </p>
      ) : null}
      <NewestFirst
        label="Versions, newest first"
        empty="No versions on this page"
        rows={view.entries.map((entry, index) => (
          <HistoryRow view={view} entry={entry} first={view.page === 1 && index === 0} />
        ))}
      />
      {view.pick?.from && view.pick.to ? (
        <form class="version-compare-form" id="compare-versions" method="get" action={comparePickerUrl(project)}>
          <input type="hidden" name="path" value={view.path} />
          <button type="submit" class="button">
            Compare selected versions
          </button>
          <span class="field-hint">Pick any two versions above: one as From, one as To.</span>
        </form>
      ) : null}
      <Pager
        label="History pages"
        newer={view.page > 1 ? historyUrl(project, view.path, view.page - 1) : null}
        older={view.hasNext ? historyUrl(project, view.path, view.page + 1) : null}
      />
    </HistoryFrame>
  );
}

/** The history of one document. */
export function renderHistoryBody(view: HistoryPageView): TrustedHtmlString {
  return toHtml(<HistoryPage view={view} />);
}

/* ── one version ──────────────────────────────────────────────────────────────────────────────────────── */

export interface VersionPageView extends CommitLine {
  chrome: ProjectChrome;
  path: string;
  title: string;
  classification: Classification;
  toc: TocEntry[];
  /** Sanitized HTML of the version (RenderedDocument.html). */
  html: TrustedHtmlString;
  currentPath: string | null;
  isCurrent: boolean;
  parent: string | null;
  /** The published head commit, to compare this version with. */
  head: string | null;
  csrfToken: string | null;
  /** The version was too large to render in time: `html` is a notice, the source is offered as a download. */
  tooLarge?: boolean;
}

function VersionPage({ view }: { view: VersionPageView }): JSX.Element {
  const project = view.chrome.project;
  return (
    <ProjectLayout chrome={view.chrome} toc={view.toc}>
      <article class="doc" aria-labelledby="doc-title">
        <div class={view.isCurrent ? 'version-banner is-current' : 'version-banner'} role="note">
          <p class="version-banner-text">
            {view.isCurrent ? 'The current version: ' : 'An earlier version: '}
            <span class="version-banner-facts">
              {subjectText(view)} — {view.authorName ? `${view.authorName}, ` : ''}
              <TimeText time={view.time} /> <code class="commit-id">{view.shortId}</code>
            </span>
          </p>
          <p class="version-banner-actions">
            <a class="button button-quiet button-small" href={historyUrl(project, view.currentPath ?? view.path)}>
              History
            </a>
            {view.parent ? (
              <a class="button button-quiet button-small" href={compareUrl(project, view.parent, view.commit, view.path)}>
                Compare with previous
              </a>
            ) : null}
            {!view.isCurrent && view.currentPath !== null && view.head ? (
              <a class="button button-quiet button-small" href={compareUrl(project, view.commit, view.head, view.currentPath)}>
                Compare with current
              </a>
            ) : null}
            {!view.isCurrent && view.currentPath !== null ? (
              <a class="button button-quiet button-small" href={documentUrl(project, view.currentPath)}>
                Read the current version
              </a>
            ) : null}
            <a class="button button-quiet button-small" href={pdfUrl(project, view.commit, view.path)}>
              PDF
            </a>
            {!view.isCurrent && view.csrfToken ? <RestoreForm project={project} commit={view.commit} path={view.path} csrfToken={view.csrfToken} /> : null}
          </p>
        </div>
        <header class="doc-header">
          <h1 class="doc-title" id="doc-title">
            {view.title}
          </h1>
          <div class="doc-meta">
            <ClassificationBadge value={view.classification} />
            <span class="meta-fact">
              <code>{view.path}</code>
            </span>
          </div>
        </header>
        <TrustedHtml class="doc-body" html={view.html} />
        {view.tooLarge ? (
          <p class="too-large-actions">
            <a class="button button-small" href={rawUrl(project, view.commit, view.path)} download>
              Download the source
            </a>
          </p>
        ) : null}
      </article>
    </ProjectLayout>
  );
}

/** One version of a document, rendered. */
export function renderVersionBody(view: VersionPageView): TrustedHtmlString {
  return toHtml(<VersionPage view={view} />);
}

/* ── the project's commits ────────────────────────────────────────────────────────────────────────────── */

export interface CommitView extends CommitLine {
  /** False when the commit touched a document the reader may not read: only its time and id are shown. */
  shown: boolean;
  documents: { path: string; status: 'A' | 'M' | 'D' | 'R'; title: string | null; hasVersion: boolean }[];
  otherFiles: number;
}

export interface CommitsPageView {
  chrome: ProjectChrome;
  commits: CommitView[];
  page: number;
  hasNext: boolean;
}

const STATUS_LABELS = { A: 'Added', M: 'Changed', D: 'Deleted', R: 'Renamed' } as const;

function CommitRow({ project, commit }: { project: ViewProject; commit: CommitView }): JSX.Element {
  if (!commit.shown) {
    return (
      <li class="version version-hidden">
        <div class="version-main">
          <p class="version-subject text-muted">Changes to documents you cannot see</p>
          <p class="version-facts">
            <TimeText time={commit.time} />
            <code class="commit-id">{commit.shortId}</code>
          </p>
        </div>
      </li>
    );
  }
  return (
    <li class="version">
      <div class="version-main">
        <p class="version-subject">{subjectText(commit)}</p>
        <p class="version-facts">
          <span class="version-author">{commit.authorName}</span>
          <TimeText time={commit.time} />
          <code class="commit-id">{commit.shortId}</code>
        </p>
        {commit.documents.length > 0 || commit.otherFiles > 0 ? (
          <ul class="touched-list">
            {commit.documents.map((doc) => (
              <li>
                <span class={`touched-status touched-${doc.status}`}>{STATUS_LABELS[doc.status]}</span>{' '}
                {doc.hasVersion ? <a href={versionUrl(project, commit.commit, doc.path)}>{doc.title ?? doc.path}</a> : <span>{doc.title ?? doc.path}</span>}{' '}
                {doc.title ? <code class="touched-path">{doc.path}</code> : null}{' '}
                <a class="touched-history" href={historyUrl(project, doc.path)}>
                  history
                </a>
              </li>
            ))}
            {commit.otherFiles > 0 ? <li class="text-muted">{plural(commit.otherFiles, 'other file', 'other files')}</li> : null}
          </ul>
        ) : null}
      </div>
    </li>
  );
}

function CommitsPage({ view }: { view: CommitsPageView }): JSX.Element {
  const project = view.chrome.project;
  return (
    <HistoryFrame
      chrome={view.chrome}
      title={<>Changes to {project.name}</>}
      more={<p class="page-lead">Every commit to the published branch, newest first, with the documents it touched.</p>}
    >
      <NewestFirst
        label="Commits, newest first"
        empty="No changes on this page"
        rows={view.commits.map((commit) => (
          <CommitRow project={project} commit={commit} />
        ))}
      />
      <Pager
        label="Commit pages"
        newer={view.page > 1 ? commitsUrl(project, view.page - 1) : null}
        older={view.hasNext ? commitsUrl(project, view.page + 1) : null}
      />
    </HistoryFrame>
  );
}

/** The project-wide list of commits. */
export function renderCommitsBody(view: CommitsPageView): TrustedHtmlString {
  return toHtml(<CommitsPage view={view} />);
}
